//! Storing a verified webhook: its log row and every fact it carries, in
//! the order the body gave them, inside the caller's savepoint.

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::conversations::{store_deferred_contact, update_stored_contact};
use super::inbound::{store_message, store_reaction};
use super::jobs::enqueue_job;
use super::status::ingest_status;
use super::unix_now;
use crate::store::deferred_contacts::DeferredContacts;
use crate::store::jobs;
use crate::store::{
    AccountId, IngestItem, IngestReport, NewWebhookLog, StoreResult, TemplateStatusUpdate,
    UnixTime, WebhookBatch,
};

/// Stores the batch, and then its log row with the notes the items left.
/// A contact entry is stored with the first message or reaction from that
/// customer that the batch stores, and otherwise only updates a stored
/// contact. Any error fails the whole batch, and the writer rolls back its
/// savepoint.
pub(super) fn ingest_batch(conn: &Connection, batch: &WebhookBatch) -> StoreResult<IngestReport> {
    let now = unix_now();
    let mut report = IngestReport::default();
    let mut contacts = DeferredContacts::default();
    for item in &batch.items {
        match item {
            IngestItem::Contact(seen) => contacts.defer(seen),
            IngestItem::Message(message) => {
                store_deferred_contact(
                    conn,
                    &mut contacts,
                    &message.account_id,
                    &message.from,
                    now,
                )?;
                store_message(conn, message, now, &mut report)?;
            }
            IngestItem::Reaction(reaction) => {
                store_reaction(conn, &mut contacts, reaction, now, &mut report)?;
            }
            IngestItem::Status(update) => ingest_status(conn, update, now, &mut report)?,
            IngestItem::TemplateStatus(update) => {
                report.templates_updated += update_templates(conn, update, now)?;
            }
        }
    }
    for seen in contacts.drain() {
        update_stored_contact(conn, &seen, now)?;
    }
    insert_webhook_log(conn, &batch.log.with_notes(&report.notes))?;
    Ok(report)
}

pub(super) fn insert_webhook_log(conn: &Connection, log: &NewWebhookLog) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_log (id, received_at, account_id, headers_json, body, outcome, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        Uuid::now_v7().to_string(),
        log.received_at,
        log.account_id.as_ref().map(|id| id.as_str()),
        log.headers_json,
        &log.body[..],
        log.outcome,
        log.detail,
    ])?;
    Ok(())
}

/// Upserts the template on every account of the WhatsApp Business Account
/// and enqueues a template sync for each, because the webhook carries no
/// components. Returns how many account rows were written.
fn update_templates(
    conn: &Connection,
    update: &TemplateStatusUpdate,
    now: UnixTime,
) -> StoreResult<u32> {
    let accounts: Vec<String> = conn
        .prepare_cached("SELECT id FROM accounts WHERE waba_id = ?1")?
        .query_map([&update.waba_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO templates (id, account_id, meta_template_id, name, language, status, \
             rejected_reason, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (account_id, meta_template_id) DO UPDATE SET \
             status = excluded.status, \
             rejected_reason = excluded.rejected_reason, \
             name = coalesce(excluded.name, templates.name), \
             language = coalesce(excluded.language, templates.language), \
             updated_at = excluded.updated_at",
    )?;
    for account in &accounts {
        upsert.execute(params![
            Uuid::now_v7().to_string(),
            account,
            update.meta_template_id,
            update.name,
            update.language,
            update.status,
            update.reason,
            now,
        ])?;
        let account = AccountId(account.clone());
        enqueue_job(conn, &jobs::template_sync(&account, now), now)?;
    }
    Ok(accounts.len() as u32)
}
