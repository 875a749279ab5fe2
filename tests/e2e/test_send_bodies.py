"""The exact Graph API request of every tool that calls Meta, made through
the official Python MCP SDK against `pons metasim`. Each send leaves a
message that goes from pending to sent with Meta's wamid and is visible at
once in the read tools."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest

from support import metasim
from support.ids import new_customer
from support.mcp import ERAS, structured, tool_error

MESSAGES_PATH_SUFFIX = f"/{metasim.PHONE_NUMBER_ID}/messages"
TEMPLATES_PATH_SUFFIX = f"/{metasim.WABA_ID}/message_templates"


@pytest.fixture(scope="module")
def send_stack_env() -> dict[str, str]:
    # A held send waits for the test's reads and release. The maximum Graph
    # timeout keeps Pons from giving up on it first, so only a hung test
    # reaches it (pytest-timeout ends each test after 180 s).
    return {"PONS_GRAPH_TIMEOUT_SECONDS": "300"}


def graph_version(send_stack) -> str:
    return urlsplit(send_stack.sim.urls.graph_api_url).path.strip("/")


def only_post(sim) -> dict:
    """Return the JSON body of the only `POST /messages`, checking method, path and token."""
    posts = sim.message_posts()
    assert len(posts) == 1, f"expected one POST /messages, got {posts!r}"
    post = posts[0]
    assert post["token_valid"], "the account's access token was not sent"
    assert post["body_is_json"], f"body is not JSON: {post['body']!r}"
    return post["body"]


def conversation_of(send_stack, customer: str) -> dict:
    return structured(send_stack.call("get_conversation", {"phone": "+" + customer}))


def unanswered_phones(send_stack) -> set[str]:
    listed = structured(send_stack.call("list_unanswered", {"limit": 100}))
    return {c["contact"]["waId"] for c in listed["conversations"]}


@pytest.mark.parametrize("mode", ERAS)
def test_send_text_with_reply_and_link(send_stack, sim, mode):
    customer = new_customer()
    quoted = send_stack.inbound(customer, "Do you ship to Berlin?")
    assert customer in unanswered_phones(send_stack)
    sim.clear_requests()

    text = "Yes: https://shop.example/ship"
    result = send_stack.call(
        "send_text",
        {"phone": f"+{customer}", "text": text, "replyToMessageId": quoted},
        mode=mode,
    )
    output = structured(result)

    posts = sim.message_posts()
    assert len(posts) == 1, posts
    assert posts[0]["method"] == "POST"
    assert posts[0]["path"] == f"/{graph_version(send_stack)}{MESSAGES_PATH_SUFFIX}"
    assert only_post(sim) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": f"+{customer}",
        "type": "text",
        "text": {"body": text, "preview_url": True},
        "context": {"message_id": quoted},
        "biz_opaque_callback_data": output["messageId"],
    }
    accepted = sim.accepted_messages()[-1]
    assert output["wamid"] == accepted["wamid"]
    assert output["status"] == "sent"
    assert output["to"] == f"+{customer}"
    assert output["from"] == f"+{metasim.DISPLAY_PHONE}"
    assert output["warnings"] == []

    read = conversation_of(send_stack, customer)
    assert read["conversation"]["id"] == output["conversationId"]
    assert read["conversation"]["contact"]["waId"] == accepted["wa_id"]
    sent = read["messages"][-1]
    assert sent["id"] == output["messageId"]
    assert sent["direction"] == "outbound"
    assert sent["status"] == "sent"
    assert sent["wamid"] == accepted["wamid"]
    assert sent["text"] == text
    assert sent["replyToWamid"] == quoted

    listed = structured(send_stack.call("list_conversations", {"limit": 100}))
    mine = [c for c in listed["conversations"] if c["id"] == output["conversationId"]]
    assert len(mine) == 1, listed
    assert mine[0]["lastMessage"]["wamid"] == accepted["wamid"]
    assert mine[0]["lastMessage"]["direction"] == "outbound"
    assert customer not in unanswered_phones(send_stack), "a reply answers the conversation"


def test_send_text_without_link_has_no_preview(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Hello")
    sim.clear_requests()
    structured(send_stack.call("send_text", {"phone": customer, "text": "Hi Hans"}))
    body = only_post(sim)
    assert body["text"] == {"body": "Hi Hans", "preview_url": False}
    assert "context" not in body, body


def test_send_is_pending_until_meta_accepts(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Anyone there?")
    sim.clear_requests()
    sim.inject(metasim.SEND, kind="hold")

    results: list = []
    sending = threading.Thread(
        target=lambda: results.append(
            send_stack.call("send_text", {"phone": customer, "text": "One moment"})
        )
    )
    sending.start()
    try:
        # Pons stores the message before it posts to Meta, and the stand-in
        # holds that post until it is released, so the message is pending
        # for as long as the reads below take.
        while sim.held_requests() == 0:
            assert sending.is_alive(), "the send ended before reaching the stand-in"
            sending.join(timeout=0.05)
        during = conversation_of(send_stack, customer)["messages"][-1]
        accepted_during = sim.accepted_messages()
    finally:
        released = sim.release_held()
        sending.join()

    assert released == 1
    assert during["direction"] == "outbound"
    assert during["status"] == "pending", during
    assert during["wamid"] is None
    assert all(m["wa_id"] != customer for m in accepted_during), "Meta has not accepted it yet"
    assert len(results) == 1, "the send raised instead of returning a result"

    output = structured(results[0])
    after = conversation_of(send_stack, customer)["messages"][-1]
    assert after["id"] == during["id"] == output["messageId"]
    assert after["status"] == "sent"
    assert after["wamid"] == sim.accepted_messages()[-1]["wamid"]


MEDIA_CASES = [
    (
        {"url": "https://cdn.example.com/a.jpg", "mimeType": "IMAGE/JPEG", "caption": "Your parcel"},
        {"type": "image", "image": {"link": "https://cdn.example.com/a.jpg", "caption": "Your parcel"}},
    ),
    (
        {"url": "https://cdn.example.com/c.mp4", "mimeType": "video/mp4", "caption": "Clip"},
        {"type": "video", "video": {"link": "https://cdn.example.com/c.mp4", "caption": "Clip"}},
    ),
    (
        {"url": "https://cdn.example.com/v.ogg", "mimeType": "audio/ogg; codecs=opus"},
        {"type": "audio", "audio": {"link": "https://cdn.example.com/v.ogg"}},
    ),
    (
        {
            "url": "https://cdn.example.com/i.pdf",
            "mimeType": "application/pdf",
            "filename": "invoice.pdf",
            "caption": "Invoice",
        },
        {
            "type": "document",
            "document": {
                "link": "https://cdn.example.com/i.pdf",
                "caption": "Invoice",
                "filename": "invoice.pdf",
            },
        },
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), MEDIA_CASES, ids=["image", "video", "audio", "document"])
def test_send_media_type_by_mime(send_stack, sim, arguments, expected):
    customer = new_customer()
    send_stack.inbound(customer, "Send me the file")
    sim.clear_requests()
    output = structured(send_stack.call("send_media", {"phone": customer, **arguments}))
    body = only_post(sim)
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": f"+{customer}",
        "biz_opaque_callback_data": output["messageId"],
        **expected,
    }
    stored = conversation_of(send_stack, customer)["messages"][-1]
    assert stored["id"] == output["messageId"]
    assert stored["type"] == expected["type"]
    assert stored["status"] == "sent"
    assert stored["wamid"] == sim.accepted_messages()[-1]["wamid"]
    assert stored["mediaMimeType"] == arguments["mimeType"].split(";")[0].strip().lower()
    assert stored.get("caption") == arguments.get("caption")
    assert stored.get("mediaFilename") == arguments.get("filename")


# PostgreSQL text cannot hold NUL, so these must be rejected before the
# message is stored, with the same error on both backends.
MEDIA_CONTROL_CASES = [
    ({"caption": "Invoice\u0000"}, "`caption`", "U+0000"),
    ({"filename": "invoice\u0000.pdf"}, "`filename`", "U+0000"),
    ({"filename": "invoice\n.pdf"}, "`filename`", "U+000A"),
]


@pytest.mark.parametrize(
    ("extra", "argument", "character"),
    MEDIA_CONTROL_CASES,
    ids=["caption-nul", "filename-nul", "filename-newline"],
)
def test_send_media_control_characters_rejected(send_stack, sim, extra, argument, character):
    customer = new_customer()
    send_stack.inbound(customer, "Send me the invoice")
    sim.clear_requests()
    arguments = {
        "phone": customer,
        "url": "https://cdn.example.com/i.pdf",
        "mimeType": "application/pdf",
        **extra,
    }
    text = tool_error(send_stack.call("send_media", arguments))
    assert f"invalid argument {argument}" in text, text
    assert character in text, text
    assert sim.message_posts() == []
    messages = conversation_of(send_stack, customer)["messages"]
    assert [m["direction"] for m in messages] == ["inbound"]


def template_post(sim, output: dict) -> dict:
    body = only_post(sim)
    assert body["type"] == "template", body
    assert body["biz_opaque_callback_data"] == output["messageId"], body
    return body["template"]


def test_send_template_positional(send_stack, sim):
    customer = new_customer()
    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": "order_update",
                "templateLanguage": "en_US",
                "components": [
                    {
                        "type": "BODY",
                        "parameters": [
                            {"type": "text", "text": "Hans"},
                            {"type": "TEXT", "text": "#42"},
                        ],
                    }
                ],
            },
        )
    )
    assert template_post(sim, output) == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Hans"}, {"type": "text", "text": "#42"}],
            }
        ],
    }
    stored = conversation_of(send_stack, customer)["messages"][-1]
    assert stored["id"] == output["messageId"]
    assert stored["type"] == "template"
    assert stored["status"] == "sent"
    assert stored["text"] == "Hi Hans, your order #42 has shipped."


def test_send_template_named(send_stack, sim):
    customer = new_customer()
    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": "appointment_reminder",
                "templateLanguage": "en_US",
                "components": [
                    {
                        "type": "Body",
                        "parameters": [
                            {"type": "text", "text": "May 3", "parameter_name": "date"},
                            {"type": "text", "text": "Hans", "parameter_name": "first_name"},
                        ],
                    }
                ],
            },
        )
    )
    assert template_post(sim, output) == {
        "name": "appointment_reminder",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "May 3", "parameter_name": "date"},
                    {"type": "text", "text": "Hans", "parameter_name": "first_name"},
                ],
            }
        ],
    }
    stored = conversation_of(send_stack, customer)["messages"][-1]
    assert stored["text"] == "Hello Hans, see you on May 3."


def test_send_template_with_media_header(send_stack, sim):
    customer = new_customer()
    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": "receipt",
                "templateLanguage": "de",
                "components": [
                    {
                        "type": "HEADER",
                        "parameters": [
                            {"type": "IMAGE", "image": {"link": "https://cdn.example.com/r.png"}}
                        ],
                    },
                    {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]},
                    {
                        "type": "BUTTON",
                        "sub_type": "URL",
                        "index": 0,
                        "parameters": [{"type": "text", "text": "R-42"}],
                    },
                ],
            },
        )
    )
    assert template_post(sim, output) == {
        "name": "receipt",
        "language": {"code": "de"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/r.png"}}],
            },
            {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "R-42"}],
            },
        ],
    }


def test_send_template_with_location_header(send_stack, sim):
    name = f"pickup_{new_customer()}"
    sim.add_template(
        id="200000000000078",
        name=name,
        language="en_US",
        parameter_format="POSITIONAL",
        components=[
            {"type": "HEADER", "format": "LOCATION"},
            {"type": "BODY", "text": "Your parcel {{1}} waits here."},
        ],
    )
    listed = structured(send_stack.call("list_templates", {"refresh": True}))
    template = next(t for t in listed["templates"] if t["name"] == name)
    assert template["header"] == {"format": "LOCATION"}
    assert template["variables"] == ["header location", "body {{1}}"]
    sim.clear_requests()
    customer = new_customer()
    body = {"type": "body", "parameters": [{"type": "text", "text": "P-7"}]}
    text = tool_error(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": name,
                "templateLanguage": "en_US",
                "components": [body],
            },
        )
    )
    assert "missing values for header location" in text, text
    assert sim.requests() == [], "nothing reached Meta"

    location = {
        "latitude": 52.5251,
        "longitude": 13.3694,
        "name": "Parcel shop",
        "address": "Invalidenstr. 1, Berlin",
    }
    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": name,
                "templateLanguage": "en_US",
                "components": [
                    {"type": "header", "parameters": [{"type": "location", "location": location}]},
                    body,
                ],
            },
        )
    )
    assert template_post(sim, output) == {
        "name": name,
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "location", "location": location}]},
            body,
        ],
    }
    stored = conversation_of(send_stack, customer)["messages"][-1]
    assert stored["text"] == "Your parcel P-7 waits here."


def test_send_reaction_sets_and_removes(send_stack, sim):
    customer = new_customer()
    target = send_stack.inbound(customer, "Thanks!")
    sim.clear_requests()
    output = structured(send_stack.call("send_reaction", {"waMessageId": target, "emoji": "👍"}))
    post = only_post(sim)
    # The callback data names the pending reaction, so that Meta's status
    # webhook can confirm it when the response is lost.
    assert post.pop("biz_opaque_callback_data").startswith("pons-reaction:")
    assert post == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": f"+{customer}",
        "type": "reaction",
        "reaction": {"message_id": target, "emoji": "👍"},
    }
    assert output["emoji"] == "👍"
    assert output["waMessageId"] == target
    assert output["wamid"] == sim.accepted_messages()[-1]["wamid"]
    stored = send_stack.db.scalar("SELECT business_reaction FROM messages WHERE wamid = ?", target)
    assert stored == "👍"
    messages = conversation_of(send_stack, customer)["messages"]
    assert len(messages) == 1, "a reaction is no message of its own"

    sim.clear_requests()
    removed = structured(send_stack.call("send_reaction", {"waMessageId": target, "emoji": ""}))
    assert only_post(sim)["reaction"] == {"message_id": target, "emoji": ""}
    assert removed["emoji"] is None
    stored = send_stack.db.scalar("SELECT business_reaction FROM messages WHERE wamid = ?", target)
    assert stored is None


def test_mark_as_read_clears_unread(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "One")
    last = send_stack.inbound(customer, "Two")
    before = conversation_of(send_stack, customer)["conversation"]
    assert before["unreadCount"] == 2
    sim.clear_requests()
    output = structured(send_stack.call("mark_as_read", {"waMessageId": last}))
    assert only_post(sim) == {"messaging_product": "whatsapp", "status": "read", "message_id": last}
    assert sim.read_receipts()[-1] == last
    assert output["readReceiptSent"] is True
    assert output["unreadCount"] == 0
    assert output["warnings"] == []
    after = conversation_of(send_stack, customer)
    assert after["conversation"]["unreadCount"] == 0
    assert [m["status"] for m in after["messages"]] == ["read", "read"]


def test_mark_as_read_older_keeps_unread(send_stack, sim):
    customer = new_customer()
    first = send_stack.inbound(customer, "One")
    send_stack.inbound(customer, "Two")
    send_stack.inbound(customer, "Three")
    sim.clear_requests()
    output = structured(send_stack.call("mark_as_read", {"waMessageId": first}))
    assert only_post(sim)["message_id"] == first
    assert output["unreadCount"] == 2
    after = conversation_of(send_stack, customer)
    assert after["conversation"]["unreadCount"] == 2
    statuses = [m["status"] for m in after["messages"]]
    assert statuses == ["read", "received", "received"], "only the marked message was read"


def test_list_templates_syncs_on_refresh(send_stack, sim):
    name = f"pickup_{new_customer()}"
    sim.add_template(
        id="200000000000077",
        name=name,
        language="de",
        parameter_format="NAMED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Paket {{parcel}}"},
            {"type": "BODY", "text": "Hallo {{first_name}}, dein Paket ist da."},
        ],
    )
    sim.clear_requests()
    output = structured(send_stack.call("list_templates", {"refresh": True}))
    syncs = sim.requests()
    assert len(syncs) == 1, syncs
    assert syncs[0]["method"] == "GET"
    assert syncs[0]["path"] == f"/{graph_version(send_stack)}{TEMPLATES_PATH_SUFFIX}"
    assert syncs[0]["token_valid"]
    by_name = {t["name"]: t for t in output["templates"]}
    assert {"order_update", "appointment_reminder", "receipt", name} <= set(by_name)
    new = by_name[name]
    assert new["parameterFormat"] == "named"
    assert new["status"] == "APPROVED"
    assert new["header"] == {"format": "TEXT", "text": "Paket {{parcel}}"}
    assert new["variables"] == ["header {{parcel}}", "body {{first_name}}"]
    assert by_name["receipt"]["variables"] == ["header image", "body {{1}}", "button 0 (url) {{1}}"]
    assert by_name["receipt"]["header"] == {"format": "IMAGE"}
    assert "header" not in by_name["order_update"], "a template without header has no `header`"

    sim.clear_requests()
    again = structured(send_stack.call("list_templates", {}))
    assert sim.requests() == [], "the stored list is reused"
    assert {t["name"] for t in again["templates"]} == set(by_name)


def test_update_conversation_archives_without_meta(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Bye")
    conversation_id = conversation_of(send_stack, customer)["conversation"]["id"]
    sim.clear_requests()
    archived = structured(
        send_stack.call(
            "updateConversation", {"conversationId": conversation_id, "archived": True}
        )
    )
    assert archived["conversation"]["archived"] is True
    assert conversation_of(send_stack, customer)["conversation"]["archived"] is True
    listed = structured(send_stack.call("list_unanswered", {"limit": 100}))["conversations"]
    assert [c["archived"] for c in listed if c["contact"]["waId"] == customer] == [True]
    for tool in ("list_unanswered", "list_conversations"):
        for archived, customer_listed in ((False, False), (True, True)):
            filtered = structured(
                send_stack.call(tool, {"limit": 200, "archived": archived})
            )["conversations"]
            assert {c["archived"] for c in filtered} <= {archived}, (tool, archived)
            waiting = [c for c in filtered if c["contact"]["waId"] == customer]
            assert bool(waiting) is customer_listed, (tool, archived)
    send_stack.inbound(customer, "One more thing")
    assert conversation_of(send_stack, customer)["conversation"]["archived"] is True, (
        "a new message leaves the conversation archived"
    )
    restored = structured(
        send_stack.call("updateConversation", {"phone": f"+{customer}", "archived": False})
    )
    assert restored["conversation"]["archived"] is False
    assert conversation_of(send_stack, customer)["conversation"]["archived"] is False
    assert sim.requests() == [], "archiving never calls Meta"


def test_status_webhooks_move_message_on(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Hi")
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Yo"}))
    for status in ("delivered", "read"):
        delivery = sim.send_status(output["wamid"], status)
        assert delivery["http_status"] == 200, delivery
        stored = conversation_of(send_stack, customer)["messages"][-1]
        assert stored["status"] == status
