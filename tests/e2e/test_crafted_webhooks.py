"""Webhook bodies that only a sender holding the app secret can make:
message texts and captions far above WhatsApp's limits, and customer
numbers written with `+`, spaces, dashes or brackets."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import OWNER
from support.ids import new_customer, new_wamid
from support.mcp import ERAS, call_tool, run_session, structured
from support.meta import account_change, contact, encode, envelope, status, text_body, text_message

# WhatsApp's limits for a text body and a media caption, in characters.
MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
# About 3 MB of text, below the default webhook body limit of 4 MiB.
HUGE_TEXT = "lighthouse " + "y " * 1_499_994
CUSTOMER = "15550102030"


@pytest.fixture(scope="module")
def read_key(stack):
    return stack.admin.key_create(user=OWNER, scopes="read", name="crafted reader").text


def insert_outbound(stack, customer: str, kind: str, text: str, caption: str | None) -> str:
    """Store an outbound message as a send stores it, and return its wamid."""
    account = stack.accounts["A"]
    conversation_id = stack.db.scalar(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
        "WHERE k.account_id = ? AND k.wa_id = ?",
        account.id,
        customer,
    )
    wamid = new_wamid()
    stack.db.execute(
        "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, text, "
        "caption, status, timestamp, created_at) "
        "VALUES (?, ?, ?, ?, 'outbound', ?, ?, ?, 'sent', ?, ?)",
        str(uuid.uuid4()), account.id, conversation_id, wamid, kind, text, caption,
        1750600100, 1750600100,
    )  # fmt: skip
    return wamid


@pytest.fixture(scope="module")
def long_messages(stack):
    """A customer with a 3 MB inbound text, a 5,000-character outbound text
    and an outbound image with a 2,000-character caption."""
    account = stack.accounts["A"]
    customer = new_customer()
    inbound = new_wamid()
    body = text_body(account, customer, inbound, HUGE_TEXT, 1750600000)
    assert stack.meta.post(body, secret=account.app_secret).status_code == 200
    caption = "c" * 2000
    return {
        "customer": customer,
        "inbound": inbound,
        "outbound_text": insert_outbound(stack, customer, "text", "t" * 5000, None),
        "outbound_image": insert_outbound(stack, customer, "image", caption, caption),
    }


def post_change(stack, account, change: dict) -> None:
    body = encode(envelope((account.waba_id, [change])))
    response = stack.meta.post(body, secret=account.app_secret)
    assert response.status_code == 200, response.text


def assert_cut(cut: str, whole: str, limit: int) -> None:
    # The `…` counts toward the limit.
    assert len(cut) == limit
    assert cut.endswith("…")
    assert cut[: limit - 1] == whole[: limit - 1]


@pytest.mark.parametrize("mode", ERAS)
def test_get_conversation_cuts_long_texts(stack, read_key, long_messages, mode):
    arguments = {"phone": "+" + long_messages["customer"], "from": "+15550001111"}
    result = call_tool(stack.server.mcp_url, read_key, mode, "get_conversation", arguments)
    text_block = json.loads(result.content[1].text)

    for output in (structured(result), text_block):
        by_wamid = {m["wamid"]: m for m in output["messages"]}
        inbound = by_wamid[long_messages["inbound"]]
        assert_cut(inbound["text"], HUGE_TEXT, MAX_TEXT_CHARS)
        assert inbound["textCut"] is True
        assert "captionCut" not in inbound, "a false flag is left out"
        outbound = by_wamid[long_messages["outbound_text"]]
        assert_cut(outbound["text"], "t" * 5000, MAX_TEXT_CHARS)
        assert outbound["textCut"] is True
        image = by_wamid[long_messages["outbound_image"]]
        assert_cut(image["caption"], "c" * 2000, MAX_CAPTION_CHARS)
        assert image["captionCut"] is True
        assert image["text"] == image["caption"], "the text copies the caption"
        assert image["textCut"] is True
    assert len(result.content[1].text) < 50_000


@pytest.mark.parametrize("mode", ERAS)
def test_search_cuts_long_texts(stack, read_key, long_messages, mode):
    result = call_tool(
        stack.server.mcp_url, read_key, mode, "search_messages", {"query": "lighthouse"}
    )
    text_block = json.loads(result.content[1].text)

    for output in (structured(result), text_block):
        hits = [h for h in output["hits"] if h["wamid"] == long_messages["inbound"]]
        assert len(hits) == 1, output["hits"]
        assert_cut(hits[0]["text"], HUGE_TEXT, MAX_TEXT_CHARS)
        assert hits[0]["textCut"] is True
        assert "captionCut" not in hits[0], "a false flag is left out"
    assert len(result.content[1].text) < 50_000


def test_store_keeps_whole_text(stack, long_messages):
    stored = stack.db.scalar(
        "SELECT length(text) FROM messages WHERE wamid = ?", long_messages["inbound"]
    )
    assert int(stored) == len(HUGE_TEXT)


@pytest.mark.parametrize("mode", ERAS)
def test_output_schemas_name_cut_flags(stack, read_key, mode):
    async def work(client):
        return {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}

    schemas = run_session(stack.server.mcp_url, read_key, mode, work)
    for tool in ("get_conversation", "search_messages"):
        schema = json.dumps(schemas[tool])
        assert '"textCut"' in schema, tool
        assert '"captionCut"' in schema, tool


def test_written_sender_lands_in_customer_conversation(stack, read_key):
    account = stack.accounts["A"]
    first, second = new_wamid(), new_wamid()
    body = text_body(account, CUSTOMER, first, "Is my parcel on its way?", 1750700000, "Dana")
    assert stack.meta.post(body, secret=account.app_secret).status_code == 200
    outbound = insert_outbound(stack, CUSTOMER, "text", "It left today", None)

    written = "+1 (555) 010-2030"
    change = account_change(
        account,
        contacts=[contact(written, "Dana")],
        messages=[text_message(written, second, 1750700200, "Thanks, and the invoice?")],
        statuses=[status(outbound, "read", 1750700150, written)],
    )
    post_change(stack, account, change)

    contacts = stack.db.query(
        "SELECT wa_id FROM contacts WHERE account_id = ? AND wa_id LIKE ?", account.id, "%2030%"
    )
    assert contacts == [(CUSTOMER,)]
    detail = structured(
        call_tool(stack.server.mcp_url, read_key, "legacy", "get_conversation",
                  {"phone": "+" + CUSTOMER, "from": account.phone})
    )  # fmt: skip
    assert detail["conversation"]["contact"]["phone"] == "+" + CUSTOMER
    by_wamid = {m["wamid"]: m for m in detail["messages"]}
    assert by_wamid[first]["text"] == "Is my parcel on its way?"
    assert by_wamid[second]["text"] == "Thanks, and the invoice?"
    assert by_wamid[outbound]["status"] == "read"
    notes = stack.db.query("SELECT detail FROM webhook_log WHERE detail LIKE ?", f"%{second}%")
    assert len(notes) == 1, notes
    assert "stored with the sender \"15550102030\"" in notes[0][0]


def test_unreadable_sender_kept_with_note(stack, read_key):
    account = stack.accounts["A"]
    wamid = new_wamid()
    written = "(555) 010-2030"
    change = account_change(account, messages=[text_message(written, wamid, 1750700300, "Hello?")])
    post_change(stack, account, change)

    assert stack.db.count_messages(wamid) == 1
    senders = stack.db.query("SELECT wa_id FROM contacts WHERE wa_id = ?", written)
    assert senders == [(written,)], "a sender that is no phone number is stored as sent"
    notes = stack.db.query("SELECT detail FROM webhook_log WHERE detail LIKE ?", f"%{wamid}%")
    assert len(notes) == 1, notes
    assert "that is not a phone number" in notes[0][0]
