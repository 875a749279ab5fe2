"""Health endpoints, a clean stop on SIGTERM, and SIGHUP ignored."""

from __future__ import annotations

import signal
import socket
import threading

import httpx2

from conftest import finish_stack, start_stack


def test_health_endpoints(stack):
    healthz = httpx2.get(f"{stack.server.url}/healthz", timeout=10)
    readyz = httpx2.get(f"{stack.server.url}/readyz", timeout=10)
    assert healthz.status_code == 200
    assert readyz.status_code == 200


def test_unknown_path_gets_json_404(stack):
    for path in ["/api/mcp/", "/nothing", "/.well-known", "/.well-known/"]:
        response = httpx2.get(f"{stack.server.url}{path}", timeout=10)

        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json", path
        body = response.json()
        assert body["error"] == "not_found", body
        assert f"no endpoint at {path};" in body["error_description"], body
        assert "MCP endpoint at /api/mcp" in body["error_description"], body


def test_sigterm_stops_with_exit_code_zero(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path)
    try:
        log_start = len(stack.server.lines)
        code = stack.stop()
    finally:
        stack.backend.drop()

    assert code == 0, stack.server.log_tail()
    stopped = stack.server.wait_for_log(
        lambda fields: fields.get("message") == "pons stopped", 5, start_at=log_start
    )
    assert stopped["level"] == "INFO"


def test_sighup_is_logged_and_ignored(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path)
    try:
        log_start = len(stack.server.lines)
        stack.server.process.send_signal(signal.SIGHUP)

        ignored = stack.server.wait_for_log(
            lambda fields: "SIGHUP" in str(fields), 10, start_at=log_start
        )
        assert ignored["level"] == "WARN", ignored
        assert "restart" in ignored["fields"]["message"], ignored
        assert httpx2.get(f"{stack.server.url}/healthz", timeout=10).status_code == 200
        code = stack.stop()
    finally:
        stack.backend.drop()

    assert code == 0, stack.server.log_tail()


def test_unwritable_media_folder_is_logged(backend_name, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "media").write_text("a file where the media folder belongs")
    stack = start_stack(backend_name, tmp_path)
    try:
        warning = stack.server.wait_for_log(
            lambda fields: "media folder" in fields.get("message", ""), 10
        )
        assert warning["level"] == "WARN", warning
        assert warning["folder"].endswith("media"), warning
        assert "write access" in warning["message"], warning
    finally:
        finish_stack(stack)


def read_until_closed(sock: socket.socket) -> bytes:
    """Return everything the server sends until it closes the connection.

    The socket's own timeout bounds each wait, so a server that never closes
    fails the test instead of hanging it.
    """
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_slow_clients_are_disconnected(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path, {"PONS_READ_TIMEOUT_SECONDS": "1"})
    try:
        host, port = stack.server.addr.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=60) as headers_only:
            headers_only.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert b"200 OK" not in read_until_closed(headers_only)

        with socket.create_connection((host, int(port)), timeout=60) as half_body:
            half_body.sendall(
                b"POST /api/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n"
                # A signature header of the right form, without which the
                # body would be rejected before it is read.
                b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n\r\n{\"object\":"
            )
            reply = read_until_closed(half_body)
            assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
            assert b"PONS_READ_TIMEOUT_SECONDS" in reply, reply

        stack.admin.user_add("stall@example.com")
        key = stack.admin.key_create(user="stall@example.com", scopes="read", name="stall").text
        with socket.create_connection((host, int(port)), timeout=60) as half_call:
            half_call.sendall(
                b"POST /api/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\n"
                b"Content-Type: application/json\r\n"
                b"Accept: application/json, text/event-stream\r\n"
                b"Content-Length: 100\r\n\r\n{\"jsonrpc\":"
            )
            reply = read_until_closed(half_call)
            assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
            assert b"PONS_READ_TIMEOUT_SECONDS" in reply, reply

        # The server still serves complete requests.
        assert httpx2.get(f"{stack.server.url}/healthz", timeout=10).status_code == 200
    finally:
        finish_stack(stack)


def test_clients_that_stop_reading_are_disconnected(backend_name, tmp_path):
    env = {"PONS_READ_TIMEOUT_SECONDS": "1", "PONS_LOG": "info,pons::http::serve=debug"}
    stack = start_stack(backend_name, tmp_path, env)
    try:
        host, port = stack.server.addr.rsplit(":", 1)
        requests = 200_000
        pipelined = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * requests
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(60)
        sock.connect((host, int(port)))
        with sock:
            # The server stops reading requests once its writes stall, so
            # the requests go out from a thread that may block.
            sender = threading.Thread(target=send_ignoring_reset, args=(sock, pipelined))
            sender.start()
            stack.server.wait_for_log(
                lambda fields: fields.get("message") == "connection ended with an error", 60
            )
            answered = read_until_closed_or_reset(sock).count(b"HTTP/1.1 200")
            sender.join(60)
        assert answered < requests, "the server wrote every response to a client that stalled"
        assert httpx2.get(f"{stack.server.url}/healthz", timeout=10).status_code == 200
    finally:
        finish_stack(stack)


def send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # The server closed the connection while requests were still going out.


def read_until_closed_or_reset(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received
