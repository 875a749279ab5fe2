"""The webhook's gate: the subscription handshake, the signature over the
raw body, and the body size limit."""

from __future__ import annotations

import httpx2
import pytest

from support.ids import new_customer, new_wamid
from support.meta import FIXTURES, fixture_bytes, sign, text_body

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
