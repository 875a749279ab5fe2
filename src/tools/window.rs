//! The 24-hour customer service window rule: free-form messages (text,
//! media and reactions) go out only while the window is open. It opens with each inbound
//! message and closes 24 hours after the newest one. Outbound messages
//! never extend it. Templates are exempt.

use crate::store::{Account, UnixTime};

use super::output::format_time;
use super::send::Recipient;
use super::{ToolContext, ToolError, guide};

/// Fails with [`ToolError::WindowClosed`] unless the window with the
/// recipient is open at `cx.now`. It reads only the store, so a refused
/// message never reaches Meta.
pub(super) async fn require_open_window(
    cx: &ToolContext<'_>,
    tool: &'static str,
    recipient: &Recipient,
) -> Result<(), ToolError> {
    let expires_at = recipient
        .conversation
        .as_ref()
        .and_then(|c| c.window_expires_at);
    require_window_until(
        cx,
        tool,
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
    tool: &'static str,
    account: &Account,
    phone: String,
    expires_at: Option<UnixTime>,
) -> Result<(), ToolError> {
    if expires_at.is_some_and(|at| at > cx.now) {
        return Ok(());
    }
    let state = match expires_at {
        Some(at) => format!(
            "closed at {}",
            format_time(at).unwrap_or_else(|| at.to_string())
        ),
        None => "is not open: the customer has never written to this number".to_owned(),
    };
    Err(ToolError::WindowClosed {
        tool,
        phone,
        state,
        templates: guide::approved_templates(cx, std::slice::from_ref(account)).await?,
    })
}
