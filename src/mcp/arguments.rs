//! Tool arguments decoded with the path of the first invalid value, so
//! that a wrong type, a number outside the input schema's range or a
//! missing field becomes a tool error (`isError`) naming the argument, the
//! value received and the type or range expected. Since
//! revision 2025-11-25 (SEP-1303), the MCP specification recommends tool
//! execution errors for input validation failures, so that the model can
//! correct the call.

use std::borrow::Cow;

use rmcp::ErrorData;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use serde_path_to_error::Segment;

use super::server::PonsMcp;
use crate::echo::{cut, echoed};
use crate::tools::{invalid_arguments_message, missing_argument_message};

/// Key in the `data` of the `ErrorData` that marks an argument error, so
/// that `call_tool` can turn it into a tool result.
const ARGUMENT_ERROR_KEY: &str = "invalidArgument";
/// Characters of a received value quoted in an error message.
const QUOTED_VALUE_CHARS: usize = 80;

/// The decoded arguments of a tool call. It replaces rmcp's own
/// `Parameters` and keeps its name, because the `#[tool]` macro of rmcp
/// 3.11 takes a tool's input schema from the parameter whose type is named
/// `Parameters`.
pub(super) struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<T: DeserializeOwned> FromContextPart<ToolCallContext<'_, PonsMcp>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, PonsMcp>) -> Result<Self, ErrorData> {
        let received = Value::Object(context.arguments.take().unwrap_or_default());
        let schema = context.service.input_schema(&context.name);
        match decode(&context.name, &received, schema.as_deref()) {
            Ok(value) => Ok(Parameters(value)),
            Err(problem) => {
                let data = json!({ ARGUMENT_ERROR_KEY: problem.path });
                Err(ErrorData::invalid_params(problem.message, Some(data)))
            }
        }
    }
}

/// An invalid argument: its path, such as `components[0].type`, and the
/// message for the caller.
#[derive(Debug)]
struct ArgumentProblem {
    path: String,
    message: String,
}

/// Decodes the arguments `received` of `tool`, then checks every number
/// against the `minimum` and `maximum` of the input schema `schema`, which
/// serde does not see. Both failures get the same form of message, which
/// quotes the value as the caller sent it. A whole number written as a
/// float, such as `5.0`, is decoded as an integer where the schema expects
/// one, because JSON has one number type and some clients send every
/// number as a float.
fn decode<T: DeserializeOwned>(
    tool: &str,
    received: &Value,
    schema: Option<&JsonObject>,
) -> Result<T, ArgumentProblem> {
    // Most calls carry no float, and those decode `received` without a copy.
    let converted;
    let arguments = match schema {
        Some(root) if has_float(received) => {
            let mut copy = received.clone();
            whole_floats_to_integers(root, root, &mut copy);
            converted = copy;
            &converted
        }
        _ => received,
    };
    let (segments, serde_message) = match serde_path_to_error::deserialize::<_, T>(arguments) {
        Ok(value) => match schema.and_then(|root| out_of_range(root, arguments)) {
            None => return Ok(value),
            Some(segments) => (segments, "out of range".to_owned()),
        },
        Err(error) => (
            error.path().iter().cloned().collect(),
            error.inner().to_string(),
        ),
    };
    let path = render_path(&segments);
    let message = describe_problem(tool, received, schema, segments, &serde_message);
    Err(ArgumentProblem { path, message })
}

/// Turns an argument error from [`Parameters`] into a tool result with
/// `isError`, and passes any other error through.
pub(super) fn argument_error_as_result(error: ErrorData) -> Result<CallToolResult, ErrorData> {
    let is_argument_error = error
        .data
        .as_ref()
        .is_some_and(|data| data.get(ARGUMENT_ERROR_KEY).is_some());
    if is_argument_error {
        Ok(CallToolResult::error(vec![ContentBlock::text(
            error.message,
        )]))
    } else {
        Err(error)
    }
}

/// Explains the invalid argument of `tool` at `segments`: which argument
/// is wrong, what it must be, what was received, and the argument's
/// description from the input schema. `serde_message` is serde_json's text
/// for the error at `segments`.
fn describe_problem(
    tool: &str,
    arguments: &Value,
    schema: Option<&JsonObject>,
    mut segments: Vec<Segment>,
    serde_message: &str,
) -> String {
    if let Some(field) = backticked(serde_message, "missing field ") {
        segments.push(Segment::Map {
            key: field.to_owned(),
        });
        let name = render_path(&segments);
        let node = schema.and_then(|root| schema_at(root, &segments));
        let expected = node
            .zip(schema)
            .and_then(|(node, root)| expected_type(root, node))
            .unwrap_or_else(|| "a value".to_owned());
        let hint = format!("pass {expected}.{}", about(&name, node));
        return missing_argument_message(&name, tool, &hint);
    }
    if let Some(field) = backticked(serde_message, "unknown field ") {
        // serde_path_to_error 0.1 already ends the path with the unknown key.
        let named = matches!(segments.last(), Some(Segment::Map { key }) if key == field);
        if !named {
            segments.push(Segment::Map {
                key: field.to_owned(),
            });
        }
        let expected = serde_message
            .split_once(", expected ")
            .map_or(String::new(), |(_, list)| format!(" Expected {list}."));
        if let [_] = segments.as_slice()
            && let Some(unknown) = unknown_arguments(arguments, schema)
            && unknown.len() > 1
        {
            let names: Vec<String> = unknown
                .iter()
                .take(MAX_NAMED_UNKNOWN)
                .map(|key| echoed(key))
                .collect();
            let unlisted = match unknown.len().saturating_sub(MAX_NAMED_UNKNOWN) {
                0 => String::new(),
                count => format!(", and neither are {count} others"),
            };
            let reason = format!("not arguments of this tool{unlisted}; remove them.{expected}");
            return invalid_arguments_message(&names, &reason);
        }
        let name = render_path(&segments);
        let reason = format!("not an argument of this tool; remove it.{expected}");
        return invalid_arguments_message(&[name], &reason);
    }

    let name = render_path(&segments);
    let received = value_at(arguments, &segments);
    let node = schema.and_then(|root| schema_at(root, &segments));
    let expected = node
        .zip(schema)
        .and_then(|(node, root)| expected_type(root, node))
        .or_else(|| {
            serde_message
                .rsplit_once(", expected ")
                .map(|(_, expected)| expected.to_owned())
        });
    let Some(expected) = expected else {
        let reason = format!("{serde_message}.{}", about(&name, node));
        return invalid_arguments_message(&[&name], &reason);
    };
    let mut reason = format!("must be {expected}");
    if let Some(received) = received {
        reason.push_str(&format!(", got {}", quote(received)));
    }
    reason.push('.');
    if let Some(hint) = received.and_then(|value| unquote_hint(value, node)) {
        reason.push(' ');
        reason.push_str(&hint);
    }
    reason.push_str(&about(&name, node));
    invalid_arguments_message(&[&name], &reason)
}

/// Replaces each float in `value` that is a whole number, such as `5.0`,
/// by the same integer where its schema `node` accepts integers. A float
/// with a fraction or beyond the 64-bit integers stays, so that decoding
/// rejects it with the argument's range.
fn whole_floats_to_integers(root: &JsonObject, node: &JsonObject, value: &mut Value) {
    let Some(node) = resolve(root, node) else {
        return;
    };
    match value {
        Value::Number(number) => {
            if accepts_type(node, "integer")
                && let Some(integer) = whole_float(number)
            {
                *number = integer;
            }
        }
        Value::Object(fields) => {
            let Some(properties) = node.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, field) in fields.iter_mut() {
                if let Some(child) = properties.get(key).and_then(Value::as_object) {
                    whole_floats_to_integers(root, child, field);
                }
            }
        }
        Value::Array(items) => {
            let Some(child) = node.get("items").and_then(Value::as_object) else {
                return;
            };
            for item in items {
                whole_floats_to_integers(root, child, item);
            }
        }
        _ => {}
    }
}

/// Tells whether `value` contains a number that is neither an `i64` nor a
/// `u64`.
fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(number) => !number.is_i64() && !number.is_u64(),
        Value::Object(fields) => fields.values().any(has_float),
        Value::Array(items) => items.iter().any(has_float),
        _ => false,
    }
}

/// Returns the integer that the float `number` equals, or `None` for an
/// integer, a float with a fraction, or one outside `i64` and `u64`.
fn whole_float(number: &serde_json::Number) -> Option<serde_json::Number> {
    if number.is_i64() || number.is_u64() {
        return None;
    }
    let float = number.as_f64()?;
    if !float.is_finite() || float.fract() != 0.0 {
        return None;
    }
    // 2^64 and -2^63 as floats: casts of whole floats inside these bounds
    // are exact.
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    const I64_MIN: f64 = -9_223_372_036_854_775_808.0;
    if (0.0..U64_END).contains(&float) {
        Some((float as u64).into())
    } else if (I64_MIN..0.0).contains(&float) {
        Some((float as i64).into())
    } else {
        None
    }
}

/// Tells whether the schema `node` lists `kind` in its `type`.
fn accepts_type(node: &JsonObject, kind: &str) -> bool {
    match node.get("type") {
        Some(Value::String(single)) => single == kind,
        Some(Value::Array(many)) => many.iter().any(|listed| listed == kind),
        _ => false,
    }
}

/// Returns the path of the first number in `arguments` that lies outside
/// the `minimum` or `maximum` of its node in the input schema `root`.
fn out_of_range(root: &JsonObject, arguments: &Value) -> Option<Vec<Segment>> {
    let mut path = Vec::new();
    find_out_of_range(root, root, arguments, &mut path).then_some(path)
}

/// Walks `value` along its schema `node`, leaving in `path` the path of the
/// first number outside its node's bounds. Returns whether it found one.
fn find_out_of_range(
    root: &JsonObject,
    node: &JsonObject,
    value: &Value,
    path: &mut Vec<Segment>,
) -> bool {
    let Some(node) = resolve(root, node) else {
        return false;
    };
    match value {
        Value::Number(number) => {
            let Some(number) = number.as_f64() else {
                return false;
            };
            let bound = |key: &str| node.get(key).and_then(Value::as_f64);
            bound("minimum").is_some_and(|minimum| number < minimum)
                || bound("maximum").is_some_and(|maximum| number > maximum)
        }
        Value::Object(fields) => {
            let Some(properties) = node.get("properties").and_then(Value::as_object) else {
                return false;
            };
            for (key, field) in fields {
                let Some(child) = properties.get(key).and_then(Value::as_object) else {
                    continue;
                };
                path.push(Segment::Map { key: key.clone() });
                if find_out_of_range(root, child, field, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        Value::Array(items) => {
            let Some(child) = node.get("items").and_then(Value::as_object) else {
                return false;
            };
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Seq { index });
                if find_out_of_range(root, child, item, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// Unknown argument names an error lists before it counts the rest.
const MAX_NAMED_UNKNOWN: usize = 10;

/// Returns the top-level keys of `arguments` that the input schema does not
/// list, or `None` without an object or a schema with properties.
fn unknown_arguments<'a>(
    arguments: &'a Value,
    schema: Option<&JsonObject>,
) -> Option<Vec<&'a str>> {
    let properties = schema?.get("properties")?.as_object()?;
    let supplied = arguments.as_object()?;
    Some(
        supplied
            .keys()
            .filter(|key| !properties.contains_key(key.as_str()))
            .map(String::as_str)
            .collect(),
    )
}

/// Returns the text between backticks after `prefix` in `message`.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// Writes a path the way a caller writes it: `components[0].type`, or
/// `arguments` for the object itself.
fn render_path(segments: &[Segment]) -> String {
    let mut rendered = String::new();
    for segment in segments {
        match segment {
            Segment::Map { key } => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(&echoed(key));
            }
            Segment::Seq { index } => rendered.push_str(&format!("[{index}]")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if rendered.is_empty() {
        "arguments".to_owned()
    } else {
        rendered
    }
}

/// Finds the received value at `segments`, if the arguments contain one.
fn value_at<'v>(arguments: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut value = arguments;
    for segment in segments {
        value = match segment {
            Segment::Map { key } => value.get(key)?,
            Segment::Seq { index } => value.get(index)?,
            Segment::Enum { .. } | Segment::Unknown => value,
        };
    }
    Some(value)
}

/// Renders a received value as compact JSON, cut after
/// [`QUOTED_VALUE_CHARS`] characters.
fn quote(value: &Value) -> String {
    cut(&value.to_string(), QUOTED_VALUE_CHARS)
}

/// Follows `segments` through the input schema, resolving `$ref` and the
/// non-null branch of an optional value.
fn schema_at<'s>(root: &'s JsonObject, segments: &[Segment]) -> Option<&'s JsonObject> {
    let mut node = resolve(root, root)?;
    for segment in segments {
        node = match segment {
            Segment::Map { key } => node.get("properties")?.get(key)?.as_object()?,
            Segment::Seq { .. } => node.get("items")?.as_object()?,
            Segment::Enum { .. } | Segment::Unknown => node,
        };
        node = resolve(root, node)?;
    }
    Some(node)
}

/// Resolves a local `$ref`, and an `anyOf`/`oneOf` with exactly one branch
/// that is not `null` (how schemars writes `Option<T>` of a struct).
fn resolve<'s>(root: &'s JsonObject, node: &'s JsonObject) -> Option<&'s JsonObject> {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let mut target = root;
        for part in reference.strip_prefix("#/")?.split('/') {
            target = target.get(part)?.as_object()?;
        }
        return resolve(root, target);
    }
    let branches = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(branches) = branches {
        let mut non_null = branches
            .iter()
            .filter_map(Value::as_object)
            .filter(|branch| branch.get("type").and_then(Value::as_str) != Some("null"));
        if let (Some(only), None) = (non_null.next(), non_null.next()) {
            return resolve(root, only);
        }
    }
    Some(node)
}

/// Describes the values a schema node accepts, for example "a whole number
/// between 1 and 200" or "one of \"image\", \"video\"". `None` when the
/// node names no type.
fn expected_type(root: &JsonObject, node: &JsonObject) -> Option<String> {
    if let Some(choices) = node.get("enum").and_then(Value::as_array) {
        let listed: Vec<String> = choices
            .iter()
            .filter(|c| !c.is_null())
            .map(Value::to_string)
            .collect();
        return Some(format!("one of {}", listed.join(", ")));
    }
    if let Some(constant) = node.get("const") {
        return Some(constant.to_string());
    }
    if let Some(branches) = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array)
    {
        let described: Vec<String> = branches
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|branch| resolve(root, branch))
            .filter(|branch| branch.get("type").and_then(Value::as_str) != Some("null"))
            .filter_map(|branch| expected_type(root, branch))
            .collect();
        return (!described.is_empty()).then(|| described.join(" or "));
    }
    let types: Vec<&str> = match node.get("type")? {
        Value::String(single) => vec![single.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let described: Vec<String> = types
        .iter()
        .filter(|kind| **kind != "null")
        .map(|kind| match *kind {
            "integer" => format!("a whole number{}", range(node)),
            "number" => format!("a number{}", range(node)),
            "string" => "a string".to_owned(),
            "boolean" => "true or false".to_owned(),
            "array" => "an array".to_owned(),
            "object" => "an object".to_owned(),
            other => format!("a JSON {other}"),
        })
        .collect();
    (!described.is_empty()).then(|| described.join(" or "))
}

/// Describes `minimum` and `maximum` of a number schema.
fn range(node: &JsonObject) -> String {
    let bound = |key: &str| {
        node.get(key)
            .filter(|v| v.is_number())
            .map(Value::to_string)
    };
    match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => format!(" between {min} and {max}"),
        (Some(min), None) => format!(" of at least {min}"),
        (None, Some(max)) => format!(" of at most {max}"),
        (None, None) => String::new(),
    }
}

/// Suggests dropping the quotes when a number or boolean arrived as a
/// string, a common mistake of models that write JSON.
fn unquote_hint(received: &Value, node: Option<&JsonObject>) -> Option<String> {
    let text = received.as_str()?.trim();
    let node = node?;
    let accepts = |kind: &str| accepts_type(node, kind);
    // Rust parses "NaN" and "inf" as floats, but JSON has no such numbers.
    let is_number = text.parse::<f64>().is_ok_and(f64::is_finite);
    let is_boolean = text == "true" || text == "false";
    if (is_number && (accepts("integer") || accepts("number")))
        || (is_boolean && accepts("boolean"))
    {
        Some(format!("Send it as {text} without quotes."))
    } else {
        None
    }
}

/// Quotes the argument's description from the input schema, which states
/// what the argument is for and which values it takes.
fn about(name: &str, node: Option<&JsonObject>) -> String {
    node.and_then(|node| node.get("description"))
        .and_then(Value::as_str)
        .map(|description| format!(" {name}: {}", description.trim()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        message_limit: Option<u32>,
        components: Option<Vec<Component>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Component {
        r#type: String,
    }

    fn schema() -> JsonObject {
        let schema = json!({
            "type": "object",
            "properties": {
                "messageLimit": {
                    "description": "Maximum number of messages, 1 to 200.",
                    "type": ["integer", "null"],
                    "format": "uint32",
                    "minimum": 1,
                    "maximum": 200
                },
                "components": {
                    "type": ["array", "null"],
                    "items": { "$ref": "#/$defs/Component" }
                }
            },
            "$defs": {
                "Component": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string", "enum": ["header", "body"] }
                    },
                    "required": ["type"]
                }
            }
        });
        schema.as_object().unwrap().clone()
    }

    /// Decodes `arguments` into `Args` and describes the failure.
    fn problem(arguments: Value) -> String {
        let error = serde_path_to_error::deserialize::<_, Args>(&arguments).unwrap_err();
        let segments = error.path().iter().cloned().collect();
        describe_problem(
            "test_tool",
            &arguments,
            Some(&schema()),
            segments,
            &error.inner().to_string(),
        )
    }

    /// Describes the number of `arguments` outside its schema's range,
    /// which decode into `Args` without error.
    fn range_problem(arguments: Value) -> String {
        serde_path_to_error::deserialize::<_, Args>(&arguments).expect("arguments decode");
        let segments = out_of_range(&schema(), &arguments).expect("a number out of range");
        describe_problem(
            "test_tool",
            &arguments,
            Some(&schema()),
            segments,
            "out of range",
        )
    }

    #[test]
    fn wrong_type_names_argument_and_range() {
        let text = problem(json!({"messageLimit": "abc"}));
        assert!(
            text.starts_with(
                "invalid argument `messageLimit`: must be a whole number between 1 and 200, \
                 got \"abc\"."
            ),
            "{text}"
        );
        assert!(
            text.contains("messageLimit: Maximum number of messages"),
            "{text}"
        );
    }

    #[test]
    fn out_of_range_reads_like_wrong_type() {
        for (value, received) in [(json!(0), "0"), (json!(201), "201")] {
            let text = range_problem(json!({ "messageLimit": value }));
            let expected = format!(
                "invalid argument `messageLimit`: must be a whole number between 1 and 200, \
                 got {received}. messageLimit: Maximum number of messages, 1 to 200."
            );
            assert_eq!(text, expected);
        }
        let negative = problem(json!({"messageLimit": -1}));
        assert!(
            negative.starts_with(
                "invalid argument `messageLimit`: must be a whole number between 1 and 200, \
                 got -1."
            ),
            "{negative}"
        );
    }

    #[test]
    fn numbers_in_range_pass() {
        let arguments = json!({"messageLimit": 200, "components": [{"type": "body"}]});
        assert!(out_of_range(&schema(), &arguments).is_none());
        assert!(out_of_range(&schema(), &json!({"messageLimit": 1})).is_none());
        assert!(out_of_range(&schema(), &json!({})).is_none());
    }

    #[test]
    fn nested_number_out_of_range_has_path() {
        let root = json!({
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"count": {"type": "integer", "minimum": 1}}
                    }
                }
            }
        });
        let root = root.as_object().unwrap();
        let arguments = json!({"items": [{"count": 3}, {"count": 0}]});
        let segments = out_of_range(root, &arguments).expect("a number out of range");
        assert_eq!(render_path(&segments), "items[1].count");
    }

    /// Decodes `arguments` into `Args` as a tool call does, and returns
    /// the error message on failure.
    fn decoded(arguments: Value) -> Result<Args, String> {
        decode::<Args>("test_tool", &arguments, Some(&schema())).map_err(|problem| problem.message)
    }

    #[test]
    fn whole_float_decodes_as_integer() {
        for (value, expected) in [(json!(5.0), 5), (json!(1.0), 1), (json!(200.0), 200)] {
            let arguments = json!({ "messageLimit": value });
            let args = decoded(arguments).unwrap_or_else(|message| panic!("{value}: {message}"));
            assert_eq!(args.message_limit, Some(expected), "{value}");
        }
    }

    #[test]
    fn other_floats_rejected_as_sent() {
        // The error quotes the value as serde_json writes it.
        for (received, quoted) in [
            ("5.5", "5.5"),
            ("-0.5", "-0.5"),
            ("-3.0", "-3.0"),
            ("0.0", "0.0"),
            ("201.0", "201.0"),
            ("4294967296.0", "4294967296.0"),
            ("1e300", "1e+300"),
            ("-1e300", "-1e+300"),
        ] {
            let value: Value = serde_json::from_str(received).unwrap();
            let text = decoded(json!({ "messageLimit": value })).expect_err(received);
            let expected = format!(
                "invalid argument `messageLimit`: must be a whole number between 1 and 200, \
                 got {quoted}. messageLimit: Maximum number of messages, 1 to 200."
            );
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn non_finite_text_gets_no_unquote_hint() {
        for received in ["NaN", "inf", "-Infinity"] {
            let text = decoded(json!({ "messageLimit": received })).expect_err(received);
            let expected = format!(
                "invalid argument `messageLimit`: must be a whole number between 1 and 200, \
                 got \"{received}\". messageLimit: Maximum number of messages, 1 to 200."
            );
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn whole_floats_convert_only_for_integers() {
        let root = json!({
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "count": {"type": "integer"},
                            "weight": {"type": "number"}
                        }
                    }
                }
            }
        });
        let root = root.as_object().unwrap();
        let mut arguments = json!({"items": [{"count": 3.0, "weight": 2.0}, {"count": 2.5}]});
        whole_floats_to_integers(root, root, &mut arguments);
        let items = &arguments["items"];
        assert!(items[0]["count"].is_u64(), "{arguments}");
        assert_eq!(items[0]["count"], json!(3));
        assert!(items[0]["weight"].is_f64(), "{arguments}");
        assert!(items[1]["count"].is_f64(), "{arguments}");
    }

    #[test]
    fn quoted_number_suggests_unquoting() {
        let text = problem(json!({"messageLimit": "50"}));
        assert!(text.contains("Send it as 50 without quotes."), "{text}");
    }

    #[test]
    fn nested_value_has_full_path() {
        let text = problem(json!({"components": [{"type": 7}]}));
        assert!(
            text.starts_with(
                "invalid argument `components[0].type`: must be one of \"header\", \"body\", \
                 got 7."
            ),
            "{text}"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let text = problem(json!({"components": [{}]}));
        assert_eq!(
            text,
            "missing argument `components[0].type` for test_tool: pass one of \"header\", \
             \"body\"."
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let text = problem(json!({"limit": 5}));
        assert!(
            text.starts_with("invalid argument `limit`: not an argument of this tool; remove it."),
            "{text}"
        );
        assert!(text.contains("messageLimit"), "{text}");
    }

    #[test]
    fn every_unknown_field_is_named() {
        let text = problem(json!({"limit": 5, "messageLimit": 2, "query": "x"}));
        assert!(
            text.starts_with(
                "invalid arguments `limit`, `query`: not arguments of this tool; remove them."
            ),
            "{text}"
        );
        assert!(text.contains("messageLimit"), "{text}");
    }

    #[test]
    fn unknown_fields_beyond_ten_are_counted() {
        let arguments: serde_json::Map<String, Value> = (0..12)
            .map(|index| (format!("extra{index:02}"), json!(1)))
            .collect();
        let text = problem(Value::Object(arguments));
        assert!(
            text.starts_with("invalid arguments `extra00`, `extra01`,"),
            "{text}"
        );
        assert!(
            text.contains("`extra09`: not arguments of this tool, and neither are 2 others;"),
            "{text}"
        );
        assert!(!text.contains("`extra10`"), "{text}");
    }

    #[test]
    fn without_schema_uses_serde_expectation() {
        let arguments = json!({"messageLimit": -1});
        let error = serde_path_to_error::deserialize::<_, Args>(&arguments).unwrap_err();
        let segments = error.path().iter().cloned().collect();
        let text = describe_problem(
            "test_tool",
            &arguments,
            None,
            segments,
            &error.inner().to_string(),
        );
        assert_eq!(
            text,
            "invalid argument `messageLimit`: must be u32, got -1."
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        let quoted = quote(&Value::String(long));
        assert_eq!(quoted.chars().count(), QUOTED_VALUE_CHARS);
        assert!(quoted.ends_with('…'));
    }
}
