//! Contacts and conversations of one webhook batch on PostgreSQL, looked
//! up once per customer rather than once per item.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::ingest::ensure_conversation_with;
use crate::store::deferred_contacts::DeferredContacts;
use crate::store::*;

/// The contacts that one batch transaction has already stored or found,
/// keyed by account id and wa_id. It lives for one attempt at the batch,
/// because a retried transaction starts again from the committed rows.
#[derive(Default)]
pub(crate) struct BatchContacts {
    conversations: HashMap<(String, String), ConversationId>,
    /// Profile name and user id that this transaction's upserts stored,
    /// each `None` while no upsert carried a value for it.
    profiles: HashMap<(String, String), (Option<String>, Option<String>)>,
    /// Entries of `contacts[]` not stored yet, because the batch has stored
    /// no message or reaction from their customer so far.
    deferred: DeferredContacts,
}

impl BatchContacts {
    /// Defers a contact from a webhook's `contacts[]` until the batch stores
    /// a message or reaction from that customer.
    pub(crate) fn defer(&mut self, contact: &ContactSeen) {
        self.deferred.defer(contact);
    }

    /// Returns the conversation with `wa_id`, creating the contact and
    /// conversation when they do not exist, and stores the contact entry
    /// deferred for `wa_id`. Only the first call for a customer looks up the
    /// conversation in the database. Contacts and conversations are never
    /// deleted, so the conversation found first stays valid. A send that
    /// gives the contact another wa_id meanwhile (`adopt_wa_id`) leaves the
    /// batch's later messages in that conversation, as if the batch had
    /// committed before the send.
    pub(crate) async fn conversation_with(
        &mut self,
        conn: &mut PgConnection,
        account: &AccountId,
        wa_id: &str,
        now: UnixTime,
    ) -> Result<ConversationId, sqlx::Error> {
        if let Some(contact) = self.deferred.take(account, wa_id) {
            self.upsert_contact(conn, &contact, now).await?;
        }
        let key = (account.as_str().to_owned(), wa_id.to_owned());
        if let Some(conversation) = self.conversations.get(&key) {
            return Ok(conversation.clone());
        }
        let conversation = ensure_conversation_with(conn, account, wa_id, now).await?;
        self.conversations.insert(key, conversation.clone());
        Ok(conversation)
    }

    /// Sets the name and user id of every contact entry still deferred on the
    /// contact when it is stored already, and creates no contact. The batch
    /// stored nothing from these customers. Call it once, after the items.
    pub(crate) async fn update_deferred(
        &mut self,
        conn: &mut PgConnection,
        now: UnixTime,
    ) -> Result<(), sqlx::Error> {
        for contact in self.deferred.drain() {
            update_stored_contact(conn, &contact, now).await?;
        }
        Ok(())
    }

    /// Stores a contact from a webhook's `contacts[]`. Its name and user id
    /// change only when the webhook carries a non-blank value, and
    /// `updated_at` only when one of them does.
    ///
    /// The first upsert of a contact locks its row until commit, even when
    /// it changes nothing, so a later contact item whose values this
    /// transaction already stored would change nothing and is skipped.
    async fn upsert_contact(
        &mut self,
        conn: &mut PgConnection,
        contact: &ContactSeen,
        now: UnixTime,
    ) -> Result<(), sqlx::Error> {
        let name = contact.stored_name();
        let user_id = contact.stored_user_id();
        let key = (
            contact.account_id.as_str().to_owned(),
            contact.wa_id.clone(),
        );
        if let Some((stored_name, stored_user_id)) = self.profiles.get(&key) {
            let same_name = name.is_none_or(|name| stored_name.as_deref() == Some(name));
            let same_user_id =
                user_id.is_none_or(|user_id| stored_user_id.as_deref() == Some(user_id));
            if same_name && same_user_id {
                return Ok(());
            }
        }
        upsert_contact_row(conn, contact, name, user_id, now).await?;
        let (stored_name, stored_user_id) = self.profiles.entry(key).or_default();
        if let Some(name) = name {
            *stored_name = Some(name.to_owned());
        }
        if let Some(user_id) = user_id {
            *stored_user_id = Some(user_id.to_owned());
        }
        Ok(())
    }
}

/// Sets the non-blank name and user id of `contact` on the stored contact
/// with its wa_id, changing `updated_at` only when one of them changes.
/// Updates nothing when no such contact is stored.
async fn update_stored_contact(
    conn: &mut PgConnection,
    contact: &ContactSeen,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let name = contact.stored_name();
    let user_id = contact.stored_user_id();
    sqlx::query(
        "UPDATE contacts SET profile_name = COALESCE($3, profile_name), \
         user_id = COALESCE($4, user_id), updated_at = $5 \
         WHERE account_id = $1 AND wa_id = $2 \
           AND (COALESCE($3, profile_name) IS DISTINCT FROM profile_name \
                OR COALESCE($4, user_id) IS DISTINCT FROM user_id)",
    )
    .bind(contact.account_id.as_str())
    .bind(&contact.wa_id)
    .bind(name)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts the contact, or sets the non-blank `name` and `user_id` on the
/// stored one. The row stays locked until the transaction ends.
async fn upsert_contact_row(
    conn: &mut PgConnection,
    contact: &ContactSeen,
    name: Option<&str>,
    user_id: Option<&str>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (id, account_id, wa_id, profile_name, user_id, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (account_id, wa_id) DO UPDATE SET \
         profile_name = COALESCE(excluded.profile_name, contacts.profile_name), \
         user_id = COALESCE(excluded.user_id, contacts.user_id), \
         updated_at = excluded.updated_at \
         WHERE COALESCE(excluded.profile_name, contacts.profile_name) \
               IS DISTINCT FROM contacts.profile_name \
            OR COALESCE(excluded.user_id, contacts.user_id) IS DISTINCT FROM contacts.user_id",
    )
    .bind(ContactId::generate().as_str())
    .bind(contact.account_id.as_str())
    .bind(&contact.wa_id)
    .bind(name)
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
