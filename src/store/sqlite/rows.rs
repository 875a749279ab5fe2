//! Column lists and row mappers shared by the read and write paths.

use rusqlite::Row;

use super::error::unexpected;
use crate::store::{
    Account, AccountId, AccountSecrets, ContactId, ConversationId, ConversationSummary, Direction,
    MediaRef, Message, MessageId, MessageStatus, MetaError, TemplateRef,
};

/// Columns of `accounts a` read by `account`.
pub(super) const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.waba_id, a.phone_number_id, \
     a.phone_number, a.display_name, a.token_invalid_at, a.created_at";

/// `ACCOUNT_COLUMNS` followed by the encrypted secrets, read by `account_secrets`.
pub(super) const ACCOUNT_SECRET_COLUMNS: &str = "a.id, a.name, a.waba_id, a.phone_number_id, \
     a.phone_number, a.display_name, a.token_invalid_at, a.created_at, \
     a.access_token_encrypted, a.app_secret_encrypted, a.verify_token";

/// Columns of `conversations v JOIN contacts c` read by `conversation`.
pub(super) const CONVERSATION_COLUMNS: &str = "v.id, v.account_id, v.contact_id, \
     c.profile_name, c.wa_id, v.unread_count, v.window_expires_at, v.last_message_at, \
     v.last_message_preview, v.last_message_direction, v.last_message_type, \
     v.last_message_wamid, v.archived_at IS NOT NULL";

/// Columns of `messages m` read by `message`. The send request is read only
/// for outbound templates, the one kind whose request `message` decodes.
pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.wamid, m.direction, \
     m.type, m.text, m.caption, m.status, m.timestamp, m.context_wamid, m.error_code, \
     m.error_title, m.error_message, m.error_details, m.reaction, m.media_id, \
     m.media_mime_type, m.media_sha256, m.media_filename, m.media_url, m.media_status, \
     m.media_size, m.media_error, m.business_reaction, \
     CASE WHEN m.type = 'template' AND m.direction = 'outbound' THEN m.content_json END";

/// Number of columns in `MESSAGE_COLUMNS`, where extra columns start.
pub(super) const MESSAGE_COLUMN_COUNT: usize = 25;

pub(super) fn account(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(row.get(0)?),
        name: row.get(1)?,
        waba_id: row.get(2)?,
        phone_number_id: row.get(3)?,
        phone_number: row.get(4)?,
        display_name: row.get(5)?,
        token_invalid_at: row.get(6)?,
        created_at: row.get(7)?,
    })
}

pub(super) fn account_secrets(row: &Row<'_>) -> rusqlite::Result<AccountSecrets> {
    Ok(AccountSecrets {
        account: account(row)?,
        access_token_encrypted: row.get(8)?,
        app_secret_encrypted: row.get(9)?,
        verify_token: row.get(10)?,
    })
}

pub(super) fn conversation(row: &Row<'_>) -> rusqlite::Result<ConversationSummary> {
    let direction = match row.get::<_, Option<String>>(9)? {
        Some(text) => Some(parse_direction(9, text)?),
        None => None,
    };
    Ok(ConversationSummary {
        id: ConversationId(row.get(0)?),
        account_id: AccountId(row.get(1)?),
        contact_id: ContactId(row.get(2)?),
        contact_name: row.get(3)?,
        wa_id: row.get(4)?,
        unread_count: row.get(5)?,
        window_expires_at: row.get(6)?,
        last_message_at: row.get(7)?,
        last_message_preview: row.get(8)?,
        last_message_direction: direction,
        last_message_type: row.get(10)?,
        last_message_wamid: row.get(11)?,
        archived: row.get(12)?,
    })
}

pub(super) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: MessageId(row.get(0)?),
        conversation_id: ConversationId(row.get(1)?),
        wamid: row.get(2)?,
        direction: parse_direction(3, row.get(3)?)?,
        kind: row.get(4)?,
        text: row.get(5)?,
        caption: row.get(6)?,
        status: parse_status(7, row.get(7)?)?,
        timestamp: row.get(8)?,
        context_wamid: row.get(9)?,
        error: meta_error(row, 10)?,
        reaction: row.get(14)?,
        business_reaction: row.get(23)?,
        media: media(row, 15)?,
        template: row
            .get::<_, Option<String>>(24)?
            .as_deref()
            .and_then(TemplateRef::from_send_request),
    })
}

/// Reads four error columns (code, title, message, details) from `start`;
/// `None` when all are NULL.
pub(super) fn meta_error(row: &Row<'_>, start: usize) -> rusqlite::Result<Option<MetaError>> {
    let error = MetaError {
        code: row.get(start)?,
        title: row.get(start + 1)?,
        message: row.get(start + 2)?,
        details: row.get(start + 3)?,
    };
    Ok((error != MetaError::default()).then_some(error))
}

fn media(row: &Row<'_>, start: usize) -> rusqlite::Result<Option<MediaRef>> {
    let media = MediaRef {
        media_id: row.get(start)?,
        mime_type: row.get(start + 1)?,
        sha256: row.get(start + 2)?,
        filename: row.get(start + 3)?,
        url: row.get(start + 4)?,
        download_status: row.get(start + 5)?,
        size: row.get(start + 6)?,
        download_error: row.get(start + 7)?,
    };
    let empty = media.media_id.is_none()
        && media.mime_type.is_none()
        && media.sha256.is_none()
        && media.filename.is_none()
        && media.url.is_none()
        && media.download_status.is_none();
    Ok((!empty).then_some(media))
}

fn parse_direction(index: usize, text: String) -> rusqlite::Result<Direction> {
    Direction::parse(&text).ok_or_else(|| unexpected("direction", index, text))
}

pub(super) fn parse_status(index: usize, text: String) -> rusqlite::Result<MessageStatus> {
    MessageStatus::parse(&text).ok_or_else(|| unexpected("status", index, text))
}
