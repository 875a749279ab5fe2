//! Notes on a webhook's problems that did not stop it from being stored,
//! as its log row and its warning list them.

use super::NewWebhookLog;

/// Notes listed in a webhook's log entry and its warning. A webhook may
/// carry thousands of messages, each with its own problem, so the rest are
/// counted instead of listed.
pub const MAX_LISTED_NOTES: usize = 10;

/// Joins notes, at most `MAX_LISTED_NOTES` of them and a count of the
/// others; `None` when there is none.
pub fn summarise_notes(notes: &[String]) -> Option<String> {
    if notes.is_empty() {
        return None;
    }
    let mut joined = notes[..notes.len().min(MAX_LISTED_NOTES)].join("; ");
    if notes.len() > MAX_LISTED_NOTES {
        joined.push_str(&format!("; and {} more", notes.len() - MAX_LISTED_NOTES));
    }
    Some(joined)
}

impl NewWebhookLog {
    /// Returns the log row with the store's `notes` appended to its detail.
    pub fn with_notes(&self, notes: &[String]) -> NewWebhookLog {
        let detail = match (&self.detail, summarise_notes(notes)) {
            (Some(before), Some(added)) => Some(format!("{before}; {added}")),
            (before, added) => added.or_else(|| before.clone()),
        };
        NewWebhookLog {
            detail,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(detail: Option<&str>) -> NewWebhookLog {
        NewWebhookLog {
            received_at: 1,
            account_id: None,
            headers_json: "{}".to_owned(),
            body: bytes::Bytes::new(),
            outcome: "processed".to_owned(),
            detail: detail.map(str::to_owned),
        }
    }

    #[test]
    fn notes_listed_up_to_ten() {
        assert_eq!(summarise_notes(&[]), None);
        let three: Vec<String> = (1..=3).map(|n| format!("note {n}")).collect();
        assert_eq!(
            summarise_notes(&three).as_deref(),
            Some("note 1; note 2; note 3")
        );
        let many: Vec<String> = (1..=3000).map(|n| format!("note {n}")).collect();
        let joined = summarise_notes(&many).expect("notes");
        assert!(joined.starts_with("note 1; note 2;"), "{joined}");
        assert!(joined.contains("note 10; and 2990 more"), "{joined}");
        assert!(!joined.contains("note 11"), "{joined}");
    }

    #[test]
    fn with_notes_appends_to_detail() {
        let added = vec!["late".to_owned()];
        assert_eq!(log(None).with_notes(&[]).detail, None);
        assert_eq!(
            log(Some("early")).with_notes(&[]).detail.as_deref(),
            Some("early")
        );
        assert_eq!(log(None).with_notes(&added).detail.as_deref(), Some("late"));
        assert_eq!(
            log(Some("early")).with_notes(&added).detail.as_deref(),
            Some("early; late")
        );
    }
}
