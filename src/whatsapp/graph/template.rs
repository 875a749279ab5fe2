//! The `template` object of a template send: name, language and the
//! parameters that fill the template's variables. Component types are
//! lower-case on the wire (`header`, `body`, `button`), unlike the upper-case
//! types of the template list.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::GraphError;

/// `template` object of a send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    pub language: TemplateLanguage,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<SendComponent>,
}

/// `language` object: the template's language code, such as `en_US`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateLanguage {
    pub code: String,
}

/// One component of a template send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SendComponent {
    #[serde(alias = "HEADER")]
    Header { parameters: Vec<Parameter> },
    #[serde(alias = "BODY")]
    Body { parameters: Vec<Parameter> },
    #[serde(alias = "BUTTON")]
    Button {
        /// `quick_reply`, `url`, `copy_code`, …
        sub_type: String,
        /// Position of the button in the template, as a string (`"0"`).
        #[serde(deserialize_with = "index_as_string")]
        index: String,
        parameters: Vec<Parameter>,
    },
}

/// One parameter. `parameter_name` is set for templates created with
/// named parameters and left out for positional ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    #[serde(flatten)]
    pub value: ParameterValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_name: Option<String>,
}

/// The typed value of a parameter: `"type":"<t>","<t>":…`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParameterValue {
    Text {
        text: String,
    },
    Currency {
        currency: Currency,
    },
    DateTime {
        date_time: DateTime,
    },
    Image {
        image: MediaLink,
    },
    Video {
        video: MediaLink,
    },
    Document {
        document: MediaLink,
    },
    /// Map pin of a template whose header format is `LOCATION`. Meta takes
    /// the place at send time only.
    Location {
        location: Location,
    },
    /// Quick-reply button payload, echoed back when the customer taps it.
    Payload {
        payload: String,
    },
    /// Copy-code button value.
    CouponCode {
        coupon_code: String,
    },
}

/// `currency` parameter; `amount_1000` is the amount times 1000.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    pub fallback_value: String,
    pub code: String,
    pub amount_1000: i64,
}

/// `date_time` parameter, shown as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTime {
    pub fallback_value: String,
}

/// `location` parameter: coordinates in decimal degrees, sent as JSON
/// numbers, with an optional place name and address shown under the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Media of a header parameter, by URL or uploaded id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLink {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Documents only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl TemplateMessage {
    /// Builds a template send without parameters, such as `hello_world`.
    pub fn new(name: &str, language: &str) -> TemplateMessage {
        TemplateMessage {
            name: name.to_owned(),
            language: TemplateLanguage {
                code: language.to_owned(),
            },
            components: Vec::new(),
        }
    }

    /// Adds a component.
    pub fn with(mut self, component: SendComponent) -> TemplateMessage {
        self.components.push(component);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), GraphError> {
        let invalid = |text: &str| Err(GraphError::InvalidRequest(text.to_owned()));
        if self.name.trim().is_empty() {
            return invalid("the template name is empty");
        }
        if self.language.code.trim().is_empty() {
            return invalid("the template language code is empty");
        }
        for component in &self.components {
            let parameters = match component {
                SendComponent::Header { parameters } | SendComponent::Body { parameters } => {
                    parameters
                }
                SendComponent::Button {
                    index, parameters, ..
                } => {
                    if index.parse::<u32>().is_err() {
                        return invalid("a button index must be a number such as \"0\"");
                    }
                    parameters
                }
            };
            if parameters
                .iter()
                .any(|p| p.parameter_name.as_deref().is_some_and(str::is_empty))
            {
                return invalid("a parameter_name is empty");
            }
        }
        Ok(())
    }
}

impl SendComponent {
    /// Builds a button component. `index` is the button's position.
    pub fn button(sub_type: &str, index: u32, parameters: Vec<Parameter>) -> SendComponent {
        SendComponent::Button {
            sub_type: sub_type.to_owned(),
            index: index.to_string(),
            parameters,
        }
    }
}

impl Parameter {
    /// Builds a positional text parameter.
    pub fn text(text: &str) -> Parameter {
        Parameter {
            value: ParameterValue::Text {
                text: text.to_owned(),
            },
            parameter_name: None,
        }
    }

    /// Builds a named text parameter, for templates with named parameters.
    pub fn named_text(name: &str, text: &str) -> Parameter {
        Parameter::text(text).named(name)
    }

    /// Sets `parameter_name`.
    pub fn named(mut self, name: &str) -> Parameter {
        self.parameter_name = Some(name.to_owned());
        self
    }

    /// Builds a positional parameter of any type.
    pub fn of(value: ParameterValue) -> Parameter {
        Parameter {
            value,
            parameter_name: None,
        }
    }
}

/// Accepts a button index sent as `"0"` or `0`, and keeps it as a string.
fn index_as_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "button index must be a string or number, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deserialize_lenient_components() {
        let component: SendComponent = serde_json::from_value(json!({
            "type": "BUTTON", "sub_type": "url", "index": 1,
            "parameters": [{"type": "text", "text": "order/42"}]
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&component).unwrap(),
            json!({"type": "button", "sub_type": "url", "index": "1",
                   "parameters": [{"type": "text", "text": "order/42"}]})
        );
    }

    #[test]
    fn named_parameter_serializes_name() {
        let value = serde_json::to_value(Parameter::named_text("first_name", "Ana")).unwrap();
        assert_eq!(
            value,
            json!({"type": "text", "text": "Ana", "parameter_name": "first_name"})
        );
    }
}
