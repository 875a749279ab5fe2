"""Meta's side of the webhook: fixture bodies, bodies built for one case,
and a client that posts exact bytes signed like Meta signs them
(`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path

import httpx2

from .server import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "meta"
SIGNATURE_HEADER = "X-Hub-Signature-256"


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    """Serialise like Meta: compact, non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def messages_change(
    *,
    phone_number_id: str,
    display_phone: str,
    contacts: list[dict] | None = None,
    messages: list[dict] | None = None,
    statuses: list[dict] | None = None,
) -> dict:
    value: dict = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone, "phone_number_id": phone_number_id},
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"value": value, "field": "messages"}


def envelope(*entries: tuple[str, list[dict]]) -> dict:
    """A whole body from (WABA id, changes) pairs."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": changes} for waba, changes in entries],
    }


def contact(wa_id: str, name: str | None = None, user_id: str | None = None) -> dict:
    entry: dict = {"wa_id": wa_id}
    if name is not None:
        entry["profile"] = {"name": name}
    if user_id is not None:
        entry["user_id"] = user_id
    return entry


def text_message(sender: str, wamid: str, timestamp: int, body: str) -> dict:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": body},
    }


def reaction_message(
    sender: str, wamid: str, timestamp: int, target: str, emoji: str | None
) -> dict:
    reaction: dict = {"message_id": target}
    if emoji is not None:
        reaction["emoji"] = emoji
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(timestamp),
        "type": "reaction",
        "reaction": reaction,
    }


def status(wamid: str, name: str, timestamp: int, recipient: str) -> dict:
    return {"id": wamid, "status": name, "timestamp": str(timestamp), "recipient_id": recipient}


def account_change(account, **parts) -> dict:
    """A `messages` change addressed to `account` (an admin.Account)."""
    return messages_change(
        phone_number_id=account.phone_number_id,
        display_phone=account.phone.lstrip("+").replace(" ", ""),
        **parts,
    )


def text_body(
    account,
    sender: str,
    wamid: str,
    text: str,
    timestamp: int = 1750100000,
    name: str | None = "Test Customer",
) -> bytes:
    """A signed-ready body carrying one text message from `sender` to `account`."""
    change = account_change(
        account,
        contacts=[contact(sender, name)],
        messages=[text_message(sender, wamid, timestamp, text)],
    )
    return encode(envelope((account.waba_id, [change])))


class MetaClient:
    """Posts webhook bodies to one server as Meta would."""

    def __init__(self, webhook_url: str) -> None:
        self.url = webhook_url
        self.http = httpx2.Client(timeout=30)

    def post(
        self,
        body: bytes,
        *,
        secret: bytes | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """POST `body` unchanged, signed with `secret` unless `signature` is given."""
        sent = {"Content-Type": "application/json"}
        if signature is not None:
            sent[SIGNATURE_HEADER] = signature
        elif secret is not None:
            sent[SIGNATURE_HEADER] = sign(secret, body)
        sent.update(headers or {})
        return self.http.post(self.url, content=body, headers=sent)

    def post_in_parallel(self, body: bytes, secret: bytes, copies: int) -> list[int]:
        """POST the same signed body from `copies` threads at once; return the statuses."""
        barrier = threading.Barrier(copies)
        statuses: list[int] = [0] * copies

        def send(index: int) -> None:
            with httpx2.Client(timeout=30) as http:
                headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
                barrier.wait(timeout=30)
                statuses[index] = http.post(self.url, content=body, headers=headers).status_code

        threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return statuses

    def handshake(self, params: dict[str, str]) -> httpx2.Response:
        return self.http.get(self.url, params=params)

    def close(self) -> None:
        self.http.close()
