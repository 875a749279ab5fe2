//! Templates as `GET /{waba-id}/message_templates` lists them, one page at
//! a time. Component and button types are upper-case here.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The fields requested for each template.
pub const TEMPLATE_FIELDS: &str = "id,name,language,status,category,parameter_format,components";

/// One message template in one language.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Template {
    /// Meta's template id; a string in this list, a number in webhooks.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    pub name: String,
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    #[serde(default)]
    pub category: Option<String>,
    /// `NAMED` or `POSITIONAL`; Meta omits it for positional templates.
    #[serde(default)]
    pub parameter_format: Option<String>,
    /// Components exactly as Meta sent them (`HEADER`, `BODY`, `FOOTER`,
    /// `BUTTONS`), kept whole for storage.
    #[serde(default)]
    pub components: Vec<Value>,
}

impl Template {
    /// Tells whether parameters are sent with `parameter_name`.
    pub fn is_named(&self) -> bool {
        self.parameter_format
            .as_deref()
            .is_some_and(|format| format.eq_ignore_ascii_case("named"))
    }

    /// Returns the text of the component of `component_type` (`BODY`, `HEADER`, …).
    pub fn component_text(&self, component_type: &str) -> Option<&str> {
        self.components
            .iter()
            .find(|c| {
                c["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(component_type))
            })
            .and_then(|c| c["text"].as_str())
    }

    /// Returns the body text, with its `{{…}}` variables.
    pub fn body_text(&self) -> Option<&str> {
        self.component_text("BODY")
    }
}

/// Extracts the variable names of a template text, in order of first appearance:
/// `{{1}}` gives `1` and `{{first_name}}` gives `first_name`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    names
}

/// One page of the list.
#[derive(Debug, Deserialize)]
pub(crate) struct TemplatePage {
    #[serde(default)]
    pub data: Vec<Template>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `paging`: `next` is absent on the last page.
#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    pub cursors: Option<Cursors>,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Cursors {
    #[serde(default)]
    pub after: Option<String>,
}

impl TemplatePage {
    /// Returns the cursor of the next page, or `None` on the last page.
    pub fn next_cursor(&self) -> Option<&str> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.as_deref()
    }

    /// Tells whether Meta announced a next page.
    pub fn has_next(&self) -> bool {
        self.paging.as_ref().is_some_and(|p| p.next.is_some())
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "template id must be a string or number, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_order() {
        assert_eq!(
            placeholders("Hi {{1}}, order {{2}} ships {{1}}"),
            vec!["1", "2"]
        );
        assert_eq!(
            placeholders("Hello {{ first_name }}, see {{date}} {{bad-name}} {{"),
            vec!["first_name", "date"]
        );
    }

    #[test]
    fn page_cursor_only_with_next() {
        let page: TemplatePage = serde_json::from_str(
            r#"{"data":[{"id":1,"name":"a","language":"en","status":"APPROVED"}],
                "paging":{"cursors":{"before":"b","after":"c"}}}"#,
        )
        .unwrap();
        assert_eq!(page.data[0].id, "1");
        assert_eq!(page.next_cursor(), None);
        assert!(!page.has_next());
    }
}
