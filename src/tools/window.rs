//! The 24-hour customer service window rule: free-form messages (text,
//! media and reactions) go out only while the window is open. It opens with each inbound
//! message and closes 24 hours after the newest one. Outbound messages
//! never extend it. Templates are exempt.

use crate::store::{Account, UnixTime};

use super::output::time_text;
use super::send::Recipient;
use super::{SEND_MEDIA, SEND_REACTION, SEND_TEXT, ToolContext, ToolError, guide};

/// A free-form message that the window rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FreeForm {
    Text,
    Media,
    Reaction,
}

impl FreeForm {
    /// Returns the tool that sends this kind of message.
    fn tool(self) -> &'static str {
        match self {
            FreeForm::Text => SEND_TEXT,
            FreeForm::Media => SEND_MEDIA,
            FreeForm::Reaction => SEND_REACTION,
        }
    }

    /// Returns what was rejected, as the error names it.
    fn noun(self) -> &'static str {
        match self {
            FreeForm::Text => "a text message",
            FreeForm::Media => "a media message",
            FreeForm::Reaction => "a reaction",
        }
    }

    /// Returns what to do instead while the window is closed.
    fn next_step(self) -> &'static str {
        match self {
            FreeForm::Text | FreeForm::Media => "Use send_template instead.",
            FreeForm::Reaction => {
                "A template cannot carry a reaction, so react once the customer writes \
                 again, or send a template with send_template to ask them to reply."
            }
        }
    }
}

/// Fails with [`ToolError::WindowClosed`] unless the window with the
/// recipient is open at `cx.now`. It reads only the store, so a refused
/// message never reaches Meta.
pub(super) async fn require_open_window(
    cx: &ToolContext<'_>,
    message: FreeForm,
    recipient: &Recipient,
) -> Result<(), ToolError> {
    let expires_at = recipient
        .conversation
        .as_ref()
        .and_then(|c| c.window_expires_at);
    require_window_until(
        cx,
        message,
        &recipient.account,
        recipient.phone.e164(),
        expires_at,
    )
    .await
}

/// Fails with [`ToolError::WindowClosed`] unless a window that ends at
/// `expires_at` is open at `cx.now`. `phone` is the customer's number as
/// the error shows it, and `account` the account whose approved templates
/// it lists.
pub(super) async fn require_window_until(
    cx: &ToolContext<'_>,
    message: FreeForm,
    account: &Account,
    phone: String,
    expires_at: Option<UnixTime>,
) -> Result<(), ToolError> {
    if expires_at.is_some_and(|at| at > cx.now) {
        return Ok(());
    }
    let state = match expires_at {
        Some(at) => format!("closed at {}", time_text(at)),
        None => "is not open: the customer has never written to this number".to_owned(),
    };
    Err(ToolError::WindowClosed {
        tool: message.tool(),
        message: message.noun(),
        next_step: message.next_step(),
        phone,
        state,
        templates: guide::approved_templates(cx, std::slice::from_ref(account)).await?,
    })
}
