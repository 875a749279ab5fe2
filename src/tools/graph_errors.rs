//! Graph API failures as tool errors: Meta's code, title and details, and
//! what the caller should do next.

use crate::store::Account;
use crate::whatsapp::graph::{GraphError, RATE_LIMIT_CODES, TRANSIENT_CODES};

use super::sender::record_invalid_token;
use super::{ToolContext, ToolError};

/// The effect of sending a failed request again after Meta executed the
/// first one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// A second copy of the message reaches the customer.
    Duplicates,
    /// No change beyond the first execution's, as for a reaction.
    Harmless,
}

/// Turns a failed Graph call into a tool error that names Meta's code,
/// title and details and says what to do next. A rejected access token is
/// also recorded on the account. `note` says what became of the message.
pub(super) async fn graph_failure(
    cx: &ToolContext<'_>,
    account: &Account,
    action: &'static str,
    error: &GraphError,
    note: &str,
    repeat: Repeat,
) -> ToolError {
    tracing::warn!(account_id = %account.id, code = error.code(), %error, action,
        "Graph API call failed");
    if error.is_token_error() {
        record_invalid_token(cx.store, account, cx.now).await;
    }
    ToolError::Graph {
        action,
        detail: describe_graph_error(error),
        hint: format!("{note} {}", next_step(account, error, repeat))
            .trim()
            .to_owned(),
    }
}

/// Describes the error as Meta's code, title and details where Meta sent them.
pub(super) fn describe_graph_error(error: &GraphError) -> String {
    match error.meta() {
        Some(meta) => {
            let mut text = format!("Meta returned error {} ({})", meta.code, meta.title());
            if let Some(details) = meta.details.as_deref().or(meta.user_message.as_deref()) {
                text.push_str(": ");
                text.push_str(details);
            }
            text
        }
        None => error.to_string(),
    }
}

/// Describes what to do about an access token that Meta rejected.
pub(super) fn token_fix(account: &Account) -> String {
    format!(
        "Meta rejected the access token of account +{} ({}); an operator must store a new one \
         with `pons account set-credentials --account +{} --access-token-file FILE` before \
         anything can be sent from this number.",
        account.phone_number, account.name, account.phone_number
    )
}

/// What the caller should do after `error`.
fn next_step(account: &Account, error: &GraphError, repeat: Repeat) -> String {
    if error.is_token_error() {
        return token_fix(account);
    }
    match error {
        GraphError::Api(meta) if meta.code == 131047 => {
            "More than 24 hours passed since the customer's last message; send an approved \
             template with send_template instead."
                .to_owned()
        }
        GraphError::Api(meta) if meta.code == 131026 => {
            "WhatsApp cannot deliver to this number (not on WhatsApp, an outdated app, or the \
             customer blocked the business); do not retry."
                .to_owned()
        }
        GraphError::Api(meta) if RATE_LIMIT_CODES.contains(&meta.code) => {
            "Meta is rate-limiting this number; wait a minute before sending again.".to_owned()
        }
        GraphError::Api(meta) if TRANSIENT_CODES.contains(&meta.code) => {
            "This is a temporary problem at Meta; retry in a few minutes.".to_owned()
        }
        GraphError::Connect { .. } => {
            "Nothing reached Meta; retry when the Graph API is reachable again.".to_owned()
        }
        _ if error.may_have_executed() && repeat == Repeat::Harmless => {
            "Sending the same request again is safe, because repeating it has the same \
             effect as sending it once."
                .to_owned()
        }
        _ if error.may_have_executed() => {
            "Meta may still have accepted the request, so check get_conversation before \
             sending again to avoid a duplicate."
                .to_owned()
        }
        GraphError::UnexpectedResponse { .. } => {
            "The Graph API is refusing requests for now (HTTP 429); wait a minute before \
             sending again."
                .to_owned()
        }
        _ => "Correct the request as Meta's details say.".to_owned(),
    }
}
