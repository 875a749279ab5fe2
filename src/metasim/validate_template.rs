//! Checks of the `template` object of a send: the template exists in that
//! language and is approved (else 132001), component types are lower-case,
//! and the parameters match the template's variables (else 132000). A
//! template with a location header needs the place in every send.

use serde_json::Value;

use super::state::{Inner, SimTemplate};
use super::validate::{Reject, reject};
use crate::whatsapp::graph::placeholders;

pub(crate) fn template(inner: &Inner, object: &Value) -> Result<(), Reject> {
    let Some(name) = object["name"].as_str().filter(|n| !n.is_empty()) else {
        return reject(131008, "The parameter template['name'] is required.");
    };
    let Some(language) = object["language"]["code"].as_str() else {
        return reject(
            131008,
            "The parameter template['language']['code'] is required.",
        );
    };
    let found = inner
        .templates
        .iter()
        .find(|t| t.name == name && t.language == language && t.status == "APPROVED");
    let Some(found) = found else {
        return reject(
            132001,
            format!("template name ({name}) does not exist in {language} or is not approved"),
        );
    };
    let components = match &object["components"] {
        Value::Null => &Vec::new(),
        Value::Array(components) => components,
        _ => return reject(100, "Param template['components'] must be an array."),
    };
    for component in components {
        match component["type"].as_str() {
            Some("header" | "body") => {}
            Some("button") => check_button(component)?,
            Some(other) => {
                return reject(
                    100,
                    format!(
                        "Param template['components'][type] {other:?} must be one of header, body, button (lower-case)."
                    ),
                );
            }
            None => {
                return reject(
                    131008,
                    "The parameter template['components'][type] is required.",
                );
            }
        }
    }
    for kind in ["header", "body"] {
        check_parameters(found, kind, components)?;
    }
    Ok(())
}

fn check_button(component: &Value) -> Result<(), Reject> {
    if component["sub_type"].as_str().is_none() {
        return reject(131008, "The parameter button['sub_type'] is required.");
    }
    let index = match &component["index"] {
        Value::String(text) => text.parse::<u32>().ok(),
        Value::Number(number) => number.as_u64().map(|n| n as u32),
        _ => None,
    };
    if index.is_none() {
        return reject(
            131009,
            "Param button['index'] must be a button position such as \"0\".",
        );
    }
    Ok(())
}

/// Compares the parameters supplied for `kind` with the template's variables:
/// same count, and for named templates the same names.
fn check_parameters(
    template: &SimTemplate,
    kind: &str,
    components: &[Value],
) -> Result<(), Reject> {
    if kind == "header" && template.has_media_header() {
        return check_media_header(components);
    }
    if kind == "header" && template.has_location_header() {
        return check_location_header(components);
    }
    let expected = template
        .text_of(&kind.to_ascii_uppercase())
        .map(placeholders)
        .unwrap_or_default();
    let supplied: Vec<&Value> = components
        .iter()
        .filter(|c| c["type"].as_str() == Some(kind))
        .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
        .collect();
    if supplied.len() != expected.len() {
        return reject(
            132000,
            format!(
                "{kind}: number of localizable_params ({}) does not match the expected number of params ({})",
                supplied.len(),
                expected.len()
            ),
        );
    }
    if template.parameter_format != "NAMED" {
        return Ok(());
    }
    for parameter in supplied {
        let Some(name) = parameter["parameter_name"].as_str() else {
            return reject(
                100,
                format!("{kind}: parameter_name is required for a template with named parameters."),
            );
        };
        if !expected.iter().any(|e| e == name) {
            return reject(
                132000,
                format!("{kind}: parameter_name {name:?} is not a variable of the template."),
            );
        }
    }
    Ok(())
}

/// Returns the parameters of every header component of a send.
fn header_parameters(components: &[Value]) -> Vec<&Value> {
    components
        .iter()
        .filter(|c| c["type"].as_str() == Some("header"))
        .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
        .collect()
}

/// Checks that a media header (`format` IMAGE, VIDEO or DOCUMENT) gets
/// exactly one media parameter.
fn check_media_header(components: &[Value]) -> Result<(), Reject> {
    match header_parameters(components).as_slice() {
        [parameter]
            if matches!(
                parameter["type"].as_str(),
                Some("image" | "video" | "document")
            ) =>
        {
            Ok(())
        }
        _ => reject(
            132000,
            "header: a media header needs exactly one image, video or document parameter",
        ),
    }
}

/// Checks that a location header (`format` LOCATION) gets exactly one
/// location parameter with numeric coordinates.
fn check_location_header(components: &[Value]) -> Result<(), Reject> {
    match header_parameters(components).as_slice() {
        [parameter]
            if parameter["type"].as_str() == Some("location")
                && parameter["location"]["latitude"].is_number()
                && parameter["location"]["longitude"].is_number() =>
        {
            Ok(())
        }
        _ => reject(
            132000,
            "header: a location header needs exactly one location parameter with latitude and longitude",
        ),
    }
}
