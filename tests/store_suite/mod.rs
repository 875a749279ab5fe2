//! Backend-neutral tests of the `Store` trait. A backend's test file opens a
//! fresh, empty store per test and runs every function here through
//! `store_suite_tests!`.
//!
//! The store has no method that inserts outbound messages yet, so status
//! tests take an `OutboundSeeder` that writes such a row directly in the
//! backend's own schema.

pub mod admin;
pub mod ingest;
pub mod keys;
pub mod reactions;
pub mod reads;
pub mod search;
pub mod statuses;

use async_trait::async_trait;
use pons::store::{
    Account, AccountId, ConversationRef, ConversationSummary, DynStore, InboundMessage, IngestItem,
    IngestReport, Message, MessageStatus, NewAccount, NewUser, NewWebhookLog, StatusUpdate,
    UnixTime, User, WebhookBatch,
};

/// A Unix time to build test timestamps on.
pub const T0: UnixTime = 1_700_000_000;
/// Seconds a customer-service window stays open after an inbound message.
pub const WINDOW: i64 = 86_400;

/// An outbound message row to insert directly.
pub struct OutboundSeed {
    pub account_id: AccountId,
    pub conversation: ConversationSummary,
    pub wamid: String,
    pub status: MessageStatus,
    pub timestamp: UnixTime,
}

/// Inserts outbound message rows without going through the store.
#[async_trait]
pub trait OutboundSeeder: Send + Sync {
    async fn insert_outbound(&self, seed: OutboundSeed);
}

/// A fresh store and the backend's way of seeding rows into it.
pub trait Harness: OutboundSeeder {
    fn store(&self) -> DynStore;
}

/// Generates one `#[tokio::test]` per suite function; `$open` is an async
/// function returning a fresh `Harness`.
macro_rules! store_suite_tests {
    ($open:path) => {
        store_suite_tests!(@store $open;
            admin::user_create_and_find,
            admin::user_email_conflict_ignores_case,
            admin::account_create_adds_owner,
            admin::account_phone_number_id_conflict,
            admin::account_unknown_owner_not_found,
            admin::account_lookups,
            admin::token_invalid_set_and_clear,
            admin::member_upsert_and_remove,
            admin::member_unknown_account_not_found,
            admin::reachable_accounts_narrowed,
            keys::api_key_create_and_find,
            keys::api_key_conflicts_and_unknowns,
            keys::api_key_revoke_by_id_and_prefix,
            keys::api_key_touch,
            ingest::message_duplicate_changes_nothing,
            ingest::message_fields_stored,
            ingest::late_message_keeps_window_and_preview,
            ingest::preview_falls_back_to_caption_and_type,
            ingest::contact_name_never_blanked,
            ingest::failing_batch_rolls_back_alone,
            ingest::parallel_same_wamid_stored_once,
            ingest::template_status_per_account,
            ingest::record_webhook_alone,
            reactions::reaction_add_and_remove,
            reactions::reaction_before_message,
            reactions::reaction_keeps_preview_extends_window,
            reads::conversations_ordered_and_filtered,
            reads::find_conversation_by_id_and_phone,
            reads::conversation_messages_newest_oldest_first,
            reads::empty_accounts_return_nothing,
            search::search_ranks_and_isolates_tenants,
            search::search_input_never_errors,
            statuses::status_deferred_for_unknown_wamid,
            statuses::status_on_inbound_message_ignored,
        );
        store_suite_tests!(@seeded $open;
            statuses::status_forward_order,
            statuses::status_read_before_delivered,
            statuses::status_failed_keeps_error,
            statuses::status_failed_after_delivered_ignored,
            statuses::status_played_after_read,
            statuses::status_reverse_order_in_one_batch,
        );
    };
    (@store $open:path; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = $open().await;
                store_suite::$module::$name(store_suite::Harness::store(&harness)).await;
            }
        )*
    };
    (@seeded $open:path; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = $open().await;
                store_suite::$module::$name(store_suite::Harness::store(&harness), &harness)
                    .await;
            }
        )*
    };
}

/// A user and an account the user owns.
pub struct Tenant {
    pub owner: User,
    pub account: Account,
}

/// Creates a user and an account whose Meta ids are derived from `tag`.
pub async fn tenant(store: &DynStore, tag: &str) -> Tenant {
    let owner = store
        .create_user(NewUser {
            email: format!("owner-{tag}@example.com"),
            password_hash: None,
        })
        .await
        .expect("create user");
    let account = store
        .create_account(new_account(&owner, tag))
        .await
        .expect("create account");
    Tenant { owner, account }
}

/// An account insert whose ids are derived from `tag`, on the default WABA.
pub fn new_account(owner: &User, tag: &str) -> NewAccount {
    NewAccount {
        name: format!("Account {tag}"),
        waba_id: format!("waba-{tag}"),
        phone_number_id: format!("pnid-{tag}"),
        phone_number: phone_for(tag),
        display_name: Some(format!("Display {tag}")),
        access_token_encrypted: format!("token-{tag}").into_bytes(),
        app_secret_encrypted: format!("secret-{tag}").into_bytes(),
        verify_token: format!("verify-{tag}"),
        owner: owner.id.clone(),
    }
}

/// E.164 digits derived from `tag`, distinct for the few tags a test uses.
pub fn phone_for(tag: &str) -> String {
    let hash = tag
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("1555{:07}", hash % 10_000_000)
}

pub fn webhook_log(account: Option<&AccountId>) -> NewWebhookLog {
    NewWebhookLog {
        received_at: T0,
        account_id: account.cloned(),
        headers_json: "{}".to_owned(),
        body: b"{\"object\":\"whatsapp_business_account\"}".to_vec(),
        outcome: "processed".to_owned(),
        detail: None,
    }
}

pub fn batch(items: Vec<IngestItem>) -> WebhookBatch {
    WebhookBatch {
        log: webhook_log(None),
        items,
    }
}

/// Ingests `items` as one batch and returns its report.
pub async fn ingest(store: &DynStore, items: Vec<IngestItem>) -> IngestReport {
    store.ingest(batch(items)).await.expect("ingest")
}

/// An inbound text message.
pub fn text(
    account: &Account,
    from: &str,
    wamid: &str,
    timestamp: UnixTime,
    body: &str,
) -> InboundMessage {
    InboundMessage {
        account_id: account.id.clone(),
        from: from.to_owned(),
        wamid: wamid.to_owned(),
        timestamp,
        kind: "text".to_owned(),
        text: Some(body.to_owned()),
        caption: None,
        media: None,
        context_wamid: None,
        content_json: format!("{{\"body\":{body:?}}}"),
        raw_json: "{}".to_owned(),
        errors: Vec::new(),
    }
}

pub fn status(
    account: &Account,
    wamid: &str,
    status: MessageStatus,
    timestamp: UnixTime,
) -> StatusUpdate {
    StatusUpdate {
        account_id: account.id.clone(),
        wamid: wamid.to_owned(),
        status,
        timestamp,
        recipient_id: Some("15550001111".to_owned()),
        error: None,
    }
}

/// The conversation with `wa_id` on `account`; panics when there is none.
pub async fn conversation(store: &DynStore, account: &Account, wa_id: &str) -> ConversationSummary {
    store
        .find_conversation(
            std::slice::from_ref(&account.id),
            &ConversationRef::Phone(wa_id.to_owned()),
        )
        .await
        .expect("find conversation")
        .expect("conversation exists")
}

/// Every message of the conversation with `wa_id`, oldest first.
pub async fn messages(store: &DynStore, account: &Account, wa_id: &str) -> Vec<Message> {
    let conversation = conversation(store, account, wa_id).await;
    store
        .conversation_messages(&conversation.id, 1000)
        .await
        .expect("conversation messages")
}

/// The stored message with `wamid` in the conversation with `wa_id`.
pub async fn message(store: &DynStore, account: &Account, wa_id: &str, wamid: &str) -> Message {
    messages(store, account, wa_id)
        .await
        .into_iter()
        .find(|m| m.wamid.as_deref() == Some(wamid))
        .expect("message stored")
}
