//! Webhook ingestion on PostgreSQL: one transaction per batch, every item
//! in the order the body gave it, then the log row with the items' notes.
//! A contact entry is stored with the first message or reaction from that
//! customer that the batch stores, and otherwise only updates a stored
//! contact.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::batch_contacts::BatchContacts;
use super::{backend, inbound, now, status};
use crate::store::*;

/// Maximum attempts at a batch that PostgreSQL aborts for a deadlock or a
/// serialization failure. Other errors are never retried.
const MAX_ATTEMPTS: u32 = 5;

/// SQLSTATE codes of errors that a retry of the whole transaction cures.
const SERIALIZATION_FAILURE: &str = "40001";
const DEADLOCK_DETECTED: &str = "40P01";

/// Stores the batch in one transaction, retrying it when PostgreSQL
/// aborts it to break a deadlock with a concurrent batch.
pub(crate) async fn ingest(pool: &PgPool, batch: &WebhookBatch) -> StoreResult<IngestReport> {
    let mut attempt = 1;
    loop {
        match ingest_once(pool, batch).await {
            Err(error) if attempt < MAX_ATTEMPTS && is_retryable(&error) => {
                tracing::warn!(attempt, %error, "retrying webhook batch after a transaction conflict");
                tokio::time::sleep(retry_pause(attempt)).await;
                attempt += 1;
            }
            result => return result.map_err(backend),
        }
    }
}

/// Returns a random pause of up to 20 ms times `attempt`. Two batches that
/// deadlocked and waited the same time would meet again, so the pause is
/// random rather than fixed.
fn retry_pause(attempt: u32) -> Duration {
    let max_ms = 20 * u64::from(attempt);
    Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 1..=max_ms))
}

fn is_retryable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == SERIALIZATION_FAILURE || code == DEADLOCK_DETECTED)
}

async fn ingest_once(pool: &PgPool, batch: &WebhookBatch) -> Result<IngestReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    lock_batch_wamids(&mut tx, batch).await?;
    let now = now();
    let mut report = IngestReport::default();
    let mut contacts = BatchContacts::default();
    for item in &batch.items {
        match item {
            IngestItem::Contact(contact) => contacts.defer(contact),
            IngestItem::Message(message) => {
                inbound::store_message(&mut tx, &mut contacts, message, now, &mut report).await?;
            }
            IngestItem::Reaction(reaction) => {
                inbound::store_reaction(&mut tx, &mut contacts, reaction, now, &mut report).await?;
            }
            IngestItem::Status(update) => {
                status::store_status(&mut tx, update, now, &mut report).await?;
            }
            IngestItem::TemplateStatus(update) => {
                report.templates_updated += status::store_template(&mut tx, update, now).await?;
            }
        }
    }
    contacts.update_deferred(&mut tx, now).await?;
    insert_log(&mut tx, &batch.log.with_notes(&report.notes)).await?;
    tx.commit().await?;
    Ok(report)
}

/// Stores a log row alone, outside any batch.
pub(crate) async fn record_webhook(pool: &PgPool, log: &NewWebhookLog) -> StoreResult<()> {
    let mut conn = pool.acquire().await.map_err(backend)?;
    insert_log(&mut conn, log).await.map_err(backend)
}

async fn insert_log(conn: &mut PgConnection, log: &NewWebhookLog) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_log (id, received_at, account_id, headers_json, body, outcome, \
         detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(log.received_at)
    .bind(log.account_id.as_ref().map(AccountId::as_str))
    .bind(&log.headers_json)
    .bind(&log.body[..])
    .bind(&log.outcome)
    .bind(&log.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Finds or creates the contact `wa_id` of the account and its
/// conversation, changing neither when they exist.
pub(crate) async fn ensure_conversation_with(
    conn: &mut PgConnection,
    account: &AccountId,
    wa_id: &str,
    now: UnixTime,
) -> Result<ConversationId, sqlx::Error> {
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO contacts (id, account_id, wa_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, wa_id) DO NOTHING RETURNING id",
    )
    .bind(ContactId::generate().as_str())
    .bind(account.as_str())
    .bind(wa_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    // A row that conflicted was committed by another transaction, and in
    // READ COMMITTED this next statement's snapshot already contains it.
    let contact_id = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM contacts WHERE account_id = $1 AND wa_id = $2")
                .bind(account.as_str())
                .bind(wa_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    ensure_conversation(conn, account, &contact_id, now).await
}

/// Finds or creates the conversation of a contact.
async fn ensure_conversation(
    conn: &mut PgConnection,
    account: &AccountId,
    contact_id: &str,
    now: UnixTime,
) -> Result<ConversationId, sqlx::Error> {
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO conversations (id, account_id, contact_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id) DO NOTHING RETURNING id",
    )
    .bind(ConversationId::generate().as_str())
    .bind(account.as_str())
    .bind(contact_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let id = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = $1")
                .bind(contact_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(ConversationId(id))
}

/// Advisory lock slots that the wamids share. PostgreSQL keeps every lock
/// that a transaction holds in a lock table with room for 64 per connection
/// by default (`max_locks_per_transaction`), so a batch of thousands of
/// statuses failed with "out of shared memory" when each wamid had a lock
/// of its own. Wamids in one slot wait for each other, which only costs
/// unrelated webhooks a short wait.
const WAMID_LOCK_SLOTS: i64 = 256;

/// Serializes every transaction that touches one wamid of one account, so
/// a status that races with its message is either applied to it or seen
/// as pending by it. The lock is released at commit or rollback.
pub(crate) async fn lock_wamid(
    conn: &mut PgConnection,
    account: &AccountId,
    wamid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0) & $3)")
        .bind(account.as_str())
        .bind(wamid)
        .bind(WAMID_LOCK_SLOTS - 1)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the wamid locks of every item of `batch` at once, in slot order,
/// so that two batches never wait for each other's slots in opposite
/// orders. The items rely on these locks and take none of their own.
async fn lock_batch_wamids(
    conn: &mut PgConnection,
    batch: &WebhookBatch,
) -> Result<(), sqlx::Error> {
    let (accounts, wamids): (Vec<&str>, Vec<&str>) = batch
        .items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Message(message) => Some((message.account_id.as_str(), &message.wamid)),
            IngestItem::Reaction(reaction) => {
                Some((reaction.account_id.as_str(), &reaction.target_wamid))
            }
            IngestItem::Status(update) => Some((update.account_id.as_str(), &update.wamid)),
            IngestItem::Contact(_) | IngestItem::TemplateStatus(_) => None,
        })
        .map(|(account, wamid)| (account, wamid.as_str()))
        .unzip();
    if accounts.is_empty() {
        return Ok(());
    }
    // PostgreSQL calls a volatile function in the select list after the
    // sort, so the locks are taken in slot order.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(slot) FROM \
         (SELECT DISTINCT hashtextextended(a || '/' || w, 0) & $3 AS slot \
          FROM unnest($1::text[], $2::text[]) AS t (a, w)) AS slots \
         ORDER BY slot",
    )
    .bind(&accounts)
    .bind(&wamids)
    .bind(WAMID_LOCK_SLOTS - 1)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::retry_pause;

    #[test]
    fn retry_pause_grows_with_attempts() {
        for attempt in 1..=4 {
            let pause = retry_pause(attempt).as_millis();
            assert!(pause >= 1, "attempt {attempt}: {pause} ms");
            assert!(
                pause <= 20 * u128::from(attempt),
                "attempt {attempt}: {pause} ms"
            );
        }
    }
}
