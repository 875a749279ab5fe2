//! Contacts and the one conversation each contact has with an account.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::deferred_contacts::DeferredContacts;
use crate::store::{AccountId, ContactId, ContactSeen, ConversationId, StoreResult, UnixTime};

/// Seconds a customer-service window stays open after an inbound message.
pub(super) const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// Returns the contact and conversation for `wa_id`, creating whichever is
/// missing. An existing contact's name is left unchanged.
pub(super) fn ensure_thread(
    conn: &Connection,
    account: &AccountId,
    wa_id: &str,
    now: UnixTime,
) -> StoreResult<(ContactId, ConversationId)> {
    let found: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT c.id, v.id FROM contacts c LEFT JOIN conversations v ON v.contact_id = c.id \
             WHERE c.account_id = ?1 AND c.wa_id = ?2",
        )?
        .query_row([account.as_str(), wa_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let (contact, conversation) = match found {
        Some((contact, conversation)) => (ContactId(contact), conversation.map(ConversationId)),
        None => (insert_contact(conn, account, wa_id, now)?, None),
    };
    let conversation = match conversation {
        Some(id) => id,
        None => insert_conversation(conn, account, &contact, now)?,
    };
    Ok((contact, conversation))
}

/// Stores the contact entry that the batch deferred for `wa_id`, if any,
/// because the batch stores a message or reaction from that customer.
pub(super) fn store_deferred_contact(
    conn: &Connection,
    deferred: &mut DeferredContacts,
    account: &AccountId,
    wa_id: &str,
    now: UnixTime,
) -> StoreResult<()> {
    match deferred.take(account, wa_id) {
        Some(seen) => upsert_contact(conn, &seen, now),
        None => Ok(()),
    }
}

/// Stores a contact from a webhook's `contacts[]`. Its name and user id
/// change only when the webhook carries a non-blank value. The caller
/// creates the conversation with the customer's message or reaction.
fn upsert_contact(conn: &Connection, seen: &ContactSeen, now: UnixTime) -> StoreResult<()> {
    let name = seen.stored_name();
    let user_id = seen.stored_user_id();
    conn.prepare_cached(
        "INSERT INTO contacts (id, account_id, wa_id, profile_name, user_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (account_id, wa_id) DO UPDATE SET \
             profile_name = coalesce(excluded.profile_name, contacts.profile_name), \
             user_id = coalesce(excluded.user_id, contacts.user_id), \
             updated_at = excluded.updated_at \
         WHERE coalesce(excluded.profile_name, contacts.profile_name) IS NOT contacts.profile_name \
            OR coalesce(excluded.user_id, contacts.user_id) IS NOT contacts.user_id",
    )?
    .execute(params![
        ContactId::generate().as_str(),
        seen.account_id.as_str(),
        seen.wa_id,
        name,
        user_id,
        now,
    ])?;
    Ok(())
}

/// Sets the non-blank name and user id of `seen` on the contact when it is
/// stored already, and creates no contact. For entries of `contacts[]`
/// whose customer the batch stored nothing from.
pub(super) fn update_stored_contact(
    conn: &Connection,
    seen: &ContactSeen,
    now: UnixTime,
) -> StoreResult<()> {
    let name = seen.stored_name();
    let user_id = seen.stored_user_id();
    conn.prepare_cached(
        "UPDATE contacts SET \
             profile_name = coalesce(?3, profile_name), \
             user_id = coalesce(?4, user_id), \
             updated_at = ?5 \
         WHERE account_id = ?1 AND wa_id = ?2 \
           AND (coalesce(?3, profile_name) IS NOT profile_name \
                OR coalesce(?4, user_id) IS NOT user_id)",
    )?
    .execute(params![
        seen.account_id.as_str(),
        seen.wa_id,
        name,
        user_id,
        now,
    ])?;
    Ok(())
}

/// Moves the conversation's window end to `ts + WINDOW_SECONDS` unless it
/// is already later.
pub(super) fn extend_window(
    conn: &Connection,
    conversation: &ConversationId,
    ts: UnixTime,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE conversations SET window_expires_at = max(coalesce(window_expires_at, ?2), ?2) \
         WHERE id = ?1",
    )?
    .execute(params![
        conversation.as_str(),
        ts.saturating_add(WINDOW_SECONDS)
    ])?;
    Ok(())
}

fn insert_contact(
    conn: &Connection,
    account: &AccountId,
    wa_id: &str,
    now: UnixTime,
) -> StoreResult<ContactId> {
    let id = ContactId::generate();
    conn.prepare_cached(
        "INSERT INTO contacts (id, account_id, wa_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![id.as_str(), account.as_str(), wa_id, now])?;
    Ok(id)
}

fn insert_conversation(
    conn: &Connection,
    account: &AccountId,
    contact: &ContactId,
    now: UnixTime,
) -> StoreResult<ConversationId> {
    let id = ConversationId::generate();
    conn.prepare_cached(
        "INSERT INTO conversations (id, account_id, contact_id, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id.as_str(), account.as_str(), contact.as_str(), now])?;
    Ok(id)
}
