"""Streamable HTTP behaviour of /api/mcp that clients depend on, checked
with raw HTTP requests."""

from __future__ import annotations

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
