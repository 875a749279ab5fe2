//! Backend-neutral tests of the `Store` trait. A backend's test file
//! declares `#[macro_use] mod store_suite;`, implements `Harness` and runs
//! every function here through `store_suite_tests!`, on a fresh, empty
//! store per test.

pub mod admin;
pub mod business_reactions;
pub mod conversations;
pub mod ingest;
pub mod jobs;
pub mod key_verifier;
pub mod keys;
pub mod media;
pub mod outbound;
pub mod paging;
pub mod reactions;
pub mod reads;
pub mod reconcile;
pub mod search;
pub mod statuses;
pub mod templates;

use pons::store::{
    Account, AccountId, ConversationRef, ConversationSummary, DynStore, InboundMessage, IngestItem,
    IngestReport, Message, MessageStatus, NewAccount, NewOutboundMessage, NewUser, NewWebhookLog,
    SentMessage, StatusUpdate, UnixTime, User, WebhookBatch,
};

/// A Unix time to build test timestamps on.
pub const T0: UnixTime = 1_700_000_000;
/// Seconds a customer-service window stays open after an inbound message.
pub const WINDOW: i64 = 86_400;
/// A time after every job that ingestion enqueues with the wall clock.
pub const LATER: UnixTime = 4_000_000_000;

/// A fresh store of one backend.
pub trait Harness {
    fn store(&self) -> DynStore;
}

/// Generates one `#[tokio::test]` per suite function. `$open` is an async
/// function that returns a fresh `Harness`.
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
            admin::account_secrets_replaced,
            admin::member_upsert_and_remove,
            admin::member_changes_keep_an_owner,
            admin::member_unknown_account_not_found,
            admin::reachable_accounts_narrowed,
            key_verifier::key_verifier_insert_keeps_first,
            key_verifier::key_verifier_written_on_first_use,
            key_verifier::key_verifier_same_key_accepted,
            key_verifier::key_verifier_other_key_rejected,
            key_verifier::key_verifier_adopted_for_old_database,
            key_verifier::key_verifier_concurrent_first_use,
            key_verifier::key_verifier_adopt_replaces_lost_key,
            key_verifier::key_verifier_adopt_needs_every_account,
            key_verifier::key_verifier_follows_replaced_secrets,
            key_verifier::key_verifier_kept_for_other_accounts,
            key_verifier::key_verifier_not_stored_without_secrets,
            key_verifier::key_verifier_no_secrets_checks_accounts,
            key_verifier::key_verifier_key_lost_one_by_one,
            keys::api_key_create_and_find,
            keys::api_key_conflicts_and_unknowns,
            keys::api_key_revoke_by_id_and_prefix,
            keys::api_key_touch,
            ingest::message_duplicate_changes_nothing,
            ingest::message_fields_stored,
            ingest::late_message_keeps_window_and_preview,
            ingest::preview_falls_back_to_caption_and_type,
            ingest::contact_name_never_blanked,
            ingest::contact_renamed_within_batch,
            ingest::contact_alone_creates_nothing,
            ingest::failing_batch_rolls_back_alone,
            ingest::parallel_same_wamid_stored_once,
            ingest::template_status_per_account,
            ingest::record_webhook_alone,
            reactions::reaction_add_and_remove,
            reactions::reaction_before_message,
            reactions::reaction_keeps_preview_extends_window,
            reactions::reaction_to_other_customer_skipped,
            reactions::early_reaction_of_other_customer_ignored,
            reads::conversations_ordered_and_filtered,
            reads::find_conversation_by_id_and_phone,
            reads::conversation_messages_newest_oldest_first,
            reads::read_conversation_with_its_messages,
            reads::empty_accounts_return_nothing,
            reads::lookups_with_nul_find_nothing,
            paging::pages_break_ties_by_id,
            paging::pages_reach_conversations_without_messages,
            paging::pages_merge_accounts,
            paging::pages_keep_archive_filter,
            search::search_ranks_and_isolates_tenants,
            search::search_input_never_errors,
            search::search_ranks_only_recent_matches,
            search::search_splits_codes_at_punctuation,
            search::search_finds_email_and_host_parts,
            search::search_finds_eszett_as_written,
            statuses::status_deferred_for_unknown_wamid,
            statuses::status_on_inbound_message_ignored,
            statuses::status_forward_order,
            statuses::status_read_before_delivered,
            statuses::status_failed_keeps_error,
            statuses::status_failed_after_delivered_ignored,
            statuses::status_played_after_read,
            statuses::status_reverse_order_in_one_batch,
            reconcile::reconcile_failed_send_by_callback,
            reconcile::reconcile_pending_send_then_response,
            reconcile::reconcile_failed_status_keeps_meta_error,
            reconcile::reconcile_mismatch_ignored,
            reconcile::reconcile_rejected_status_applies_later,
            admin::account_secrets_found_and_missing,
            conversations::mark_read_resets_unread,
            conversations::mark_read_keeps_newer_unread,
            conversations::archive_and_unarchive,
            conversations::archive_filter_in_lists,
            outbound::outbound_pending_sent_delivered,
            outbound::failed_reply_leaves_conversation_unanswered,
            outbound::outbound_to_new_contact,
            outbound::outbound_older_keeps_last_message,
            outbound::outbound_status_before_sent,
            outbound::outbound_failed_keeps_meta_error,
            outbound::outbound_failed_after_delivered_ignored,
            outbound::unconfirmed_sends_marked_failed,
            outbound::outbound_wamid_conflicts,
            outbound::outbound_adopts_meta_wa_id,
            outbound::outbound_keeps_wa_id_when_taken,
            outbound::outbound_rejects_unknown_and_inbound,
            outbound::outbound_reaction_before_sent,
            outbound::outbound_last_wamid_only_when_newest,
            business_reactions::reaction_set_and_cleared,
            business_reactions::reaction_unknown_message_rejected,
            business_reactions::older_reaction_never_overwrites_newer,
            business_reactions::reaction_confirmed_by_status,
            business_reactions::reaction_failed_status_deleted,
            business_reactions::reaction_status_of_other_account_ignored,
            business_reactions::stale_pending_reactions_forgotten,
            outbound::find_message_by_id_and_wamid,
            outbound::find_messages_by_wamid_in_each_account,
            templates::templates_sync_replaces,
            templates::templates_listed_by_name_language,
            templates::templates_unknown_account_not_found,
            templates::template_status_enqueues_sync,
            jobs::jobs_dedupe_while_queued,
            jobs::jobs_claim_order_and_filters,
            jobs::jobs_lease_expiry_reclaims,
            jobs::jobs_lease_extended_while_claimed,
            jobs::jobs_retry_then_max_attempts,
            jobs::jobs_returned_attempt_not_counted,
            jobs::jobs_retry_with_queued_twin,
            jobs::jobs_fail_and_complete,
            jobs::jobs_expired_last_attempt_not_claimed,
            jobs::jobs_concurrent_claimers_disjoint,
            jobs::jobs_invalid_input_rejected,
            media::media_job_enqueued_once,
            media::media_stored_and_failed,
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

/// Builds an account insert whose Meta ids and phone number derive from `tag`.
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

/// Builds a processed webhook log row with a small JSON body.
pub fn webhook_log(account: Option<&AccountId>) -> NewWebhookLog {
    NewWebhookLog {
        received_at: T0,
        account_id: account.cloned(),
        headers_json: "{}".to_owned(),
        body: bytes::Bytes::from_static(b"{\"object\":\"whatsapp_business_account\"}"),
        outcome: "processed".to_owned(),
        detail: None,
    }
}

/// Wraps `items` in a batch with a log row for no single account.
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

/// Builds an inbound text message.
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

/// Builds a delivery status for `wamid` without an error.
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
        biz_opaque_callback_data: None,
    }
}

/// Finds the conversation with `wa_id` on `account`. Panics when there is none.
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

/// Returns every message of the conversation with `wa_id`, oldest first.
pub async fn messages(store: &DynStore, account: &Account, wa_id: &str) -> Vec<Message> {
    let conversation = conversation(store, account, wa_id).await;
    store
        .conversation_messages(&conversation.id, 1000)
        .await
        .expect("conversation messages")
}

/// Finds the stored message with `wamid` in the conversation with `wa_id`.
pub async fn message(store: &DynStore, account: &Account, wa_id: &str, wamid: &str) -> Message {
    messages(store, account, wa_id)
        .await
        .into_iter()
        .find(|m| m.wamid.as_deref() == Some(wamid))
        .expect("message stored")
}

/// Builds an outbound text message to `wa_id`.
pub fn outbound_text(
    account: &Account,
    wa_id: &str,
    timestamp: UnixTime,
    body: &str,
) -> NewOutboundMessage {
    NewOutboundMessage {
        account_id: account.id.clone(),
        wa_id: wa_id.to_owned(),
        kind: "text".to_owned(),
        text: Some(body.to_owned()),
        caption: None,
        media: None,
        context_wamid: None,
        content_json: format!("{{\"text\":{{\"body\":{body:?}}}}}"),
        timestamp,
    }
}

/// Stores an outbound text to `wa_id` and records Meta's acceptance of it
/// as `wamid`, one second later.
pub async fn send_text(
    store: &DynStore,
    account: &Account,
    wa_id: &str,
    wamid: &str,
    timestamp: UnixTime,
) -> Message {
    let pending = store
        .insert_outbound(outbound_text(account, wa_id, timestamp, "reply"))
        .await
        .expect("insert outbound");
    let sent = SentMessage {
        wamid: wamid.to_owned(),
        wa_id: Some(wa_id.to_owned()),
    };
    store
        .mark_outbound_sent(&pending.id, sent, timestamp + 1)
        .await
        .expect("mark outbound sent")
}

/// Returns the current status of the message stored as `wamid` on `account`.
pub async fn status_of(store: &DynStore, account: &AccountId, wamid: &str) -> MessageStatus {
    store
        .find_message_by_wamid(std::slice::from_ref(account), wamid)
        .await
        .expect("find message by wamid")
        .expect("message stored")
        .1
        .status
}
