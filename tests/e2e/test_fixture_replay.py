"""Every Meta webhook fixture replayed over HTTP, then read back through
the official MCP SDK in both protocol eras."""

from __future__ import annotations

import re
import uuid

import pytest

from conftest import OWNER, finish_stack, start_stack
from support.mcp import ERAS, call_tool, structured, tool_error
from support.meta import account_change, encode, envelope, fixture_paths, reaction_message

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ALICE, BOB, BSUID = "15550002222", "15550003333", "US.10000000000000000001"
WAMID_PREFIX = "wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAw"
FIRST_TEXT_WAMID = WAMID_PREFIX + "MQA="
# Outbound messages that the status fixtures (50-60) report on, with the
# status each must end with after every fixture has been replayed.
OUTBOUND_FINAL_STATUS = {
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEEA": (ALICE, "read"),
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEIA": (ALICE, "sent"),
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEMA": (ALICE, "failed"),
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEQA": (ALICE, "failed"),
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEYA": (ALICE, "played"),
    "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMTIA": (ALICE, "delivered"),
    "wamid.HBgLMTU1NTAwMDMzMzMVAgARGBJGQTRFMDAwMDAwMDAwMDAwMDIA": (BOB, "read"),
}


def insert_outbound_for_statuses(stack) -> None:
    """Store the outbound messages the status fixtures refer to, as a send
    would have stored them (the send tools are not part of this build)."""
    account = stack.accounts["A"]
    for wamid, (customer, _) in OUTBOUND_FINAL_STATUS.items():
        conversation_id = stack.db.scalar(
            "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
            "WHERE k.account_id = ? AND k.wa_id = ?",
            account.id,
            customer,
        )
        stack.db.execute(
            "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, "
            "text, status, timestamp, created_at) "
            "VALUES (?, ?, ?, ?, 'outbound', 'text', 'Order update', 'sent', ?, ?)",
            str(uuid.uuid4()), account.id, conversation_id, wamid, 1750001990, 1750001990,
        )  # fmt: skip


@pytest.fixture(scope="module")
def replayed(backend_name, tmp_path_factory):
    """A server with every fixture replayed; returns (stack, read key)."""
    stack = start_stack(backend_name, tmp_path_factory.mktemp(f"replay-{backend_name}"))
    try:
        stack.add_standard_accounts(shared_secret=True)
        secret = stack.accounts["A"].app_secret
        for path in fixture_paths():
            if path.name.startswith("50_"):
                insert_outbound_for_statuses(stack)
            response = stack.meta.post(path.read_bytes(), secret=secret)
            assert response.status_code == 200, f"{path.name}: {response.status_code} {response.text}"
        # A reaction that stays, so the read-back can show one (the
        # reaction fixtures target a message that is never stored).
        heart = reaction_message(ALICE, WAMID_PREFIX + "RTJFMkUA", 1750001330, FIRST_TEXT_WAMID, "❤️")
        account = stack.accounts["A"]
        body = encode(envelope((account.waba_id, [account_change(account, messages=[heart])])))
        assert stack.meta.post(body, secret=secret).status_code == 200
        key = stack.admin.key_create(user=OWNER, scopes="read", name="replay reader").text
        yield stack, key
    finally:
        finish_stack(stack)


def call(replayed, mode: str, tool: str, arguments: dict | None = None) -> dict:
    stack, key = replayed
    return structured(call_tool(stack.server.mcp_url, key, mode, tool, arguments))


def by_contact(conversations: list[dict], account_phone: str, wa_id: str) -> dict:
    found = [
        c for c in conversations
        if c["accountPhone"] == account_phone and c["contact"]["waId"] == wa_id
    ]  # fmt: skip
    assert len(found) == 1, f"expected one conversation {account_phone}/{wa_id}, got {found}"
    return found[0]


def test_every_fixture_was_replayed(replayed):
    stack, _ = replayed
    names = [p.name for p in fixture_paths()]
    assert len(names) >= 30, "the fixture directory looks incomplete"
    templates = stack.db.query(
        "SELECT name, status FROM templates WHERE account_id = ? ORDER BY name",
        stack.accounts["A"].id,
    )
    assert templates == [("order_update", "APPROVED"), ("promo_spring", "REJECTED")]


@pytest.mark.parametrize("mode", ERAS)
def test_list_conversations(replayed, mode):
    listed = call(replayed, mode, "list_conversations")

    assert sorted(a["phone"] for a in listed["accounts"]) == ["+15550001111", "+15550009999"]
    conversations = listed["conversations"]
    pairs = {(c["accountPhone"], c["contact"]["waId"]) for c in conversations}
    assert pairs == {
        ("+15550001111", ALICE),
        ("+15550001111", BOB),
        ("+15550001111", BSUID),
        ("+15550009999", ALICE),
    }
    assert conversations[0]["contact"]["waId"] == BSUID, "most recent first"
    assert conversations[-1]["contact"]["waId"] == BOB, "oldest last"
    for conversation in conversations:
        assert ISO_UTC.match(conversation["lastMessage"]["time"]), conversation
        assert conversation["lastMessage"]["direction"] == "inbound"
        assert conversation["archived"] is False
        assert conversation["window"]["open"] is False, "the fixtures are from June 2025"
        assert ISO_UTC.match(conversation["window"]["expiresAt"]), conversation

    alice = by_contact(conversations, "+15550001111", ALICE)
    assert alice["contact"]["name"] == "Alice Example"
    assert alice["contact"]["phone"] == "+15550002222"
    bob = by_contact(conversations, "+15550001111", BOB)
    assert bob["contact"] == {"name": "Bob Example", "phone": "+15550003333", "waId": BOB}
    assert bob["unreadCount"] == 2
    assert bob["lastMessage"]["preview"] == "Second change"
    assert bob["lastMessage"]["time"] == "2025-06-15T15:27:41Z"
    username = by_contact(conversations, "+15550001111", BSUID)
    assert username["contact"]["phone"] is None, "a business-scoped user id is no phone number"
    assert username["contact"]["name"] == "Alice Example"
    alice_b = by_contact(conversations, "+15550009999", ALICE)
    assert alice_b["unreadCount"] == 1
    assert alice_b["lastMessage"]["preview"] == "Entry two (other business number)"


@pytest.mark.parametrize("mode", ERAS)
def test_list_unanswered(replayed, mode):
    unanswered = call(replayed, mode, "list_unanswered")["conversations"]

    assert len(unanswered) == 4
    bob = [c for c in unanswered if c["contact"]["waId"] == BOB]
    assert len(bob) == 1
    assert bob[0]["text"] == "Second change"
    assert bob[0]["type"] == "text"
    assert bob[0]["wamid"] == "wamid.HBgLMTU1NTAwMDMzMzMVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAwMgA="
    assert bob[0]["receivedAt"] == "2025-06-15T15:27:41Z"
    assert bob[0]["waitingSeconds"] > 0
    for conversation in unanswered:
        assert conversation["wamid"], conversation
        assert conversation["text"], "the last inbound text, or its type when it has none"
        assert conversation["archived"] is False


@pytest.mark.parametrize("mode", ERAS)
def test_get_conversation_by_phone_and_id(replayed, mode):
    by_phone = call(
        replayed, mode, "get_conversation", {"phone": "+1 (555) 000-3333", "from": "+15550001111"}
    )
    conversation_id = by_phone["conversation"]["id"]
    by_id = call(replayed, mode, "get_conversation", {"conversationId": conversation_id})

    assert by_id == by_phone
    messages = by_phone["messages"]
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert [m["text"] for m in inbound] == ["Message from Bob", "Second change"]
    assert all(m["status"] == "received" for m in inbound)
    assert all(m["type"] == "text" for m in inbound)
    assert [m["time"] for m in inbound] == ["2025-06-15T15:26:41Z", "2025-06-15T15:27:41Z"]


@pytest.mark.parametrize("mode", ERAS)
def test_phone_on_two_accounts_needs_from(replayed, mode):
    stack, key = replayed
    result = call_tool(stack.server.mcp_url, key, mode, "get_conversation", {"phone": ALICE})
    text = tool_error(result)
    assert "+15550001111" in text
    assert "+15550009999" in text


@pytest.mark.parametrize("mode", ERAS)
def test_alice_messages_in_detail(replayed, mode):
    detail = call(
        replayed,
        mode,
        "get_conversation",
        {"phone": "+15550002222", "from": "+15550001111", "messageLimit": 200},
    )
    messages = detail["messages"]
    times = [m["time"] for m in messages]
    assert times == sorted(times), "messages are listed oldest first"
    assert all(ISO_UTC.match(t) for t in times)
    assert "reaction" not in {m["type"] for m in messages}, "reactions are no messages"
    by_wamid = {m["wamid"]: m for m in messages}

    first = by_wamid[FIRST_TEXT_WAMID]
    assert first["text"] == "Hi, is the shop open today?"
    assert first["reaction"] == "❤️"
    assert first["time"] == "2025-06-15T15:06:41Z"
    reply = by_wamid[WAMID_PREFIX + "MgA="]
    assert reply["replyToWamid"] == "wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMDEA"
    image = by_wamid[WAMID_PREFIX + "NgA="]
    assert (image["type"], image["caption"]) == ("image", "Photo of the broken part")
    assert image["mediaMimeType"] == "image/jpeg"
    document = by_wamid[WAMID_PREFIX + "QgA="]
    assert document["mediaFilename"] == "invoice-2025-05.pdf"
    voice = by_wamid[WAMID_PREFIX + "QQA="]
    assert (voice["type"], voice["mediaMimeType"]) == ("audio", "audio/ogg; codecs=opus")
    assert "Example Coffee" in by_wamid[WAMID_PREFIX + "RQA="]["text"]
    assert by_wamid["wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAxNQA="]["text"] == (
        "Stop promotions"
    )
    unsupported = by_wamid["wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAxQQA="]
    assert unsupported["type"] == "unsupported", "unknown kinds are kept, not dropped"
    assert unsupported["error"]["code"] == 131051
    order = by_wamid["wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAyMwA="]
    assert order["type"] == "order"
    assert order["text"].startswith("Order of 2 item(s)")
    system = by_wamid["wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAxRQA="]
    assert system["type"] == "system"

    for wamid, (customer, final) in OUTBOUND_FINAL_STATUS.items():
        if customer == ALICE:
            assert by_wamid[wamid]["direction"] == "outbound"
            assert by_wamid[wamid]["status"] == final, wamid
    failed = by_wamid["wamid.HBgLMTU1NTAwMDIyMjIVAgARGBJGQTRFMDAwMDAwMDAwMDAwMEMA"]
    assert failed["error"]["code"] == 131047
    assert failed["error"]["title"] == "Re-engagement message"


@pytest.mark.parametrize("mode", ERAS)
def test_whole_float_message_limit(replayed, mode):
    """Some MCP clients send every number as a float, such as 2.0."""
    stack, key = replayed
    alice = {"phone": ALICE, "from": "+15550001111"}
    as_float = call(replayed, mode, "get_conversation", {**alice, "messageLimit": 2.0})
    as_integer = call(replayed, mode, "get_conversation", {**alice, "messageLimit": 2})
    assert len(as_float["messages"]) == 2
    assert as_float["messages"] == as_integer["messages"]

    arguments = {**alice, "messageLimit": 2.5}
    text = tool_error(call_tool(stack.server.mcp_url, key, mode, "get_conversation", arguments))
    expected = "invalid argument `messageLimit`: must be a whole number between 1 and 200, got 2.5."
    assert text.startswith(expected), text


@pytest.mark.parametrize("mode", ERAS)
def test_search_messages(replayed, mode):
    found = call(replayed, mode, "search_messages", {"query": "broken"})

    hits = found["hits"]
    assert [h["wamid"] for h in hits] == [WAMID_PREFIX + "NgA="]
    hit = hits[0]
    assert hit["contact"] == {"name": "Alice Example", "phone": "+15550002222", "waId": ALICE}
    assert hit["accountPhone"] == "+15550001111"
    assert hit["time"] == "2025-06-15T15:10:40Z"
    assert ISO_UTC.match(hit["time"])
    alice = call(
        replayed, mode, "get_conversation", {"phone": ALICE, "from": "+15550001111", "messageLimit": 1}
    )
    assert hit["conversationId"] == alice["conversation"]["id"]

    entries = call(replayed, mode, "search_messages", {"query": "Entry"})["hits"]
    assert sorted(h["accountPhone"] for h in entries) == ["+15550001111", "+15550009999"]
