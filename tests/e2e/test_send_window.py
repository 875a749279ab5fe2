"""The 24-hour customer service window through the Python MCP SDK. Once
the customer's last message is older than 24 hours, send_text and
send_media are rejected before any request reaches Meta. The error points
to send_template and lists the approved templates, and send_template
still goes out."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from support import metasim
from support.ids import new_customer, new_wamid
from support.mcp import ERAS, structured, tool_error
from support.meta import text_body

DAY = 24 * 60 * 60


def format_time(unix: int) -> str:
    """Format like the tools do: ISO 8601 in UTC with a Z."""
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def inbound_at(send_stack, customer: str, timestamp: int, text: str = "Hi") -> str:
    """Post the customer's message with Meta's `timestamp`, signed like Meta, and return its wamid."""
    wamid = new_wamid()
    body = text_body(send_stack.account, customer, wamid, text, timestamp=timestamp, name="Hans")
    response = send_stack.stack.meta.post(body, secret=metasim.APP_SECRET)
    assert response.status_code == 200, response.text
    return wamid


def count_rows(send_stack, table: str) -> int:
    return int(send_stack.db.scalar(f"SELECT count(*) FROM {table}"))


def test_open_an_hour_after_inbound(send_stack, sim):
    customer = new_customer()
    inbound_at(send_stack, customer, int(time.time()) - 3600)
    sim.clear_requests()
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Hello"}))
    assert output["status"] == "sent"
    assert len(sim.message_posts()) == 1


@pytest.mark.parametrize("mode", ERAS)
def test_closed_window_rejected_without_meta(send_stack, sim, mode):
    customer = new_customer()
    last_inbound = int(time.time()) - DAY - 1
    inbound_at(send_stack, customer, last_inbound)
    # The error lists the stored templates. Store them first, so that the
    # rejected calls below need no template sync either.
    structured(send_stack.call("list_templates", {"refresh": True}))
    sim.clear_requests()
    messages_before = count_rows(send_stack, "messages")
    events_before = count_rows(send_stack, "events")

    media = {"phone": customer, "url": "https://cdn.example.com/a.png", "mimeType": "image/png"}
    for tool, arguments in [
        ("send_text", {"phone": customer, "text": "Hello"}),
        ("send_media", media),
    ]:
        text = tool_error(send_stack.call(tool, arguments, mode=mode))
        assert f"closed at {format_time(last_inbound + DAY)}" in text, f"{tool}: {text}"
        assert "Use send_template" in text, f"{tool}: {text}"
        assert "order_update (en_US): variables body {{1}}, body {{2}}" in text, f"{tool}: {text}"
        assert "appointment_reminder (en_US)" in text, f"{tool}: {text}"
        assert "weekly_offer" not in text, f"{tool} lists a pending template: {text}"

    assert sim.requests() == [], "no Graph request for a closed window"
    assert count_rows(send_stack, "messages") == messages_before, "nothing stored"
    assert count_rows(send_stack, "events") == events_before, "no event"


@pytest.mark.parametrize("mode", ERAS)
def test_closed_window_names_reaction(send_stack, sim, mode):
    customer = new_customer()
    last_inbound = int(time.time()) - DAY - 1
    wamid = inbound_at(send_stack, customer, last_inbound)
    structured(send_stack.call("list_templates", {"refresh": True}))
    sim.clear_requests()

    for emoji in ("👍", ""):
        arguments = {"phone": customer, "waMessageId": wamid, "emoji": emoji}
        text = tool_error(send_stack.call("send_reaction", arguments, mode=mode))
        assert f"closed at {format_time(last_inbound + DAY)}" in text, text
        assert "send_reaction cannot send a reaction:" in text, text
        assert "free-form message" not in text, text
        assert "A template cannot carry a reaction" in text, text
        assert "appointment_reminder (en_US)" in text, text
    assert sim.requests() == [], "no Graph request for a closed window"

    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": "order_update",
                "templateLanguage": "en_US",
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Hans"},
                            {"type": "text", "text": "#7"},
                        ],
                    }
                ],
            },
            mode=mode,
        )
    )
    assert output["status"] == "sent"
    posts = sim.message_posts()
    assert len(posts) == 1, posts
    assert posts[0]["body"]["type"] == "template"

    conversation = structured(send_stack.call("get_conversation", {"phone": customer}))
    window = conversation["conversation"]["window"]
    assert window["open"] is False, "a template does not reopen the window"
    assert window["expiresAt"] == format_time(last_inbound + DAY)


def test_never_opened_window_rejected(send_stack, sim):
    customer = new_customer()
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Hi"}))
    assert "never written to this number" in text, text
    assert "send_template" in text, text
    assert sim.requests() == [], "no Graph request"
    listed = structured(send_stack.call("list_conversations", {"limit": 100}))
    phones = {c["contact"]["waId"] for c in listed["conversations"]}
    assert customer not in phones, "no conversation created"
