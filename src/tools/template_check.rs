//! Checks the `components` a caller passes to `send_template` against the
//! template's variables before anything is sent, so that a missing or
//! misnamed variable is reported by name instead of as Meta's error 132000.

use serde_json::Value;

use crate::echo::{cut, echoed};
use crate::whatsapp::graph::{Parameter, ParameterValue, SendComponent};

use super::ToolError;
use super::messages::{check_filename, has_visible_character, public_https_link};
use super::template_shape::{check_component_shape, invalid};
use super::template_spec::{Part, Slot, TemplateSpec, Variable, render};

/// Characters of a decoding error's message kept in a tool error; the
/// message may quote the caller's value, such as an unknown variant.
const MAX_SERDE_MESSAGE_CHARS: usize = 200;

/// Maximum buttons of a template. NOTE: the number comes from WhatsApp
/// providers' documentation, not from Meta's reference.
const MAX_BUTTONS: usize = 10;

/// Maximum components of one send: one header, one body and one button
/// component per button.
const MAX_COMPONENTS: usize = 2 + MAX_BUTTONS;

/// Maximum parameters of one component. A body has at most
/// [`MAX_BODY_CHARS`] characters and each variable, such as `{{1}}`, takes
/// at least 5 of them, so no component of a template has more variables.
const MAX_PARAMETERS_PER_COMPONENT: usize = MAX_BODY_CHARS / "{{1}}".len();

/// Maximum characters of a copy-code button's coupon code. NOTE: the
/// number comes from a WhatsApp provider's documentation, not from Meta's
/// reference.
const MAX_COUPON_CODE_CHARS: usize = 15;

/// Maximum characters of a quick-reply button's payload. NOTE: an
/// assumption, the limit Meta documents for the id of an interactive reply
/// button; it documents none for a template's payload.
const MAX_PAYLOAD_CHARS: usize = 256;

/// Maximum characters of a location header's name and of its address.
/// NOTE: an assumption, the body's limit; Meta documents none for them.
const MAX_LOCATION_TEXT_CHARS: usize = MAX_BODY_CHARS;

/// Maximum characters of a URL button's suffix. NOTE: the number is an
/// assumption, because Meta documents no limit for the suffix.
const MAX_URL_SUFFIX_CHARS: usize = 2000;

/// Parses the caller's components. Component, sub-type and parameter types
/// are accepted in any case (the template list shows `BODY`) and sent in
/// Meta's lower case. Unknown keys and values of the wrong JSON type are
/// rejected by [`check_component_shape`] with their path.
pub(super) fn parse_components(values: &[Value]) -> Result<Vec<SendComponent>, ToolError> {
    check_counts(values)?;
    let components = values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let normalized = normalize(value.clone());
            check_component_shape(index, &normalized)?;
            let mut component: SendComponent = serde_path_to_error::deserialize(normalized)
                .map_err(|error| {
                    // The shape check leaves little for serde to reject, and
                    // serde's path is `.` inside the tagged types.
                    let problem = cut(&error.inner().to_string(), MAX_SERDE_MESSAGE_CHARS);
                    invalid(format!("`components[{index}]`: {problem}"))
                })?;
            check_media_links(index, &mut component)?;
            check_locations(index, &component)?;
            Ok(component)
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    check_single_header_and_body(&components)?;
    Ok(components)
}

/// Rejects more components, or more parameters in one component, than any
/// template takes. This runs before any component is copied or decoded, so
/// that an oversized `components` argument costs one pass over its arrays.
fn check_counts(values: &[Value]) -> Result<(), ToolError> {
    if values.len() > MAX_COMPONENTS {
        return Err(invalid(format!(
            "{} components were given, and a template send takes at most {MAX_COMPONENTS}: \
             one header, one body and one per button, up to {MAX_BUTTONS} buttons; give each \
             component once",
            values.len()
        )));
    }
    for (index, value) in values.iter().enumerate() {
        let count = value
            .get("parameters")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > MAX_PARAMETERS_PER_COMPONENT {
            return Err(invalid(format!(
                "`components[{index}]` has {count} parameters, and a component takes at most \
                 {MAX_PARAMETERS_PER_COMPONENT}; give one parameter per variable of the template"
            )));
        }
    }
    Ok(())
}

/// Rejects a second header or body component: a template has one of each,
/// and Meta's send request carries each once, with all its parameters.
fn check_single_header_and_body(components: &[SendComponent]) -> Result<(), ToolError> {
    let (mut header, mut body) = (None, None);
    for (index, component) in components.iter().enumerate() {
        let (part, seen) = match component {
            SendComponent::Header { .. } => ("header", &mut header),
            SendComponent::Body { .. } => ("body", &mut body),
            _ => continue,
        };
        if let Some(first) = *seen {
            return Err(invalid(format!(
                "`components[{index}]` is a second {part} component after \
                 `components[{first}]`; send one {part} component with all the {part}'s \
                 parameters in order"
            )));
        }
        *seen = Some(index);
    }
    Ok(())
}

/// Checks each media parameter of `component`: a link or an id, not both,
/// a link that Meta can download, which is replaced by its parsed form so
/// that Meta receives the URL that was checked, and a document's file name.
/// Errors name the parameter's path and its component.
fn check_media_links(index: usize, component: &mut SendComponent) -> Result<(), ToolError> {
    let (part, parameters) = match component {
        SendComponent::Header { parameters } => ("header".to_owned(), parameters),
        SendComponent::Body { parameters } => ("body".to_owned(), parameters),
        SendComponent::Button {
            index: button,
            parameters,
            ..
        } => (format!("button {}", echoed(button)), parameters),
    };
    for (position, parameter) in parameters.iter_mut().enumerate() {
        let (kind, media) = match &mut parameter.value {
            ParameterValue::Image { image } => ("image", image),
            ParameterValue::Video { video } => ("video", video),
            ParameterValue::Document { document } => ("document", document),
            _ => continue,
        };
        let path = format!("components[{index}].parameters[{position}]");
        let place = format!("the {kind} in the {part} component (`{path}`)");
        match (&media.link, &media.id) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "{place} has both a link and an id; give one of them"
                )));
            }
            (None, None) => {
                return Err(invalid(format!(
                    "{place} needs a link, such as \
                     {{\"{kind}\": {{\"link\": \"https://…\"}}}}, or the id of media \
                     uploaded to Meta"
                )));
            }
            (Some(link), None) => {
                let checked = public_https_link(link)
                    .map_err(|reason| invalid(format!("the link of {place}: {reason}")))?;
                media.link = Some(checked);
            }
            (None, Some(_)) => {}
        }
        if let Some(filename) = &media.filename {
            check_filename(filename)
                .map_err(|reason| invalid(format!("the file name of {place}: {reason}")))?;
        }
    }
    Ok(())
}

/// Checks each location parameter of `component`: coordinates in range,
/// and a name and address that pass [`check_value`] when given.
fn check_locations(index: usize, component: &SendComponent) -> Result<(), ToolError> {
    let SendComponent::Header { parameters } = component else {
        return Ok(());
    };
    for (position, parameter) in parameters.iter().enumerate() {
        let ParameterValue::Location { location } = &parameter.value else {
            continue;
        };
        let path = format!("components[{index}].parameters[{position}].location");
        let coordinates = [
            ("latitude", location.latitude, 90.0),
            ("longitude", location.longitude, 180.0),
        ];
        for (name, value, limit) in coordinates {
            if !(-limit..=limit).contains(&value) {
                return Err(invalid(format!(
                    "`{path}.{name}` is {value}, outside -{limit} to {limit}; give the {name} \
                     in decimal degrees, such as 52.52"
                )));
            }
        }
        let texts = [("name", &location.name), ("address", &location.address)];
        for (name, text) in texts {
            if let Some(text) = text {
                check_limited_value(&format!("`{path}.{name}`"), text, MAX_LOCATION_TEXT_CHARS)?;
            }
        }
    }
    Ok(())
}

/// Lower-cases the types of a component object and adds an empty
/// `parameters`. Other values are returned unchanged.
fn normalize(mut value: Value) -> Value {
    let Some(object) = value.as_object_mut() else {
        return value;
    };
    lower_case(object, "type");
    lower_case(object, "sub_type");
    canonical_index(object);
    let parameters = object
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    for parameter in parameters.as_array_mut().into_iter().flatten() {
        if let Some(parameter) = parameter.as_object_mut() {
            lower_case(parameter, "type");
        }
    }
    value
}

/// Writes a button index given as text, such as `"01"` or `" 1"`, as the
/// number's plain digits, so that every check and the send to Meta read it
/// alike. Text that is no number stays as it is for the checks to reject.
fn canonical_index(object: &mut serde_json::Map<String, Value>) {
    if let Some(Value::String(text)) = object.get_mut("index")
        && let Ok(position) = text.trim().parse::<u32>()
    {
        *text = position.to_string();
    }
}

fn lower_case(object: &mut serde_json::Map<String, Value>, key: &str) {
    if let Some(Value::String(text)) = object.get_mut(key) {
        *text = text.to_ascii_lowercase();
    }
}

/// Maximum length of a header and of a body, in characters, once the
/// variables are filled in. Meta rejects a longer one with error 132005
/// ("hydrated text too long"). NOTE: the numbers are those that WhatsApp
/// providers document; Meta's error reference names only the error.
const MAX_HEADER_CHARS: usize = 60;
const MAX_BODY_CHARS: usize = 1024;

/// Maximum spaces in a row in a template value. NOTE: WhatsApp providers
/// document that Meta rejects a value with a new line, a tab or more than
/// four spaces in a row (error 132018), and Meta's own error reference
/// gives no such list.
const MAX_SPACES_IN_A_ROW: usize = 4;

/// Checks a template value for what WhatsApp rejects in one: new lines,
/// tabs and other control characters, line and paragraph separators, and
/// more than [`MAX_SPACES_IN_A_ROW`] spaces of any width in a row.
/// `label` names the value in the error.
fn check_value_characters(label: &str, text: &str) -> Result<(), ToolError> {
    let breaks = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    let mut run = 0;
    let mut too_many_spaces = false;
    for c in text.chars() {
        run = if c.is_whitespace() && !breaks(c) {
            run + 1
        } else {
            0
        };
        too_many_spaces |= run > MAX_SPACES_IN_A_ROW;
    }
    if text.contains(breaks) || too_many_spaces {
        return Err(invalid(format!(
            "{label} contains a new line, a tab, another control character or more than \
             {MAX_SPACES_IN_A_ROW} spaces in a row, which WhatsApp rejects in template values; \
             put line breaks in the template text instead"
        )));
    }
    Ok(())
}

/// Checks a value that a template send carries, whatever its component or
/// type: it is not empty, it has a visible character, and it passes
/// [`check_value_characters`]. `label` names the value in the error.
fn check_value(label: &str, text: &str) -> Result<(), ToolError> {
    if text.trim().is_empty() {
        return Err(invalid(format!(
            "{label} is empty; give it a value with visible text"
        )));
    }
    if !has_visible_character(text) {
        return Err(invalid(format!(
            "{label} has no visible character, only invisible characters such as U+200B or \
             U+202E; give it a value with visible text"
        )));
    }
    check_value_characters(label, text)
}

/// Checks a value with [`check_value`] and against `limit` characters.
fn check_limited_value(label: &str, text: &str, limit: usize) -> Result<(), ToolError> {
    check_value(label, text)?;
    let length = text.chars().count();
    if length > limit {
        return Err(invalid(format!(
            "{label} is {length} characters long, and WhatsApp allows {limit}; shorten it"
        )));
    }
    Ok(())
}

/// Checks each quick-reply button: it takes one `payload` parameter, which
/// passes [`check_value`] and [`MAX_PAYLOAD_CHARS`]. WhatsApp returns the
/// payload in the webhook when the customer taps the button.
fn check_payloads(components: &[SendComponent]) -> Result<(), ToolError> {
    for component in components {
        let SendComponent::Button {
            sub_type,
            index,
            parameters,
        } = component
        else {
            continue;
        };
        let label = format!("button {} ({})", echoed(index.trim()), echoed(sub_type));
        if sub_type == "quick_reply" {
            let [parameter] = parameters.as_slice() else {
                return Err(invalid(format!(
                    "{label} has {} parameters, and a quick-reply button takes one: \
                     {{\"type\": \"payload\", \"payload\": \"yes\"}}",
                    parameters.len()
                )));
            };
            if !matches!(parameter.value, ParameterValue::Payload { .. }) {
                return Err(invalid(format!(
                    "{label} takes a payload parameter, such as {{\"type\": \"payload\", \
                     \"payload\": \"yes\"}}"
                )));
            }
        }
        for parameter in parameters {
            if let ParameterValue::Payload { payload } = &parameter.value {
                check_limited_value(&format!("{label} payload"), payload, MAX_PAYLOAD_CHARS)?;
            }
        }
    }
    Ok(())
}

/// Text values of a template's variables by name, one list per part,
/// because a header and a body may both have a `{{1}}`.
#[derive(Debug, Default)]
pub(super) struct FilledText {
    pub header: Vec<(String, String)>,
    pub body: Vec<(String, String)>,
}

/// Checks that `components` fill every variable of `spec`, and returns the
/// text values by variable name, for rendering the stored copy.
pub(super) fn check_components(
    spec: &TemplateSpec,
    components: &[SendComponent],
    name: &str,
    language: &str,
) -> Result<FilledText, ToolError> {
    let mut missing: Vec<&Variable> = Vec::new();
    let mut filled = FilledText::default();
    for part in [Part::Header, Part::Body] {
        let supplied: Vec<&Parameter> = components
            .iter()
            .filter_map(|c| match (c, &part) {
                (SendComponent::Header { parameters }, Part::Header)
                | (SendComponent::Body { parameters }, Part::Body) => Some(parameters),
                _ => None,
            })
            .flatten()
            .collect();
        let variables = spec.variables_of(&part);
        let values = if part == Part::Header {
            &mut filled.header
        } else {
            &mut filled.body
        };
        check_part(spec, &part, &variables, &supplied, &mut missing, values)?;
    }
    check_buttons_exist(spec, components)?;
    check_payloads(components)?;
    for variable in &spec.variables {
        if let Part::Button { index, .. } = &variable.part
            && !button_supplied(components, *index, variable)?
        {
            missing.push(variable);
        }
    }
    if missing.is_empty() {
        check_lengths(spec, &filled)?;
        return Ok(filled);
    }
    Err(ToolError::MissingVariables {
        name: echoed(name),
        language: echoed(language),
        missing: missing
            .iter()
            .map(|v| v.label())
            .collect::<Vec<_>>()
            .join(", "),
        example: spec.example().to_string(),
    })
}

/// Checks that each button component names a button of the template by
/// its index and sub-type. A template whose stored components could not be
/// read is left for Meta to judge.
fn check_buttons_exist(spec: &TemplateSpec, components: &[SendComponent]) -> Result<(), ToolError> {
    let Some(buttons) = &spec.buttons else {
        return Ok(());
    };
    let listed = if buttons.is_empty() {
        "the template has no buttons".to_owned()
    } else {
        let list: Vec<String> = buttons
            .iter()
            .enumerate()
            .map(|(index, kind)| format!("{index} ({kind})"))
            .collect();
        format!("the template's buttons are {}", list.join(", "))
    };
    let mut seen = Vec::new();
    for component in components {
        let SendComponent::Button {
            sub_type, index, ..
        } = component
        else {
            continue;
        };
        let position = index.trim().parse::<usize>().ok();
        if position.is_some() && seen.contains(&position) {
            return Err(invalid(format!(
                "button {} is given twice; give each button once",
                echoed(index.trim())
            )));
        }
        seen.push(position);
        match position.and_then(|position| buttons.get(position)) {
            None => {
                return Err(invalid(format!(
                    "button {} does not exist: {listed}; remove that button component",
                    echoed(index)
                )));
            }
            Some(kind) if kind != sub_type => {
                return Err(invalid(format!(
                    "button {} is a {kind} button, not {}; set its sub_type to {kind}",
                    echoed(index.trim()),
                    echoed(sub_type)
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks the header and body with their variables filled in against
/// WhatsApp's length limits.
fn check_lengths(spec: &TemplateSpec, filled: &FilledText) -> Result<(), ToolError> {
    let parts = [
        (
            "header",
            spec.header_text.as_deref(),
            &filled.header,
            MAX_HEADER_CHARS,
        ),
        (
            "body",
            spec.body_text.as_deref(),
            &filled.body,
            MAX_BODY_CHARS,
        ),
    ];
    for (part, text, values, limit) in parts {
        let Some(text) = text else { continue };
        let length = render(text, values).chars().count();
        if length > limit {
            return Err(invalid(format!(
                "the template's {part} would be {length} characters long with these values, \
                 and WhatsApp allows {limit}; shorten the {part} parameters"
            )));
        }
    }
    Ok(())
}

fn check_part<'a>(
    spec: &TemplateSpec,
    part: &Part,
    variables: &[&'a Variable],
    supplied: &[&Parameter],
    missing: &mut Vec<&'a Variable>,
    values: &mut Vec<(String, String)>,
) -> Result<(), ToolError> {
    let part_name = if *part == Part::Header {
        "header"
    } else {
        "body"
    };
    if variables.is_empty() {
        if supplied.is_empty() {
            return Ok(());
        }
        return Err(invalid(format!(
            "the template's {part_name} has no variables; remove the {part_name} component"
        )));
    }
    if let [variable] = variables
        && variable.slot == Slot::Location
    {
        return match supplied {
            [] => {
                missing.push(variable);
                Ok(())
            }
            [parameter] if matches!(parameter.value, ParameterValue::Location { .. }) => Ok(()),
            _ => Err(invalid(
                "the header needs exactly one location parameter, such as {\"type\": \
                 \"location\", \"location\": {\"latitude\": 52.52, \"longitude\": 13.405}}"
                    .to_owned(),
            )),
        };
    }
    if let [variable] = variables
        && let Slot::Media(kind) = &variable.slot
    {
        return match supplied {
            [] => {
                missing.push(variable);
                Ok(())
            }
            [parameter] if media_kind(parameter) == Some(kind.as_str()) => Ok(()),
            _ => Err(invalid(format!(
                "the header needs exactly one {kind} parameter, such as \
                 {{\"type\": \"{kind}\", \"{kind}\": {{\"link\": \"https://…\"}}}}"
            ))),
        };
    }
    let names: Vec<&str> = variables
        .iter()
        .filter_map(|v| match &v.slot {
            Slot::Text(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let filled = if spec.named {
        named_values(part_name, &names, supplied)?
    } else {
        positional_values(part_name, &names, supplied)?
    };
    for variable in variables {
        match &variable.slot {
            Slot::Text(name) if filled.iter().any(|(key, _)| key == name) => {}
            _ => missing.push(variable),
        }
    }
    values.extend(filled);
    Ok(())
}

fn named_values(
    part: &str,
    names: &[&str],
    supplied: &[&Parameter],
) -> Result<Vec<(String, String)>, ToolError> {
    let expected = names.join(", ");
    let mut values = Vec::new();
    for (index, parameter) in supplied.iter().enumerate() {
        let Some(name) = parameter.parameter_name.as_deref() else {
            return Err(invalid(format!(
                "{part} parameter {index} has no parameter_name; this template uses named \
                 variables ({expected}), so give each parameter its name"
            )));
        };
        if !names.contains(&name) {
            return Err(invalid(format!(
                "\"{}\" is not a {part} variable of this template; its variables are {expected}",
                echoed(name)
            )));
        }
        if values.iter().any(|(given, _)| given == name) {
            return Err(invalid(format!(
                "{part} parameter \"{}\" is given twice; give each variable once",
                echoed(name)
            )));
        }
        values.push((name.to_owned(), text_value(part, name, parameter)?));
    }
    Ok(values)
}

/// Positional parameters fill `{{1}}`, `{{2}}`, … in that order.
fn positional_values(
    part: &str,
    names: &[&str],
    supplied: &[&Parameter],
) -> Result<Vec<(String, String)>, ToolError> {
    let mut ordered: Vec<&str> = names.to_vec();
    ordered.sort_by_key(|name| name.parse::<u32>().unwrap_or(u32::MAX));
    if supplied.iter().any(|p| p.parameter_name.is_some()) {
        return Err(invalid(format!(
            "this template uses positional variables ({{{{1}}}}, {{{{2}}}}, …); remove \
             parameter_name from the {part} parameters and give them in order"
        )));
    }
    if supplied.len() > ordered.len() {
        return Err(invalid(format!(
            "the template's {part} has {} variable(s) but {} parameters were given",
            ordered.len(),
            supplied.len()
        )));
    }
    ordered
        .iter()
        .zip(supplied)
        .map(|(name, parameter)| Ok(((*name).to_owned(), text_value(part, name, parameter)?)))
        .collect()
}

/// The text a parameter puts into the message: its text, or the fallback
/// value of a currency or date.
fn text_value(part: &str, name: &str, parameter: &Parameter) -> Result<String, ToolError> {
    let text = match &parameter.value {
        ParameterValue::Text { text } => text.clone(),
        ParameterValue::Currency { currency } => currency.fallback_value.clone(),
        ParameterValue::DateTime { date_time } => date_time.fallback_value.clone(),
        _ => {
            return Err(invalid(format!(
                "{part} variable {{{{{name}}}}} takes a text, currency or date_time parameter"
            )));
        }
    };
    check_value(&format!("{part} variable {{{{{name}}}}}"), &text)?;
    Ok(text)
}

fn media_kind(parameter: &Parameter) -> Option<&'static str> {
    match parameter.value {
        ParameterValue::Image { .. } => Some("image"),
        ParameterValue::Video { .. } => Some("video"),
        ParameterValue::Document { .. } => Some("document"),
        _ => None,
    }
}

/// Tells whether the button at `index` is given with a fitting parameter.
fn button_supplied(
    components: &[SendComponent],
    index: usize,
    variable: &Variable,
) -> Result<bool, ToolError> {
    let found = components.iter().find_map(|c| match c {
        SendComponent::Button {
            index: at,
            parameters,
            ..
        } if at.trim() == index.to_string() => Some(parameters),
        _ => None,
    });
    // `check_buttons_exist` has already matched the sub-type to the button.
    let Some(parameters) = found else {
        return Ok(false);
    };
    let label = variable.label();
    let fits = match (&variable.slot, parameters.as_slice()) {
        (Slot::Text(_), [p]) => match &p.value {
            ParameterValue::Text { text } => {
                check_limited_value(&label, text, MAX_URL_SUFFIX_CHARS)?;
                true
            }
            _ => false,
        },
        (Slot::CouponCode, [p]) => match &p.value {
            ParameterValue::CouponCode { coupon_code } => {
                check_limited_value(&label, coupon_code, MAX_COUPON_CODE_CHARS)?;
                true
            }
            _ => false,
        },
        _ => false,
    };
    if !fits {
        return Err(invalid(format!(
            "{label} needs exactly one {} parameter",
            if variable.slot == Slot::CouponCode {
                "coupon_code"
            } else {
                "text"
            }
        )));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tools::template_spec::test_template;

    fn spec(components: Value) -> TemplateSpec {
        TemplateSpec::of(&test_template("POSITIONAL", components))
    }

    fn header_and_body() -> TemplateSpec {
        spec(json!([
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships today."},
        ]))
    }

    fn components(header: &str, name: &str, order: &str) -> Vec<SendComponent> {
        parse_components(&[
            json!({"type": "header", "parameters": [{"type": "text", "text": header}]}),
            json!({"type": "body", "parameters": [
                {"type": "text", "text": name},
                {"type": "text", "text": order},
            ]}),
        ])
        .expect("components")
    }

    #[test]
    fn header_and_body_values_kept_apart() {
        let spec = header_and_body();
        let filled = check_components(&spec, &components("#42", "Ana", "#42"), "t", "en_US")
            .expect("all variables filled");
        let body = render(spec.body_text.as_deref().unwrap(), &filled.body);
        assert_eq!(body, "Hi Ana, your order #42 ships today.");
        assert_eq!(filled.header, [("1".to_owned(), "#42".to_owned())]);
    }

    #[test]
    fn invisible_value_rejected() {
        let spec = header_and_body();
        for (header, name) in [("\u{200b}", "Ana"), ("#42", "\u{200b}\u{2060}")] {
            let error = check_components(&spec, &components(header, name, "#42"), "t", "en_US")
                .expect_err("an invisible value");
            let text = error.to_string();
            assert!(text.contains("has no visible character"), "{text}");
            assert!(text.contains("variable {{1}}"), "{text}");
        }
    }

    #[test]
    fn long_body_rejected_with_limit() {
        let spec = header_and_body();
        let long_name = "a".repeat(1_000);
        let error = check_components(&spec, &components("#42", &long_name, "#42"), "t", "en_US")
            .expect_err("the body is over 1024 characters");
        let text = error.to_string();
        assert!(text.contains("body would be 1032 characters"), "{text}");
        assert!(text.contains("WhatsApp allows 1024"), "{text}");
    }

    #[test]
    fn named_parameter_given_twice_rejected() {
        let spec = TemplateSpec::of(&test_template(
            "NAMED",
            json!([{"type": "BODY", "text": "Hi {{name}}, your code is {{code}}."}]),
        ));
        let components = parse_components(&[json!({"type": "body", "parameters": [
            {"type": "text", "parameter_name": "name", "text": "A"},
            {"type": "text", "parameter_name": "name", "text": "B"},
            {"type": "text", "parameter_name": "code", "text": "1"},
        ]})])
        .expect("components");
        let error =
            check_components(&spec, &components, "t", "en_US").expect_err("a variable given twice");
        let text = error.to_string();
        assert!(
            text.contains(r#"body parameter "name" is given twice"#),
            "{text}"
        );
    }

    #[test]
    fn long_header_rejected_with_limit() {
        let spec = header_and_body();
        let long_order = "9".repeat(60);
        let error = check_components(&spec, &components(&long_order, "Ana", "#42"), "t", "en_US")
            .expect_err("the header is over 60 characters");
        let text = error.to_string();
        assert!(text.contains("header would be 66 characters"), "{text}");
    }

    fn with_buttons() -> TemplateSpec {
        spec(json!([
            {"type": "BODY", "text": "Your order ships today."},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Track", "url": "https://example.com/t/{{1}}"},
            ]},
        ]))
    }

    fn button(sub_type: &str, index: &str) -> Value {
        let parameter = if sub_type == "url" {
            json!({"type": "text", "text": "A1"})
        } else {
            json!({"type": "payload", "payload": "stop"})
        };
        json!({"type": "button", "sub_type": sub_type, "index": index, "parameters": [parameter]})
    }

    #[test]
    fn buttons_of_the_template_accepted() {
        let spec = with_buttons();
        let components =
            parse_components(&[button("quick_reply", "0"), button("url", "1")]).expect("parse");
        check_components(&spec, &components, "t", "en_US").expect("both buttons exist");
    }

    #[test]
    fn wrong_button_components_rejected() {
        let spec = with_buttons();
        let line_break = json!({"type": "button", "sub_type": "url", "index": "1",
            "parameters": [{"type": "text", "text": "a\nb"}]});
        let cases = [
            (
                vec![button("url", "1"), button("url", "5")],
                vec!["button 5 does not exist", "0 (quick_reply), 1 (url)"],
            ),
            (
                vec![line_break],
                vec!["button 1 (url) {{1}} contains a new line"],
            ),
            (
                vec![button("url", "1"), button("url", "1")],
                vec!["button 1 is given twice"],
            ),
            (
                vec![button("url", "1"), button("url", "0")],
                vec!["button 0 is a quick_reply button, not url"],
            ),
        ];
        for (values, expected) in cases {
            let components = parse_components(&values).expect("parse");
            let error =
                check_components(&spec, &components, "t", "en_US").expect_err("wrong buttons");
            let text = error.to_string();
            for part in expected {
                assert!(text.contains(part), "{part:?} not in {text}");
            }
        }
    }

    #[test]
    fn component_count_checked_first() {
        let body = json!({"type": "body", "parameters": [{"type": "text", "text": "a"}]});
        let mut values = vec![json!({"type": "footer"})];
        values.extend(std::iter::repeat_n(body, 40_000));
        let text = parse_components(&values)
            .expect_err("too many components")
            .to_string();
        assert!(text.contains("40001 components were given"), "{text}");
        assert!(text.contains("at most 12"), "{text}");
        assert!(
            !text.contains("footer"),
            "the count is checked before any component: {text}"
        );
    }

    #[test]
    fn parameter_count_checked_first() {
        let mut parameters = vec![json!({"type": "sticker"})];
        parameters.extend(std::iter::repeat_n(
            json!({"type": "text", "text": "a"}),
            300,
        ));
        let values = [
            json!({"type": "header", "parameters": [{"type": "text", "text": "a"}]}),
            json!({"type": "body", "parameters": parameters}),
        ];
        let text = parse_components(&values)
            .expect_err("too many parameters")
            .to_string();
        assert!(
            text.contains("`components[1]` has 301 parameters"),
            "{text}"
        );
        assert!(text.contains("at most 204"), "{text}");
        assert!(!text.contains("sticker"), "{text}");
        let full = vec![json!({"type": "text", "text": "a"}); MAX_PARAMETERS_PER_COMPONENT];
        parse_components(&[json!({"type": "body", "parameters": full})])
            .expect("the maximum number of parameters");
    }

    fn with_every_button() -> TemplateSpec {
        spec(json!([
            {"type": "BODY", "text": "Your code is ready."},
            {"type": "BUTTONS", "buttons": [
                {"type": "COPY_CODE", "example": "SAVE10"},
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Track", "url": "https://example.com/t/{{1}}"},
            ]},
        ]))
    }

    fn every_button(coupon_code: &str, payload: &str, suffix: &str) -> Vec<Value> {
        vec![
            json!({"type": "button", "sub_type": "copy_code", "index": "0", "parameters": [
                {"type": "coupon_code", "coupon_code": coupon_code}]}),
            json!({"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [
                {"type": "payload", "payload": payload}]}),
            json!({"type": "button", "sub_type": "url", "index": "2", "parameters": [
                {"type": "text", "text": suffix}]}),
        ]
    }

    #[test]
    fn button_values_checked() {
        let spec = with_every_button();
        let longest_code = "C".repeat(MAX_COUPON_CODE_CHARS);
        let valid = parse_components(&every_button(&longest_code, "stop", "A1")).expect("parse");
        check_components(&spec, &valid, "t", "en_US").expect("valid button values");

        let long_code = "C".repeat(100);
        let long_suffix = "s".repeat(3_000);
        let cases = [
            (
                every_button("", "stop", "A1"),
                vec![
                    "button 0 (copy_code) coupon code is empty",
                    "give it a value",
                ],
            ),
            (
                every_button(&long_code, "stop", "A1"),
                vec![
                    "button 0 (copy_code) coupon code is 100 characters long",
                    "WhatsApp allows 15; shorten it",
                ],
            ),
            (
                every_button("SAVE\n10", "stop", "A1"),
                vec!["button 0 (copy_code) coupon code contains a new line"],
            ),
            (
                every_button("\u{202e}", "stop", "A1"),
                vec![
                    "button 0 (copy_code) coupon code has no visible character",
                    "U+202E",
                ],
            ),
            (
                every_button("SAVE10", "", "A1"),
                vec!["button 1 (quick_reply) payload is empty"],
            ),
            (
                every_button("SAVE10", "\u{200b}", "A1"),
                vec!["button 1 (quick_reply) payload has no visible character"],
            ),
            (
                every_button("SAVE10", "a\rb", "A1"),
                vec!["button 1 (quick_reply) payload contains a new line"],
            ),
            (
                every_button("SAVE10", "stop", ""),
                vec!["button 2 (url) {{1}} is empty"],
            ),
            (
                every_button("SAVE10", "stop", &long_suffix),
                vec![
                    "button 2 (url) {{1}} is 3000 characters long",
                    "WhatsApp allows 2000; shorten it",
                ],
            ),
        ];
        for (values, expected) in cases {
            let components = parse_components(&values).expect("parse");
            let error = check_components(&spec, &components, "t", "en_US")
                .expect_err("an invalid button value");
            let text = error.to_string();
            for part in expected {
                assert!(text.contains(part), "{part:?} not in {text}");
            }
        }
    }

    #[test]
    fn quick_reply_parameters_checked() {
        let spec = with_every_button();
        let payload = json!({"type": "payload", "payload": "stop"});
        let text = json!({"type": "text", "text": "stop"});
        let long_payload = "p".repeat(5_000);
        let cases = [
            (
                json!([payload.clone(), payload.clone()]),
                "button 1 (quick_reply) has 2 parameters, and a quick-reply button takes one",
            ),
            (
                json!([text]),
                "button 1 (quick_reply) takes a payload parameter",
            ),
            (
                json!([{"type": "payload", "payload": long_payload}]),
                "button 1 (quick_reply) payload is 5000 characters long",
            ),
        ];
        for (parameters, expected) in cases {
            let mut values = every_button("SAVE10", "stop", "A1");
            values[1]["parameters"] = parameters;
            let components = parse_components(&values).expect("parse");
            let error = check_components(&spec, &components, "t", "en_US")
                .expect_err("an invalid quick-reply button");
            let text = error.to_string();
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
    }

    #[test]
    fn button_index_read_as_its_number() {
        let spec = with_every_button();
        for index in ["02", " 2", "+2"] {
            let mut values = every_button("SAVE10", "stop", "A1");
            values[2]["index"] = json!(index);
            let components = parse_components(&values).expect("parse");
            check_components(&spec, &components, "t", "en_US").expect(index);
            let SendComponent::Button { index: read, .. } = &components[2] else {
                panic!("a button component");
            };
            assert_eq!(read, "2", "{index:?}");
        }
    }

    fn with_location() -> TemplateSpec {
        spec(json!([
            {"type": "HEADER", "format": "LOCATION"},
            {"type": "BODY", "text": "Your parcel waits at {{1}}."},
        ]))
    }

    fn location_send(location: Value) -> Result<Vec<SendComponent>, ToolError> {
        parse_components(&[
            json!({"type": "HEADER", "parameters": [{"type": "LOCATION", "location": location}]}),
            json!({"type": "body", "parameters": [{"type": "text", "text": "the depot"}]}),
        ])
    }

    #[test]
    fn location_header_required() {
        let spec = with_location();
        let body_only = parse_components(&[json!({"type": "body", "parameters": [
            {"type": "text", "text": "the depot"}]})])
        .expect("parse");
        let text = check_components(&spec, &body_only, "t", "en_US")
            .expect_err("the location is missing")
            .to_string();
        assert!(
            text.contains("missing values for header location"),
            "{text}"
        );
        assert!(text.contains(r#""type":"location""#), "{text}");
        assert!(text.contains(r#""latitude":52.52"#), "{text}");

        let components = location_send(json!({"latitude": -33.9, "longitude": 18,
                                              "name": "Depot", "address": "Dock Rd 1"}))
        .expect("parse");
        check_components(&spec, &components, "t", "en_US").expect("a location header");
        let SendComponent::Header { parameters } = &components[0] else {
            panic!("not a header: {components:?}")
        };
        assert_eq!(
            serde_json::to_value(&parameters[0]).unwrap(),
            json!({"type": "location", "location": {"latitude": -33.9, "longitude": 18.0,
                   "name": "Depot", "address": "Dock Rd 1"}})
        );
        let bare = location_send(json!({"latitude": 90, "longitude": -180})).expect("parse");
        check_components(&spec, &bare, "t", "en_US").expect("name and address are optional");

        let image = parse_components(&[
            json!({"type": "header", "parameters": [
                {"type": "image", "image": {"link": "https://example.com/a.png"}}]}),
            json!({"type": "body", "parameters": [{"type": "text", "text": "the depot"}]}),
        ])
        .expect("parse");
        let text = check_components(&spec, &image, "t", "en_US")
            .expect_err("an image for a location")
            .to_string();
        assert!(text.contains("exactly one location parameter"), "{text}");
    }

    #[test]
    fn location_values_checked() {
        let cases = [
            (
                json!({"latitude": 90.5, "longitude": 0}),
                "`components[0].parameters[0].location.latitude` is 90.5, outside -90 to 90",
            ),
            (
                json!({"latitude": 0, "longitude": -181}),
                "`components[0].parameters[0].location.longitude` is -181, outside -180 to 180",
            ),
            (
                json!({"latitude": 0, "longitude": 0, "name": ""}),
                "`components[0].parameters[0].location.name` is empty",
            ),
            (
                json!({"latitude": 0, "longitude": 0, "address": "\u{202e}"}),
                "`components[0].parameters[0].location.address` has no visible character",
            ),
            (
                json!({"latitude": 0, "longitude": 0, "address": "Dock Rd\n1"}),
                "`components[0].parameters[0].location.address` contains a new line",
            ),
        ];
        for (location, expected) in cases {
            let text = location_send(location.clone())
                .expect_err("an invalid location")
                .to_string();
            assert!(text.contains(expected), "{location}: {text}");
        }
    }

    #[test]
    fn line_breaks_and_space_runs_rejected() {
        let spec = header_and_body();
        for name in [
            "Ana\nMaria",
            "Ana\tMaria",
            "Ana     Maria",
            "Ana\u{0}Maria",
            "Ana\u{b}Maria",
            "Ana\u{85}Maria",
            "Ana\u{2028}Maria",
            "Ana\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}Maria",
            "Ana\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}Maria",
        ] {
            let error = check_components(&spec, &components("#42", name, "#42"), "t", "en_US")
                .expect_err("WhatsApp rejects the value");
            let text = error.to_string();
            assert!(
                text.contains("body variable {{1}} contains a new line"),
                "{text}"
            );
        }
        check_components(
            &spec,
            &components("#42", "Ana    Maria", "#42"),
            "t",
            "en_US",
        )
        .expect("four spaces in a row are allowed");
    }

    #[test]
    fn second_header_or_body_rejected() {
        for part in ["body", "header"] {
            let component = json!({"type": part, "parameters": [{"type": "text", "text": "a"}]});
            let error = parse_components(&[component.clone(), json!({"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "x"}]}), component])
                .expect_err("second component");
            let message = error.to_string();
            assert!(message.contains("`components[2]` is a second"), "{message}");
            assert!(
                message.contains(&format!("{part} component after `components[0]`")),
                "{message}"
            );
        }
    }

    #[test]
    fn header_media_link_checked() {
        let spec = spec(json!([
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Your receipt."},
        ]));
        let header = |image: Value| {
            parse_components(&[json!({"type": "header", "parameters": [
                {"type": "image", "image": image},
            ]})])
        };
        let components =
            header(json!({"link": " HTTPS://Example.com\\@127.0.0.1/r.png\n"})).expect("parse");
        check_components(&spec, &components, "t", "en_US").expect("a public https link");
        let SendComponent::Header { parameters } = &components[0] else {
            panic!("not a header: {components:?}")
        };
        let ParameterValue::Image { image } = &parameters[0].value else {
            panic!("not an image: {parameters:?}")
        };
        assert_eq!(
            image.link.as_deref(),
            Some("https://example.com/@127.0.0.1/r.png"),
            "Meta receives the link that was checked"
        );
        for link in ["http://example.com/r.png", "https://127.0.0.1/r.png"] {
            let error = header(json!({"link": link})).expect_err("rejected link");
            let text = error.to_string();
            assert!(
                text.contains(
                    "the link of the image in the header component (`components[0].parameters[0]`): "
                ),
                "{link}: {text}"
            );
        }
        let both = header(json!({"link": "https://example.com/r.png", "id": "42"}))
            .expect_err("link and id");
        assert!(both.to_string().contains("both a link and an id"), "{both}");
    }

    #[test]
    fn media_error_names_its_component() {
        let components = [
            json!({"type": "header", "parameters": [{"type": "text", "text": "Order"}]}),
            json!({"type": "body", "parameters": [
                {"type": "text", "text": "Ana"},
                {"type": "image", "image": {"link": "http://example.com/r.png"}},
            ]}),
        ];
        let error = parse_components(&components).expect_err("an http link");
        let text = error.to_string();
        assert!(
            text.contains("the image in the body component (`components[1].parameters[1]`)"),
            "{text}"
        );
        assert!(!text.contains("header"), "{text}");

        let button = json!({"type": "button", "sub_type": "url", "index": "0", "parameters": [
            {"type": "video", "video": {"link": "https://example.com/v.mp4", "id": "1"}},
        ]});
        let error = parse_components(&[button]).expect_err("a link and an id");
        let text = error.to_string();
        assert!(
            text.contains(
                "the video in the button 0 component (`components[0].parameters[0]`) has both"
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_key_rejected_before_decoding() {
        let error = parse_components(&[json!({"type": "BODY", "extra": 1, "parameters": [
            {"type": "TEXT", "text": "Ana"},
        ]})])
        .expect_err("an unknown key");
        let text = error.to_string();
        assert!(
            text.contains(
                r#"invalid argument `components`: `components[0]` has the unknown key "extra""#
            ),
            "{text}"
        );
        assert!(text.contains("type and parameters"), "{text}");
    }

    #[test]
    fn wrong_type_named_by_path_and_type() {
        let error = parse_components(&[
            json!({"type": "header", "parameters": [{"type": "text", "text": "Order"}]}),
            json!({"type": "body", "parameters": [{"type": "text", "text": ["Ana"]}]}),
        ])
        .expect_err("an array as text");
        let text = error.to_string();
        assert!(
            text.contains("`components[1].parameters[0].text` must be a string, not an array"),
            "{text}"
        );
        assert!(!text.contains("at `.`"), "{text}");
    }

    #[test]
    fn header_document_file_name_checked() {
        let document = |filename: &str| {
            parse_components(&[json!({"type": "header", "parameters": [
                {"type": "document", "document":
                    {"link": "https://example.com/r.pdf", "filename": filename}},
            ]})])
        };
        document("receipt.pdf").expect("a short file name");
        let long = format!("{}.pdf", "r".repeat(300));
        let text = document(&long).expect_err("a long file name").to_string();
        assert!(
            text.contains("the file name of the document in the header component"),
            "{text}"
        );
        assert!(text.contains("304 characters long"), "{text}");
        assert!(text.contains("at most 240 characters"), "{text}");
    }
}
