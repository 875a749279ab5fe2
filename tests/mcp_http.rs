//! HTTP behaviour of `/api/mcp`: authentication challenges, discovery
//! documents, status codes, Accept handling, CORS, Host and Origin checks.

mod common;

use common::*;
use http::{Method, StatusCode};
use serde_json::{Value, json};

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "http-test", "version": "1"}
        }
    })
}

fn challenge(server: &Server) -> String {
    format!(
        "Bearer resource_metadata=\"{}\"",
        server.url("/.well-known/oauth-protected-resource/api/mcp")
    )
}

fn invalid_token_challenge(server: &Server) -> String {
    format!("{}, error=\"invalid_token\"", challenge(server))
}

#[tokio::test]
async fn missing_credentials_get_challenge() {
    let server = Server::start().await;
    let reply = server.post_mcp(None, &initialize()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(challenge(&server).as_str())
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["error"], "unauthorized");
}

#[tokio::test]
async fn bad_credentials_get_invalid_token() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let past = now() - 10;
    let (expired, _) = create_key(
        &server.store,
        &alice,
        KeyOptions {
            expires_at: Some(past),
            ..Default::default()
        },
    )
    .await;
    let (revoked, revoked_row) = create_key(&server.store, &alice, KeyOptions::default()).await;
    server
        .store
        .revoke_api_key(revoked_row.id.as_str(), now())
        .await
        .expect("revoke");
    let unknown = pons::apikey::generate().text;
    let mut mistyped = unknown.clone().into_bytes();
    mistyped[10] = if mistyped[10] == b'a' { b'b' } else { b'a' };
    let mistyped = String::from_utf8(mistyped).unwrap();

    let cases = [
        ("malformed", "Bearer pons_abc".to_owned()),
        ("mistyped", format!("Bearer {mistyped}")),
        ("unknown", format!("Bearer {unknown}")),
        ("expired", format!("Bearer {expired}")),
        ("revoked", format!("Bearer {revoked}")),
        ("basic scheme", "Basic YWxpY2U6c2VjcmV0".to_owned()),
    ];
    for (case, authorization) in cases {
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", authorization.as_str()),
        ];
        let reply = server
            .send(
                Method::POST,
                "/api/mcp",
                &headers,
                &initialize().to_string(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {}",
            reply.body
        );
        let expected = invalid_token_challenge(&server);
        assert_eq!(
            reply.header("www-authenticate"),
            Some(expected.as_str()),
            "{case}"
        );
        assert_eq!(reply.json()["error"], "invalid_token", "{case}");
    }
}

#[tokio::test]
async fn revocation_applies_to_next_request() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, row) = create_key(&server.store, &alice, KeyOptions::default()).await;
    assert_eq!(
        server.post_mcp(Some(&key), &initialize()).await.status,
        StatusCode::OK
    );
    server
        .store
        .revoke_api_key(&row.prefix, now())
        .await
        .expect("revoke");
    let reply = server.post_mcp(Some(&key), &initialize()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn successful_request_records_last_use() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, row) = create_key(&server.store, &alice, KeyOptions::default()).await;
    assert_eq!(row.last_used_at, None);
    let before = now();
    assert_eq!(
        server.post_mcp(Some(&key), &initialize()).await.status,
        StatusCode::OK
    );
    // The update runs in the background; poll the store until it lands.
    let recorded = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let keys = server.store.list_api_keys().await.expect("list keys");
            let used = keys
                .iter()
                .find(|k| k.id == row.id)
                .and_then(|k| k.last_used_at);
            if let Some(used) = used {
                return used;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("last_used_at is written");
    assert!(recorded >= before);
}

#[tokio::test]
async fn protected_resource_metadata() {
    let server = Server::start().await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/api/mcp",
    ] {
        let reply = server.send(Method::GET, path, &[], "").await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let document = reply.json();
        assert_eq!(document["resource"], server.url("/api/mcp"), "{path}");
        assert_eq!(
            document["authorization_servers"],
            json!([server.url("")]),
            "{path}"
        );
        assert_eq!(
            document["scopes_supported"],
            json!(["read", "write", "send"]),
            "{path}"
        );
        assert_eq!(
            document["bearer_methods_supported"],
            json!(["header"]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_well_known_is_json_404() {
    let server = Server::start().await;
    let reply = server
        .send(Method::GET, "/.well-known/nothing-here", &[], "")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["error"], "not_found");
}

#[tokio::test]
async fn merged_well_known_route_wins() {
    let extra = axum::Router::new().route(
        "/.well-known/oauth-authorization-server",
        axum::routing::get(|| async { axum::Json(json!({"issuer": "merged"})) }),
    );
    let server = Server::start_merged(|_| {}, extra).await;
    let path = "/.well-known/oauth-authorization-server";
    let reply = server.send(Method::GET, path, &[], "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["issuer"], "merged");
    let reply = server
        .send(Method::GET, "/.well-known/other", &[], "")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn initialize_accepts_any_accept_variant() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let cases = [
        ("application/json, text/event-stream", "application/json"),
        ("text/event-stream", "text/event-stream"),
        ("application/json", "application/json"),
    ];
    for (accept, content_type) in cases {
        let headers = [
            ("content-type", "application/json"),
            ("accept", accept),
            ("authorization", bearer.as_str()),
        ];
        let reply = server
            .send(
                Method::POST,
                "/api/mcp",
                &headers,
                &initialize().to_string(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "Accept {accept}: {}",
            reply.body
        );
        assert_eq!(
            reply.header("content-type"),
            Some(content_type),
            "Accept {accept}"
        );
        let result = &reply.json()["result"];
        assert_eq!(result["protocolVersion"], "2025-11-25", "Accept {accept}");
        assert_eq!(result["serverInfo"]["name"], "pons", "Accept {accept}");
        assert!(
            reply.header("mcp-session-id").is_none(),
            "stateless: no session id"
        );
    }
}

#[tokio::test]
async fn notification_gets_202_empty() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let body = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = server.post_mcp(Some(&key), &body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body, "");
}

#[tokio::test]
async fn get_and_delete_are_not_allowed() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");

    let anonymous = [("accept", "text/event-stream")];
    let reply = server.send(Method::GET, "/api/mcp", &anonymous, "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(challenge(&server).as_str())
    );

    let authorized = [
        ("accept", "text/event-stream"),
        ("authorization", bearer.as_str()),
    ];
    for method in [Method::GET, Method::DELETE] {
        let reply = server
            .send(method.clone(), "/api/mcp", &authorized, "")
            .await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header("allow"), Some("POST"), "{method}");
    }
}

#[tokio::test]
async fn malformed_bodies_get_400() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer.as_str()),
    ];
    let cases = [
        (
            "not JSON",
            "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\":",
            -32700,
        ),
        (
            "batch",
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
            -32600,
        ),
        ("not JSON-RPC", "{\"hello\": \"world\"}", -32600),
        (
            "no jsonrpc member",
            "{\"id\": 1, \"method\": \"tools/list\"}",
            -32600,
        ),
    ];
    for (case, body, code) in cases {
        let reply = server.send(Method::POST, "/api/mcp", &headers, body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{case}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"]["code"], json!(code), "{case}");
        assert_eq!(reply.json()["jsonrpc"], "2.0", "{case}");
        let message = reply.json()["error"]["message"].to_string();
        assert!(!message.contains("Params"), "{case}: {message}");
    }
    let reply = server
        .send(
            Method::POST,
            "/api/mcp",
            &headers,
            "{\"jsonrpc\": \"1.0\", \"id\": 2, \"method\": \"tools/list\"}",
        )
        .await;
    let error = reply.json()["error"].clone();
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"jsonrpc\" must be \"2.0\", got \"1.0\""),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_tool_call_gets_32602() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let cases = [
        (
            "arguments is an array",
            json!({"name": "list_conversations", "arguments": [1]}),
            "params.arguments must be an object",
        ),
        (
            "name is missing",
            json!({"arguments": {}}),
            "params.name is missing",
        ),
        (
            "name is a number",
            json!({"name": 7}),
            "params.name must be a string",
        ),
        ("params is an array", json!([]), "got an array"),
        ("params is a string", json!("x"), "got a string"),
        ("params is a number", json!(5), "got a number"),
    ];
    for (case, params, expected) in cases {
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params});
        let reply = server.post_mcp(Some(&key), &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{case}: {}", reply.body);
        let message = reply.json();
        assert_eq!(message["id"], json!(9), "{case}: {message}");
        assert_eq!(message["error"]["code"], json!(-32602), "{case}: {message}");
        let text = message["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(expected), "{case}: {text}");
    }

    // A client that accepts only SSE gets the error as an SSE event.
    let bearer = format!("Bearer {key}");
    let headers = [
        ("content-type", "application/json"),
        ("accept", "text/event-stream"),
        ("authorization", bearer.as_str()),
    ];
    let body = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {}});
    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &body.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        reply.json()["error"]["code"],
        json!(-32602),
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["id"], json!(4), "{}", reply.body);
}

#[tokio::test]
async fn malformed_tools_list_gets_32602() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let cases = [
        ("tools/list", json!(5), "params do not match tools/list"),
        ("tools/list", json!("x"), "params do not match tools/list"),
    ];
    for (method, params, expected) in cases {
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params});
        let reply = server.post_mcp(Some(&key), &body).await;
        let message = reply.json();
        assert_eq!(
            message["error"]["code"],
            json!(-32602),
            "{method} {params}: {message}"
        );
        let text = message["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(expected), "{method} {params}: {text}");
    }

    let body = json!({"jsonrpc": "2.0", "id": 6, "method": "no/such/method", "params": 5});
    let message = server.post_mcp(Some(&key), &body).await.json();
    assert_ne!(message["error"]["code"], json!(-32602), "{message}");
}

#[tokio::test]
async fn unknown_method_named_in_32601() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "foo/bar", "params": {}});
    let message = server.post_mcp(Some(&key), &body).await.json();
    assert_eq!(message["error"]["code"], json!(-32601), "{message}");
    let text = message["error"]["message"].as_str().unwrap_or_default();
    assert!(text.contains("Method not found: foo/bar"), "{text}");
    assert!(text.contains("tools/call"), "{text}");
}

#[tokio::test]
async fn unknown_tool_names_callable_tools() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(
        &server.store,
        &alice,
        KeyOptions {
            scopes: &["send"],
            ..Default::default()
        },
    )
    .await;
    let body = json!({
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "send_txt", "arguments": {}},
    });
    let reply = server.post_mcp(Some(&key), &body).await;
    let message = reply.json();
    assert_eq!(message["error"]["code"], json!(-32602), "{message}");
    let text = message["error"]["message"].as_str().unwrap_or_default();
    assert!(text.contains(r#"Unknown tool "send_txt""#), "{text}");
    assert!(
        text.contains("send_media, send_template, send_text"),
        "{text}"
    );
    assert!(!text.contains("list_conversations"), "{text}");
}

/// A lone surrogate escape, as a client sends after cutting a string
/// inside an emoji pair, becomes U+FFFD instead of failing the request.
#[tokio::test]
async fn lone_surrogate_argument_is_replaced() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let body = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search_messages","arguments":{"query":"hallo \ud83d"}}}"#;
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-11-25"),
        ("authorization", bearer.as_str()),
    ];
    let reply = server.send(Method::POST, "/api/mcp", &headers, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let message = reply.json();
    assert!(message.get("error").is_none(), "{message}");
    // The user is a member of no account, so the tool returns that error,
    // which shows that the call reached the tool.
    let text = message["result"]["content"][0]["text"].to_string();
    assert!(text.contains("reaches no WhatsApp account"), "{message}");
}

/// A lone surrogate escape in the arguments of a tool that sends to a
/// customer is rejected, because the customer would see U+FFFD.
#[tokio::test]
async fn lone_surrogate_in_send_rejected() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let headers = mcp_headers(&bearer, "2025-11-25", &[]);
    for (tool, arguments) in [
        (
            "send_text",
            r#"{"phone":"+15550100002","text":"hi \ud800 there"}"#,
        ),
        ("send_reaction", r#"{"wamid":"wamid.x","emoji":"\ude00"}"#),
        (
            "send_template",
            r#"{"phone":"+15550100002","templateName":"t","templateLanguage":"en","components":[{"type":"body","parameters":[{"type":"text","text":"\ud83d"}]}]}"#,
        ),
    ] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
        );
        let reply = server.send(Method::POST, "/api/mcp", &headers, &body).await;
        let message = reply.json();
        assert_eq!(message["error"]["code"], -32602, "{tool}: {message}");
        assert_eq!(message["id"], 7, "{tool}: {message}");
        let text = message["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains("lone UTF-16 surrogate"), "{tool}: {text}");
        assert!(text.contains("U+FFFD"), "{tool}: {text}");
        assert!(text.contains(tool), "{tool}: {text}");
    }
}

/// A request of the revisions with the initialize handshake whose
/// `MCP-Protocol-Version` names an unknown version gets 400 with the value
/// it sent and the versions it may send instead.
#[tokio::test]
async fn unsupported_version_lists_supported() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let headers = mcp_headers(&bearer, "1999-01-01", &[]);
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}});

    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &body.to_string())
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], json!(-32600), "{error}");
    let text = error["message"].as_str().unwrap_or_default();
    assert!(
        text.contains("MCP-Protocol-Version \"1999-01-01\" is not supported"),
        "{text}"
    );
    let supported = [
        "2024-11-05",
        "2025-03-26",
        "2025-06-18",
        "2025-11-25",
        "2026-07-28",
    ];
    for version in supported {
        assert!(text.contains(version), "{version} missing: {text}");
    }
    assert_eq!(error["data"]["requested"], json!("1999-01-01"), "{error}");
    assert_eq!(error["data"]["supported"], json!(supported), "{error}");
}

#[tokio::test]
async fn oversized_body_gets_413() {
    let server = Server::start_with(|settings| settings.max_body_bytes = 1024).await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let padding = "x".repeat(2048);
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"pad": padding}}});
    let reply = server.post_mcp(Some(&key), &body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn modern_discover_is_stateless() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");

    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "server/discover",
        "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "http-test", "version": "1"}
        }}
    });
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer.as_str()),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "server/discover"),
    ];
    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &body.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let result = &reply.json()["result"];
    let versions = result["supportedVersions"]
        .as_array()
        .expect("supportedVersions");
    assert!(versions.contains(&json!("2026-07-28")), "{result}");
    assert!(versions.contains(&json!("2025-11-25")), "{result}");
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
}

#[tokio::test]
async fn preflight_needs_no_credentials() {
    let server = Server::start().await;
    let headers = [
        ("origin", "http://localhost:6274"),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization, content-type, mcp-protocol-version",
        ),
    ];
    let reply = server.send(Method::OPTIONS, "/api/mcp", &headers, "").await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_lowercase();
    for name in [
        "authorization",
        "mcp-protocol-version",
        "mcp-session-id",
        "mcp-method",
        "mcp-name",
    ] {
        assert!(allowed.contains(name), "{name} missing from {allowed}");
    }
    let methods = reply.header("access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("POST"), "{methods}");
    assert!(
        !methods.contains("DELETE"),
        "stateless, no session to end: {methods}"
    );
    assert!(!methods.contains("GET"), "GET gets 405: {methods}");

    let reply = server
        .send(
            Method::POST,
            "/api/mcp",
            &[("origin", "http://localhost:6274")],
            "{}",
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap_or("")
        .to_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
    assert!(exposed.contains("mcp-session-id"), "{exposed}");
}

#[tokio::test]
async fn discovery_preflight_allows_get() {
    let server = Server::start().await;
    let headers = [
        ("origin", "http://localhost:6274"),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "mcp-protocol-version"),
    ];
    let path = "/.well-known/oauth-protected-resource/api/mcp";
    let reply = server.send(Method::OPTIONS, path, &headers, "").await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let methods = reply.header("access-control-allow-methods").unwrap_or("");
    assert!(methods.contains("GET"), "{methods}");
    assert!(!methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn unlisted_origin_is_forbidden() {
    let server = Server::start_with(|settings| {
        settings.allowed_origins = vec!["http://good.example:*".to_owned()];
    })
    .await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    for (origin, expected) in [
        ("http://good.example:8080", StatusCode::OK),
        ("https://evil.example", StatusCode::FORBIDDEN),
    ] {
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", bearer.as_str()),
            ("origin", origin),
        ];
        let reply = server
            .send(
                Method::POST,
                "/api/mcp",
                &headers,
                &initialize().to_string(),
            )
            .await;
        assert_eq!(reply.status, expected, "{origin}: {}", reply.body);
        if expected == StatusCode::FORBIDDEN {
            let text = reply.json()["error_description"].to_string();
            assert!(text.contains(origin), "{text}");
            assert!(text.contains("PONS_ALLOWED_ORIGINS"), "{text}");
        }
    }

    // The Origin is checked before the key, so a page of another origin
    // cannot learn whether a key it has is valid.
    for authorization in ["Bearer pons_not_a_key", ""] {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("origin", "https://evil.example"),
        ];
        if !authorization.is_empty() {
            headers.push(("authorization", authorization));
        }
        let reply = server
            .send(
                Method::POST,
                "/api/mcp",
                &headers,
                &initialize().to_string(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{authorization:?}");
    }
}

/// Sends `request` as written on a new connection to the server and
/// returns the status code of the response.
async fn raw_status(server: &Server, request: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the connection closed before a response");
        response.extend_from_slice(&buffer[..read]);
    }
    let status_line = String::from_utf8_lossy(&response);
    status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {status_line}"))
}

#[tokio::test]
async fn ambiguous_host_is_rejected() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let body = initialize().to_string();
    let request = |target: &str, hosts: &[&str]| {
        let mut text = format!("POST {target} HTTP/1.1\r\n");
        for host in hosts {
            text.push_str(&format!("Host: {host}\r\n"));
        }
        text.push_str(&format!(
            "Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ));
        text
    };

    let good = raw_status(&server, &request("/api/mcp", &["127.0.0.1"])).await;
    assert_eq!(good, 200);
    let twice = request("/api/mcp", &["127.0.0.1", "evil.example.com"]);
    assert_eq!(raw_status(&server, &twice).await, 400);
    let absolute = request("http://evil.example.com/api/mcp", &["127.0.0.1"]);
    assert_eq!(raw_status(&server, &absolute).await, 403);
}

#[tokio::test]
async fn foreign_host_is_forbidden() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer.as_str()),
        ("host", "evil.example.com"),
    ];
    let reply = server
        .send(
            Method::POST,
            "/api/mcp",
            &headers,
            &initialize().to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let text = reply.json()["error_description"].to_string();
    assert!(text.contains("evil.example.com"), "{text}");
    assert!(text.contains("PONS_ALLOWED_HOSTS"), "{text}");
    assert!(text.contains("PONS_PUBLIC_URL"), "{text}");
}

#[tokio::test]
async fn two_authorization_headers_get_400() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let valid = format!("Bearer {key}");
    let other = format!("Bearer {}", pons::apikey::generate().text);
    for (case, first, second) in [
        ("valid key first", valid.as_str(), other.as_str()),
        ("valid key twice", valid.as_str(), valid.as_str()),
    ] {
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", first),
            ("authorization", second),
        ];
        let reply = server
            .send(
                Method::POST,
                "/api/mcp",
                &headers,
                &initialize().to_string(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{case}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"], "invalid_request", "{case}");
        let text = reply.json()["error_description"].to_string();
        assert!(
            text.contains("send one Authorization header"),
            "{case}: {text}"
        );
    }
}

/// Builds the headers of a POST to `/api/mcp` with the `Authorization`
/// value `bearer`, the MCP protocol `version` and the `extra` headers.
fn mcp_headers<'a>(
    bearer: &'a str,
    version: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer),
        ("mcp-protocol-version", version),
    ];
    headers.extend_from_slice(extra);
    headers
}

#[tokio::test]
async fn deeply_nested_body_names_limit() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let headers = mcp_headers(&bearer, "2025-11-25", &[]);
    // The message object and params are two levels, so `levels` arrays in
    // params.x nest the whole body `levels + 2` deep.
    let ping = |levels: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{}{}}}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };

    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &ping(125))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.json()["result"].is_object(), "{}", reply.body);

    for levels in [126, 500] {
        let reply = server
            .send(Method::POST, "/api/mcp", &headers, &ping(levels))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["code"], json!(-32600), "{error}");
        let text = error["message"].as_str().unwrap_or_default();
        let depth = format!("{} levels deep", levels + 2);
        assert!(text.contains(&depth), "{text}");
        assert!(text.contains("at most 127 levels"), "{text}");
        assert!(!text.contains("Parse error"), "{text}");
    }
}

#[tokio::test]
async fn unreadable_content_gets_415() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let cases = [
        (
            "content-encoding",
            "gzip",
            "Content-Encoding \"gzip\"",
            "uncompressed",
        ),
        (
            "content-encoding",
            "identity, br",
            "Content-Encoding \"br\"",
            "uncompressed",
        ),
        (
            "content-type",
            "application/json; charset=utf-16",
            "charset \"utf-16\"",
            "UTF-8",
        ),
        (
            "content-type",
            "application/json;charset=\"ISO-8859-1\"",
            "charset \"ISO-8859-1\"",
            "UTF-8",
        ),
        (
            "content-type",
            "text/plain",
            "Content-Type \"text/plain\"",
            "Content-Type: application/json",
        ),
    ];
    for (name, value, named, fix) in cases {
        let mut headers = mcp_headers(&bearer, "2025-11-25", &[]);
        headers.retain(|(header, _)| *header != name);
        headers.push((name, value));
        let reply = server.send(Method::POST, "/api/mcp", &headers, ping).await;
        let case = format!("{name}: {value}");
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{case}: {}",
            reply.body
        );
        let error = &reply.json()["error"];
        assert_eq!(error["code"], json!(-32600), "{case}: {error}");
        let text = error["message"].as_str().unwrap_or_default();
        assert!(text.contains(named), "{case}: {text}");
        assert!(text.contains(fix), "{case}: {text}");
    }

    let mut headers = mcp_headers(&bearer, "2025-11-25", &[]);
    headers.retain(|(header, _)| *header != "content-type");
    let reply = server.send(Method::POST, "/api/mcp", &headers, ping).await;
    assert_eq!(
        reply.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        reply.body
    );
    let text = reply.json()["error"]["message"].to_string();
    assert!(text.contains("Content-Type header is missing"), "{text}");

    for (name, value) in [
        ("content-encoding", "identity"),
        ("content-type", "application/json; charset=UTF-8"),
    ] {
        let mut headers = mcp_headers(&bearer, "2025-11-25", &[]);
        headers.retain(|(header, _)| *header != name);
        headers.push((name, value));
        let reply = server.send(Method::POST, "/api/mcp", &headers, ping).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{name}: {value}: {}",
            reply.body
        );
    }
}

/// Returns the `_meta` that a 2026-07-28 request carries.
fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "http-test", "version": "1"}
    })
}

#[tokio::test]
async fn method_not_found_has_one_shape() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let legacy = [
        ("foo/bar", json!({})),
        ("resources/list", json!({})),
        ("prompts/get", json!({"name": "x"})),
        ("logging/setLevel", json!({"level": "info"})),
        ("tasks/get", json!({"taskId": "x"})),
        // Deliberately Method not found, as the 2026-07-28 conformance
        // checks require of initialize with malformed params.
        ("initialize", json!({"capabilities": {}})),
    ];
    for (method, params) in legacy {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        let headers = mcp_headers(&bearer, "2025-11-25", &[]);
        let reply = server
            .send(Method::POST, "/api/mcp", &headers, &body.to_string())
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.body);
        let message = reply.json();
        assert_eq!(message["id"], json!(7), "{method}: {message}");
        assert_eq!(
            message["error"]["code"],
            json!(-32601),
            "{method}: {message}"
        );
        let text = message["error"]["message"].as_str().unwrap_or_default();
        let expected = format!(
            "Method not found: {method} (MCP protocol version 2025-11-25); with that version this server serves initialize (with params.protocolVersion), ping, tools/list and tools/call"
        );
        assert_eq!(text, expected, "{method}");
    }

    for (method, mut params) in [
        ("ping", json!({})),
        ("foo/bar", json!({})),
        ("resources/list", json!({})),
        ("logging/setLevel", json!({"level": "info"})),
    ] {
        params["_meta"] = modern_meta();
        let body = json!({"jsonrpc": "2.0", "id": 8, "method": method, "params": params});
        let headers = mcp_headers(&bearer, "2026-07-28", &[("mcp-method", method)]);
        let reply = server
            .send(Method::POST, "/api/mcp", &headers, &body.to_string())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method}: {}",
            reply.body
        );
        let message = reply.json();
        assert_eq!(message["id"], json!(8), "{method}: {message}");
        assert_eq!(
            message["error"]["code"],
            json!(-32601),
            "{method}: {message}"
        );
        let text = message["error"]["message"].as_str().unwrap_or_default();
        let expected = format!(
            "Method not found: {method} (MCP protocol version 2026-07-28); with that version this server serves server/discover, tools/list and tools/call"
        );
        assert_eq!(text, expected, "{method}");
    }

    // A 2026-07-28 ping without `_meta` is still an unknown method, not a
    // request with malformed `_meta`.
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    let headers = mcp_headers(&bearer, "2026-07-28", &[("mcp-method", "ping")]);
    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &body.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(
        reply.json()["error"]["code"],
        json!(-32601),
        "{}",
        reply.body
    );

    // Without a protocol version the message names none.
    let body = json!({"jsonrpc": "2.0", "id": 10, "method": "foo/bar"});
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer.as_str()),
    ];
    let reply = server
        .send(Method::POST, "/api/mcp", &headers, &body.to_string())
        .await;
    let text = reply.json()["error"]["message"].to_string();
    assert!(
        text.contains("Method not found: foo/bar; this server serves initialize"),
        "{text}"
    );

    // ping in a legacy version still gets its empty result.
    let body = json!({"jsonrpc": "2.0", "id": 11, "method": "ping"});
    let reply = server.post_mcp(Some(&key), &body).await;
    assert_eq!(reply.json()["result"], json!({}), "{}", reply.body);
}

#[tokio::test]
async fn non_string_cursor_gets_32602() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    for (cursor, kind) in [
        (json!(5), "a number"),
        (json!({"page": 2}), "an object"),
        (json!(true), "a boolean"),
    ] {
        let body = json!({
            "jsonrpc": "2.0", "id": 12, "method": "tools/list", "params": {"cursor": cursor}
        });
        let message = server.post_mcp(Some(&key), &body).await.json();
        assert_eq!(message["id"], json!(12), "{cursor}: {message}");
        assert_eq!(
            message["error"]["code"],
            json!(-32602),
            "{cursor}: {message}"
        );
        let text = message["error"]["message"].as_str().unwrap_or_default();
        assert!(
            text.contains("cursor must be the string from nextCursor"),
            "{cursor}: {text}"
        );
        assert!(text.contains(&format!("got {kind}")), "{cursor}: {text}");
    }
    for params in [json!({}), json!({"cursor": null}), json!({"cursor": ""})] {
        let body = json!({"jsonrpc": "2.0", "id": 13, "method": "tools/list", "params": params});
        let message = server.post_mcp(Some(&key), &body).await.json();
        assert!(message["result"]["tools"].is_array(), "{params}: {message}");
    }
}

#[tokio::test]
async fn cursor_not_issued_gets_32602() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let body = json!({
        "jsonrpc": "2.0", "id": 14, "method": "tools/list", "params": {"cursor": "zzz"}
    });

    let message = server.post_mcp(Some(&key), &body).await.json();

    assert_eq!(message["error"]["code"], json!(-32602), "{message}");
    let text = message["error"]["message"].as_str().unwrap_or_default();
    assert!(text.contains("cursor \"zzz\" was not issued"), "{text}");
}

/// Returns the JSON text of the top-level `id` of a JSON or SSE reply,
/// exactly as the server wrote it.
fn raw_id(reply: &Reply) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        id: &'a serde_json::value::RawValue,
    }
    let message = reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix("data:").map(str::trim))
        .filter(|data| !data.is_empty())
        .unwrap_or(reply.body.as_str());
    let envelope: Envelope = serde_json::from_str(message)
        .unwrap_or_else(|error| panic!("no id in {}: {error}", reply.body));
    envelope.id.get().to_owned()
}

#[tokio::test]
async fn integer_ids_are_echoed_exactly() {
    let server = Server::start().await;
    let alice = create_user(&server.store, "alice@example.com").await;
    let (key, _) = create_key(&server.store, &alice, KeyOptions::default()).await;
    let bearer = format!("Bearer {key}");
    let ids = [
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "184467440737095516150",
        "-9223372036854775809",
    ];
    for accept in ["application/json", "text/event-stream"] {
        let headers = mcp_headers(&bearer, "2025-11-25", &[]);
        let mut headers: Vec<_> = headers
            .into_iter()
            .filter(|(n, _)| *n != "accept")
            .collect();
        headers.push(("accept", accept));
        for id in ids {
            let case = format!("{accept} {id}");
            let ping = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let reply = server.send(Method::POST, "/api/mcp", &headers, &ping).await;
            assert_eq!(reply.status, StatusCode::OK, "{case}: {}", reply.body);
            assert_eq!(raw_id(&reply), id, "{case}");
            assert_eq!(reply.json()["result"], json!({}), "{case}: {}", reply.body);

            // An error built before rmcp echoes the id too.
            let call =
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{}}}}"#);
            let reply = server.send(Method::POST, "/api/mcp", &headers, &call).await;
            assert_eq!(raw_id(&reply), id, "{case}: {}", reply.body);
            assert_eq!(reply.json()["error"]["code"], json!(-32602), "{case}");
        }
    }
}
