//! The rule that keeps the send tools from calling Meta with an access
//! token that Meta rejected a moment ago. Every tool that calls the Graph
//! API for a send checks it before its first Graph call, and `mark_as_read`
//! skips its read receipt.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{Account, AccountId, UnixTime};

use super::ToolError;
use super::graph_errors::token_fix;
use super::output::time_text;

/// The accounts whose rejected token a call of this process is trying
/// again, so that one call at a time tries it.
///
/// NOTE: the claims are kept by this process only; calls on several
/// instances may try the token at the same time.
#[derive(Debug, Default)]
pub(super) struct TokenProbes {
    probing: Mutex<HashSet<AccountId>>,
}

/// A call's claim to try an account's rejected token again, released when
/// it is dropped, after the call has recorded Meta's response.
#[derive(Debug)]
pub(super) struct ProbeClaim {
    probes: Arc<TokenProbes>,
    account: AccountId,
}

impl Drop for ProbeClaim {
    fn drop(&mut self) {
        self.probes.lock().remove(&self.account);
    }
}

impl TokenProbes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<AccountId>> {
        self.probing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The Graph call a tool would make with the access token.
#[derive(Clone, Copy, Debug)]
pub(super) enum TokenUse {
    /// A message, a reaction or a template sync before a send.
    Send,
    /// The read receipt of `mark_as_read`, which marks messages read in
    /// Pons without it.
    ReadReceipt,
}

impl TokenUse {
    /// Returns what the call does when the token may not be used.
    fn outcome(self) -> &'static str {
        match self {
            TokenUse::Send => "Pons sent and stored nothing",
            TokenUse::ReadReceipt => {
                "Pons sent no read receipt and marked the messages read in Pons only"
            }
        }
    }
}

/// Decides whether a call may use the account's access token at `now`.
///
/// It fails with [`ToolError::TokenRejected`] while Meta's rejection of
/// the token is less than [`crate::store::TOKEN_RETRY_AFTER_SECONDS`] old, so nothing is
/// stored or sent. After that, the first call gets a [`ProbeClaim`] and
/// tries the token, and calls that start before it has Meta's response fail
/// with [`ToolError::TokenProbing`]. An account whose token was never
/// rejected gets `None`.
pub(super) fn require_usable_token(
    probes: &Arc<TokenProbes>,
    account: &Account,
    now: UnixTime,
    token_use: TokenUse,
) -> Result<Option<ProbeClaim>, ToolError> {
    let Some(rejected_at) = account.token_invalid_at else {
        return Ok(None);
    };
    if let Some(retry_at) = account.token_paused_until(now) {
        tracing::info!(account_id = %account.id, rejected_at,
            "send refused because Meta rejected the access token recently");
        return Err(ToolError::TokenRejected {
            fix: token_fix(account),
            rejected_at: time_text(rejected_at),
            retry_at: time_text(retry_at),
            outcome: token_use.outcome(),
        });
    }
    if !probes.lock().insert(account.id.clone()) {
        return Err(ToolError::TokenProbing {
            fix: token_fix(account),
            rejected_at: time_text(rejected_at),
            outcome: token_use.outcome(),
        });
    }
    Ok(Some(ProbeClaim {
        probes: Arc::clone(probes),
        account: account.id.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountId;
    use crate::store::TOKEN_RETRY_AFTER_SECONDS;

    const REJECTED_AT: UnixTime = 1_800_000_000;

    fn probes() -> Arc<TokenProbes> {
        Arc::default()
    }

    fn account(token_invalid_at: Option<UnixTime>) -> Account {
        Account {
            id: AccountId("acc".into()),
            name: "Shop".into(),
            waba_id: "waba".into(),
            phone_number_id: "pnid".into(),
            phone_number: "15550001111".into(),
            display_name: None,
            token_invalid_at,
            created_at: 0,
        }
    }

    #[test]
    fn unmarked_account_passes() {
        assert!(matches!(
            require_usable_token(&probes(), &account(None), REJECTED_AT, TokenUse::Send),
            Ok(None)
        ));
    }

    #[test]
    fn fresh_mark_rejects_with_fix() {
        let marked = account(Some(REJECTED_AT));
        for now in [REJECTED_AT, REJECTED_AT + TOKEN_RETRY_AFTER_SECONDS - 1] {
            let text = require_usable_token(&probes(), &marked, now, TokenUse::Send)
                .expect_err("a fresh mark rejects the send")
                .to_string();
            assert!(text.contains("Meta rejected the access token"), "{text}");
            assert!(text.contains("2027-01-15T08:00:00Z"), "{text}");
            assert!(text.contains("2027-01-15T08:05:00Z"), "{text}");
            assert!(
                text.contains("pons account set-credentials --account +15550001111"),
                "{text}"
            );
        }
    }

    #[test]
    fn old_mark_lets_one_probe_through() {
        let probes = probes();
        let marked = account(Some(REJECTED_AT));
        let now = REJECTED_AT + TOKEN_RETRY_AFTER_SECONDS;
        let claim = require_usable_token(&probes, &marked, now, TokenUse::Send)
            .expect("the first call after the pause tries the token")
            .expect("an old mark is claimed");
        let text = require_usable_token(&probes, &marked, now + 1, TokenUse::Send)
            .expect_err("a second call waits for the first one's answer")
            .to_string();
        assert!(text.contains("another call is trying it again"), "{text}");
        assert!(text.contains("2027-01-15T08:00:00Z"), "{text}");
        let other = Account {
            id: AccountId("other".into()),
            ..marked.clone()
        };
        assert!(
            matches!(
                require_usable_token(&probes, &other, now, TokenUse::Send),
                Ok(Some(_))
            ),
            "another account's token is tried on its own"
        );
        drop(claim);
        assert!(
            matches!(
                require_usable_token(&probes, &marked, now + 3600, TokenUse::Send),
                Ok(Some(_))
            ),
            "a released claim lets the next call try the token"
        );
    }
}
