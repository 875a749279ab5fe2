"""Streamable HTTP behaviour of /api/mcp that clients depend on, checked
with raw HTTP requests."""

from __future__ import annotations

import json

import httpx2
import pytest

from conftest import OWNER, finish_stack, start_stack
from support.mcp import (
    ERAS,
    initialize_params,
    post_rpc,
    response_message,
    rpc_body,
    tool_names,
)


@pytest.fixture(scope="module")
def read_key(stack):
    return stack.admin.key_create(user=OWNER, scopes="read", name="transport").text


@pytest.mark.parametrize(
    "accept",
    ["application/json, text/event-stream", "text/event-stream", "application/json"],
)
def test_initialize_accept_variants(stack, read_key, accept):
    response = post_rpc(
        stack.server.mcp_url, read_key, rpc_body("initialize", initialize_params()), accept=accept
    )

    assert response.status_code == 200, f"{response.status_code} {response.text}"
    message = response_message(response)
    assert message["id"] == 1
    assert message["result"]["protocolVersion"] == "2025-11-25"
    assert "tools" in message["result"]["capabilities"]


def test_initialized_notification_gets_202(stack, read_key):
    body = rpc_body("notifications/initialized", request_id=None)
    response = post_rpc(
        stack.server.mcp_url, read_key, body, headers={"MCP-Protocol-Version": "2025-11-25"}
    )
    assert response.status_code == 202
    assert response.content == b""


def test_get_does_not_hang(stack, read_key):
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {read_key}"}
    with httpx2.stream("GET", stack.server.mcp_url, headers=headers, timeout=10) as response:
        if response.status_code == 405:
            assert "POST" in response.headers.get("allow", "")
        else:
            assert response.status_code == 200, response.status_code
            assert response.headers["content-type"].startswith("text/event-stream")


def test_get_without_credentials_gets_401(stack):
    response = httpx2.get(
        stack.server.mcp_url, headers={"Accept": "text/event-stream"}, timeout=10
    )
    assert response.status_code == 401
    assert response.headers.get("www-authenticate", "").startswith("Bearer")


def test_post_without_credentials_gets_401(stack):
    response = post_rpc(stack.server.mcp_url, None, rpc_body("initialize", initialize_params()))
    assert response.status_code == 401
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer")
    assert "resource_metadata=" in challenge


def test_unknown_key_gets_401(stack):
    fake = "pons_" + "A" * 43
    response = post_rpc(stack.server.mcp_url, fake, rpc_body("initialize", initialize_params()))
    assert response.status_code == 401
    assert response.headers.get("www-authenticate", "").startswith("Bearer")


def test_malformed_json_gets_parse_error(stack, read_key):
    response = post_rpc(stack.server.mcp_url, read_key, b'{"jsonrpc": "2.0", "method": ')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


@pytest.mark.parametrize("params", [[], [1, 2], "x", 7])
def test_ping_non_object_params_rejected(stack, read_key, params):
    body = {"jsonrpc": "2.0", "id": 5, "method": "ping", "params": params}
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        body,
        headers={"MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status_code == 200
    message = response_message(response)
    assert message["id"] == 5
    assert message["error"]["code"] == -32602
    assert "params of ping must be an object" in message["error"]["message"]


def test_unsupported_protocol_version_gets_json_rpc_error(stack, read_key):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("tools/list", {}),
        headers={"MCP-Protocol-Version": "1999-01-01"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == -32600
    assert "1999-01-01" in error["message"], error
    assert "supported versions: " in error["message"], error
    assert "2025-11-25" in error["message"], error
    assert "2026-07-28" in error["message"], error
    assert error["data"]["requested"] == "1999-01-01", error
    assert "2025-11-25" in error["data"]["supported"], error


def test_non_json_content_type_gets_json_rpc_error(stack, read_key):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("tools/list", {}),
        headers={"Content-Type": "text/plain", "MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == -32600
    assert error["message"], error


@pytest.mark.parametrize(
    ("header", "value", "named"),
    [
        ("Content-Encoding", "gzip", 'Content-Encoding "gzip"'),
        ("Content-Type", "application/json; charset=utf-16", 'charset "utf-16"'),
    ],
)
def test_unreadable_body_encoding_gets_415(stack, read_key, header, value, named):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("tools/list", {}),
        headers={header: value, "MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == -32600
    assert named in error["message"], error


def test_deep_nesting_names_limit(stack, read_key):
    deep = "[" * 300 + "]" * 300
    body = f'{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{deep}}}}}'.encode()
    response = post_rpc(stack.server.mcp_url, read_key, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == -32600
    assert "at most 127 levels" in error["message"], error


def test_modern_ping_is_method_not_found(stack, read_key):
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "1"},
    }
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("ping", {"_meta": meta}),
        headers={"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "ping"},
    )
    assert response.status_code == 404, response.text
    error = response_message(response)["error"]
    assert error["code"] == -32601
    assert error["message"].startswith(
        "Method not found: ping (MCP protocol version 2026-07-28)"
    ), error


@pytest.mark.parametrize("method", ["resources/list", "no/such/method"])
def test_legacy_method_not_found_names_method(stack, read_key, method):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body(method, {}),
        headers={"MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status_code == 200, response.text
    error = response_message(response)["error"]
    assert error["code"] == -32601
    assert error["message"].startswith(
        f"Method not found: {method} (MCP protocol version 2025-11-25)"
    ), error


def test_numeric_cursor_gets_invalid_params(stack, read_key):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("tools/list", {"cursor": 5}),
        headers={"MCP-Protocol-Version": "2025-11-25"},
    )
    error = response_message(response)["error"]
    assert error["code"] == -32602
    assert "cursor must be the string from nextCursor" in error["message"], error


@pytest.mark.parametrize("request_id", ["18446744073709551615", "123456789012345678901234567890"])
def test_wide_integer_id_is_echoed(stack, read_key, request_id):
    body = f'{{"jsonrpc":"2.0","id":{request_id},"method":"ping"}}'.encode()
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        body,
        headers={"MCP-Protocol-Version": "2025-11-25"},
    )
    assert response.status_code == 200, response.text
    # Python reads JSON integers exactly, so the id compares as a number.
    message = response.json()
    assert message["id"] == int(request_id), response.text
    assert message["result"] == {}


def test_two_authorization_headers_get_400(stack, read_key):
    headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", f"Bearer {read_key}"),
        ("Authorization", "Bearer pons_" + "A" * 43),
    ]
    response = httpx2.post(
        stack.server.mcp_url,
        content=json.dumps(rpc_body("initialize", initialize_params())).encode(),
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "send one Authorization header" in body["error_description"]


def test_foreign_host_is_rejected(stack, read_key):
    response = post_rpc(
        stack.server.mcp_url,
        read_key,
        rpc_body("initialize", initialize_params()),
        headers={"Host": "evil.example.com"},
    )
    assert response.status_code == 403


def test_configured_origins_are_enforced(backend_name, tmp_path):
    allowed = "https://app.example.com"
    stack = start_stack(backend_name, tmp_path, {"PONS_ALLOWED_ORIGINS": allowed})
    try:
        stack.add_standard_accounts()
        key = stack.admin.key_create(user=OWNER, scopes="read").text
        body = rpc_body("initialize", initialize_params())
        url = stack.server.mcp_url

        foreign = post_rpc(url, key, body, headers={"Origin": "https://evil.example.com"})
        listed = post_rpc(url, key, body, headers={"Origin": allowed})
        other_port = post_rpc(url, key, body, headers={"Origin": "https://app.example.com:8443"})
        no_origin = post_rpc(url, key, body)
    finally:
        finish_stack(stack)

    assert foreign.status_code == 403
    assert listed.status_code == 200
    assert other_port.status_code == 403, "another port is another origin"
    assert no_origin.status_code == 200


@pytest.mark.parametrize("mode", ERAS)
def test_read_key_lists_read_tools(stack, read_key, mode):
    names = tool_names(stack.server.mcp_url, read_key, mode)
    assert {"list_conversations", "list_unanswered", "get_conversation", "search_messages"} <= names
