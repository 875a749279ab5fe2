//! The `/api/mcp` handler in front of rmcp: 405 for anything but POST,
//! `Accept` negotiation, 415 for a body that is not uncompressed UTF-8
//! JSON, the body limit, JSON-RPC parse errors as HTTP 400, -32602 for a
//! malformed `tools/call` or `tools/list`, and -32601 for a method this
//! server does not serve. The `Host` and `Origin`
//! checks run before it and before authentication (see `sources`).
//! Without it, rmcp 3.11 returns 406 unless both JSON and SSE are
//! accepted, and 415 for an unparsable body. rmcp's remaining plain-text
//! client errors are sent as JSON-RPC errors.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, JsonRpcMessage,
    PaginatedRequestParams, ProtocolVersion,
};
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::tower::StreamableHttpService;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::Arc;

use crate::echo::echoed;
use crate::store::DynStore;
use crate::tools::Sender;
use crate::whatsapp::surrogates::replace_lone_surrogates;

use super::McpSettings;
use super::rate::ToolRateLimit;
use super::server::{PonsMcp, is_stateless_version, method_not_found_message};
use super::sources::allowed_hosts;
use super::wide_id::WideId;

type Service = StreamableHttpService<PonsMcp, NeverSessionManager>;

/// Two stateless rmcp services over the same tools: one encodes plain
/// responses as `application/json`, the other as `text/event-stream`
/// for clients that accept only SSE.
pub(super) struct Endpoint {
    json: Service,
    sse: Service,
    max_body_bytes: usize,
}

impl Endpoint {
    pub(super) fn new(store: DynStore, sender: Sender, settings: &McpSettings) -> Self {
        let tools = PonsMcp::router();
        let rate_limit = ToolRateLimit::new(settings.tool_rate_per_minute).map(Arc::new);
        let factory = move || {
            Ok(PonsMcp::new(
                store.clone(),
                sender.clone(),
                rate_limit.clone(),
                tools.clone(),
            ))
        };
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_allowed_hosts(allowed_hosts(settings))
            .with_allowed_origins(
                settings
                    .allowed_origins
                    .iter()
                    .map(|entry| super::cors::with_explicit_port(entry))
                    .collect::<Vec<_>>(),
            )
            .with_max_request_body_bytes(settings.max_body_bytes);
        let never = Arc::new(NeverSessionManager::default());
        Endpoint {
            json: StreamableHttpService::new(
                factory.clone(),
                never.clone(),
                config.clone().with_json_response(true),
            ),
            sse: StreamableHttpService::new(factory, never, config.with_json_response(false)),
            max_body_bytes: settings.max_body_bytes,
        }
    }
}

/// Encoding of the response to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResponseMode {
    Json,
    Sse,
}

/// Serves one request to `/api/mcp`. Authentication has already run.
pub(super) async fn handle(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    if request.method() != Method::POST {
        return method_not_allowed();
    }
    let (mut parts, body) = request.into_parts();
    let Some(mode) = response_mode(&parts.headers) else {
        return not_acceptable();
    };
    // rmcp requires both types in `Accept`; the mode picks the service that
    // encodes the response the way this client asked.
    parts.headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    if let Some(rejection) = content_rejection(&parts.headers) {
        return rejection;
    }
    let bytes = match read_body(body, endpoint.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    // A client that cut a string inside an emoji pair sends a lone
    // surrogate escape, which serde_json rejects with the whole request.
    // It becomes U+FFFD, as in webhooks.
    let bytes = match replace_lone_surrogates(&bytes) {
        Cow::Borrowed(_) => bytes,
        Cow::Owned(replaced) => {
            let replaced = Bytes::from(replaced);
            if let Some(rejection) = replaced_surrogate_rejection(&replaced, mode) {
                return rejection;
            }
            replaced
        }
    };
    let Some((bytes, wide_id)) = WideId::substitute(&bytes) else {
        return respond(&endpoint, parts, bytes, mode).await;
    };
    let response = respond(&endpoint, parts, bytes, mode).await;
    wide_id.restore(response).await
}

/// Rejects a call of a tool that sends to a customer when a lone surrogate
/// escape in its arguments became U+FFFD (`bytes` is the body after that
/// replacement). The customer would see the replacement character where the
/// client meant another one. A U+FFFD that the client sent itself in the
/// same arguments is rejected too, which only a request with a lone
/// surrogate can cause.
fn replaced_surrogate_rejection(bytes: &[u8], mode: ResponseMode) -> Option<Response> {
    let Ok(JsonRpcMessage::Request(request)) =
        serde_json::from_slice::<ClientJsonRpcMessage>(bytes)
    else {
        return None;
    };
    let ClientRequest::CallToolRequest(call) = &request.request else {
        return None;
    };
    if !crate::tools::sends_to_customer(&call.params.name) {
        return None;
    }
    let (argument, _) = call
        .params
        .arguments
        .as_ref()?
        .iter()
        .find(|(_, value)| has_replacement_character(value))?;
    let problem = format!(
        "argument `{argument}` of {} contains a lone UTF-16 surrogate escape (such as \\ud83d \
         without its pair), which is no character, and the customer would see U+FFFD in its \
         place; send the whole character as UTF-8 or as a surrogate pair, or remove it",
        call.params.name
    );
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    Some(invalid_params_response(id, &problem, mode))
}

/// Tells whether a string anywhere in `value` contains U+FFFD.
fn has_replacement_character(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\u{fffd}'),
        Value::Array(items) => items.iter().any(has_replacement_character),
        Value::Object(fields) => fields.values().any(has_replacement_character),
        _ => false,
    }
}

/// Serves one JSON-RPC message: rejects it here when it is malformed or
/// names a method this server does not serve, and passes it to rmcp otherwise.
async fn respond(
    endpoint: &Endpoint,
    parts: http::request::Parts,
    bytes: Bytes,
    mode: ResponseMode,
) -> Response {
    if let Some(rejection) = json_rpc_rejection(&bytes, &parts.headers, mode) {
        return rejection;
    }
    let declared_version = parts.headers.get(MCP_PROTOCOL_VERSION).cloned();
    let request = Request::from_parts(parts, Full::new(bytes));
    let service = match mode {
        ResponseMode::Json => &endpoint.json,
        ResponseMode::Sse => &endpoint.sse,
    };
    let response = service.handle(request).await.map(Body::new);
    as_json_rpc_error(response, declared_version.as_ref()).await
}

/// The header in which a request declares its MCP protocol version.
const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// Start of rmcp 3.11's plain-text rejection of a request whose
/// `MCP-Protocol-Version` header names a version it does not know.
const RMCP_UNSUPPORTED_VERSION: &str = "Bad Request: Unsupported MCP-Protocol-Version";

/// Maximum length of a plain-text error body from rmcp that is carried over.
const MAX_PLAIN_ERROR_BYTES: usize = 4096;

/// Turns a plain-text client error from rmcp into a JSON-RPC error with the
/// same status and text, so that a client parsing every response as
/// JSON-RPC gets the reason. rmcp sends such errors with 415 for a body that
/// is not JSON and 400 for an unsupported `MCP-Protocol-Version`. The
/// latter's text is replaced by one that names `declared_version`, the
/// request's header, and lists the supported versions. Other responses
/// pass unchanged.
async fn as_json_rpc_error(response: Response, declared_version: Option<&HeaderValue>) -> Response {
    let status = response.status();
    let is_plain_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("text/plain")
        });
    if !status.is_client_error() || !is_plain_text {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match Limited::new(body, MAX_PLAIN_ERROR_BYTES).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Err(error) => {
            tracing::warn!(%error, %status, "reading rmcp's plain-text error body failed");
            String::new()
        }
    };
    let unsupported_version = declared_version.filter(|_| {
        status == StatusCode::BAD_REQUEST && text.starts_with(RMCP_UNSUPPORTED_VERSION)
    });
    let error = match unsupported_version {
        Some(version) => unsupported_version_error(version),
        None if text.is_empty() => {
            let reason = status.canonical_reason().unwrap_or("request refused");
            json!({ "code": -32600, "message": reason })
        }
        None => json!({ "code": -32600, "message": text }),
    };
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": error,
    });
    (parts.status, axum::Json(body)).into_response()
}

/// Builds the JSON-RPC error object for a request whose
/// `MCP-Protocol-Version` header names `version`, which this server does
/// not support. Its `data` has the shape that rmcp 3.11 gives the
/// unsupported-version error of revision 2026-07-28: `requested` and
/// `supported`. rmcp's header check accepts exactly
/// [`ProtocolVersion::KNOWN_VERSIONS`], which are also the versions this
/// server negotiates.
fn unsupported_version_error(version: &HeaderValue) -> Value {
    let requested = echoed(&String::from_utf8_lossy(version.as_bytes()));
    let supported: Vec<&str> = ProtocolVersion::KNOWN_VERSIONS
        .iter()
        .map(ProtocolVersion::as_str)
        .collect();
    let message = format!(
        "Bad Request: MCP-Protocol-Version \"{requested}\" is not supported; send one of the \
         supported versions: {}",
        supported.join(", ")
    );
    json!({
        "code": -32600,
        "message": message,
        "data": { "requested": requested, "supported": supported },
    })
}

/// Picks the response encoding from `Accept`; JSON wins when both are
/// acceptable. A missing header accepts anything. `None` when neither is.
fn response_mode(headers: &HeaderMap) -> Option<ResponseMode> {
    let mut ranges: Vec<String> = Vec::new();
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',') {
            let mut params = entry.split(';');
            let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
            // A range with weight 0 is explicitly refused (RFC 9110 section 12.4.2).
            let refused = params.any(|param| {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                name.trim().eq_ignore_ascii_case("q")
                    && value.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
            });
            if !essence.is_empty() && !refused {
                ranges.push(essence);
            }
        }
    }
    if headers.get(header::ACCEPT).is_none() {
        ranges.push("*/*".to_owned());
    }
    let accepts = |types: [&str; 3]| ranges.iter().any(|r| types.contains(&r.as_str()));
    if accepts(["application/json", "application/*", "*/*"]) {
        Some(ResponseMode::Json)
    } else if accepts(["text/event-stream", "text/*", "*/*"]) {
        Some(ResponseMode::Sse)
    } else {
        None
    }
}

/// Builds the 415 response to a body this endpoint cannot read: one that is
/// compressed, not declared as `application/json`, or declared in a charset
/// other than UTF-8 (RFC 8259 requires UTF-8 for JSON exchanged between
/// systems). rmcp 3.11 repeats the `Content-Type` check afterwards, with a
/// message that names neither the value nor the fix.
fn content_rejection(headers: &HeaderMap) -> Option<Response> {
    let problem = content_encoding_problem(headers).or_else(|| content_type_problem(headers))?;
    let mut response = json_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        -32600,
        None,
        format!("Unsupported Media Type: {problem}"),
    );
    // RFC 7694: a 415 for a content coding lists the codings the server reads.
    response.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Some(response)
}

/// Explains why the body's `Content-Encoding` cannot be read, unless it is
/// absent or `identity`.
fn content_encoding_problem(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes());
        let coding = text
            .split(',')
            .map(str::trim)
            .find(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
        if let Some(coding) = coding {
            return Some(format!(
                "Content-Encoding \"{}\" is not supported; send the body uncompressed, \
                 without a Content-Encoding header",
                echoed(coding)
            ));
        }
    }
    None
}

/// Explains why the body's `Content-Type` is not UTF-8 JSON, or returns
/// `None` for `application/json` with no charset or with `charset=utf-8`.
fn content_type_problem(headers: &HeaderMap) -> Option<String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Some(
            "the Content-Type header is missing; send the JSON-RPC message with \
             Content-Type: application/json"
                .to_owned(),
        );
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let mut params = value.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Some(format!(
            "Content-Type \"{}\" is not supported; send the JSON-RPC message with \
             Content-Type: application/json",
            echoed(essence)
        ));
    }
    let charset = params.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })?;
    if charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    Some(format!(
        "charset \"{}\" is not supported; encode the body as UTF-8 and send \
         Content-Type: application/json (charset=utf-8 is accepted too)",
        echoed(charset)
    ))
}

/// Reads the whole body, returning a 413 response above the limit.
async fn read_body(body: Body, max_bytes: usize) -> Result<Bytes, Response> {
    match Limited::new(body, max_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            -32600,
            None,
            format!("request body exceeds {max_bytes} bytes"),
        )),
        Err(error) if crate::http::body_timed_out(error.as_ref()) => {
            tracing::warn!("MCP request body timed out and was rejected with 408");
            Err(json_error(
                StatusCode::REQUEST_TIMEOUT,
                -32600,
                None,
                "request body timed out: the client paused longer than the read timeout; send \
                 the body without pauses, or raise PONS_READ_TIMEOUT_SECONDS (or \
                 --read-timeout-seconds)"
                    .into(),
            ))
        }
        Err(error) => {
            tracing::debug!(%error, "failed to read MCP request body");
            Err(json_error(
                StatusCode::BAD_REQUEST,
                -32600,
                None,
                "failed to read request body".into(),
            ))
        }
    }
}

/// Builds the 400 response to a body that is not one MCP JSON-RPC message:
/// JSON-RPC -32700 when it is not JSON, -32600 otherwise (batches and
/// bodies nested too deeply included). A `tools/call` or `tools/list` with
/// malformed params gets -32602 (see [`invalid_params_rejection`]), and a
/// method this server does not serve gets -32601 (see
/// [`method_not_found_rejection`]). Returns `None` for a valid message.
fn json_rpc_rejection(bytes: &[u8], headers: &HeaderMap, mode: ResponseMode) -> Option<Response> {
    let error = match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(message) => {
            return invalid_params_rejection(&message, bytes, mode)
                .or_else(|| method_not_found_rejection(&message, bytes, headers, mode));
        }
        Err(error) => error,
    };
    let value = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value,
        Err(parse) => return Some(not_json_response(bytes, &parse)),
    };
    let id = value
        .get("id")
        .cloned()
        .filter(|id| id.is_string() || id.is_number());
    if value.is_object() && value.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        let message = format!(
            "Invalid Request: \"jsonrpc\" must be \"2.0\", got {}; add \"jsonrpc\": \"2.0\" to \
             the message",
            value
                .get("jsonrpc")
                .map_or("nothing".to_owned(), |got| echoed(&got.to_string()))
        );
        return Some(json_error(StatusCode::BAD_REQUEST, -32600, id, message));
    }
    // rmcp cannot parse a request whose params are not an object at all.
    if let Some(id) = &id
        && let Some(method) = value.get("method").and_then(Value::as_str)
        && !value.get("params").is_some_and(Value::is_object)
        && let Some(problem) = params_problem(method, value.get("params"))
            .or_else(|| params_not_an_object(method, value.get("params")))
    {
        return Some(invalid_params_response(id.clone(), &problem, mode));
    }
    let message = if value.is_array() {
        "Invalid Request: JSON-RPC batches are not supported; send one message per POST".to_owned()
    } else {
        format!("Invalid Request: the body is not an MCP JSON-RPC 2.0 message ({error})")
    };
    Some(json_error(StatusCode::BAD_REQUEST, -32600, id, message))
}

/// Maximum nesting of arrays and objects that serde_json 1.x parses: its
/// recursion limit of 128 rejects the 128th level.
const MAX_JSON_NESTING: usize = 127;

/// Builds the 400 response to a body serde_json could not parse: -32600
/// naming the limit when the body nests deeper than serde_json parses, and
/// -32700 (Parse error) otherwise.
fn not_json_response(bytes: &[u8], parse: &serde_json::Error) -> Response {
    let nesting = max_nesting(bytes);
    if nesting > MAX_JSON_NESTING {
        let message = format!(
            "Invalid Request: the body nests arrays and objects {nesting} levels deep, but \
             this server parses at most {MAX_JSON_NESTING} levels; send the message with \
             less deeply nested params"
        );
        return json_error(StatusCode::BAD_REQUEST, -32600, None, message);
    }
    let message = format!("Parse error: the body is not valid JSON ({parse})");
    json_error(StatusCode::BAD_REQUEST, -32700, None, message)
}

/// Counts the deepest nesting of arrays and objects in a JSON text,
/// skipping string contents. The text need not be valid JSON.
fn max_nesting(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Builds the -32602 (Invalid params) response to a `tools/list` or
/// `tools/call` whose params lack the shape MCP requires. `initialize` is
/// left to rmcp, because revision 2026-07-28 removed it and a server must
/// then reply to it with 404 and -32601 whatever its params.
/// rmcp 3.11 parses such a request as a custom method and would return
/// -32601 (Method not found), and it reads a `tools/list` whose `cursor` is
/// not a string as one without params. The HTTP status is 200, as for the
/// other JSON-RPC errors rmcp returns.
fn invalid_params_rejection(
    message: &ClientJsonRpcMessage,
    bytes: &[u8],
    mode: ResponseMode,
) -> Option<Response> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let problem = match &request.request {
        ClientRequest::CustomRequest(custom) => {
            params_problem(&custom.method, custom.params.as_ref())?
        }
        ClientRequest::ListToolsRequest(_) => cursor_problem(bytes)?,
        _ => return None,
    };
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    Some(invalid_params_response(id, &problem, mode))
}

/// Explains that `params.cursor` of a list request must be a string, or
/// returns `None` when it is one, `null` or absent.
fn cursor_problem(bytes: &[u8]) -> Option<String> {
    let value = serde_json::from_slice::<Value>(bytes).ok()?;
    let cursor = value.get("params")?.get("cursor")?;
    if cursor.is_null() || cursor.as_str() == Some("") {
        return None;
    }
    // This server lists every tool on one page and issues no cursor, so
    // any string is one it did not issue.
    if let Some(text) = cursor.as_str() {
        return Some(format!(
            "cursor \"{}\" was not issued by this server, which lists every tool on one \
             page without nextCursor; leave cursor out",
            echoed(text)
        ));
    }
    Some(format!(
        "cursor must be the string from nextCursor of the previous page, got {}; leave \
         cursor out to get the first page",
        json_kind(cursor)
    ))
}

/// Builds the -32601 (Method not found) response to a request for a method
/// this server does not serve in the protocol version the request uses.
/// It serves `initialize`, `ping`, `server/discover`, `tools/list` and
/// `tools/call`, but not `ping` from 2026-07-28 on, because that revision
/// removed it. A request whose params rmcp could not parse for its method
/// counts as unknown too (`initialize` without `protocolVersion`, for
/// example). The status is 404 from 2026-07-28 on, as that revision
/// requires, and 200 before, as rmcp sends it. A request with an unknown
/// `MCP-Protocol-Version` is left to rmcp, which rejects it with 400.
fn method_not_found_rejection(
    message: &ClientJsonRpcMessage,
    bytes: &[u8],
    headers: &HeaderMap,
    mode: ResponseMode,
) -> Option<Response> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let method = request.request.method();
    let parsed = !matches!(request.request, ClientRequest::CustomRequest(_));
    let served_in_every_version = matches!(
        method,
        "initialize" | "server/discover" | "tools/list" | TOOLS_CALL
    );
    if parsed && served_in_every_version {
        return None;
    }

    let version = requested_version(headers, bytes);
    if version
        .as_deref()
        .is_some_and(|version| !is_known_version(version))
    {
        return None;
    }
    let stateless = is_stateless_version(version.as_deref());
    if parsed && method == "ping" && !stateless {
        return None;
    }

    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    let message = method_not_found_message(method, version.as_deref());
    let status = if stateless {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Some(json_rpc_error_response(status, id, -32601, &message, mode))
}

/// Returns the MCP protocol version a request declares: its
/// `MCP-Protocol-Version` header, or else the version in `params._meta`.
fn requested_version(headers: &HeaderMap, bytes: &[u8]) -> Option<String> {
    if let Some(value) = headers.get(MCP_PROTOCOL_VERSION) {
        return Some(String::from_utf8_lossy(value.as_bytes()).trim().to_owned());
    }
    let value = serde_json::from_slice::<Value>(bytes).ok()?;
    value
        .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")?
        .as_str()
        .map(str::to_owned)
}

fn is_known_version(version: &str) -> bool {
    ProtocolVersion::KNOWN_VERSIONS
        .iter()
        .any(|known| known.as_str() == version)
}

/// Encodes a -32602 (Invalid params) error as the client asked, with HTTP
/// status 200 as rmcp sends its other JSON-RPC errors.
fn invalid_params_response(id: Value, problem: &str, mode: ResponseMode) -> Response {
    let message = format!("Invalid params: {problem}");
    json_rpc_error_response(StatusCode::OK, id, -32602, &message, mode)
}

/// Encodes a JSON-RPC error response to a request as the client asked.
fn json_rpc_error_response(
    status: StatusCode,
    id: Value,
    code: i64,
    message: &str,
    mode: ResponseMode,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    });
    match mode {
        ResponseMode::Json => (status, axum::Json(body)).into_response(),
        ResponseMode::Sse => (
            status,
            [(header::CONTENT_TYPE, "text/event-stream")],
            format!("event: message\ndata: {body}\n\n"),
        )
            .into_response(),
    }
}

/// The JSON-RPC method of a tool call.
const TOOLS_CALL: &str = "tools/call";

/// Explains what is wrong with the params of a method this server handles,
/// or returns `None` for another method, which stays -32601.
fn params_problem(method: &str, params: Option<&Value>) -> Option<String> {
    match method {
        TOOLS_CALL => Some(tool_call_params_problem(params)),
        "tools/list" => Some(shape_problem::<PaginatedRequestParams>(method, params)),
        _ => None,
    }
}

/// Explains that the params of `ping` must be an object when they are
/// present and something else, such as an array. The tool methods have
/// their own checks above. Any other method is left to rmcp: an unknown one
/// must get -32601 (Method not found) whatever its params, and so must
/// `initialize` in revision 2026-07-28.
fn params_not_an_object(method: &str, params: Option<&Value>) -> Option<String> {
    let params = params.filter(|params| !params.is_object())?;
    (method == "ping").then(|| {
        format!(
            "params of {} must be an object, got {}; leave them out when the method \
             takes none",
            echoed(method),
            json_kind(params)
        )
    })
}

/// Quotes serde's reason why `params` do not decode as `T`.
fn shape_problem<T: serde::de::DeserializeOwned>(method: &str, params: Option<&Value>) -> String {
    let value = params.cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<T>(value) {
        Err(error) => format!("params do not match {method}: {error}"),
        Ok(_) => format!("params do not match {method}"),
    }
}

/// Explains what is wrong with the params of a `tools/call` and how to fix it.
fn tool_call_params_problem(params: Option<&Value>) -> String {
    let Some(Value::Object(params)) = params else {
        return format!(
            "tools/call needs params as an object with the tool's name in `name` and its \
             arguments in `arguments`, got {}",
            params.map_or("no params", json_kind)
        );
    };
    match params.get("name") {
        None => {
            return "params.name is missing; set it to the name of the tool to call, as \
                    tools/list returns it"
                .to_owned();
        }
        Some(Value::String(_)) => {}
        Some(other) => {
            return format!(
                "params.name must be a string naming the tool, got {}",
                json_kind(other)
            );
        }
    }
    match params.get("arguments") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => {
            return format!(
                "params.arguments must be an object that maps argument names to values, \
                 for example {{\"limit\": 20}}, got {}",
                json_kind(other)
            );
        }
    }
    match serde_json::from_value::<CallToolRequestParams>(Value::Object(params.clone())) {
        Err(error) => format!("params do not match tools/call: {error}"),
        Ok(_) => "params do not match tools/call".to_owned(),
    }
}

/// Names the JSON type of a value, with an article.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Builds an HTTP response whose body is a JSON-RPC error object.
fn json_error(
    status: StatusCode,
    code: i64,
    id: Option<serde_json::Value>,
    message: String,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

fn method_not_allowed() -> Response {
    let body = json!({
        "error": "method_not_allowed",
        "error_description": "this MCP endpoint is stateless and serves only POST; \
                              it opens no standalone SSE stream and has no session to delete",
    });
    let mut response = (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

fn not_acceptable() -> Response {
    json_error(
        StatusCode::NOT_ACCEPTABLE,
        -32600,
        None,
        "Not Acceptable: Accept must include application/json or text/event-stream".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn response_mode_from_accept() {
        let both = accept("application/json, text/event-stream");
        assert_eq!(response_mode(&both), Some(ResponseMode::Json));
        assert_eq!(
            response_mode(&accept("text/event-stream")),
            Some(ResponseMode::Sse)
        );
        assert_eq!(
            response_mode(&accept("application/json")),
            Some(ResponseMode::Json)
        );
        assert_eq!(response_mode(&accept("*/*")), Some(ResponseMode::Json));
        assert_eq!(response_mode(&HeaderMap::new()), Some(ResponseMode::Json));
        assert_eq!(response_mode(&accept("text/html")), None);
        let refused = accept("application/json;q=0, text/event-stream");
        assert_eq!(response_mode(&refused), Some(ResponseMode::Sse));
    }

    #[test]
    fn parse_errors_are_distinguished() {
        let ping = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(json_rpc_rejection(ping, &HeaderMap::new(), ResponseMode::Json).is_none());
        let not_json =
            json_rpc_rejection(b"{not json", &HeaderMap::new(), ResponseMode::Json).unwrap();
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let batch = json_rpc_rejection(batch, &HeaderMap::new(), ResponseMode::Json).unwrap();
        assert_eq!(batch.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn tool_call_params_problems() {
        let problem = |params: Value| tool_call_params_problem(Some(&params));
        let text = problem(json!({"arguments": {}}));
        assert!(text.starts_with("params.name is missing"), "{text}");
        let text = problem(json!({"name": 5}));
        assert!(text.ends_with("got a number"), "{text}");
        let text = problem(json!({"name": "list_conversations", "arguments": [1]}));
        assert!(
            text.starts_with("params.arguments must be an object"),
            "{text}"
        );
        assert!(text.ends_with("got an array"), "{text}");
        let text = tool_call_params_problem(None);
        assert!(text.ends_with("got no params"), "{text}");
        let text = problem(json!([]));
        assert!(text.ends_with("got an array"), "{text}");
    }
}
