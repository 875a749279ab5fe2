//! The send flow shared by `send_text`, `send_media` and `send_template`:
//! one account, one recipient, the message stored as `pending`, the Graph
//! call, then `sent` with Meta's wamid or `failed` with Meta's error.

use schemars::JsonSchema;
use serde::Serialize;

use crate::jobs::token_works;
use crate::phone::{PhoneNumber, same_subscriber};
use crate::store::{
    Account, ConversationSummary, MediaRef, Message, NewOutboundMessage, SentMessage,
};
use crate::whatsapp::graph::{GraphError, SendRequest, SendResponse};

use super::accounts::resolve_accounts_for_one;
use super::conversations::find_with_number;
use super::graph_errors::{Repeat, graph_failure};
use super::rejected_token::{ProbeClaim, TokenUse};
use super::{Summary, ToolContext, ToolError, format_accounts, guide, non_blank};

/// Result of `send_text`, `send_media` and `send_template`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendOutput {
    /// Pons's id of the stored message.
    pub message_id: String,
    /// Meta's message id, usable as `replyToMessageId` or `waMessageId`.
    pub wamid: Option<String>,
    /// `sent` once Meta accepted the message. `delivered` and `read` follow
    /// from Meta's status updates (see get_conversation).
    pub status: String,
    pub conversation_id: String,
    /// The recipient, E.164 with `+`.
    pub to: String,
    /// The business number that sent it, E.164 with `+`.
    pub from: String,
    /// Problems that did not stop the send.
    pub warnings: Vec<String>,
}

impl Summary for SendOutput {
    fn summary(&self) -> String {
        let wamid = self.wamid.as_deref().unwrap_or("no wamid");
        let mut text = format!(
            "Message {} from {} to {}: {} ({wamid}).",
            self.message_id, self.from, self.to, self.status
        );
        for warning in &self.warnings {
            text.push_str(" Warning: ");
            text.push_str(warning);
        }
        text
    }
}

/// The account and customer a message goes between.
pub(super) struct Recipient {
    pub account: Account,
    pub phone: PhoneNumber,
    /// The existing conversation, if the customer ever talked to this account.
    pub conversation: Option<ConversationSummary>,
    /// Held while the send tries a token Meta rejected again.
    _probe: Option<ProbeClaim>,
}

impl Recipient {
    /// Returns the customer's WhatsApp id: the one of their conversation,
    /// which may differ from the dialled digits (see
    /// [`PhoneNumber::wa_id_forms`]), else the dialled digits.
    pub fn wa_id(&self) -> &str {
        self.conversation
            .as_ref()
            .map_or(self.phone.digits(), |conversation| &conversation.wa_id)
    }
}

/// A validated message with the fields stored beside it.
pub(super) struct Outgoing {
    pub request: SendRequest,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub media: Option<MediaRef>,
    pub context_wamid: Option<String>,
}

/// Resolves `from` to exactly one account. With several reachable
/// accounts and no `from`, fails with a guided error listing them.
pub(super) async fn resolve_one_account(
    cx: &ToolContext<'_>,
    tool: &'static str,
    from: Option<&str>,
) -> Result<Account, ToolError> {
    let mut accounts = resolve_accounts_for_one(cx, from).await?;
    if accounts.len() == 1 {
        return Ok(accounts.remove(0));
    }
    Err(ToolError::MissingArgument {
        tool,
        argument: "from",
        hint: format!(
            "this key reaches {} accounts, so name the one to send from: {}",
            accounts.len(),
            format_accounts(&accounts)
        ),
    })
}

/// Resolves the sending account and parses the customer's `phone`, the
/// only place a send normalises a number. It fails while Meta's rejection
/// of the account's access token is recent, before any Graph call such as
/// `send_template`'s template sync.
pub(super) async fn resolve_recipient(
    cx: &ToolContext<'_>,
    tool: &'static str,
    from: Option<&str>,
    phone: Option<&str>,
) -> Result<Recipient, ToolError> {
    let account = resolve_one_account(cx, tool, from).await?;
    let probe = cx.sender.usable_token(&account, cx.now, TokenUse::Send)?;
    let Some(phone) = non_blank(phone) else {
        let choices = guide::recent_contacts(cx, std::slice::from_ref(&account)).await?;
        return Err(ToolError::MissingArgument {
            tool,
            argument: "phone",
            hint: format!(
                "pass the customer's number with country code, for example +15550001111. \
                 {choices}"
            ),
        });
    };
    let phone = PhoneNumber::parse(phone).map_err(|source| ToolError::InvalidPhone {
        argument: "phone",
        source,
    })?;
    reject_own_number(&account, &phone)?;
    let conversation = find_with_number(cx, std::slice::from_ref(&account.id), &phone).await?;
    Ok(Recipient {
        account,
        phone,
        conversation,
        _probe: probe,
    })
}

/// Fails when `phone` is the number of the sending account itself, which
/// WhatsApp does not deliver to. Without this check the window rule would
/// report that the customer never wrote.
fn reject_own_number(account: &Account, phone: &PhoneNumber) -> Result<(), ToolError> {
    if !same_subscriber(phone.digits(), &account.phone_number) {
        return Ok(());
    }
    Err(ToolError::InvalidArgument {
        argument: "phone",
        reason: format!(
            "{} is the number of the sending account {} itself, and WhatsApp cannot send a \
             message from a number to itself; pass the customer's number",
            phone.e164(),
            account.name
        ),
    })
}

/// Stores the message as `pending`, sends it, and records the outcome.
/// Nothing is stored when the request fails validation or the token
/// cannot be decrypted.
pub(super) async fn deliver(
    cx: &ToolContext<'_>,
    recipient: &Recipient,
    outgoing: Outgoing,
) -> Result<SendOutput, ToolError> {
    let account = &recipient.account;
    outgoing
        .request
        .validate()
        .map_err(|error| ToolError::InvalidArgument {
            argument: "message",
            reason: error.to_string(),
        })?;
    let token = cx.sender.access_token(cx.store, account).await?;
    let content_json =
        serde_json::to_string(&outgoing.request).map_err(|error| ToolError::InvalidArgument {
            argument: "message",
            reason: format!("cannot be encoded as JSON: {error}"),
        })?;
    let stored = cx
        .store
        .insert_outbound(NewOutboundMessage {
            account_id: account.id.clone(),
            wa_id: recipient.wa_id().to_owned(),
            kind: outgoing.request.kind().to_owned(),
            text: outgoing.text,
            caption: outgoing.caption,
            media: outgoing.media,
            context_wamid: outgoing.context_wamid,
            content_json,
            timestamp: cx.now,
        })
        .await?;

    // Meta echoes the message id in every status webhook of the message,
    // so the store can attach the wamid to it even when the response to
    // this call is lost.
    let request = outgoing.request.with_callback_data(stored.id.as_str());
    let sent = cx
        .sender
        .graph()
        .send_message(&account.phone_number_id, &token, &request)
        .await;
    match sent {
        Ok(response) => {
            token_works(cx.store, &recipient.account).await;
            Ok(record_accepted(cx, recipient, &stored, &response).await)
        }
        Err(error) => record_failed(cx, recipient, &stored, &error).await,
    }
}

/// Records a failed send. When a status webhook has already attached
/// Meta's wamid, the store keeps the message as Meta reported it and the
/// send counts as done, with a warning about the lost response.
async fn record_failed(
    cx: &ToolContext<'_>,
    recipient: &Recipient,
    stored: &Message,
    error: &GraphError,
) -> Result<SendOutput, ToolError> {
    let account = &recipient.account;
    match cx
        .store
        .mark_outbound_failed(&stored.id, error.to_meta_error(), cx.now)
        .await
    {
        Ok(message) if message.wamid.is_some() => {
            tracing::warn!(message_id = %stored.id, wamid = message.wamid.as_deref(), %error,
                "send failed after Meta's status webhook confirmed the message");
            let mut output = output(recipient, &message);
            output.wamid = message.wamid.clone();
            output.warnings.push(format!(
                "the response from Meta was lost ({error}), but Meta's status update \
                 already confirmed the message, so do not send it again"
            ));
            return Ok(output);
        }
        Ok(_) => {}
        Err(store_error) => {
            tracing::error!(message_id = %stored.id, error = %store_error,
                "failed to record a failed send");
        }
    }
    let note = format!("The message is stored as failed (messageId {}).", stored.id);
    Err(graph_failure(
        cx,
        account,
        "sending the message",
        error,
        &note,
        Repeat::Duplicates,
    )
    .await)
}

/// Records Meta's acceptance. A store failure here becomes a warning,
/// because the message has been sent and a tool error would invite a
/// duplicate.
async fn record_accepted(
    cx: &ToolContext<'_>,
    recipient: &Recipient,
    stored: &Message,
    response: &SendResponse,
) -> SendOutput {
    let accepted = SentMessage {
        wamid: response.wamid().to_owned(),
        wa_id: response.wa_id().map(str::to_owned),
    };
    let wamid = accepted.wamid.clone();
    let mut output = output(recipient, stored);
    output.wamid = Some(wamid.clone());
    match cx
        .store
        .mark_outbound_sent(&stored.id, accepted, cx.now)
        .await
    {
        Ok(message) => output.status = message.status.as_str().to_owned(),
        Err(error) => {
            tracing::error!(message_id = %stored.id, %wamid, %error,
                "Meta accepted a message but recording it failed");
            output.status = "sent".to_owned();
            output.warnings.push(
                "Meta accepted the message, but Pons failed to record that, so it may show as \
                 pending until Meta's status update arrives"
                    .to_owned(),
            );
        }
    }
    output
}

fn output(recipient: &Recipient, stored: &Message) -> SendOutput {
    SendOutput {
        message_id: stored.id.to_string(),
        wamid: None,
        status: stored.status.as_str().to_owned(),
        conversation_id: stored.conversation_id.to_string(),
        to: recipient.phone.e164(),
        from: format!("+{}", recipient.account.phone_number),
        warnings: Vec::new(),
    }
}
