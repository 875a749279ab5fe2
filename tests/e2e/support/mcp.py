"""MCP clients for the tests: the official Python SDK (`mcp` 2.3.0) in
both protocol eras, and raw JSON-RPC over HTTP for transport details the
SDK hides."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

# "legacy" runs the initialize handshake (2025-11-25 and earlier); the
# dated mode is the stateless 2026-07-28 protocol with per-request _meta.
ERAS = ("legacy", "2026-07-28")
BOTH_ACCEPT = "application/json, text/event-stream"
READ_TOOLS = {"list_conversations", "list_unanswered", "get_conversation", "search_messages"}


def run_session(url: str, key: str, mode: str, work: Callable[[Client], Awaitable[Any]]) -> Any:
    """Connect with the SDK using `key`, run `work(client)` and return its result."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(url, http_client=http)
            # No response cache: every call must reach the server, because
            # several tests change keys and memberships between calls.
            async with Client(transport, mode=mode, cache=None) as client:
                return await work(client)

    return anyio.run(main)


def call_tool(url: str, key: str, mode: str, name: str, arguments: dict | None = None):
    async def work(client: Client):
        return await client.call_tool(name, arguments or {})

    return run_session(url, key, mode, work)


def tool_names(url: str, key: str, mode: str) -> set[str]:
    async def work(client: Client):
        return {tool.name for tool in (await client.list_tools()).tools}

    return run_session(url, key, mode, work)


def result_text(result) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def structured(result) -> Any:
    """Return structuredContent of a successful tool result."""
    assert not result.is_error, f"tool failed: {result_text(result)}"
    assert result.structured_content is not None, "tool result has no structuredContent"
    return result.structured_content


def tool_error(result) -> str:
    """Return the text of a tool error, failing when the call succeeded."""
    assert result.is_error, f"expected a tool error, got {result.structured_content!r}"
    assert result.structured_content in (None, {}), (
        f"a refused call must carry no data, got {result.structured_content!r}"
    )
    return result_text(result)


def rpc_body(method: str, params: dict | None = None, request_id: int | None = 1) -> dict:
    body: dict = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        body["params"] = params
    if request_id is not None:
        body["id"] = request_id
    return body


def initialize_params() -> dict:
    return {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "pons-e2e", "version": "1.0.0"},
    }


def post_rpc(
    url: str,
    key: str | None,
    body: dict | bytes,
    *,
    accept: str | None = BOTH_ACCEPT,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """POST one JSON-RPC message (or raw bytes) to the MCP endpoint."""
    sent = {"Content-Type": "application/json"}
    if accept is not None:
        sent["Accept"] = accept
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    sent.update(headers or {})
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx2.post(url, content=content, headers=sent, timeout=30)


def response_message(response: httpx2.Response) -> dict:
    """Return the JSON-RPC message in a JSON or single-event SSE response."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return response.json()
    assert content_type.startswith("text/event-stream"), f"unexpected Content-Type {content_type!r}"
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no JSON-RPC message in the event stream: {response.text!r}")
