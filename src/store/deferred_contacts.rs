//! Contacts from a webhook's `contacts[]` that a batch defers until it
//! stores a message or reaction from that customer. Meta lists the sender
//! of every message there, including messages that Pons skips (one without
//! an id, or a reaction to another customer's message), and such a sender
//! must not get a contact or an empty conversation. Both backends use this.

use std::collections::BTreeMap;

use super::{AccountId, ContactSeen};

/// The deferred contacts of one batch, keyed by account id and wa_id. A
/// `BTreeMap` keeps [`DeferredContacts::drain`] in key order, so concurrent
/// PostgreSQL batches update contact rows in one order.
#[derive(Default)]
pub struct DeferredContacts {
    entries: BTreeMap<(AccountId, String), ContactSeen>,
}

impl DeferredContacts {
    /// Defers `seen`, merged into the entry already deferred for the
    /// customer: each non-blank profile name or user id replaces the
    /// deferred one, as storing both entries one after the other would.
    pub fn defer(&mut self, seen: &ContactSeen) {
        let key = (seen.account_id.clone(), seen.wa_id.clone());
        let name = non_blank(&seen.profile_name);
        let user_id = non_blank(&seen.user_id);
        match self.entries.get_mut(&key) {
            Some(entry) => {
                if name.is_some() {
                    entry.profile_name = name;
                }
                if user_id.is_some() {
                    entry.user_id = user_id;
                }
            }
            None => {
                let entry = ContactSeen {
                    account_id: seen.account_id.clone(),
                    wa_id: seen.wa_id.clone(),
                    profile_name: name,
                    user_id,
                };
                self.entries.insert(key, entry);
            }
        }
    }

    /// Removes and returns the entry deferred for `wa_id` on `account`,
    /// which the caller stores with the customer's message or reaction.
    pub fn take(&mut self, account: &AccountId, wa_id: &str) -> Option<ContactSeen> {
        self.entries.remove(&(account.clone(), wa_id.to_owned()))
    }

    /// Removes and returns every entry still deferred, in account and wa_id
    /// order. The batch stored nothing from these customers, so the caller
    /// only updates those that are already stored contacts.
    pub fn drain(&mut self) -> Vec<ContactSeen> {
        std::mem::take(&mut self.entries).into_values().collect()
    }
}

fn non_blank(value: &Option<String>) -> Option<String> {
    value.clone().filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(wa_id: &str, name: Option<&str>, user_id: Option<&str>) -> ContactSeen {
        ContactSeen {
            account_id: AccountId("acc-1".to_owned()),
            wa_id: wa_id.to_owned(),
            profile_name: name.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
        }
    }

    #[test]
    fn defer_merges_non_blank_values() {
        let mut deferred = DeferredContacts::default();
        deferred.defer(&seen("1555", Some("Alice"), None));
        deferred.defer(&seen("1555", Some("  "), Some("US.1")));
        deferred.defer(&seen("1555", None, None));
        deferred.defer(&seen("1666", Some("Bob"), None));

        let account = AccountId("acc-1".to_owned());
        let alice = deferred.take(&account, "1555").expect("deferred entry");
        assert_eq!(alice.profile_name.as_deref(), Some("Alice"));
        assert_eq!(alice.user_id.as_deref(), Some("US.1"));
        assert!(deferred.take(&account, "1555").is_none(), "taken once");

        let rest = deferred.drain();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].wa_id, "1666");
        assert!(deferred.drain().is_empty());
    }

    #[test]
    fn later_name_replaces_deferred_one() {
        let mut deferred = DeferredContacts::default();
        deferred.defer(&seen("1555", Some("Alice"), None));
        deferred.defer(&seen("1555", Some("Bob"), None));
        let account = AccountId("acc-1".to_owned());
        let entry = deferred.take(&account, "1555").expect("deferred entry");
        assert_eq!(entry.profile_name.as_deref(), Some("Bob"));
    }

    #[test]
    fn blank_values_deferred_as_none() {
        let mut deferred = DeferredContacts::default();
        deferred.defer(&seen("1555", Some(" "), Some("")));
        let account = AccountId("acc-1".to_owned());
        let entry = deferred.take(&account, "1555").expect("deferred entry");
        assert_eq!(entry.profile_name, None);
        assert_eq!(entry.user_id, None);
    }
}
