//! Rows and inserts that cross the store boundary, shared by both backends.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Creates a new time-ordered random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// Id of a Pons user.
    UserId);
id_type!(/// Id of a WhatsApp business number connected to Pons.
    AccountId);
id_type!(/// Id of an API key row (not the key itself).
    ApiKeyId);
id_type!(/// Id of a customer contact within one account.
    ContactId);
id_type!(/// Id of the conversation between an account and one contact.
    ConversationId);
id_type!(/// Id of a stored message (not Meta's wamid).
    MessageId);
id_type!(/// Id of a stored message template (not Meta's template id).
    TemplateId);
id_type!(/// Id of a background job.
    JobId);

/// Seconds since the Unix epoch, UTC. Meta's webhooks use the same unit.
pub type UnixTime = i64;

/// A user to insert.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    /// Argon2 PHC string, or `None` for a user who signs in by other means.
    pub password_hash: Option<String>,
}

/// A user row.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub created_at: UnixTime,
}

/// Role of a user on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// A user's membership of an account.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: User,
    pub role: Role,
    /// When the membership was created.
    pub since: UnixTime,
}

/// An account to insert. Secrets arrive already encrypted.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub name: String,
    pub waba_id: String,
    pub phone_number_id: String,
    /// E.164 digits without `+`, as produced by `phone::PhoneNumber`.
    pub phone_number: String,
    pub display_name: Option<String>,
    pub access_token_encrypted: Vec<u8>,
    pub app_secret_encrypted: Vec<u8>,
    pub verify_token: String,
    pub owner: UserId,
}

/// An account row, without its secrets.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub waba_id: String,
    pub phone_number_id: String,
    /// E.164 digits without `+`.
    pub phone_number: String,
    pub display_name: Option<String>,
    /// Set when Meta rejected the access token; cleared when a new one is stored.
    pub token_invalid_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

/// Seconds after Meta rejected an account's access token (error 190)
/// during which Pons makes no Graph call with it. After that the next call
/// tries the token again: its success clears the mark, so a token repaired
/// on Meta's side works again without an operator, and another rejection
/// renews the mark.
pub const TOKEN_RETRY_AFTER_SECONDS: UnixTime = 5 * 60;

impl Account {
    /// Returns the time from which calls may try the access token again,
    /// while Meta's rejection of it is less than
    /// [`TOKEN_RETRY_AFTER_SECONDS`] old at `now`.
    pub fn token_paused_until(&self, now: UnixTime) -> Option<UnixTime> {
        let retry_at = self
            .token_invalid_at?
            .saturating_add(TOKEN_RETRY_AFTER_SECONDS);
        (now < retry_at).then_some(retry_at)
    }
}

/// The encrypted credentials of an account, read only where they are used.
#[derive(Clone, Debug)]
pub struct AccountSecrets {
    pub account: Account,
    pub access_token_encrypted: Vec<u8>,
    pub app_secret_encrypted: Vec<u8>,
    pub verify_token: String,
}

/// An API key to insert: only the SHA-256 of the key is stored.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub user_id: UserId,
    pub name: String,
    pub key_hash: [u8; 32],
    /// The first 12 characters of the key, shown to identify it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<UnixTime>,
    /// Empty means every account the user is a member of.
    pub accounts: Vec<AccountId>,
}

/// An API key row.
#[derive(Clone, Debug, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub user_email: String,
    pub name: String,
    #[serde(skip)]
    pub key_hash: [u8; 32],
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    pub created_at: UnixTime,
    /// Empty means every account the user is a member of.
    pub accounts: Vec<AccountId>,
}

/// Direction of a message as seen from the business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(value: &str) -> Option<Direction> {
        match value {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// Delivery status of a message. Statuses only move forward along
/// `Pending < Sent < Delivered < Read < Played`; `Failed` replaces only
/// `Pending` or `Sent`, and nothing replaces `Failed`. `Received` marks
/// inbound messages. It becomes `Read` once Meta accepts a read receipt for
/// the message or a later one of its conversation. Status webhooks never
/// change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Received,
    Pending,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Played => "played",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<MessageStatus> {
        match value {
            "received" => Some(MessageStatus::Received),
            "pending" => Some(MessageStatus::Pending),
            "sent" => Some(MessageStatus::Sent),
            "delivered" => Some(MessageStatus::Delivered),
            "read" => Some(MessageStatus::Read),
            "played" => Some(MessageStatus::Played),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }

    /// Position on the forward path; `None` for `Received` and `Failed`.
    fn rank(self) -> Option<u8> {
        match self {
            MessageStatus::Pending => Some(0),
            MessageStatus::Sent => Some(1),
            MessageStatus::Delivered => Some(2),
            MessageStatus::Read => Some(3),
            MessageStatus::Played => Some(4),
            MessageStatus::Received | MessageStatus::Failed => None,
        }
    }

    /// Decides whether `next` may replace `self`. This is the one place
    /// that orders statuses; both backends call it inside their transaction.
    pub fn can_advance_to(self, next: MessageStatus) -> bool {
        match (self, next) {
            (MessageStatus::Received | MessageStatus::Failed, _) => false,
            (_, MessageStatus::Received | MessageStatus::Pending) => false,
            (current, MessageStatus::Failed) => current.rank() <= Some(1),
            (current, next) => next.rank() > current.rank(),
        }
    }
}

/// Meta's error attached to a failed message or status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

/// A customer seen in a webhook's `contacts[]`.
#[derive(Clone, Debug)]
pub struct ContactSeen {
    pub account_id: AccountId,
    pub wa_id: String,
    /// `None` leaves a stored name unchanged.
    pub profile_name: Option<String>,
    /// Business-scoped user id, when Meta sends one.
    pub user_id: Option<String>,
}

impl ContactSeen {
    /// Returns the profile name to store, `None` when it is missing or blank.
    pub fn stored_name(&self) -> Option<&str> {
        non_blank(self.profile_name.as_deref())
    }

    /// Returns the user id to store, `None` when it is missing or blank.
    pub fn stored_user_id(&self) -> Option<&str> {
        non_blank(self.user_id.as_deref())
    }
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.trim().is_empty())
}

/// An inbound message from a webhook, already mapped to its account.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    pub account_id: AccountId,
    /// The customer's WhatsApp id (digits), or their business-scoped user id
    /// when Meta sends no phone number.
    pub from: String,
    pub wamid: String,
    pub timestamp: UnixTime,
    /// Meta's type, or `unsupported` for a type Pons does not know.
    pub kind: String,
    /// Searchable text: the body, caption, or a summary for structured types.
    pub text: Option<String>,
    pub caption: Option<String>,
    pub media: Option<MediaRef>,
    /// The wamid this message replies to.
    pub context_wamid: Option<String>,
    /// The type-specific object as Meta sent it.
    pub content_json: String,
    /// The whole message object as Meta sent it.
    pub raw_json: String,
    pub errors: Vec<MetaError>,
}

/// Media attached to a message: a file a customer sent, or one the business
/// sent by link.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MediaRef {
    /// Meta's media id of an inbound file, from which the download job
    /// resolves a download URL.
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
    /// For inbound media, the download URL Meta put in the webhook, which
    /// needs the access token and expires. For outbound media, the
    /// business's own link that send_media passed to Meta.
    pub url: Option<String>,
    /// Download state of inbound media: `pending`, `stored` or `failed`;
    /// `None` for outbound media sent by link and for inbound media
    /// without a media id.
    pub download_status: Option<String>,
    /// Size in bytes of the stored copy.
    pub size: Option<i64>,
    /// Why the download failed for good, when it did.
    pub download_error: Option<String>,
}

impl MediaRef {
    /// Returns whether Pons downloads this media and serves its stored copy
    /// at `/api/media/{messageId}`, which is the case for every file with a
    /// download state.
    pub fn is_downloadable(&self) -> bool {
        self.download_status.is_some()
    }
}

/// A reaction set or removed by a customer.
#[derive(Clone, Debug)]
pub struct InboundReaction {
    pub account_id: AccountId,
    pub from: String,
    /// The wamid of the reaction event itself.
    pub wamid: String,
    /// The message reacted to.
    pub target_wamid: String,
    /// `None` removes the reaction.
    pub emoji: Option<String>,
    pub timestamp: UnixTime,
}

/// A delivery status from a webhook.
#[derive(Clone, Debug)]
pub struct StatusUpdate {
    pub account_id: AccountId,
    pub wamid: String,
    pub status: MessageStatus,
    pub timestamp: UnixTime,
    pub recipient_id: Option<String>,
    pub error: Option<MetaError>,
    /// The string the send set and Meta echoes. For a message Pons sent it
    /// is the message's id, which finds the message when its wamid is not
    /// stored (see `store::reconcile`).
    pub biz_opaque_callback_data: Option<String>,
}

/// A template status change from a `message_template_status_update` webhook.
#[derive(Clone, Debug)]
pub struct TemplateStatusUpdate {
    pub waba_id: String,
    pub meta_template_id: String,
    pub name: Option<String>,
    pub language: Option<String>,
    pub status: String,
    pub reason: Option<String>,
}

/// One fact from a webhook, in the order the body gave it.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "items live briefly in one Vec per webhook; boxing messages would add an \
              allocation per message to save a few hundred bytes per item"
)]
pub enum IngestItem {
    Contact(ContactSeen),
    Message(InboundMessage),
    Reaction(InboundReaction),
    Status(StatusUpdate),
    TemplateStatus(TemplateStatusUpdate),
}

/// A raw webhook body as received, with what became of it.
#[derive(Clone, Debug)]
pub struct NewWebhookLog {
    pub received_at: UnixTime,
    /// The single account the body concerned, when there was exactly one.
    pub account_id: Option<AccountId>,
    pub headers_json: String,
    /// The body as received. It shares the request's buffer, so a large
    /// body is not copied for the log.
    pub body: bytes::Bytes,
    /// `processed`, `ignored`, `failed`, …
    pub outcome: String,
    pub detail: Option<String>,
}

/// A verified webhook, stored in one transaction together with its log row.
#[derive(Clone, Debug)]
pub struct WebhookBatch {
    pub log: NewWebhookLog,
    pub items: Vec<IngestItem>,
}

/// Counts of what one batch changed, for the log and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub messages_inserted: u32,
    pub duplicates: u32,
    pub statuses_applied: u32,
    pub statuses_deferred: u32,
    /// Statuses whose wamid was attached to the outbound message their
    /// `biz_opaque_callback_data` names; also counted in `statuses_applied`.
    pub statuses_reconciled: u32,
    pub reactions: u32,
    pub templates_updated: u32,
    /// Problems the store met but did not fail the batch for, also
    /// written to the batch's log row.
    pub notes: Vec<String>,
}

/// The archive state of the conversations a list returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArchiveFilter {
    /// Archived conversations and the others.
    #[default]
    Any,
    /// Only conversations that are not archived.
    Active,
    /// Only archived conversations.
    Archived,
}

impl ArchiveFilter {
    /// Returns the filter for a tool's optional `archived` argument.
    pub fn from_argument(archived: Option<bool>) -> Self {
        match archived {
            None => Self::Any,
            Some(false) => Self::Active,
            Some(true) => Self::Archived,
        }
    }
}

/// A conversation as the read tools show it.
#[derive(Clone, Debug, Serialize)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub account_id: AccountId,
    pub contact_id: ContactId,
    pub contact_name: Option<String>,
    /// The customer's WhatsApp id (E.164 digits) or business-scoped user id.
    pub wa_id: String,
    pub unread_count: i64,
    pub window_expires_at: Option<UnixTime>,
    pub last_message_at: Option<UnixTime>,
    pub last_message_preview: Option<String>,
    pub last_message_direction: Option<Direction>,
    pub last_message_type: Option<String>,
    pub last_message_wamid: Option<String>,
    pub archived: bool,
}

impl ConversationSummary {
    /// Orders conversations as the list queries do: most recent message
    /// first, conversations without messages last, then by id.
    pub fn most_recent_first(a: &Self, b: &Self) -> std::cmp::Ordering {
        let recency = match (a.last_message_at, b.last_message_at) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        recency.then_with(|| a.id.as_str().cmp(b.id.as_str()))
    }

    /// Returns the conversation's place in the list order.
    pub fn sort_key(&self) -> ConversationSortKey {
        ConversationSortKey {
            last_message_at: self.last_message_at,
            id: self.id.clone(),
        }
    }
}

/// A conversation's place in the order of the conversation lists (see
/// [`ConversationSummary::most_recent_first`]). A list read after a sort
/// key starts with the conversation that follows it in that order, so
/// pages read one after the other neither repeat nor skip a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSortKey {
    /// Time of the last message; conversations without one come last.
    pub last_message_at: Option<UnixTime>,
    /// Breaks ties on `last_message_at`, in ascending order.
    pub id: ConversationId,
}

/// A message row.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub wamid: Option<String>,
    pub direction: Direction,
    pub kind: String,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub status: MessageStatus,
    pub timestamp: UnixTime,
    pub context_wamid: Option<String>,
    pub error: Option<MetaError>,
    /// The customer's current reaction to this message, if any.
    pub reaction: Option<String>,
    /// The business's current reaction to this message, if any.
    pub business_reaction: Option<String>,
    pub media: Option<MediaRef>,
    /// The template an outbound template message was sent with; `None` for
    /// other messages.
    pub template: Option<TemplateRef>,
}

/// The approved template that an outbound template message was sent with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateRef {
    pub name: String,
    /// The language code, such as `en_US`.
    pub language: String,
}

impl TemplateRef {
    /// Reads the template's name and language code from the Graph API send
    /// request that the store keeps of each outbound message
    /// (`content_json`). `None` when the request is not valid JSON or lacks
    /// either value.
    pub fn from_send_request(content_json: &str) -> Option<TemplateRef> {
        let request: serde_json::Value = serde_json::from_str(content_json).ok()?;
        let template = request.get("template")?;
        let name = template.get("name")?.as_str()?;
        let language = template.pointer("/language/code")?.as_str()?;
        Some(TemplateRef {
            name: name.to_owned(),
            language: language.to_owned(),
        })
    }
}

#[cfg(test)]
impl Message {
    /// Returns a received text message `m1` without text or media, for unit
    /// tests to fill in with struct update syntax.
    pub(crate) fn test_message() -> Message {
        Message {
            id: MessageId("m1".to_owned()),
            conversation_id: ConversationId("c1".to_owned()),
            wamid: Some("wamid.1".to_owned()),
            direction: Direction::Inbound,
            kind: "text".to_owned(),
            text: None,
            caption: None,
            status: MessageStatus::Received,
            timestamp: 1_750_000_000,
            context_wamid: None,
            error: None,
            reaction: None,
            business_reaction: None,
            media: None,
            template: None,
        }
    }
}

/// One match of a full-text search.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    pub message: Message,
    pub account_id: AccountId,
    pub contact_name: Option<String>,
    pub wa_id: String,
    pub rank: f64,
}

/// How a caller names a conversation: by id or by the customer's number.
#[derive(Clone, Debug)]
pub enum ConversationRef {
    Id(ConversationId),
    /// E.164 digits without `+`.
    Phone(String),
}

/// An outbound message to store as `pending` before it is sent to Meta.
#[derive(Clone, Debug)]
pub struct NewOutboundMessage {
    pub account_id: AccountId,
    /// The recipient's E.164 digits; the contact and conversation are
    /// created when they do not exist yet.
    pub wa_id: String,
    /// `text`, `image`, `video`, `audio`, `document` or `template`.
    pub kind: String,
    pub text: Option<String>,
    pub caption: Option<String>,
    /// For media sent by link: `url`, `mime_type` and `filename`.
    pub media: Option<MediaRef>,
    pub context_wamid: Option<String>,
    /// The request body sent to Meta, kept for the record.
    pub content_json: String,
    pub timestamp: UnixTime,
}

/// What Meta returned for an accepted send.
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub wamid: String,
    /// The recipient's WhatsApp id as Meta reports it; it may differ from
    /// the number dialled.
    pub wa_id: Option<String>,
}

/// A message template as synced from Meta.
#[derive(Clone, Debug)]
pub struct NewTemplate {
    pub meta_template_id: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: Option<String>,
    /// `POSITIONAL` or `NAMED`, as Meta reports it.
    pub parameter_format: Option<String>,
    /// Meta's `components` array, as JSON text.
    pub components_json: String,
    pub rejected_reason: Option<String>,
}

/// A stored message template.
#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub id: TemplateId,
    pub account_id: AccountId,
    pub meta_template_id: String,
    pub name: Option<String>,
    pub language: Option<String>,
    pub status: String,
    pub category: Option<String>,
    pub parameter_format: Option<String>,
    pub components_json: Option<String>,
    pub rejected_reason: Option<String>,
    pub updated_at: UnixTime,
}

/// A background job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// `media_download`, `template_sync`, …
    pub kind: String,
    pub account_id: Option<AccountId>,
    pub payload_json: String,
    pub run_at: UnixTime,
    pub max_attempts: u32,
    /// While a queued job with the same key exists, enqueueing another is a
    /// no-op.
    pub dedupe_key: Option<String>,
}

/// Whether a failed job attempt counts against the job's `max_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptUse {
    /// The attempt counts, so the job gets one attempt fewer.
    Spent,
    /// The attempt does not count: the job waited for something outside
    /// it, such as an access token Meta rejected, and keeps its attempts.
    Returned,
}

impl AttemptUse {
    /// Returns the number of attempts a retry adds to the job's `max_attempts`.
    pub fn attempts_added(self) -> u32 {
        match self {
            AttemptUse::Spent => 0,
            AttemptUse::Returned => 1,
        }
    }
}

/// A claimed background job.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub account_id: Option<AccountId>,
    pub payload_json: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
}

/// A media file stored in the data directory.
#[derive(Clone, Debug)]
pub struct StoredMedia {
    /// Path relative to the data directory; content-addressed by SHA-256.
    pub path: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: i64,
    pub mime_type: String,
}
