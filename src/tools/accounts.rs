//! Account resolution for the optional `from` argument that every tool takes.

use crate::echo::echoed;
use crate::phone::PhoneNumber;
use crate::store::Account;

use super::error::{OMIT_FROM_FOR_EVERY_ACCOUNT, OMIT_FROM_FOR_THE_ONLY_ACCOUNT};
use super::{ToolContext, ToolError, non_blank};

/// Resolves the accounts a call acts on. The reachable set is read from the
/// store on every call and never cached, so that removing a user from an
/// account takes effect at once.
///
/// With `from` omitted, every reachable account is returned. Otherwise `from`
/// is an account id or the account's number in any typed form. A value that
/// matches no reachable account, whether or not it exists, fails with
/// [`ToolError::AccountNotFound`], which lists the reachable accounts and no data.
pub async fn resolve_accounts(
    cx: &ToolContext<'_>,
    from: Option<&str>,
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

    if let Some(account) = reachable.iter().find(|a| a.id.as_str() == from) {
        return Ok(vec![account.clone()]);
    }
    if let Ok(phone) = PhoneNumber::parse(from)
        && let Some(account) = reachable.iter().find(|a| a.phone_number == phone.digits())
    {
        return Ok(vec![account.clone()]);
    }
    let omit_hint = if reachable.len() == 1 {
        OMIT_FROM_FOR_THE_ONLY_ACCOUNT
    } else {
        OMIT_FROM_FOR_EVERY_ACCOUNT
    };
    Err(ToolError::AccountNotFound {
        value: echoed(from),
        reachable: format_accounts(&reachable),
        omit_hint,
    })
}

/// Lists accounts as `+15550001111 Shop (id …)`, separated by `; `.
pub fn format_accounts(accounts: &[Account]) -> String {
    accounts
        .iter()
        .map(|a| format!("+{} {} (id {})", a.phone_number, a.name, a.id))
        .collect::<Vec<_>>()
        .join("; ")
}
