//! The rule for a customer's reaction: it applies only to a message of
//! that customer's own conversation. Meta names the target by wamid alone,
//! so a reaction that names a message of another customer's conversation
//! in the same account must not change that message. Both backends apply
//! this rule.

use super::InboundReaction;
use crate::echo::echoed;

/// The customer of the conversation that contains a reaction's target.
pub struct TargetCustomer<'a> {
    pub wa_id: &'a str,
    pub user_id: Option<&'a str>,
}

impl TargetCustomer<'_> {
    /// Tells whether `from`, a reaction's sender as the webhook names it
    /// (a wa_id, or a user id when Meta sends no number), is this customer.
    pub fn is(&self, from: &str) -> bool {
        self.wa_id == from || self.user_id == Some(from)
    }
}

/// Checks that `reaction` comes from the customer of the conversation that
/// contains its stored target message. Returns the note for the webhook log
/// when it does not, and the caller then skips the reaction.
pub fn check_reactor(
    reaction: &InboundReaction,
    target: &TargetCustomer<'_>,
) -> Result<(), String> {
    if target.is(&reaction.from) {
        return Ok(());
    }
    Err(format!(
        "reaction from {} to message {} skipped: that message is in the conversation with {}, \
         and a customer's reaction applies only to a message of their own conversation",
        echoed(&reaction.from),
        echoed(&reaction.target_wamid),
        echoed(target.wa_id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountId;

    fn reaction(from: &str) -> InboundReaction {
        InboundReaction {
            account_id: AccountId("acc-1".to_owned()),
            from: from.to_owned(),
            wamid: "wamid.REACTION".to_owned(),
            target_wamid: "wamid.TARGET".to_owned(),
            emoji: Some("👍".to_owned()),
            timestamp: 1,
        }
    }

    #[test]
    fn reactor_matches_wa_id_or_user_id() {
        let target = TargetCustomer {
            wa_id: "15550001111",
            user_id: Some("US.1"),
        };
        assert_eq!(check_reactor(&reaction("15550001111"), &target), Ok(()));
        assert_eq!(check_reactor(&reaction("US.1"), &target), Ok(()));
    }

    #[test]
    fn other_customer_gets_note() {
        let target = TargetCustomer {
            wa_id: "15550001111",
            user_id: None,
        };
        let note = check_reactor(&reaction("15550002222"), &target).unwrap_err();
        assert!(note.contains("reaction from 15550002222"), "{note}");
        assert!(note.contains("message wamid.TARGET skipped"), "{note}");
        assert!(note.contains("conversation with 15550001111"), "{note}");
        let unnamed = check_reactor(&reaction(""), &target).unwrap_err();
        assert!(unnamed.contains("skipped"), "{unnamed}");
    }
}
