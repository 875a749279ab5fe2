//! The rule that keeps the send tools from calling Meta with an access
//! token that Meta rejected a moment ago. Every tool that calls the Graph
//! API for a send checks it before its first Graph call, and `mark_as_read`
//! skips its read receipt.

use crate::store::{Account, UnixTime};

use super::ToolError;
use super::graph_errors::token_fix;
use super::output::format_time;

/// Seconds after Meta rejected an account's access token (error 190)
/// during which the send tools make no Graph call with it. After that the
/// next send goes to Meta as a probe: its success clears the mark, so a
/// token repaired on Meta's side works again without an operator, and
/// another rejection renews the mark.
pub const TOKEN_RETRY_AFTER_SECONDS: UnixTime = 5 * 60;

/// Fails with [`ToolError::TokenRejected`] while Meta's rejection of the
/// account's access token is less than [`TOKEN_RETRY_AFTER_SECONDS`] old
/// at `now`, so nothing is stored or sent.
///
/// NOTE: calls that start together after the interval may all go to Meta,
/// because the check reads the mark without claiming the probe.
pub(super) fn require_usable_token(account: &Account, now: UnixTime) -> Result<(), ToolError> {
    let Some(rejected_at) = account.token_invalid_at else {
        return Ok(());
    };
    let retry_at = rejected_at.saturating_add(TOKEN_RETRY_AFTER_SECONDS);
    if now >= retry_at {
        return Ok(());
    }
    tracing::info!(account_id = %account.id, rejected_at,
        "send refused because Meta rejected the access token recently");
    Err(ToolError::TokenRejected {
        fix: token_fix(account),
        rejected_at: time_text(rejected_at),
        retry_at: time_text(retry_at),
    })
}

fn time_text(time: UnixTime) -> String {
    format_time(time).unwrap_or_else(|| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountId;

    const REJECTED_AT: UnixTime = 1_800_000_000;

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
        assert!(require_usable_token(&account(None), REJECTED_AT).is_ok());
    }

    #[test]
    fn fresh_mark_rejects_with_fix() {
        let marked = account(Some(REJECTED_AT));
        for now in [REJECTED_AT, REJECTED_AT + TOKEN_RETRY_AFTER_SECONDS - 1] {
            let text = require_usable_token(&marked, now)
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
    fn old_mark_lets_probe_through() {
        let marked = account(Some(REJECTED_AT));
        let now = REJECTED_AT + TOKEN_RETRY_AFTER_SECONDS;
        assert!(require_usable_token(&marked, now).is_ok());
        assert!(require_usable_token(&marked, now + 3600).is_ok());
    }
}
