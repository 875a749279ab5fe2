//! The account side of a Graph API job: its decrypted access token, and
//! what a Graph error means for the job and for the account.

use crate::crypto::SecretBox;
use crate::store::{Account, AccountId, DynStore, Store, TOKEN_RETRY_AFTER_SECONDS, UnixTime};
use crate::tools::time_text;
use crate::whatsapp::graph::{AccessToken, GraphError};

use super::JobError;

/// An account with the token its Graph API calls are made with.
pub(super) struct Credentials {
    pub account: Account,
    pub token: AccessToken,
}

/// Loads the account and decrypts its access token. While Meta's rejection
/// of the token is recent, the job waits without a Graph call (see
/// [`Account::token_paused_until`]).
pub(super) async fn credentials(
    store: &DynStore,
    secrets: &SecretBox,
    account: &AccountId,
) -> Result<Credentials, JobError> {
    let stored = store.account_secrets(account).await?;
    let now = chrono::Utc::now().timestamp();
    if let Some(until) = stored.account.token_paused_until(now) {
        let rejected_at = stored.account.token_invalid_at.unwrap_or(now);
        let cause = format!(
            "Meta rejected the access token of +{} at {}",
            stored.account.phone_number,
            time_text(rejected_at)
        );
        return Err(token_wait(cause, until));
    }
    let token = secrets
        .decrypt(&stored.access_token_encrypted)
        .ok()
        .and_then(|plain| AccessToken::from_utf8(&plain))
        .ok_or_else(|| {
            JobError::permanent(format!(
                "the stored access token of account {account} cannot be decrypted; \
                 is the encryption key the one it was stored with?"
            ))
        })?;
    Ok(Credentials {
        account: stored.account,
        token,
    })
}

/// Builds the error of a job that waits until `until` because Meta
/// rejected the account's access token, with `cause` saying when or how.
fn token_wait(cause: String, until: UnixTime) -> JobError {
    JobError::waiting(
        until,
        format!(
            "{cause}; the job tries the token again at {}. An account owner can store a new \
             token with `pons account set-credentials`",
            time_text(until)
        ),
    )
}

/// Turns a Graph error into a job error. A rejected access token marks the
/// account, so the operator sees that it needs a new token, and the job
/// waits without using up its attempts, because a new token may be stored
/// meanwhile.
pub(super) async fn graph_failure(
    store: &DynStore,
    account: &Account,
    action: &str,
    error: GraphError,
) -> JobError {
    if error.is_token_error() {
        let now = chrono::Utc::now().timestamp();
        match store.set_token_invalid(&account.id, Some(now)).await {
            Ok(()) => tracing::warn!(account_id = %account.id, code = error.code(),
                "Meta rejected the access token; account marked as needing a new token"),
            Err(store_error) => tracing::error!(account_id = %account.id, %store_error,
                "marking the access token as rejected failed"),
        }
        let cause = format!("{action} failed because Meta rejected the access token: {error}");
        return token_wait(cause, now.saturating_add(TOKEN_RETRY_AFTER_SECONDS));
    }
    if error.is_retryable() {
        JobError::transient(format!("{action} failed: {error}"))
    } else {
        JobError::permanent(format!("{action} failed: {error}"))
    }
}

/// Clears the rejected-token mark after a call with the token succeeded.
pub(crate) async fn token_works(store: &dyn Store, account: &Account) {
    if account.token_invalid_at.is_none() {
        return;
    }
    match store.set_token_invalid(&account.id, None).await {
        Ok(()) => tracing::info!(account_id = %account.id, "access token accepted by Meta again"),
        Err(error) => tracing::warn!(account_id = %account.id, %error,
            "clearing the rejected-token mark failed"),
    }
}
