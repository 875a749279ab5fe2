//! The rule for the business's reactions whose Graph response may be lost.
//! A reaction is no stored message, so before it is sent the store keeps it
//! as pending under a number, and the send carries that number in
//! `biz_opaque_callback_data`. Meta echoes the field in the reaction's
//! `sent` or `failed` status. The reaction is set on its message when the
//! Graph response or that status confirms it, whichever comes first, and
//! deleted when Meta refuses it. Both backends apply this rule.

use super::{StatusUpdate, UnixTime};

/// Start of the callback data of a reaction; the pending reaction's number
/// follows. Message ids, the other callback data Pons sends, never start
/// with it.
const CALLBACK_PREFIX: &str = "pons-reaction:";

/// Pending reactions begun longer ago than this are deleted when the next
/// one begins. Meta retries a webhook for up to 7 days.
pub const PENDING_REACTION_SECONDS: UnixTime = 7 * 24 * 60 * 60;

/// Number of a pending reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingReactionId(pub i64);

/// Returns the `biz_opaque_callback_data` of the reaction send `id`.
pub fn callback_data(id: PendingReactionId) -> String {
    format!("{CALLBACK_PREFIX}{}", id.0)
}

/// Returns whether `data` is callback data of a reaction, valid or not.
pub fn is_reaction_callback(data: &str) -> bool {
    data.trim().starts_with(CALLBACK_PREFIX)
}

/// Returns the pending reaction the status's callback data names, if it
/// names one.
pub fn named_reaction(update: &StatusUpdate) -> Option<PendingReactionId> {
    let data = update.biz_opaque_callback_data.as_deref()?.trim();
    let number = data.strip_prefix(CALLBACK_PREFIX)?;
    number.parse().ok().map(PendingReactionId)
}

/// Returns the webhook log's note for a reaction that Meta's status
/// reports failed, with Meta's error when it gave one.
pub fn failed_note(update: &StatusUpdate) -> String {
    let error = update.error.clone().unwrap_or_default();
    let reason = match (error.code, error.title.or(error.message)) {
        (Some(code), Some(text)) => format!(" (error {code}: {text})"),
        (Some(code), None) => format!(" (error {code})"),
        (None, Some(text)) => format!(" ({text})"),
        (None, None) => String::new(),
    };
    format!(
        "reaction {} was not applied by Meta{reason}; the message keeps its previous reaction",
        update.wamid
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccountId, MessageStatus};

    fn update(data: Option<&str>) -> StatusUpdate {
        StatusUpdate {
            account_id: AccountId("acc-1".to_owned()),
            wamid: "wamid.R1".to_owned(),
            status: MessageStatus::Sent,
            timestamp: 1,
            recipient_id: Some("15550001111".to_owned()),
            error: None,
            biz_opaque_callback_data: data.map(str::to_owned),
        }
    }

    #[test]
    fn callback_data_names_the_reaction() {
        let data = callback_data(PendingReactionId(42));
        assert_eq!(
            named_reaction(&update(Some(&data))),
            Some(PendingReactionId(42))
        );
        assert!(is_reaction_callback(&data));
    }

    #[test]
    fn other_callback_data_names_no_reaction() {
        for data in [
            None,
            Some("msg-1"),
            Some("pons-reaction:"),
            Some("pons-reaction:x"),
        ] {
            assert_eq!(named_reaction(&update(data)), None, "{data:?}");
        }
        assert!(!is_reaction_callback("0192f0c4-msg"));
    }
}
