//! Jobs that the store enqueues itself while ingesting webhooks, built the
//! same way by both backends so workers find one payload format.

use serde_json::json;

use super::{AccountId, MessageId, NewJob, StoreError, StoreResult, UnixTime};

/// Job kind that downloads an inbound message's media from Meta.
pub const MEDIA_DOWNLOAD: &str = "media_download";
/// Job kind that fetches an account's full templates (with components).
pub const TEMPLATE_SYNC: &str = "template_sync";

/// Attempts at a media download before the worker gives up.
pub const MEDIA_DOWNLOAD_ATTEMPTS: u32 = 8;
/// Attempts at a template sync before the worker gives up.
pub const TEMPLATE_SYNC_ATTEMPTS: u32 = 5;

/// Builds the job that downloads the media of a stored inbound message.
/// Payload: `{"messageId": "<id>"}`; dedupe key `media:<id>`.
pub fn media_download(account: &AccountId, message: &MessageId, run_at: UnixTime) -> NewJob {
    NewJob {
        kind: MEDIA_DOWNLOAD.to_owned(),
        account_id: Some(account.clone()),
        payload_json: json!({ "messageId": message }).to_string(),
        run_at,
        max_attempts: MEDIA_DOWNLOAD_ATTEMPTS,
        dedupe_key: Some(format!("media:{message}")),
    }
}

/// Builds the job that syncs an account's templates from Meta.
/// Payload: `{"accountId": "<id>"}`; dedupe key `templates:<id>`.
pub fn template_sync(account: &AccountId, run_at: UnixTime) -> NewJob {
    NewJob {
        kind: TEMPLATE_SYNC.to_owned(),
        account_id: Some(account.clone()),
        payload_json: json!({ "accountId": account }).to_string(),
        run_at,
        max_attempts: TEMPLATE_SYNC_ATTEMPTS,
        dedupe_key: Some(format!("templates:{account}")),
    }
}

/// Error stored on a job whose worker's lease ran out during its last
/// attempt; `claim_jobs` then marks it failed.
pub(crate) const LEASE_EXPIRED_ERROR: &str = "the worker's lease ran out during the last attempt";

/// Rejects a job that could never run: no kind, or no attempt allowed.
pub(crate) fn validate_new_job(job: &NewJob) -> StoreResult<()> {
    if job.kind.trim().is_empty() {
        return Err(StoreError::Invalid("job kind is empty".to_owned()));
    }
    if job.max_attempts == 0 {
        return Err(StoreError::Invalid(format!(
            "job {} allows no attempt; max_attempts must be at least 1",
            job.kind
        )));
    }
    Ok(())
}

/// Rejects a lease that would expire before the claim returns.
pub(crate) fn validate_lease(lease_seconds: i64) -> StoreResult<()> {
    if lease_seconds <= 0 {
        return Err(StoreError::Invalid(format!(
            "lease of {lease_seconds} seconds; it must be positive"
        )));
    }
    Ok(())
}
