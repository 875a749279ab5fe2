//! The rule for a status webhook whose wamid no stored message has: its
//! `biz_opaque_callback_data` may name the outbound message it belongs to.
//! Pons sends each stored message's id in that field, and Meta echoes it in
//! every status of the message. So a send whose response was lost (a
//! timeout, or a connection that broke after Meta accepted the request)
//! still gets its wamid and status. Both backends apply this rule.

use super::business_reactions::is_reaction_callback;
use super::{AccountId, MessageId, MessageStatus, StatusUpdate};
use crate::phone::same_subscriber;

/// The stored outbound message that a status's callback data names, as the
/// rule reads it.
pub struct CallbackTarget<'a> {
    pub id: &'a MessageId,
    pub account_id: &'a AccountId,
    /// The wa_id of the contact the message was sent to.
    pub recipient_wa_id: &'a str,
    pub wamid: Option<&'a str>,
    pub status: MessageStatus,
}

/// Returns the message id that the status's callback data names, if it
/// carries any. Callback data of a reaction names no message.
pub fn named_message(update: &StatusUpdate) -> Option<MessageId> {
    update
        .biz_opaque_callback_data
        .as_deref()
        .map(str::trim)
        .filter(|data| !data.is_empty() && !is_reaction_callback(data))
        .map(|data| MessageId(data.to_owned()))
}

/// Checks that `target`, the outbound message the callback data names
/// (`None` when no outbound message has that id), may take the wamid of
/// `update`: same account, same recipient, no wamid yet, and `pending` or
/// `failed`. Returns the note for the webhook log when it may not.
pub fn check_target(
    update: &StatusUpdate,
    named: &MessageId,
    target: Option<&CallbackTarget<'_>>,
) -> Result<(), String> {
    let Some(target) = target else {
        return Err(note(
            update,
            &format!("no outbound message has the id \"{}\"", echoed(named)),
        ));
    };
    let id = target.id;
    if target.account_id != &update.account_id {
        return Err(note(
            update,
            &format!("message {id} belongs to another account"),
        ));
    }
    // Meta's wa_id of a mobile number in Brazil, Mexico or Argentina may
    // differ from the number Pons sent to by a digit, and only the lost
    // response would have reported it.
    let same_recipient = update
        .recipient_id
        .as_deref()
        .is_some_and(|recipient| same_subscriber(recipient, target.recipient_wa_id));
    if !same_recipient {
        return Err(note(
            update,
            &format!(
                "message {id} was sent to {}, not to {}",
                target.recipient_wa_id,
                update
                    .recipient_id
                    .as_deref()
                    .unwrap_or("an unnamed recipient")
            ),
        ));
    }
    if let Some(wamid) = target.wamid {
        return Err(note(
            update,
            &format!("message {id} already has the wamid {wamid}"),
        ));
    }
    if !matches!(
        target.status,
        MessageStatus::Pending | MessageStatus::Failed
    ) {
        return Err(note(
            update,
            &format!("message {id} is {}", target.status.as_str()),
        ));
    }
    Ok(())
}

fn note(update: &StatusUpdate, reason: &str) -> String {
    format!(
        "status {} for unknown wamid {} not matched by its biz_opaque_callback_data: {reason}; \
         the status is kept until a message with that wamid is stored",
        update.status.as_str(),
        update.wamid
    )
}

fn echoed(id: &MessageId) -> String {
    crate::echo::echoed(id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(data: Option<&str>) -> StatusUpdate {
        StatusUpdate {
            account_id: AccountId("acc-1".to_owned()),
            wamid: "wamid.NEW".to_owned(),
            status: MessageStatus::Delivered,
            timestamp: 1,
            recipient_id: Some("15550001111".to_owned()),
            error: None,
            biz_opaque_callback_data: data.map(str::to_owned),
        }
    }

    #[test]
    fn named_message_needs_text() {
        assert_eq!(named_message(&update(None)), None);
        assert_eq!(named_message(&update(Some("  "))), None);
        assert_eq!(named_message(&update(Some("pons-reaction:7"))), None);
        assert_eq!(
            named_message(&update(Some("msg-1"))),
            Some(MessageId("msg-1".to_owned()))
        );
    }

    #[test]
    fn check_target_each_mismatch() {
        let update = update(Some("msg-1"));
        let id = MessageId("msg-1".to_owned());
        let account = AccountId("acc-1".to_owned());
        let other_account = AccountId("acc-2".to_owned());
        let matching = CallbackTarget {
            id: &id,
            account_id: &account,
            recipient_wa_id: "15550001111",
            wamid: None,
            status: MessageStatus::Failed,
        };
        assert_eq!(check_target(&update, &id, Some(&matching)), Ok(()));
        let pending = CallbackTarget {
            status: MessageStatus::Pending,
            ..matching
        };
        assert_eq!(check_target(&update, &id, Some(&pending)), Ok(()));

        let unknown = check_target(&update, &id, None).unwrap_err();
        assert!(
            unknown.contains("no outbound message has the id"),
            "{unknown}"
        );
        assert!(unknown.contains("wamid.NEW"), "{unknown}");
        let cases = [
            (
                CallbackTarget {
                    account_id: &other_account,
                    ..matching
                },
                "belongs to another account",
            ),
            (
                CallbackTarget {
                    recipient_wa_id: "15550002222",
                    ..matching
                },
                "was sent to 15550002222, not to 15550001111",
            ),
            (
                CallbackTarget {
                    wamid: Some("wamid.OLD"),
                    ..matching
                },
                "already has the wamid wamid.OLD",
            ),
            (
                CallbackTarget {
                    status: MessageStatus::Received,
                    ..matching
                },
                "is received",
            ),
        ];
        for (target, reason) in cases {
            let note = check_target(&update, &id, Some(&target)).unwrap_err();
            assert!(note.contains(reason), "{reason}: {note}");
        }
    }

    #[test]
    fn check_target_other_mobile_form() {
        let id = MessageId("msg-1".to_owned());
        let account = AccountId("acc-1".to_owned());
        let dialled = CallbackTarget {
            id: &id,
            account_id: &account,
            recipient_wa_id: "5521987654322",
            wamid: None,
            status: MessageStatus::Failed,
        };
        let mut update = update(Some("msg-1"));
        update.recipient_id = Some("552187654322".to_owned());
        assert_eq!(check_target(&update, &id, Some(&dialled)), Ok(()));

        update.recipient_id = Some("552187654323".to_owned());
        let note = check_target(&update, &id, Some(&dialled)).unwrap_err();
        assert!(note.contains("was sent to 5521987654322"), "{note}");
    }
}
