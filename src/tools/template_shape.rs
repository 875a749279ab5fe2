//! Checks the JSON shape of each component a caller passes to
//! `send_template` before it is decoded: every key is one that the
//! component or parameter type takes, and every value has the JSON type
//! that Meta expects. Errors name the value by its path in the arguments,
//! such as `components[1].parameters[0].text`, because serde loses the path
//! inside the internally tagged component and parameter types, and because
//! serde would drop an unknown key without a word.

use serde_json::{Map, Value};

use crate::echo::echoed;

use super::ToolError;

/// JSON type of a field.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Integer,
    /// Any JSON number, such as a coordinate in decimal degrees.
    Number,
    /// A button index, which Meta documents as a string and which
    /// `SendComponent` also accepts as a number.
    StringOrNumber,
    Array,
    Object(&'static [Field]),
}

impl Kind {
    fn matches(self, value: &Value) -> bool {
        match self {
            Kind::String => value.is_string(),
            Kind::Integer => value.is_i64(),
            Kind::Number => value.is_number(),
            Kind::StringOrNumber => value.is_string() || value.is_number(),
            Kind::Array => value.is_array(),
            Kind::Object(_) => value.is_object(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::StringOrNumber => "a string such as \"0\"",
            Kind::Array => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

/// A key of a JSON object and the type of its value.
struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn optional(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const HEADER_OR_BODY: &[Field] = &[
    required("type", Kind::String),
    required("parameters", Kind::Array),
];

const BUTTON: &[Field] = &[
    required("type", Kind::String),
    required("sub_type", Kind::String),
    required("index", Kind::StringOrNumber),
    required("parameters", Kind::Array),
];

const CURRENCY: &[Field] = &[
    required("fallback_value", Kind::String),
    required("code", Kind::String),
    required("amount_1000", Kind::Integer),
];

const DATE_TIME: &[Field] = &[required("fallback_value", Kind::String)];

const MEDIA: &[Field] = &[optional("link", Kind::String), optional("id", Kind::String)];

const DOCUMENT: &[Field] = &[
    optional("link", Kind::String),
    optional("id", Kind::String),
    optional("filename", Kind::String),
];

const LOCATION: &[Field] = &[
    required("latitude", Kind::Number),
    required("longitude", Kind::Number),
    optional("name", Kind::String),
    optional("address", Kind::String),
];

/// Parameter types that `ParameterValue` sends, with the type of the value
/// each carries under the key of the same name.
const PARAMETER_TYPES: &[(&str, Kind)] = &[
    ("text", Kind::String),
    ("currency", Kind::Object(CURRENCY)),
    ("date_time", Kind::Object(DATE_TIME)),
    ("image", Kind::Object(MEDIA)),
    ("video", Kind::Object(MEDIA)),
    ("document", Kind::Object(DOCUMENT)),
    ("location", Kind::Object(LOCATION)),
    ("payload", Kind::String),
    ("coupon_code", Kind::String),
];

const COMPONENT_TYPES: &[&str] = &["header", "body", "button"];

/// Parameter types that only a header takes: Meta shows a location as the
/// map at the top of the message.
const HEADER_ONLY_TYPES: &[&str] = &["location"];

/// Checks component `index`, whose `type`, `sub_type` and parameter types
/// are already lower case.
pub(super) fn check_component_shape(index: usize, component: &Value) -> Result<(), ToolError> {
    let path = format!("components[{index}]");
    let Some(object) = component.as_object() else {
        return Err(invalid(format!(
            "`{path}` must be an object such as {{\"type\": \"body\", \"parameters\": [...]}}, \
             not {}",
            json_type(component)
        )));
    };
    let kind = type_of(&path, object, COMPONENT_TYPES, "component")?;
    let fields = if kind == "button" {
        BUTTON
    } else {
        HEADER_OR_BODY
    };
    check_object(
        &path,
        object,
        &format!("{} component", with_article(kind)),
        fields,
    )?;
    let parameters = object["parameters"].as_array().into_iter().flatten();
    for (position, parameter) in parameters.enumerate() {
        check_parameter(&format!("{path}.parameters[{position}]"), kind, parameter)?;
    }
    Ok(())
}

/// Checks one parameter of a component of type `component`.
fn check_parameter(path: &str, component: &str, parameter: &Value) -> Result<(), ToolError> {
    let Some(object) = parameter.as_object() else {
        return Err(invalid(format!(
            "`{path}` must be an object such as {{\"type\": \"text\", \"text\": \"…\"}}, not {}",
            json_type(parameter)
        )));
    };
    let names: Vec<&str> = PARAMETER_TYPES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| component == "header" || !HEADER_ONLY_TYPES.contains(name))
        .collect();
    let subject = if component == "header" {
        "parameter".to_owned()
    } else {
        format!("{component} parameter")
    };
    let kind = type_of(path, object, &names, &subject)?;
    let value_kind = PARAMETER_TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, value_kind)| *value_kind)
        .expect("type_of returns a listed type");
    let fields = [
        required("type", Kind::String),
        required(kind, value_kind),
        optional("parameter_name", Kind::String),
    ];
    check_object(
        path,
        object,
        &format!("{} parameter", with_article(kind)),
        &fields,
    )
}

/// Puts "a" or "an" before a lower-case type name, as in "an image".
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// Returns the `type` of the object at `path`, one of `allowed`.
fn type_of<'a>(
    path: &str,
    object: &Map<String, Value>,
    allowed: &[&'a str],
    subject: &str,
) -> Result<&'a str, ToolError> {
    let choices = join(allowed, "or");
    let kind = match object.get("type") {
        None | Some(Value::Null) => {
            return Err(invalid(format!(
                "`{path}` has no `type`; a {subject} type is {choices}"
            )));
        }
        Some(Value::String(kind)) => kind,
        Some(other) => {
            return Err(invalid(format!(
                "`{path}.type` must be a string, not {}; a {subject} type is {choices}",
                json_type(other)
            )));
        }
    };
    allowed
        .iter()
        .find(|allowed| *allowed == kind)
        .copied()
        .ok_or_else(|| {
            invalid(format!(
                "`{path}.type` is \"{}\", which is not a {subject} type of a template send; use \
                 {choices}",
                echoed(kind)
            ))
        })
}

/// Checks that `object` has only the keys of `fields`, each required one,
/// and values of their types, descending into nested objects.
fn check_object(
    path: &str,
    object: &Map<String, Value>,
    subject: &str,
    fields: &[Field],
) -> Result<(), ToolError> {
    let names: Vec<&str> = fields.iter().map(|field| field.name).collect();
    if let Some(unknown) = object.keys().find(|key| !names.contains(&key.as_str())) {
        return Err(invalid(format!(
            "`{path}` has the unknown key \"{}\"; {subject} takes the keys {}",
            echoed(unknown),
            join(&names, "and")
        )));
    }
    for field in fields {
        let field_path = format!("{path}.{}", field.name);
        let value = object.get(field.name).filter(|value| !value.is_null());
        let Some(value) = value else {
            if field.required {
                return Err(invalid(format!(
                    "`{path}` has no `{}`; {subject} needs it as {}",
                    field.name,
                    field.kind.describe()
                )));
            }
            continue;
        };
        if !field.kind.matches(value) {
            return Err(invalid(format!(
                "`{field_path}` must be {}, not {}",
                field.kind.describe(),
                json_type(value)
            )));
        }
        if let (Kind::Object(nested), Value::Object(inner)) = (field.kind, value) {
            let subject = format!("the {} object", field.name);
            check_object(&field_path, inner, &subject, nested)?;
        }
    }
    Ok(())
}

/// Names the JSON type of `value` for an error message.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() => "an integer",
        Value::Number(number) if number.is_u64() => "an integer out of range",
        Value::Number(_) => "a decimal number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Joins `items` as `a, b and c` with `last` as the final word.
fn join(items: &[&str], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., final_item] => format!("{} {last} {final_item}", rest.join(", ")),
    }
}

/// Rejects the `components` argument of send_template with `reason`.
pub(super) fn invalid(reason: String) -> ToolError {
    ToolError::InvalidArgument {
        argument: "components",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error_of(index: usize, component: Value) -> String {
        check_component_shape(index, &component)
            .expect_err("the shape is wrong")
            .to_string()
    }

    #[test]
    fn valid_components_pass() {
        let components = [
            json!({"type": "header", "parameters": [
                {"type": "document", "document": {"link": "https://example.com/a.pdf",
                                                  "filename": "a.pdf"}},
            ]}),
            json!({"type": "body", "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "name"},
                {"type": "currency", "currency":
                    {"fallback_value": "$1", "code": "USD", "amount_1000": 1000}},
                {"type": "date_time", "date_time": {"fallback_value": "May 1"}},
            ]}),
            json!({"type": "button", "sub_type": "url", "index": 0, "parameters": [
                {"type": "text", "text": "A1"},
            ]}),
            json!({"type": "button", "sub_type": "copy_code", "index": "1", "parameters": [
                {"type": "coupon_code", "coupon_code": "SAVE"},
            ]}),
        ];
        for (index, component) in components.iter().enumerate() {
            check_component_shape(index, component).expect("valid component");
        }
    }

    #[test]
    fn unknown_component_key_named() {
        let text = error_of(1, json!({"type": "body", "parameters": [], "extra": true}));
        assert!(
            text.contains(r#"`components[1]` has the unknown key "extra""#),
            "{text}"
        );
        assert!(
            text.contains("a body component takes the keys type and parameters"),
            "{text}"
        );
        let text = error_of(
            0,
            json!({"type": "button", "sub_type": "url", "index": "0", "parameters": [],
                   "text": "x"}),
        );
        assert!(
            text.contains("takes the keys type, sub_type, index and parameters"),
            "{text}"
        );
    }

    #[test]
    fn unknown_parameter_key_named() {
        let text = error_of(
            0,
            json!({"type": "body", "parameters": [
                {"type": "text", "text": "Ana", "caption": "x"},
            ]}),
        );
        assert!(
            text.contains(r#"`components[0].parameters[0]` has the unknown key "caption""#),
            "{text}"
        );
        assert!(
            text.contains("a text parameter takes the keys type, text and parameter_name"),
            "{text}"
        );
        let text = error_of(
            0,
            json!({"type": "header", "parameters": [
                {"type": "image", "image": {"link": "https://example.com/a.png", "size": 1}},
            ]}),
        );
        assert!(
            text.contains(r#"`components[0].parameters[0].image` has the unknown key "size""#),
            "{text}"
        );
        assert!(
            text.contains("the image object takes the keys link and id"),
            "{text}"
        );
    }

    #[test]
    fn wrong_json_type_named_by_path() {
        let cases = [
            (
                json!({"type": "body", "parameters": [{"type": "text", "text": 5}]}),
                "`components[1].parameters[0].text` must be a string, not an integer",
            ),
            (
                json!({"type": "body", "parameters": [
                    {"type": "text", "text": "a"},
                    {"type": "currency", "currency":
                        {"fallback_value": "$1", "code": "USD", "amount_1000": "1000"}},
                ]}),
                "`components[1].parameters[1].currency.amount_1000` must be an integer, \
                 not a string",
            ),
            (
                json!({"type": "body", "parameters": {"type": "text"}}),
                "`components[1].parameters` must be an array, not an object",
            ),
            (
                json!({"type": "body", "parameters": ["Ana"]}),
                "`components[1].parameters[0]` must be an object",
            ),
            (
                json!({"type": "body", "parameters": [{"type": "text", "text": "a",
                                                       "parameter_name": 1.5}]}),
                "`components[1].parameters[0].parameter_name` must be a string, \
                 not a decimal number",
            ),
            (
                json!({"type": "button", "sub_type": "url", "index": [0], "parameters": []}),
                "`components[1].index` must be a string such as \"0\", not an array",
            ),
            (
                json!({"type": 3, "parameters": []}),
                "`components[1].type` must be a string, not an integer",
            ),
            (json!("body"), "`components[1]` must be an object"),
        ];
        for (component, expected) in cases {
            let text = error_of(1, component);
            assert!(text.contains(expected), "{expected:?} not in {text}");
            assert!(!text.contains("at `.`"), "{text}");
        }
    }

    #[test]
    fn missing_and_unknown_types_listed() {
        let cases = [
            (
                json!({"type": "footer"}),
                r#"`components[0].type` is "footer", which is not a component type"#,
            ),
            (
                json!({"parameters": []}),
                "`components[0]` has no `type`; a component type is header, body or button",
            ),
            (
                json!({"type": "body", "parameters": [{"type": "location"}]}),
                "use text, currency, date_time, image, video, document, payload or coupon_code",
            ),
            (
                json!({"type": "body", "parameters": [{"type": "text"}]}),
                "`components[0].parameters[0]` has no `text`; a text parameter needs it as a \
                 string",
            ),
            (
                json!({"type": "button", "index": "0", "parameters": []}),
                "`components[0]` has no `sub_type`",
            ),
        ];
        for (component, expected) in cases {
            let text = error_of(0, component);
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
    }

    #[test]
    fn location_only_in_header() {
        let location = json!({"type": "location", "location": {
            "latitude": 52.52, "longitude": 13, "name": "Depot", "address": "Main St 1"}});
        let header = json!({"type": "header", "parameters": [location.clone()]});
        check_component_shape(0, &header).expect("a location header");
        let text = error_of(1, json!({"type": "body", "parameters": [location]}));
        assert!(
            text.contains(r#"`components[1].parameters[0].type` is "location", which is not a body parameter type"#),
            "{text}"
        );
        let cases = [
            (
                json!({"latitude": "52.52", "longitude": 13.4}),
                "`components[0].parameters[0].location.latitude` must be a number, not a string",
            ),
            (
                json!({"latitude": 52.52}),
                "`components[0].parameters[0].location` has no `longitude`; the location object \
                 needs it as a number",
            ),
            (
                json!({"latitude": 52.52, "longitude": 13.4, "name": 7}),
                "`components[0].parameters[0].location.name` must be a string, not an integer",
            ),
            (
                json!({"latitude": 52.52, "longitude": 13.4, "url": "x"}),
                "takes the keys latitude, longitude, name and address",
            ),
        ];
        for (value, expected) in cases {
            let text = error_of(
                0,
                json!({"type": "header", "parameters": [{"type": "location", "location": value}]}),
            );
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
    }

    #[test]
    fn image_parameter_takes_an() {
        let error = error_of(
            0,
            json!({"type": "header", "parameters": [{"type": "image"}]}),
        );
        assert!(error.contains("an image parameter needs it"), "{error}");
    }

    #[test]
    fn echoed_keys_escape_and_cut() {
        let key = format!("a\0{}", "k".repeat(1_000));
        let mut component = json!({"type": "body", "parameters": []});
        component[key.as_str()] = json!(1);
        let text = error_of(0, component);
        assert!(text.contains(r#""a\0kkk"#), "{text}");
        assert!(!text.contains('\0'), "{text}");
        assert!(text.len() < 400, "{} bytes: {text}", text.len());
    }
}
