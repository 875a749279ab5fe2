//! Client of Meta's Graph API for WhatsApp: sending messages, read
//! receipts, template lists and media downloads, with Meta's errors parsed
//! into `GraphError` and retries that never repeat a send Meta may have
//! executed.

mod client;
mod download;
mod error;
mod media;
mod response;
mod retry;
mod send;
mod template;
mod templates;
mod token;
mod transport;

pub use client::{DEFAULT_TEMPLATE_PAGE_SIZE, GraphClient};
pub use download::DownloadSink;
pub use error::{
    GraphError, MetaApiError, PAIR_RATE_LIMIT_CODE, RATE_LIMIT_CODES, TRANSIENT_CODES,
};
pub use media::{DownloadedMedia, MediaInfo, sha256_digest_matches};
pub use response::{SendContact, SendResponse, SentMessage};
pub use retry::{Idempotency, RetryPolicy};
pub use send::{
    MAX_CAPTION_CHARS, MAX_TEXT_CHARS, MediaBody, MediaKind, MediaSource, MessageContent,
    ReactionBody, ReplyContext, SendRequest, TextBody,
};
pub use template::{
    Currency, DateTime, Location, MediaLink, Parameter, ParameterValue, SendComponent,
    TemplateLanguage, TemplateMessage,
};
pub use templates::{TEMPLATE_FIELDS, Template, placeholders};
pub use token::AccessToken;
pub use transport::http_client;
