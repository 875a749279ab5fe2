//! The repository interface and its two backends, SQLite and PostgreSQL.

pub mod business_reactions;
pub mod customer_reactions;
pub mod deferred_contacts;
pub mod jobs;
pub mod model;
pub mod postgres;
pub mod reconcile;
pub mod sqlite;
pub mod webhook_notes;

use std::sync::Arc;

use async_trait::async_trait;

use crate::shorten::shorten;

pub use model::*;
pub use webhook_notes::summarise_notes;

/// Errors a backend reports. Backends map their driver errors into these;
/// callers turn them into HTTP or tool errors in one place each.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Checks the rule that an account keeps an owner: removing `user` from the
/// owners `owners` of `account`, or giving them another role, must leave
/// one. Both backends call it inside the transaction that changes the
/// membership, with the owners read there.
pub(crate) fn keep_an_owner(
    account: &AccountId,
    owners: &[UserId],
    user: &UserId,
) -> StoreResult<()> {
    if owners == std::slice::from_ref(user) {
        return Err(StoreError::Invalid(format!(
            "user {user} is the only owner of account {account}; make another member owner first"
        )));
    }
    Ok(())
}

/// Matches a search ranks: the most recent matching messages of the
/// caller's accounts, at most this many. Ranking every match of a common
/// word costs a score and a sort per match (hundreds of milliseconds at a
/// million messages), and an inbox search wants the best of the recent ones.
pub const SEARCH_RANKED_MATCHES: u32 = 1_000;

/// Splits a search query into the terms both backends match: runs of
/// characters other than whitespace and NUL that contain a letter or digit.
/// A message matches when it contains every term, and the words of one term
/// (`ORD-123456` has two) next to each other in that order. Terms of
/// punctuation alone are dropped because the tokenizers yield no word for
/// them. NUL separates terms because neither backend accepts it in a query:
/// FTS5 reads its query as a C string, and PostgreSQL text cannot hold it.
pub(crate) fn search_terms(query: &str) -> Vec<&str> {
    query
        .split(|c: char| c.is_whitespace() || c == '\0')
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .collect()
}

/// The whole repository. Every multi-statement write runs in one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a user; `Conflict` when the email is taken (case-insensitive).
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    /// Inserts an account and makes its owner a member with role `owner`.
    /// `Conflict` when the phone number id is already connected.
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    /// Finds an account by its id or its E.164 digits.
    async fn find_account(&self, id_or_phone: &str) -> StoreResult<Option<Account>>;
    /// Accounts (with encrypted secrets) owning any of these phone number ids.
    async fn accounts_by_phone_number_ids(
        &self,
        ids: &[String],
    ) -> StoreResult<Vec<AccountSecrets>>;
    /// Accounts (with encrypted secrets) on any of these WhatsApp Business Account ids.
    async fn accounts_by_waba_ids(&self, ids: &[String]) -> StoreResult<Vec<AccountSecrets>>;
    /// Every account's webhook verify token, for the subscription handshake.
    async fn verify_tokens(&self) -> StoreResult<Vec<String>>;
    /// Marks the access token as rejected by Meta (`Some`) or valid again (`None`).
    async fn set_token_invalid(&self, account: &AccountId, at: Option<UnixTime>)
    -> StoreResult<()>;

    /// Replaces the encrypted access token and/or app secret (`None` keeps
    /// the stored one). A new access token clears `token_invalid_at`.
    async fn update_account_secrets(
        &self,
        account: &AccountId,
        access_token_encrypted: Option<Vec<u8>>,
        app_secret_encrypted: Option<Vec<u8>>,
    ) -> StoreResult<()>;

    /// Returns the encryption key verifier, a value encrypted with the key
    /// of the account secrets, or `None` before one is stored.
    async fn key_verifier(&self) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `sealed` as the key verifier unless one is stored already, and
    /// then keeps that one. Of concurrent calls, the first to commit wins,
    /// so callers read the verifier back to learn which one is stored.
    async fn insert_key_verifier(&self, sealed: Vec<u8>) -> StoreResult<()>;
    /// Replaces the key verifier with `sealed` if the stored one is still
    /// `previous`. Returns `false`, and changes nothing, when another
    /// verifier or none is stored.
    async fn replace_key_verifier(&self, previous: Vec<u8>, sealed: Vec<u8>) -> StoreResult<bool>;

    /// Adds a member or changes the role of an existing one. `Invalid` when
    /// that would leave the account without an owner.
    async fn upsert_member(
        &self,
        account: &AccountId,
        user: &UserId,
        role: Role,
    ) -> StoreResult<()>;
    /// Removes a member. `Invalid` when they are the account's only owner.
    async fn remove_member(&self, account: &AccountId, user: &UserId) -> StoreResult<()>;
    /// Returns the account's members, owners first, then by email.
    async fn list_members(&self, account: &AccountId) -> StoreResult<Vec<Member>>;
    /// Accounts the user is a member of, narrowed to `only` when it is not empty.
    async fn reachable_accounts(
        &self,
        user: &UserId,
        only: &[AccountId],
    ) -> StoreResult<Vec<Account>>;

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// Finds a key by the SHA-256 of its full text, revoked or not.
    async fn find_api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revokes the key whose id or display prefix is given. `NotFound` when none
    /// matches, `Conflict` when a prefix matches more than one.
    async fn revoke_api_key(&self, id_or_prefix: &str, at: UnixTime) -> StoreResult<ApiKey>;
    async fn touch_api_key(&self, id: &ApiKeyId, at: UnixTime) -> StoreResult<()>;

    /// Stores a verified webhook and its log row in one transaction. A
    /// wamid already stored for the account is counted as a duplicate and
    /// changes nothing. A status for an unknown wamid is applied to the
    /// outbound message its `biz_opaque_callback_data` names when
    /// `reconcile::check_target` allows it, and kept until its message is
    /// stored otherwise. A customer's reaction to a stored message of
    /// another customer's conversation is skipped, as
    /// `customer_reactions::check_reactor` decides. The log row's detail
    /// gets the notes of the report.
    async fn ingest(&self, batch: WebhookBatch) -> StoreResult<IngestReport>;
    /// Stores a log row alone, for bodies that were ignored or failed.
    async fn record_webhook(&self, log: NewWebhookLog) -> StoreResult<()>;

    /// Conversations of these accounts that `archive` lets through, most
    /// recent first (see [`ConversationSummary::most_recent_first`]), at
    /// most `limit`. With `after`, the list starts with the conversation
    /// that follows that sort key.
    async fn list_conversations(
        &self,
        accounts: &[AccountId],
        archive: ArchiveFilter,
        after: Option<&ConversationSortKey>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>>;
    /// Conversations whose newest message that did not fail is inbound (the
    /// customer wrote last, or every reply since failed) and that `archive`
    /// lets through, in the order and with the `after` and `limit` of
    /// [`Store::list_conversations`].
    async fn list_unanswered(
        &self,
        accounts: &[AccountId],
        archive: ArchiveFilter,
        after: Option<&ConversationSortKey>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>>;
    /// A conversation of one of these accounts; `None` when it is not theirs.
    async fn find_conversation(
        &self,
        accounts: &[AccountId],
        by: &ConversationRef,
    ) -> StoreResult<Option<ConversationSummary>>;
    /// The newest `limit` messages of a conversation, returned oldest first.
    async fn conversation_messages(
        &self,
        conversation: &ConversationId,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// `find_conversation` and then `conversation_messages` of what it
    /// found. A backend may read both in one call.
    async fn read_conversation(
        &self,
        accounts: &[AccountId],
        by: &ConversationRef,
        limit: u32,
    ) -> StoreResult<Option<(ConversationSummary, Vec<Message>)>> {
        let Some(conversation) = self.find_conversation(accounts, by).await? else {
            return Ok(None);
        };
        let messages = self.conversation_messages(&conversation.id, limit).await?;
        Ok(Some((conversation, messages)))
    }
    /// Full-text search over message text in these accounts: ranks the
    /// `SEARCH_RANKED_MATCHES` most recent matches, best match first.
    async fn search_messages(
        &self,
        accounts: &[AccountId],
        query: &str,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;

    /// Stores an outbound message as `pending`, creating the contact and
    /// conversation when needed, and makes it the conversation's last
    /// message (so the conversation leaves `list_unanswered` at once). It
    /// changes neither the unread count nor the 24h window.
    async fn insert_outbound(&self, message: NewOutboundMessage) -> StoreResult<Message>;
    /// Records Meta's acceptance: sets the wamid and status `sent` (through
    /// the status rule), updates the contact's wa_id when Meta reports
    /// another, applies statuses that arrived before the wamid was known,
    /// and emits `message.outbound.sent`.
    ///
    /// The contact takes Meta's wa_id only when no other contact of the
    /// account has it, because inbound messages arrive from that wa_id.
    /// Otherwise the contact and the message stay as they are. A repeated
    /// call with the same wamid changes nothing.
    ///
    /// Returns `Conflict` when another message of the account has the wamid
    /// or this message already has a different one. Returns `Invalid` for an
    /// inbound message and `NotFound` for an unknown one.
    async fn mark_outbound_sent(
        &self,
        id: &MessageId,
        sent: SentMessage,
        at: UnixTime,
    ) -> StoreResult<Message>;
    /// Records a failed send with Meta's error and emits
    /// `message.outbound.failed`. Only a `pending` message without a wamid
    /// becomes `failed`. Any other is returned unchanged, without an event:
    /// a message with a wamid was accepted by Meta, even when a status
    /// webhook attached that wamid before the send's call failed. Errors
    /// as for `mark_outbound_sent`.
    async fn mark_outbound_failed(
        &self,
        id: &MessageId,
        error: MetaError,
        at: UnixTime,
    ) -> StoreResult<Message>;
    /// Marks every outbound message that is still `pending`, has no wamid
    /// and has a timestamp before `sent_before` as `failed` with `error`,
    /// each as `mark_outbound_failed` does (event included), in one
    /// transaction. Returns the ids of the messages marked.
    async fn fail_unconfirmed_sends(
        &self,
        sent_before: UnixTime,
        error: MetaError,
        at: UnixTime,
    ) -> StoreResult<Vec<MessageId>>;
    /// Keeps the business's reaction to the message `target_wamid` (`None`
    /// removes it) as pending before it is sent, and returns its number,
    /// which the send carries (see [`business_reactions`]). Deletes
    /// pending reactions begun more than `PENDING_REACTION_SECONDS` before
    /// `now`. `NotFound` when the account has no message with this wamid.
    async fn begin_business_reaction(
        &self,
        account: &AccountId,
        target_wamid: &str,
        emoji: Option<String>,
        now: UnixTime,
    ) -> StoreResult<business_reactions::PendingReactionId>;
    /// Sets the pending reaction `id` on its message, because Meta accepted
    /// it, and deletes it and the reactions to that message begun before
    /// it. Returns `false` and changes nothing when `id` is no longer
    /// pending: it was applied or deleted already, or a later reaction
    /// was applied. `NotFound` when its message is gone.
    async fn apply_business_reaction(
        &self,
        id: business_reactions::PendingReactionId,
    ) -> StoreResult<bool>;
    /// Deletes the pending reaction `id`, which Meta did not apply.
    async fn forget_business_reaction(
        &self,
        id: business_reactions::PendingReactionId,
    ) -> StoreResult<()>;
    /// Marks the customer's messages up to `message` read, as a read
    /// receipt for it does: the conversation's unread count becomes the
    /// number of inbound messages after it (in conversation order), unless
    /// it is lower already. When Meta accepted the receipt
    /// (`receipt_accepted`), those inbound messages also move from
    /// `received` to `read`, because the customer's app now shows them read.
    /// Returns the new count; `NotFound` for an unknown message.
    async fn mark_read_up_to(
        &self,
        message: &MessageId,
        receipt_accepted: bool,
    ) -> StoreResult<i64>;
    /// Archives (`Some(time)`) or unarchives (`None`) a conversation.
    async fn set_conversation_archived(
        &self,
        conversation: &ConversationId,
        archived_at: Option<UnixTime>,
    ) -> StoreResult<()>;
    /// A message of one of these accounts by its wamid, with its account.
    /// When two of the accounts store the wamid (one account messaged the
    /// other), the older row is returned.
    async fn find_message_by_wamid(
        &self,
        accounts: &[AccountId],
        wamid: &str,
    ) -> StoreResult<Option<(AccountId, Message)>> {
        let found = self.find_messages_by_wamid(accounts, wamid).await?;
        Ok(found.into_iter().next())
    }

    /// Returns every message of these accounts with this wamid, with its
    /// account, oldest first. An account stores a wamid once, so the list
    /// contains at most one message per account.
    async fn find_messages_by_wamid(
        &self,
        accounts: &[AccountId],
        wamid: &str,
    ) -> StoreResult<Vec<(AccountId, Message)>>;
    /// A message by its Pons id, with its account.
    async fn find_message(&self, id: &MessageId) -> StoreResult<Option<(AccountId, Message)>>;
    /// An account with its encrypted secrets; `NotFound` when missing.
    async fn account_secrets(&self, account: &AccountId) -> StoreResult<AccountSecrets>;

    /// Replaces an account's templates with the synced list: upserts each on
    /// Meta's template id and deletes the ones Meta no longer lists, in one
    /// transaction. `NotFound` for an unknown account.
    async fn sync_templates(
        &self,
        account: &AccountId,
        templates: Vec<NewTemplate>,
        at: UnixTime,
    ) -> StoreResult<()>;
    /// Templates of these accounts, by name then language; templates known
    /// only from a status webhook (no name yet) come last.
    async fn list_templates(&self, accounts: &[AccountId]) -> StoreResult<Vec<Template>>;

    /// Enqueues a job; a no-op when a queued job has the same dedupe key.
    /// `NotFound` when its account does not exist; `Invalid` for an empty
    /// kind or `max_attempts` of 0.
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()>;
    /// Claims up to `limit` due jobs of these kinds for `lease_seconds`,
    /// counting an attempt on each, earliest `run_at` first. A job whose
    /// lease ran out (its worker died) is due again. PostgreSQL claims with
    /// `FOR UPDATE SKIP LOCKED`, so concurrent claimers never share a job.
    ///
    /// A job that has used `max_attempts` is never claimed again: a queued
    /// one waits for its caller to call `fail_job`, and a running one whose
    /// lease ran out is marked `failed` here, as no worker is left to do it.
    /// `Invalid` when `lease_seconds` is not positive.
    async fn claim_jobs(
        &self,
        kinds: &[&str],
        now: UnixTime,
        lease_seconds: i64,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    /// Extends the lease of a running job to `now + lease_seconds`, but only
    /// while the claim that counted attempt `attempt` owns the job. Returns
    /// `false`, and changes nothing, when the job is finished, queued again
    /// or claimed again since, so the caller no longer owns it. The attempt
    /// identifies a claim because every claim counts one.
    /// `Invalid` when `lease_seconds` is not positive.
    async fn extend_job_lease(
        &self,
        id: &JobId,
        attempt: u32,
        now: UnixTime,
        lease_seconds: i64,
    ) -> StoreResult<bool>;
    /// Marks a job done. `NotFound` for an unknown job, as for the next two.
    async fn complete_job(&self, id: &JobId, at: UnixTime) -> StoreResult<()>;
    /// Puts a job back in the queue to run at `run_at`, keeping the error.
    /// It does not check attempts: retrying a job that has used its last
    /// attempt leaves it queued but never claimed, so call `fail_job`.
    /// With [`AttemptUse::Returned`] the job gets one more attempt, so the
    /// one that ended does not count. When a job with the same dedupe key
    /// was queued meanwhile, that job does the work instead, and this one is
    /// marked `failed` with the error.
    async fn retry_job(
        &self,
        id: &JobId,
        error: &str,
        run_at: UnixTime,
        attempt: AttemptUse,
    ) -> StoreResult<()>;
    /// Marks a job failed for good.
    async fn fail_job(&self, id: &JobId, error: &str, at: UnixTime) -> StoreResult<()>;

    /// Records the stored copy of a message's media. `NotFound` for an
    /// unknown message, as for the next method.
    async fn set_media_stored(&self, message: &MessageId, media: StoredMedia) -> StoreResult<()>;
    /// Records that a message's media could not be downloaded for good.
    async fn set_media_failed(&self, message: &MessageId, error: &str) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// Maximum length of the preview of a conversation's last message, in
/// characters. A message may hold 4,096 characters, or far more when a
/// customer sends it, and every conversation list repeats the preview.
pub const PREVIEW_MAX_CHARS: usize = 200;

/// Builds the stored preview of a message for conversation lists: its
/// text, else its caption, else its type in brackets, so it is never
/// empty. A longer text keeps its first `PREVIEW_MAX_CHARS + 1`
/// characters, one more than a preview shows, so that [`cut_preview`]
/// can cut it at a grapheme cluster and [`preview_was_cut`] can tell a cut
/// text from one that ends with `…` itself.
pub(crate) fn message_preview(text: Option<&str>, caption: Option<&str>, kind: &str) -> String {
    let Some(text) = [text, caption]
        .into_iter()
        .flatten()
        .find(|part| !part.trim().is_empty())
    else {
        return format!("[{kind}]");
    };
    match text.char_indices().nth(PREVIEW_MAX_CHARS + 1) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// Returns a stored preview as lists show it: shortened to at most
/// `PREVIEW_MAX_CHARS` characters, `…` included.
pub fn cut_preview(preview: &str) -> String {
    shorten(preview, PREVIEW_MAX_CHARS)
}

/// Tells whether [`cut_preview`] shortens `preview`, a stored preview.
/// Rows stored before previews kept one extra character hold the cut text
/// with `…`, one character over the limit, or the whole text, so this
/// holds for them too.
pub fn preview_was_cut(preview: &str) -> bool {
    preview.chars().nth(PREVIEW_MAX_CHARS).is_some()
}

/// Tells whether a database URL names PostgreSQL; any other URL is SQLite.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store a database URL names. `postgres://` or `postgresql://`
/// opens PostgreSQL and applies its migrations. `sqlite://PATH`,
/// `sqlite:PATH` or a bare file path opens SQLite, creating the file when
/// missing.
pub async fn connect(url: &str) -> anyhow::Result<DynStore> {
    if is_postgres_url(url) {
        return connect_postgres(url).await;
    }
    let path = sqlite::path_from_url(url)?;
    let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path)).await??;
    Ok(Arc::new(store))
}

async fn connect_postgres(url: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
}

#[cfg(test)]
mod tests {
    use super::{
        PREVIEW_MAX_CHARS, TemplateRef, cut_preview, message_preview, preview_was_cut, search_terms,
    };

    #[test]
    fn template_read_from_send_request() {
        let request = r#"{"messaging_product":"whatsapp","recipient_type":"individual",
            "to":"+4930123456","type":"template","template":{"name":"order_update",
            "language":{"code":"en_US"},"components":[]}}"#;
        let expected = TemplateRef {
            name: "order_update".to_owned(),
            language: "en_US".to_owned(),
        };
        assert_eq!(TemplateRef::from_send_request(request), Some(expected));

        for unusable in [
            "",
            "not json",
            "{}",
            r#"{"template":{"name":"order_update"}}"#,
            r#"{"template":{"language":{"code":"en_US"}}}"#,
            r#"{"template":{"name":7,"language":{"code":"en_US"}}}"#,
        ] {
            assert_eq!(TemplateRef::from_send_request(unusable), None, "{unusable}");
        }
    }

    #[test]
    fn preview_cut_to_max_chars() {
        let exact = "é".repeat(PREVIEW_MAX_CHARS);
        assert_eq!(cut_preview(&exact), exact);
        assert!(!preview_was_cut(&exact));
        let longer = format!("{exact}x");
        let shown = format!("{}…", "é".repeat(PREVIEW_MAX_CHARS - 1));
        assert_eq!(cut_preview(&longer), shown);
        assert!(preview_was_cut(&longer));
        let huge = "y".repeat(1_000_000);
        let stored = message_preview(Some(&huge), None, "text");
        assert_eq!(stored.chars().count(), PREVIEW_MAX_CHARS + 1);
        assert!(preview_was_cut(&stored));
        let cut = cut_preview(&stored);
        assert_eq!(cut.chars().count(), PREVIEW_MAX_CHARS);
        assert!(cut.ends_with('…'), "{cut}");
    }

    #[test]
    fn preview_ending_in_ellipsis_not_cut() {
        let text = format!("{}…", "a".repeat(50));
        let stored = message_preview(Some(&text), None, "text");
        assert_eq!(cut_preview(&stored), text);
        assert!(!preview_was_cut(&stored));
    }

    #[test]
    fn preview_keeps_family_emoji_whole() {
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let text = format!(
            "{}{family}{}",
            "a".repeat(PREVIEW_MAX_CHARS - 3),
            "b".repeat(10)
        );
        let stored = message_preview(Some(&text), None, "text");
        let cut = cut_preview(&stored);
        assert_eq!(cut, format!("{}…", "a".repeat(PREVIEW_MAX_CHARS - 3)));
    }

    #[test]
    fn old_cut_previews_are_cut_again() {
        // Before, a cut preview kept PREVIEW_MAX_CHARS characters and `…`.
        let old = format!("{}…", "z".repeat(PREVIEW_MAX_CHARS));
        assert!(preview_was_cut(&old));
        assert_eq!(cut_preview(&old).chars().count(), PREVIEW_MAX_CHARS);
    }

    #[test]
    fn preview_falls_back_to_caption_and_type() {
        assert_eq!(message_preview(Some(" "), Some("photo"), "image"), "photo");
        assert_eq!(message_preview(None, None, "sticker"), "[sticker]");
    }

    #[test]
    fn search_terms_split_at_whitespace_and_nul() {
        assert_eq!(
            search_terms(" ORD-123456\tsales@example.com\0pie "),
            ["ORD-123456", "sales@example.com", "pie"]
        );
    }

    #[test]
    fn search_terms_drop_punctuation_only() {
        assert_eq!(search_terms("- * ( ) \"\" apple*"), ["apple*"]);
        assert!(search_terms("\0 \u{3000}").is_empty());
    }
}
