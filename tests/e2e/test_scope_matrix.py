"""All eleven tools against every combination of key scopes, through the
Python MCP SDK with `pons metasim` as Meta. Each tool needs one scope
(read for the five read tools, write for mark_as_read, send_reaction and
updateConversation, send for the three send tools). tools/list shows
exactly the allowed tools. A rejected call names the missing scope, sends
nothing to Meta and changes nothing in the store. A key whose user is a
member of no account lists every tool but reaches no data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support.ids import new_customer, new_wamid
from support.mcp import ERAS, structured, tool_error, tool_names
from support.metasim import SEND_OWNER

# The scope each tool requires, as the tool table of the server defines it.
TOOL_SCOPES = {
    "list_conversations": "read",
    "list_unanswered": "read",
    "get_conversation": "read",
    "search_messages": "read",
    "list_templates": "read",
    "mark_as_read": "write",
    "send_reaction": "write",
    "updateConversation": "write",
    "send_text": "send",
    "send_media": "send",
    "send_template": "send",
}

SCOPE_SETS = [
    ("read",),
    ("write",),
    ("send",),
    ("read", "write"),
    ("read", "send"),
    ("write", "send"),
    ("read", "write", "send"),
]


def tool_arguments(customer: str, wamid: str) -> dict[str, dict]:
    """Arguments with which every tool succeeds for a key that has its scope."""
    return {
        "list_conversations": {},
        "list_unanswered": {},
        "get_conversation": {"phone": customer},
        "search_messages": {"query": "parcel"},
        "list_templates": {},
        "mark_as_read": {"waMessageId": wamid},
        "send_reaction": {"waMessageId": wamid, "emoji": "👍"},
        "updateConversation": {"phone": customer, "archived": True},
        "send_text": {"phone": customer, "text": "Hello"},
        "send_media": {
            "phone": customer,
            "url": "https://cdn.example.com/a.png",
            "mimeType": "image/png",
        },
        "send_template": {
            "phone": customer,
            "templateName": "order_update",
            "templateLanguage": "en_US",
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Hans"},
                        {"type": "text", "text": "#42"},
                    ],
                }
            ],
        },
    }


@dataclass(frozen=True)
class Snapshot:
    """Everything a rejected call must leave unchanged."""

    graph_requests: int
    messages: int
    events: int
    conversation: tuple
    business_reaction: str | None


def snapshot(send_stack, wamid: str) -> Snapshot:
    db = send_stack.db
    conversation_id = db.scalar("SELECT conversation_id FROM messages WHERE wamid = ?", wamid)
    rows = db.query(
        "SELECT unread_count, archived_at, last_message_wamid, window_expires_at "
        "FROM conversations WHERE id = ?",
        conversation_id,
    )
    return Snapshot(
        graph_requests=len(send_stack.sim.requests()),
        messages=int(db.scalar("SELECT count(*) FROM messages")),
        events=int(db.scalar("SELECT count(*) FROM events")),
        conversation=tuple(rows[0]),
        business_reaction=db.scalar("SELECT business_reaction FROM messages WHERE wamid = ?", wamid),
    )


@pytest.fixture(scope="module")
def parcel(send_stack) -> tuple[str, str]:
    """A customer who asked about a parcel, and that message's wamid."""
    customer = new_customer()
    wamid = send_stack.inbound(customer, "Where is my parcel?")
    structured(send_stack.call("list_templates", {"refresh": True}))
    return customer, wamid


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids=["+".join(s) for s in SCOPE_SETS])
def test_scope_matrix(send_stack, sim, parcel, scopes):
    customer, wamid = parcel
    key = send_stack.admin.key_create(user=SEND_OWNER, scopes=",".join(scopes), name="matrix")
    allowed = {tool for tool, scope in TOOL_SCOPES.items() if scope in scopes}
    for mode in ERAS:
        assert tool_names(send_stack.server.mcp_url, key.text, mode) == allowed, mode

    for tool, arguments in tool_arguments(customer, wamid).items():
        before = snapshot(send_stack, wamid)
        result = send_stack.call(tool, arguments, key=key)
        if tool in allowed:
            structured(result)
            continue
        text = tool_error(result)
        scope = TOOL_SCOPES[tool]
        assert f"lacks the `{scope}` scope needed by {tool}" in text, f"{scopes} {tool}: {text}"
        assert "parcel" not in text, f"{scopes} {tool} leaked data: {text}"
        assert snapshot(send_stack, wamid) == before, f"{scopes} {tool} changed state"

    # Undo what the allowed calls changed, for the next scope set.
    structured(send_stack.call("updateConversation", {"phone": customer, "archived": False}))


def test_key_without_membership_reaches_nothing(send_stack, sim, parcel):
    customer, wamid = parcel
    stranger = "stranger@example.com"
    send_stack.admin.user_add(stranger)
    key = send_stack.admin.key_create(user=stranger, scopes="read,write,send", name="stranger")
    for mode in ERAS:
        names = tool_names(send_stack.server.mcp_url, key.text, mode)
        assert names == set(TOOL_SCOPES), "tools follow scopes, data follows membership"

    for tool, arguments in tool_arguments(customer, wamid).items():
        before = snapshot(send_stack, wamid)
        text = tool_error(send_stack.call(tool, arguments, key=key))
        assert "reaches no WhatsApp account" in text, f"{tool}: {text}"
        assert "Metasim Shop" not in text, f"{tool} named the account: {text}"
        assert "parcel" not in text, f"{tool} leaked data: {text}"
        assert snapshot(send_stack, wamid) == before, f"{tool} changed state"


def test_reaction_hides_other_conversation_without_read(send_stack, sim, parcel):
    """A key without `read` gets the same error for a wamid in another
    conversation as for a wamid that does not exist, so it cannot learn
    where a message belongs. A key with `read` learns the conversation."""
    customer, wamid = parcel
    other = new_customer()
    send_stack.inbound(other, "Hello")


    def conversation_id(phone: str) -> str:
        output = structured(send_stack.call("get_conversation", {"phone": "+" + phone}))
        return output["conversation"]["id"]

    parcel_conversation = conversation_id(customer)
    other_conversation = conversation_id(other)
    missing = new_wamid()
    key = send_stack.admin.key_create(user=SEND_OWNER, scopes="write,send", name="no-read")

    for named in [{"conversationId": other_conversation}, {"phone": "+" + other}]:
        errors = []
        for target in [wamid, missing]:
            before = snapshot(send_stack, wamid)
            arguments = {**named, "waMessageId": target, "emoji": "👍"}
            text = tool_error(send_stack.call("send_reaction", arguments, key=key))
            assert snapshot(send_stack, wamid) == before, f"{named} {target} changed state"
            errors.append(text.replace(target, "WAMID"))
        assert errors[0] == errors[1], named
        assert "message not found: WAMID" in errors[0], errors[0]
        assert "check waMessageId" in errors[0], errors[0]
        assert "`read` scope" in errors[0], errors[0]
        assert parcel_conversation not in errors[0], errors[0]

    arguments = {"conversationId": other_conversation, "waMessageId": wamid, "emoji": "👍"}
    text = tool_error(send_stack.call("send_reaction", arguments))
    assert f"the message belongs to conversation {parcel_conversation}" in text, text
    assert sim.message_posts() == []
