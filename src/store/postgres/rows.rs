//! Column lists and row decoding shared by the PostgreSQL queries.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::backend;
use crate::store::*;

/// Account columns (table alias `a`), as `account` reads them.
macro_rules! account_columns {
    () => {
        "a.id, a.name, a.waba_id, a.phone_number_id, a.phone_number, a.display_name, \
         a.token_invalid_at, a.created_at"
    };
}
pub(crate) use account_columns;

/// Reads a `text` column that must hold one of a fixed set of words.
fn parsed<T>(row: &PgRow, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let text: String = row.try_get(column).map_err(backend)?;
    parse(&text).ok_or_else(|| {
        StoreError::Backend(format!(
            "column {column} contains an invalid value {text:?}"
        ))
    })
}

/// Decodes `account_columns!()`.
pub(crate) fn account(row: &PgRow) -> StoreResult<Account> {
    Ok(Account {
        id: AccountId(row.try_get("id").map_err(backend)?),
        name: row.try_get("name").map_err(backend)?,
        waba_id: row.try_get("waba_id").map_err(backend)?,
        phone_number_id: row.try_get("phone_number_id").map_err(backend)?,
        phone_number: row.try_get("phone_number").map_err(backend)?,
        display_name: row.try_get("display_name").map_err(backend)?,
        token_invalid_at: row.try_get("token_invalid_at").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

/// Decodes `account_columns!()` plus the secret columns.
pub(crate) fn account_secrets(row: &PgRow) -> StoreResult<AccountSecrets> {
    Ok(AccountSecrets {
        account: account(row)?,
        access_token_encrypted: row.try_get("access_token_encrypted").map_err(backend)?,
        app_secret_encrypted: row.try_get("app_secret_encrypted").map_err(backend)?,
        verify_token: row.try_get("verify_token").map_err(backend)?,
    })
}

/// Conversation columns (alias `c`) and their contact's (alias `ct`), as
/// `conversation` reads them.
macro_rules! conversation_columns {
    () => {
        "c.id, c.account_id, c.contact_id, ct.profile_name, ct.wa_id, c.unread_count, \
         c.window_expires_at, c.last_message_at, c.last_message_preview, \
         c.last_message_direction, c.last_message_type, c.last_message_wamid, c.archived_at"
    };
}
pub(crate) use conversation_columns;

/// Decodes `conversation_columns!()`.
pub(crate) fn conversation(row: &PgRow) -> StoreResult<ConversationSummary> {
    let direction: Option<String> = row.try_get("last_message_direction").map_err(backend)?;
    let last_message_direction = match direction {
        None => None,
        Some(text) => Some(Direction::parse(&text).ok_or_else(|| {
            StoreError::Backend(format!(
                "column last_message_direction contains an invalid value {text:?}"
            ))
        })?),
    };
    let archived_at: Option<UnixTime> = row.try_get("archived_at").map_err(backend)?;
    Ok(ConversationSummary {
        id: ConversationId(row.try_get("id").map_err(backend)?),
        account_id: AccountId(row.try_get("account_id").map_err(backend)?),
        contact_id: ContactId(row.try_get("contact_id").map_err(backend)?),
        contact_name: row.try_get("profile_name").map_err(backend)?,
        wa_id: row.try_get("wa_id").map_err(backend)?,
        unread_count: row.try_get("unread_count").map_err(backend)?,
        window_expires_at: row.try_get("window_expires_at").map_err(backend)?,
        last_message_at: row.try_get("last_message_at").map_err(backend)?,
        last_message_preview: row.try_get("last_message_preview").map_err(backend)?,
        last_message_direction,
        last_message_type: row.try_get("last_message_type").map_err(backend)?,
        last_message_wamid: row.try_get("last_message_wamid").map_err(backend)?,
        archived: archived_at.is_some(),
    })
}

/// Message columns (alias `m`), as `message` reads them. The send request
/// is read only for outbound templates, the one kind whose request
/// `message` decodes.
macro_rules! message_columns {
    () => {
        "m.id, m.conversation_id, m.wamid, m.direction, m.type, m.text, m.caption, m.status, \
         m.timestamp, m.context_wamid, m.error_code, m.error_title, m.error_message, \
         m.error_details, m.reaction, m.media_id, m.media_mime_type, m.media_sha256, \
         m.media_filename, m.media_url, m.media_status, m.media_size, m.media_error, \
         m.business_reaction, CASE WHEN m.type = 'template' AND m.direction = 'outbound' \
         THEN m.content_json END AS template_request"
    };
}
pub(crate) use message_columns;

/// Decodes `message_columns!()`.
pub(crate) fn message(row: &PgRow) -> StoreResult<Message> {
    Ok(Message {
        id: MessageId(row.try_get("id").map_err(backend)?),
        conversation_id: ConversationId(row.try_get("conversation_id").map_err(backend)?),
        wamid: row.try_get("wamid").map_err(backend)?,
        direction: parsed(row, "direction", Direction::parse)?,
        kind: row.try_get("type").map_err(backend)?,
        text: row.try_get("text").map_err(backend)?,
        caption: row.try_get("caption").map_err(backend)?,
        status: parsed(row, "status", MessageStatus::parse)?,
        timestamp: row.try_get("timestamp").map_err(backend)?,
        context_wamid: row.try_get("context_wamid").map_err(backend)?,
        error: meta_error(row)?,
        reaction: row.try_get("reaction").map_err(backend)?,
        business_reaction: row.try_get("business_reaction").map_err(backend)?,
        media: media(row)?,
        template: row
            .try_get::<Option<String>, _>("template_request")
            .map_err(backend)?
            .as_deref()
            .and_then(TemplateRef::from_send_request),
    })
}

/// Reads the error columns of a message, `None` when all are empty.
fn meta_error(row: &PgRow) -> StoreResult<Option<MetaError>> {
    let error = MetaError {
        code: row.try_get("error_code").map_err(backend)?,
        title: row.try_get("error_title").map_err(backend)?,
        message: row.try_get("error_message").map_err(backend)?,
        details: row.try_get("error_details").map_err(backend)?,
    };
    Ok((error != MetaError::default()).then_some(error))
}

/// Reads the media columns of a message, `None` when all are empty.
fn media(row: &PgRow) -> StoreResult<Option<MediaRef>> {
    let media = MediaRef {
        media_id: row.try_get("media_id").map_err(backend)?,
        mime_type: row.try_get("media_mime_type").map_err(backend)?,
        sha256: row.try_get("media_sha256").map_err(backend)?,
        filename: row.try_get("media_filename").map_err(backend)?,
        url: row.try_get("media_url").map_err(backend)?,
        download_status: row.try_get("media_status").map_err(backend)?,
        size: row.try_get("media_size").map_err(backend)?,
        download_error: row.try_get("media_error").map_err(backend)?,
    };
    let empty = media.media_id.is_none()
        && media.mime_type.is_none()
        && media.sha256.is_none()
        && media.filename.is_none()
        && media.url.is_none()
        && media.download_status.is_none();
    Ok((!empty).then_some(media))
}
