"""The webhook's gate: the subscription handshake, the signature over the
raw body, the body size limit and the limit on body bytes in flight."""

from __future__ import annotations

import json
import socket
import time

import httpx2
import pytest

from conftest import finish_stack, start_stack
from support.ids import new_customer, new_wamid
from support.meta import FIXTURES, SIGNATURE_HEADER, fixture_bytes, sign, text_body
from support.server import log_fields

SIGNED_BODY = "signature/sig_text_unicode.body_as_sent.json"
REENCODED_BODY = "signature/sig_text_unicode.body_reencoded_utf8.json"
SIGNATURE_FILE = "signature/sig_text_unicode.x-hub-signature-256.txt"
SIGNED_WAMID = "wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAwMQA="


def stored_text(stack, wamid: str) -> str:
    return stack.db.scalar("SELECT text FROM messages WHERE wamid = ?", wamid)


def test_signature_covers_raw_bytes(stack):
    body = fixture_bytes(SIGNED_BODY)
    header = (FIXTURES / SIGNATURE_FILE).read_text().strip()
    assert sign(stack.accounts["A"].app_secret, body) == header, "test vector and secret disagree"

    twin = stack.meta.post(fixture_bytes(REENCODED_BODY), signature=header)
    assert twin.status_code == 401, "the re-encoded twin must fail verification"
    assert stack.db.count_messages(SIGNED_WAMID) == 0

    flipped = bytearray(body)
    flipped[body.index(b"caf")] = ord("C")
    response = stack.meta.post(bytes(flipped), signature=header)
    assert response.status_code == 401, "a body with one byte changed must fail verification"
    assert stack.db.count_messages(SIGNED_WAMID) == 0

    response = stack.meta.post(body, signature=header)
    assert response.status_code == 200, response.text
    assert stack.db.count_messages(SIGNED_WAMID) == 1
    assert stored_text(stack, SIGNED_WAMID) == "Olá 👋 café?"
    name = stack.db.scalar("SELECT profile_name FROM contacts WHERE wa_id = ?", "15550002222")
    assert name == "Zoë Exämple"


def test_escaped_slash_and_at_are_decoded(stack):
    account = stack.accounts["A"]
    wamid = new_wamid()
    text = "Résumé 😀 at https://example.com/a/b, mail me@example.com"
    body = text_body(account, new_customer(), wamid, text).replace(b"/", b"\\/")
    assert b"\\/" in body
    assert b"\\ud83d\\ude00" in body
    assert b"\\u00e9" in body

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 200, response.text
    assert stored_text(stack, wamid) == text


def test_lone_surrogates_become_replacement(stack):
    """Text cut inside an escaped emoji pair keeps a lone surrogate, which
    strict JSON parsers reject. Pons stores U+FFFD in its place instead of
    refusing the whole batch each time Meta sends it again."""
    account = stack.accounts["A"]
    customer = new_customer()
    wamid = new_wamid()
    body = text_body(account, customer, wamid, "cut 😀 here 😀", name="Ana 😀")
    assert body.count(b"\\ud83d\\ude00") == 3
    # The text loses the second half of its first emoji and the first half
    # of its second, and the name the second half of its only one.
    body = body.replace(b"cut \\ud83d\\ude00", b"cut \\ud83d")
    body = body.replace(b"here \\ud83d\\ude00", b"here \\ude00")
    body = body.replace(b"Ana \\ud83d\\ude00", b"Ana \\ud83d")
    with pytest.raises(ValueError):
        json.loads(body, object_pairs_hook=reject_lone_surrogates)

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 200, response.text
    assert stored_text(stack, wamid) == "cut \ufffd here \ufffd"
    name = stack.db.scalar("SELECT profile_name FROM contacts WHERE wa_id = ?", customer)
    assert name == "Ana \ufffd"


def reject_lone_surrogates(pairs):
    """Raises ValueError for a string with a lone surrogate, as serde_json
    and other strict parsers do (Python's own parser accepts them)."""
    for _, value in pairs:
        if isinstance(value, str):
            value.encode("utf-8")
    return dict(pairs)


def test_handshake_echoes_challenge(stack):
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "fake-verify-token",
        "hub.challenge": "1158201444",
    }
    response = httpx2.get(stack.server.webhook_url, params=params, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == b"1158201444"


def test_handshake_accepts_second_account_token(stack):
    params = {"hub.mode": "subscribe", "hub.verify_token": "fake-verify-token-b", "hub.challenge": "7"}
    response = stack.meta.handshake(params)
    assert response.status_code == 200
    assert response.text == "7"


@pytest.mark.parametrize(
    "mode, token",
    [("subscribe", "wrong-token"), ("unsubscribe", "fake-verify-token"), (None, "fake-verify-token")],
)
def test_handshake_rejects(stack, mode, token):
    params = {"hub.verify_token": token, "hub.challenge": "1158201444"}
    if mode is not None:
        params["hub.mode"] = mode
    response = stack.meta.handshake(params)
    assert response.status_code == 403
    assert "1158201444" not in response.text


@pytest.mark.parametrize("case", ["missing", "sha1", "truncated", "not-hex", "empty-digest"])
def test_bad_signature_header_is_rejected(stack, case):
    account = stack.accounts["A"]
    wamid = new_wamid()
    body = text_body(account, new_customer(), wamid, "Unsigned hello")
    good = sign(account.app_secret, body)
    headers = {
        "missing": None,
        "sha1": "sha1=" + good.removeprefix("sha256=")[:40],
        "truncated": good[:-8],
        "not-hex": "sha256=" + "zz" * 32,
        "empty-digest": "sha256=",
    }

    response = stack.meta.post(body, signature=headers[case])

    assert response.status_code == 401, response.text
    assert stack.db.count_messages(wamid) == 0
    assert httpx2.get(f"{stack.server.url}/healthz", timeout=10).status_code == 200


def test_three_megabyte_body_is_stored(stack):
    account = stack.accounts["A"]
    wamid = new_wamid()
    # Meta documents webhook bodies of up to 3 MB.
    filler = "x" * 3_000_000
    body = text_body(account, new_customer(), wamid, filler)
    assert len(body) > 3_000_000

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 200, response.text
    assert stack.db.count_messages(wamid) == 1


def test_oversized_body_gets_413(stack):
    account = stack.accounts["A"]
    wamid = new_wamid()
    # The default limit is 4194304 bytes; this body is a valid, signed
    # message just over it.
    filler = "x" * (4 * 1024 * 1024)
    body = text_body(account, new_customer(), wamid, filler)
    assert len(body) > 4 * 1024 * 1024
    log_start = len(stack.server.lines)

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 413
    # The server did not read the body, so it closes the connection.
    assert response.headers.get("connection") == "close", response.headers
    error = response.json()["error"]
    assert "limit of 4194304 bytes" in error, error
    assert "PONS_WEBHOOK_MAX_BODY_BYTES" in error, error
    assert stack.db.count_messages(wamid) == 0
    # The warning is written before the response, but reaches the log copy
    # through a reader thread, so the wait only guards against a hang.
    logged = stack.server.wait_for_log(
        lambda fields: fields.get("limit_bytes") is not None, 60, start_at=log_start
    )
    assert logged.get("level") == "WARN", logged
    assert logged["limit_bytes"] == 4 * 1024 * 1024, logged
    assert "PONS_WEBHOOK_MAX_BODY_BYTES" in logged.get("message", ""), logged
    assert "xxxxxxxx" not in str(logged), "the body is never logged"


def test_invalid_json_gets_400(stack):
    account = stack.accounts["A"]
    body = b'{"object":"whatsapp_business_account","entry":['
    response = stack.meta.post(body, secret=account.app_secret)
    assert response.status_code == 400


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one response from a raw connection: status, headers and the
    body its Content-Length announces."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response head: {received[:200]!r}"
        received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("ascii").split("\r\n")
    headers = {}
    for line in lines:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a response body"
        body += chunk
    return int(status_line.split(" ")[1]), headers, body


def send_head(address: str, body: bytes, secret: bytes) -> socket.socket:
    """Open a connection and send the head of a signed webhook POST of
    `body` that waits for the server's 100 Continue before the body."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.sendall(
        b"POST /api/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        + f"{SIGNATURE_HEADER}: {sign(secret, body)}\r\n".encode()
        + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    return sock


def test_body_over_in_flight_limit_gets_503(backend_name, tmp_path):
    limit = 1024 * 1024
    env = {
        "PONS_WEBHOOK_MAX_BODY_BYTES": str(limit),
        "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES": str(limit),
    }
    stack = start_stack(backend_name, tmp_path, env)
    try:
        stack.add_standard_accounts()
        account = stack.accounts["A"]
        in_flight_wamid, retried_wamid = new_wamid(), new_wamid()
        # Two bodies of 600,000 bytes cannot be in flight together.
        in_flight_body = text_body(account, new_customer(), in_flight_wamid, "h" * 600_000)
        retried_body = text_body(account, new_customer(), retried_wamid, "r" * 600_000)

        # A body takes room as its bytes arrive, so the first one is sent
        # but for its last byte.
        with send_head(stack.server.addr, in_flight_body, account.app_secret) as in_flight:
            status, _, _ = read_response(in_flight)
            assert status == 100
            in_flight.sendall(in_flight_body[:-1])

            # Once the server has read those bytes, the second body is
            # rejected before it is sent. Until then it is asked for, and
            # abandoned.
            log_start = len(stack.server.lines)
            for _ in range(500):
                with send_head(stack.server.addr, retried_body, account.app_secret) as rejected:
                    status, headers, body = read_response(rejected)
                if status != 100:
                    break
                time.sleep(0.01)
            assert status == 503, body
            assert headers.get("retry-after") == "5", headers
            assert headers.get("connection") == "close", headers
            error = json.loads(body)["error"]
            assert f"limit of {limit} bytes" in error, error
            assert "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES" in error, error
            assert stack.db.count_messages(retried_wamid) == 0
            logged = stack.server.wait_for_log(
                lambda fields: fields.get("needed_bytes") is not None, 60, start_at=log_start
            )
            assert logged.get("level") == "WARN", logged
            assert logged["limit_bytes"] == limit, logged
            assert logged["needed_bytes"] == len(retried_body), logged
            assert "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES" in logged.get("message", ""), logged
            assert "rrrrrrrr" not in str(logged), "the body is never logged"

            in_flight.sendall(in_flight_body[-1:])
            status, _, body = read_response(in_flight)
            assert status == 200, body
        assert stack.db.count_messages(in_flight_wamid) == 1

        # Meta sends a webhook again when it got no 200; the room is free by then.
        response = stack.meta.post(retried_body, secret=account.app_secret)
        assert response.status_code == 200, response.text
        assert stack.db.count_messages(retried_wamid) == 1

        # The warning is the only line about the rejection: a deliberate 503
        # is not logged again as a failed response.
        errors = [
            fields
            for fields in map(log_fields, stack.server.lines[log_start:])
            if fields is not None and fields.get("level") == "ERROR"
        ]
        assert errors == [], errors
    finally:
        finish_stack(stack)
