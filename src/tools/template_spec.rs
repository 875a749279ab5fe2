//! What a stored template needs filled in: its variables per component,
//! read from the components Meta lists (`HEADER`, `BODY`, `BUTTONS`), with
//! an example of the `components` a send must carry.

use serde_json::{Value, json};

use crate::store::Template;
use crate::whatsapp::graph::placeholders;

/// The component a variable belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Header,
    Body,
    /// A button at `index` of sub-type `url` or `copy_code`.
    Button {
        index: usize,
        sub_type: String,
    },
}

/// What fills one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// A `{{name}}` variable, filled by a text, currency or date_time parameter.
    Text(String),
    /// A media header: `image`, `video` or `document`.
    Media(String),
    /// A location header, whose place Meta takes at send time only.
    Location,
    /// A copy-code button's coupon code.
    CouponCode,
}

/// One variable of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Variable {
    pub part: Part,
    pub slot: Slot,
}

impl Variable {
    /// Names the variable as a caller writes about it: `body {{1}}`,
    /// `header image`, `button 0 (url) {{1}}`.
    pub fn label(&self) -> String {
        let part = match &self.part {
            Part::Header => "header".to_owned(),
            Part::Body => "body".to_owned(),
            Part::Button { index, sub_type } => format!("button {index} ({sub_type})"),
        };
        match &self.slot {
            Slot::Text(name) => format!("{part} {{{{{name}}}}}"),
            Slot::Media(kind) => format!("{part} {kind}"),
            Slot::Location => format!("{part} location"),
            Slot::CouponCode => format!("{part} coupon code"),
        }
    }
}

/// The variables of a stored template.
#[derive(Clone, Debug, Default)]
pub(super) struct TemplateSpec {
    /// Parameters carry `parameter_name` (Meta's `NAMED` format).
    pub named: bool,
    /// Format of the header in upper case as Meta lists it (`TEXT`,
    /// `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`), or `None` without a header.
    pub header_format: Option<String>,
    /// Text of a text header, with its variables.
    pub header_text: Option<String>,
    pub body_text: Option<String>,
    pub variables: Vec<Variable>,
    /// Sub-type of each button by index, in Meta's lower case (`url`,
    /// `quick_reply`, ...), or `None` when the stored components could not
    /// be read.
    pub buttons: Option<Vec<String>>,
    /// The label and target of each button by index, as Meta lists them.
    pub button_details: Vec<ButtonDetails>,
}

/// What a template's button shows and where it leads, as Meta lists it.
#[derive(Clone, Debug, Default)]
pub(super) struct ButtonDetails {
    /// The label on the button.
    pub text: Option<String>,
    /// The link of a URL button, with its `{{1}}` suffix variable.
    pub url: Option<String>,
    /// The number a phone number button calls.
    pub phone_number: Option<String>,
}

impl TemplateSpec {
    /// Reads the variables from the stored components. Unreadable JSON gives
    /// a template without variables, and Meta will judge the send.
    pub fn of(template: &Template) -> TemplateSpec {
        let components: Option<Vec<Value>> = template
            .components_json
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok());
        let named = template
            .parameter_format
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case("named"));
        let mut spec = TemplateSpec {
            named,
            buttons: components.as_ref().map(|_| Vec::new()),
            ..TemplateSpec::default()
        };
        for component in components.iter().flatten() {
            let kind = component["type"]
                .as_str()
                .unwrap_or("")
                .to_ascii_uppercase();
            match kind.as_str() {
                "HEADER" => spec.read_header(component),
                "BODY" => {
                    let text = component["text"].as_str().unwrap_or("");
                    spec.body_text = Some(text.to_owned());
                    spec.push_text_variables(Part::Body, text);
                }
                "BUTTONS" => spec.read_buttons(component),
                _ => {}
            }
        }
        // Meta lists the header first, but the order is not guaranteed.
        spec.variables.sort_by_key(|v| match v.part {
            Part::Header => 0,
            Part::Body => 1,
            Part::Button { index, .. } => 2 + index,
        });
        spec
    }

    fn read_header(&mut self, component: &Value) {
        let format = component["format"]
            .as_str()
            .unwrap_or("TEXT")
            .to_ascii_uppercase();
        match format.as_str() {
            "IMAGE" | "VIDEO" | "DOCUMENT" => self.variables.push(Variable {
                part: Part::Header,
                slot: Slot::Media(format.to_ascii_lowercase()),
            }),
            "LOCATION" => self.variables.push(Variable {
                part: Part::Header,
                slot: Slot::Location,
            }),
            _ => {
                let text = component["text"].as_str().unwrap_or("");
                self.header_text = Some(text.to_owned());
                self.push_text_variables(Part::Header, text);
            }
        }
        self.header_format = Some(format);
    }

    fn read_buttons(&mut self, component: &Value) {
        let buttons = component["buttons"].as_array().into_iter().flatten();
        for (index, button) in buttons.enumerate() {
            let kind = button["type"].as_str().unwrap_or("").to_ascii_uppercase();
            if let Some(buttons) = &mut self.buttons {
                buttons.push(kind.to_ascii_lowercase());
            }
            let text_of = |key: &str| button[key].as_str().map(str::to_owned);
            self.button_details.push(ButtonDetails {
                text: text_of("text"),
                url: text_of("url"),
                phone_number: text_of("phone_number"),
            });
            match kind.as_str() {
                "URL" => {
                    let url = button["url"].as_str().unwrap_or("");
                    let part = Part::Button {
                        index,
                        sub_type: "url".to_owned(),
                    };
                    self.push_text_variables(part, url);
                }
                "COPY_CODE" => self.variables.push(Variable {
                    part: Part::Button {
                        index,
                        sub_type: "copy_code".to_owned(),
                    },
                    slot: Slot::CouponCode,
                }),
                _ => {}
            }
        }
    }

    fn push_text_variables(&mut self, part: Part, text: &str) {
        for name in placeholders(text) {
            self.variables.push(Variable {
                part: part.clone(),
                slot: Slot::Text(name),
            });
        }
    }

    /// Returns the variables of one component, in template order.
    pub fn variables_of(&self, part: &Part) -> Vec<&Variable> {
        self.variables.iter().filter(|v| &v.part == part).collect()
    }

    /// Lists the variable labels, for guides and `list_templates`.
    pub fn labels(&self) -> Vec<String> {
        self.variables.iter().map(Variable::label).collect()
    }

    /// Builds a `components` array that fills every variable with a
    /// placeholder value, in the format a send expects.
    pub fn example(&self) -> Value {
        let mut components = Vec::new();
        for part in [Part::Header, Part::Body] {
            let variables = self.variables_of(&part);
            if variables.is_empty() {
                continue;
            }
            let kind = if part == Part::Header {
                "header"
            } else {
                "body"
            };
            let parameters: Vec<Value> = variables.iter().map(|v| self.example_of(v)).collect();
            components.push(json!({"type": kind, "parameters": parameters}));
        }
        for variable in &self.variables {
            if let Part::Button { index, sub_type } = &variable.part {
                components.push(json!({
                    "type": "button",
                    "sub_type": sub_type,
                    "index": index.to_string(),
                    "parameters": [self.example_of(variable)],
                }));
            }
        }
        Value::Array(components)
    }

    fn example_of(&self, variable: &Variable) -> Value {
        match &variable.slot {
            Slot::Text(name) => {
                let mut parameter = json!({"type": "text", "text": format!("<{name}>")});
                if self.named && !matches!(variable.part, Part::Button { .. }) {
                    parameter["parameter_name"] = json!(name);
                }
                parameter
            }
            Slot::Media(kind) => {
                json!({"type": kind, kind.as_str(): {"link": format!("https://example.com/{kind}")}})
            }
            Slot::Location => json!({"type": "location", "location": {
                "latitude": 52.52,
                "longitude": 13.405,
                "name": "<place name>",
                "address": "<street address>",
            }}),
            Slot::CouponCode => json!({"type": "coupon_code", "coupon_code": "<code>"}),
        }
    }
}

/// Replaces each `{{name}}` in `text` with its value from `values`, and
/// leaves variables without a value as they are.
pub(super) fn render(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        out.push_str(&rest[..start]);
        match values.iter().find(|(key, _)| key == name) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Builds an approved template `t` in `en_US` for tests.
#[cfg(test)]
pub(super) fn test_template(format: &str, components: Value) -> Template {
    use crate::store::{AccountId, TemplateId};

    Template {
        id: TemplateId("t".into()),
        account_id: AccountId("a".into()),
        meta_template_id: "1".into(),
        name: Some("t".into()),
        language: Some("en_US".into()),
        status: "APPROVED".into(),
        category: None,
        parameter_format: Some(format.into()),
        components_json: Some(components.to_string()),
        rejected_reason: None,
        updated_at: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_reads_every_component() {
        let spec = TemplateSpec::of(&test_template(
            "POSITIONAL",
            json!([
                {"type": "BODY", "text": "Hi {{1}}, order {{2}}"},
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "QUICK_REPLY", "text": "Stop"},
                    {"type": "URL", "text": "Track", "url": "https://x.example/{{1}}"}
                ]}
            ]),
        ));
        assert_eq!(
            spec.labels(),
            [
                "header image",
                "body {{1}}",
                "body {{2}}",
                "button 1 (url) {{1}}"
            ]
        );
        assert_eq!(spec.body_text.as_deref(), Some("Hi {{1}}, order {{2}}"));
        assert_eq!(spec.header_format.as_deref(), Some("IMAGE"));
        assert_eq!(spec.header_text, None);
        let example = spec.example();
        assert_eq!(example[0]["parameters"][0]["type"], "image");
        assert_eq!(example[1]["parameters"][1]["text"], "<2>");
        assert_eq!(example[2]["index"], "1");
    }

    #[test]
    fn location_header_is_a_variable() {
        let spec = TemplateSpec::of(&test_template(
            "POSITIONAL",
            json!([
                {"type": "HEADER", "format": "LOCATION"},
                {"type": "BODY", "text": "Your parcel waits for you."},
            ]),
        ));
        assert_eq!(spec.labels(), ["header location"]);
        assert_eq!(spec.header_format.as_deref(), Some("LOCATION"));
        assert_eq!(spec.header_text, None);
        let example = spec.example();
        assert_eq!(example[0]["type"], "header");
        let parameter = &example[0]["parameters"][0];
        assert_eq!(parameter["type"], "location");
        assert!(parameter["location"]["latitude"].is_f64(), "{parameter}");
        assert!(parameter["location"]["longitude"].is_f64(), "{parameter}");
    }

    #[test]
    fn named_example_carries_names() {
        let spec = TemplateSpec::of(&test_template(
            "NAMED",
            json!([{"type": "BODY", "text": "Hi {{first_name}}"}]),
        ));
        assert!(spec.named);
        assert_eq!(
            spec.example()[0]["parameters"][0]["parameter_name"],
            "first_name"
        );
    }

    #[test]
    fn render_fills_known_values() {
        let values = [("1".to_owned(), "Ana".to_owned())];
        assert_eq!(render("Hi {{1}}, {{ 2 }}!", &values), "Hi Ana, {{ 2 }}!");
    }
}
