"""An account whose access token Meta rejected (error 190), seen through
the Python MCP SDK against `pons metasim`. While the rejection is recent,
every tool that would call Meta fails before any Graph request and stores
nothing. Five minutes after it, the next send goes to Meta again: a
success clears the mark, and another rejection renews it. The tests move
the stored rejection time back instead of waiting."""

from __future__ import annotations

import pytest

from support import metasim
from support.ids import new_customer
from support.mcp import structured, tool_error

# The interval of `TOKEN_RETRY_AFTER_SECONDS` in src/tools/rejected_token.rs.
RETRY_AFTER_SECONDS = 5 * 60
FIX = f"pons account set-credentials --account +{metasim.DISPLAY_PHONE}"


def rejected_at(send_stack) -> int | None:
    return send_stack.db.scalar(
        "SELECT token_invalid_at FROM accounts WHERE phone_number_id = ?", metasim.PHONE_NUMBER_ID
    )


def move_rejection_back(send_stack) -> int:
    """Move the stored rejection back by the interval and return its new time."""
    send_stack.db.execute(
        "UPDATE accounts SET token_invalid_at = token_invalid_at - ? WHERE phone_number_id = ?",
        RETRY_AFTER_SECONDS,
        metasim.PHONE_NUMBER_ID,
    )
    moved = rejected_at(send_stack)
    assert moved is not None
    return moved


def send_text(send_stack, customer: str):
    return send_stack.call("send_text", {"phone": customer, "text": "Your order"})


def reject_token(send_stack, sim, customer: str) -> None:
    """Have Meta reject the token on a send and check the mark."""
    sim.inject(metasim.SEND, kind="graph", code=190)
    text = tool_error(send_text(send_stack, customer))
    assert "Meta returned error 190" in text, text
    assert rejected_at(send_stack) is not None


@pytest.fixture
def rejected(send_stack, sim):
    """A customer who wrote, with the wamid of their message, after Meta
    rejected the token. The mark is removed afterwards, so the module's
    other tests send normally."""
    customer = new_customer()
    wamid = send_stack.inbound(customer, "Hi")
    reject_token(send_stack, sim, customer)
    sim.clear_requests()
    yield customer, wamid
    send_stack.db.execute(
        "UPDATE accounts SET token_invalid_at = NULL WHERE phone_number_id = ?",
        metasim.PHONE_NUMBER_ID,
    )


def test_recent_rejection_blocks_every_send(send_stack, sim, rejected):
    customer, wamid = rejected
    messages_before = send_stack.db.scalar("SELECT COUNT(*) FROM messages")
    calls = [
        ("send_text", {"phone": customer, "text": "Your order"}),
        ("send_media", {"phone": customer, "url": "https://cdn.example.com/a.png",
                        "mimeType": "image/png"}),
        ("send_template", {"phone": customer, "templateName": "order_update",
                           "templateLanguage": "en_US"}),
        ("send_reaction", {"waMessageId": wamid, "emoji": "👍"}),
    ]
    for tool, arguments in calls:
        text = tool_error(send_stack.call(tool, arguments))
        assert "Meta rejected the token at" in text, f"{tool}: {text}"
        assert FIX in text, f"{tool}: {text}"
        assert "sent and stored nothing" in text, f"{tool}: {text}"

    assert sim.requests() == [], "no Graph request"
    assert send_stack.db.scalar("SELECT COUNT(*) FROM messages") == messages_before
    reaction = send_stack.db.scalar("SELECT business_reaction FROM messages WHERE wamid = ?", wamid)
    assert reaction is None
    conversation = structured(send_stack.call("get_conversation", {"phone": "+" + customer}))
    assert conversation["conversation"]["unreadCount"] == 1, "nothing marked read"


def test_recent_rejection_skips_read_receipt(send_stack, sim, rejected):
    customer, wamid = rejected
    output = structured(send_stack.call("mark_as_read", {"waMessageId": wamid}))
    assert output["readReceiptSent"] is False
    assert len(output["warnings"]) == 1, output
    warning = output["warnings"][0]
    assert "the read receipt was not sent" in warning, warning
    assert "Meta rejected the token at" in warning, warning
    assert FIX in warning, warning
    assert sim.requests() == [], "no Graph request"
    conversation = structured(send_stack.call("get_conversation", {"phone": "+" + customer}))
    assert conversation["conversation"]["unreadCount"] == 0, "marked read in Pons"


def test_probe_success_clears_mark(send_stack, sim, rejected):
    customer, _ = rejected
    move_rejection_back(send_stack)
    output = structured(send_text(send_stack, customer))
    assert output["status"] == "sent"
    assert len(sim.message_posts()) == 1
    assert rejected_at(send_stack) is None
    listing = send_stack.admin.account_list()
    line = next(l for l in listing.splitlines() if metasim.PHONE_NUMBER_ID in l)
    assert "needs-new" not in line.split(), listing


def test_probe_rejected_renews_mark(send_stack, sim, rejected):
    customer, _ = rejected
    moved = move_rejection_back(send_stack)
    reject_token(send_stack, sim, customer)
    assert len(sim.message_posts()) == 1, "the probe reached Meta"
    renewed = rejected_at(send_stack)
    assert renewed is not None and renewed > moved, (moved, renewed)

    sim.clear_requests()
    text = tool_error(send_text(send_stack, customer))
    assert "Meta rejected the token at" in text, text
    assert sim.message_posts() == []
