//! Account resolution for the optional `from` argument that every tool takes.

use crate::echo::echoed;
use crate::phone::{PhoneNumber, same_subscriber};
use crate::store::{Account, AccountId, ConversationId, ConversationRef};

use super::{ToolContext, ToolError, guide, non_blank};

/// Resolves the accounts a call acts on. The reachable set is read from the
/// store on every call and never cached, so that removing a user from an
/// account takes effect at once.
///
/// With `from` omitted, every reachable account is returned. Otherwise `from`
/// is an account id or the account's number in any typed form, including
/// the other form of a Brazilian, Mexican or Argentinian mobile number. A value that
/// matches no reachable account, whether or not it exists, fails with
/// [`ToolError::AccountNotFound`], which lists the reachable accounts and no data.
pub async fn resolve_accounts(
    cx: &ToolContext<'_>,
    from: Option<&str>,
) -> Result<Vec<Account>, ToolError> {
    resolve(cx, from, Omitted::EveryAccount).await
}

/// Resolves `from` like [`resolve_accounts`] for a tool that acts on one
/// account, whose error for an unknown `from` suggests omitting it only
/// when the key reaches a single account.
pub(super) async fn resolve_accounts_for_one(
    cx: &ToolContext<'_>,
    from: Option<&str>,
) -> Result<Vec<Account>, ToolError> {
    resolve(cx, from, Omitted::OnlyWithOneAccount).await
}

/// Effect of omitting `from` for the calling tool.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Omitted {
    /// The tool acts on every reachable account.
    EveryAccount,
    /// The tool needs one account, so omitting works with one reachable account only.
    OnlyWithOneAccount,
}

async fn resolve(
    cx: &ToolContext<'_>,
    from: Option<&str>,
    omitted: Omitted,
) -> Result<Vec<Account>, ToolError> {
    let principal = cx.principal;
    let reachable = cx
        .store
        .reachable_accounts(&principal.user_id, &principal.only_accounts)
        .await?;
    if reachable.is_empty() {
        return Err(ToolError::NoAccounts);
    }
    let Some(from) = non_blank(from) else {
        return Ok(reachable);
    };

    // Account ids are lower-case UUIDs, so an id copied in upper case names
    // the same account.
    if let Some(account) = reachable
        .iter()
        .find(|a| a.id.as_str().eq_ignore_ascii_case(from))
    {
        return Ok(vec![account.clone()]);
    }
    if let Ok(phone) = PhoneNumber::parse(from)
        && let Some(account) = account_with_number(&reachable, phone.digits())
    {
        return Ok(vec![account.clone()]);
    }
    let omit_hint = if reachable.len() == 1 {
        ", or omit it to use the only reachable account"
    } else if omitted == Omitted::EveryAccount {
        ", or omit it to use every reachable account"
    } else {
        ""
    };
    Err(ToolError::AccountNotFound {
        value: echoed(from),
        reachable: format_accounts(&reachable),
        omit_hint,
    })
}

/// Finds the account with the number `digits`, or else the account whose
/// number is the other form of the same Brazilian, Mexican or Argentinian
/// mobile number (see [`same_subscriber`]), as `phone` arguments accept.
fn account_with_number<'a>(accounts: &'a [Account], digits: &str) -> Option<&'a Account> {
    accounts
        .iter()
        .find(|account| account.phone_number == digits)
        .or_else(|| {
            accounts
                .iter()
                .find(|account| same_subscriber(&account.phone_number, digits))
        })
}

/// A conversation or message that a tool did not find in the accounts it
/// resolved from `from`.
#[derive(Clone, Copy)]
pub(super) enum Sought<'a> {
    Conversation(&'a ConversationId),
    /// A message, by its wamid.
    Message(&'a str),
}

/// Returns the error for a conversation or message that `accounts` lack
/// but another account the key reaches has, because `from` named an
/// account other than the one it belongs to. `None` when no other
/// reachable account has it, so that the caller returns its not-found
/// error. Only a key with the `read` scope learns which account has it,
/// as with the other errors that point to a conversation.
pub(super) async fn in_other_account(
    cx: &ToolContext<'_>,
    accounts: &[Account],
    sought: Sought<'_>,
) -> Result<Option<ToolError>, ToolError> {
    let principal = cx.principal;
    let reachable = cx
        .store
        .reachable_accounts(&principal.user_id, &principal.only_accounts)
        .await?;
    let others: Vec<AccountId> = reachable
        .iter()
        .filter(|account| !accounts.iter().any(|named| named.id == account.id))
        .map(|account| account.id.clone())
        .collect();
    if others.is_empty() {
        return Ok(None);
    }
    let (kind, value, holder_ids) = match sought {
        Sought::Conversation(id) => {
            let by = ConversationRef::Id(id.clone());
            let found = cx.store.find_conversation(&others, &by).await?;
            let holders: Vec<AccountId> = found.into_iter().map(|c| c.account_id).collect();
            ("conversation", id.as_str(), holders)
        }
        Sought::Message(wamid) => {
            let found = cx.store.find_messages_by_wamid(&others, wamid).await?;
            let holders: Vec<AccountId> = found.into_iter().map(|(id, _)| id).collect();
            ("message", wamid, holders)
        }
    };
    if holder_ids.is_empty() {
        return Ok(None);
    }
    let holders = if guide::can_read(cx) {
        let named: Vec<Account> = reachable
            .into_iter()
            .filter(|account| holder_ids.contains(&account.id))
            .collect();
        format!(" ({})", format_accounts(&named))
    } else {
        String::new()
    };
    Ok(Some(ToolError::InOtherAccount {
        kind,
        value: echoed(value),
        holders,
    }))
}

/// Lists accounts as `+15550001111 Shop (id …)`, separated by `; `.
pub fn format_accounts(accounts: &[Account]) -> String {
    accounts
        .iter()
        .map(|a| format!("+{} {} (id {})", a.phone_number, a.name, a.id))
        .collect::<Vec<_>>()
        .join("; ")
}
