"""Cases from public bug reports of WhatsApp and MCP integrations, for the
send side, through the Python MCP SDK with `pons metasim` as Meta: the
24-hour window, templates with named variables, and scopes checked per
tool."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from support import metasim
from support.ids import new_customer, new_wamid
from support.mcp import structured, tool_error
from support.meta import text_body
from support.metasim import SEND_OWNER

DAY = 24 * 60 * 60


def format_time(unix: int) -> str:
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def inbound_at(send_stack, account, secret: bytes, customer: str, timestamp: int, text: str) -> str:
    wamid = new_wamid()
    body = text_body(account, customer, wamid, text, timestamp=timestamp, name="Hans")
    response = send_stack.stack.meta.post(body, secret=secret)
    assert response.status_code == 200, response.text
    return wamid


def count_rows(send_stack, table: str) -> int:
    return int(send_stack.db.scalar(f"SELECT count(*) FROM {table}"))


# C10: the 24-hour window. Inbound at T, send_text at T+1h: sent. Last
# inbound at T, send_text at T+24h+1s: rejected without calling Meta, with
# an error that points to send_template and lists approved templates. An
# outbound message never extends the window. A `failed` status with
# 131047 marks the message failed with that code and reason.


def test_c10_send_within_window_keeps_expiry(send_stack, sim):
    customer = new_customer()
    inbound = int(time.time()) - 3600
    inbound_at(send_stack, send_stack.account, metasim.APP_SECRET, customer, inbound, "Hi")
    sim.clear_requests()
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Hello"}))
    assert output["status"] == "sent"
    assert len(sim.message_posts()) == 1
    window = structured(send_stack.call("get_conversation", {"phone": customer}))["conversation"][
        "window"
    ]
    assert window["open"] is True
    assert window["expiresAt"] == format_time(inbound + DAY), "a send never extends the window"


def test_c10_closed_window_rejected_before_meta(send_stack, sim):
    customer = new_customer()
    inbound = int(time.time()) - DAY - 1
    inbound_at(send_stack, send_stack.account, metasim.APP_SECRET, customer, inbound, "Hi")
    structured(send_stack.call("list_templates", {"refresh": True}))
    sim.clear_requests()
    messages = count_rows(send_stack, "messages")
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Hello"}))
    assert "send_template" in text, text
    assert "order_update (en_US)" in text, text
    assert "appointment_reminder (en_US)" in text, text
    assert "weekly_offer" not in text, f"a pending template is not approved: {text}"
    assert sim.requests() == [], "Meta was not called"
    assert count_rows(send_stack, "messages") == messages


def test_c10_failed_status_131047_marks_failed(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Hi")
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Late reply"}))
    delivery = sim.send_status(output["wamid"], "failed", error_code=131047)
    assert delivery["http_status"] == 200, delivery

    read = structured(send_stack.call("get_conversation", {"phone": customer}))
    message = read["messages"][-1]
    assert message["wamid"] == output["wamid"]
    assert message["status"] == "failed"
    assert message["error"]["code"] == 131047
    assert message["error"]["title"] == "Re-engagement message"
    assert message["error"]["details"], "Meta's reason is stored"
    listed = structured(send_stack.call("list_conversations", {"limit": 100}))
    mine = [c for c in listed["conversations"] if c["id"] == output["conversationId"]]
    assert mine[0]["lastMessage"]["wamid"] == output["wamid"]


# C11: templates with named variables. A body `Hi {{first_name}}, order
# {{order_id}}` (parameter format NAMED) is sent with `parameter_name` on
# each parameter, and `{{1}}` templates positionally. The Templates API
# lists component types in upper case while sends use lower case, whatever
# case the caller passes. A missing variable is reported by name before
# any call to Meta.


def add_named_order_template(sim) -> str:
    name = f"order_named_{new_customer()}"
    sim.add_template(
        id="200000000000088",
        name=name,
        language="en_US",
        parameter_format="NAMED",
        components=[{"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}}"}],
    )
    return name


def test_c11_named_variables_sent_by_name(send_stack, sim):
    name = add_named_order_template(sim)
    customer = new_customer()
    output = structured(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": name,
                "templateLanguage": "en_US",
                "components": [
                    {
                        "type": "BODY",
                        "parameters": [
                            {"type": "TEXT", "text": "A-17", "parameter_name": "order_id"},
                            {"type": "Text", "text": "Hans", "parameter_name": "first_name"},
                        ],
                    }
                ],
            },
        )
    )
    assert output["status"] == "sent"
    syncs = [r for r in sim.requests() if r["path"].endswith("/message_templates")]
    assert len(syncs) == 1, "the unknown template was fetched from Meta"
    posts = sim.message_posts()
    assert len(posts) == 1, posts
    assert posts[0]["body"]["template"] == {
        "name": name,
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "A-17", "parameter_name": "order_id"},
                    {"type": "text", "text": "Hans", "parameter_name": "first_name"},
                ],
            }
        ],
    }
    stored = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    assert stored["text"] == "Hi Hans, order A-17"
    assert stored["template"] == {"name": name, "language": "en_US"}


def test_c11_positional_variables_sent_in_order(send_stack, sim):
    customer = new_customer()
    structured(
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
                            {"type": "text", "text": "#42"},
                        ],
                    }
                ],
            },
        )
    )
    component = sim.message_posts()[0]["body"]["template"]["components"][0]
    assert component == {
        "type": "body",
        "parameters": [{"type": "text", "text": "Hans"}, {"type": "text", "text": "#42"}],
    }
    assert all("parameter_name" not in p for p in component["parameters"])


def test_c11_missing_variable_named_before_meta(send_stack, sim):
    name = add_named_order_template(sim)
    structured(send_stack.call("list_templates", {"refresh": True}))
    sim.clear_requests()
    customer = new_customer()
    text = tool_error(
        send_stack.call(
            "send_template",
            {
                "phone": customer,
                "templateName": name,
                "templateLanguage": "en_US",
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Hans", "parameter_name": "first_name"}
                        ],
                    }
                ],
            },
        )
    )
    assert "missing values for body {{order_id}}" in text, text
    assert '"parameter_name":"order_id"' in text, text
    assert sim.requests() == [], "nothing reached Meta"


# Button values pass the same checks as body values, plus a length limit
# per button type, and an oversized `components` argument is rejected by
# its size. Nothing reaches Meta in either case.


def test_button_values_rejected_before_meta(send_stack, sim):
    name = f"coupon_{new_customer()}"
    sim.add_template(
        id="200000000000089",
        name=name,
        language="en_US",
        parameter_format="POSITIONAL",
        category="MARKETING",
        components=[
            {"type": "BODY", "text": "Take 10% off today."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "COPY_CODE", "example": "SAVE10"},
                    {"type": "QUICK_REPLY", "text": "Stop"},
                    {"type": "URL", "text": "Shop", "url": "https://shop.example/s/{{1}}"},
                ],
            },
        ],
    )
    structured(send_stack.call("list_templates", {"refresh": True}))
    sim.clear_requests()
    customer = new_customer()

    def send(coupon_code: str, payload: str, suffix: str) -> str:
        buttons = [
            ("copy_code", {"type": "coupon_code", "coupon_code": coupon_code}),
            ("quick_reply", {"type": "payload", "payload": payload}),
            ("url", {"type": "text", "text": suffix}),
        ]
        components = [
            {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}
            for index, (sub_type, parameter) in enumerate(buttons)
        ]
        arguments = {
            "phone": customer,
            "templateName": name,
            "templateLanguage": "en_US",
            "components": components,
        }
        return tool_error(send_stack.call("send_template", arguments))

    cases = [
        (("", "stop", "a1"), "button 0 (copy_code) coupon code is empty"),
        (("C" * 100, "stop", "a1"), "coupon code is 100 characters long, and WhatsApp allows 15"),
        (("\u202e", "stop", "a1"), "button 0 (copy_code) coupon code has no visible character"),
        (("SAVE10", "", "a1"), "button 1 (quick_reply) payload is empty"),
        (("SAVE10", "a\nb", "a1"), "button 1 (quick_reply) payload contains a new line"),
        (("SAVE10", "stop", "s" * 3000), "button 2 (url) {{1}} is 3000 characters long"),
    ]
    for values, expected in cases:
        text = send(*values)
        assert expected in text, f"{values!r}: {text}"
    assert sim.requests() == [], "nothing reached Meta"


def test_oversized_components_rejected(send_stack, sim):
    structured(send_stack.call("list_templates", {}))
    sim.clear_requests()
    body = {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]}
    text = tool_error(
        send_stack.call(
            "send_template",
            {
                "phone": new_customer(),
                "templateName": "order_update",
                "templateLanguage": "en_US",
                "components": [body] * 40_000,
            },
        )
    )
    assert "40000 components were given" in text, text
    assert "at most 12" in text, text
    assert sim.message_posts() == [], "nothing reached Meta"


# C14: scopes are checked per tool. A read key calling send_text is
# rejected with an error naming the missing send scope: no request reaches
# Meta, no message is stored, no event is emitted. A read+write key:
# send_reaction works, send_template is rejected. A key whose user is a
# member of A only, naming B's number in `from`: "account not found", no
# data, and search_messages for a word only B's conversations contain
# finds nothing.


def test_c14_read_key_cannot_send(send_stack, sim):
    customer = new_customer()
    send_stack.inbound(customer, "Hi")
    key = send_stack.admin.key_create(user=SEND_OWNER, scopes="read", name="c14-read")
    sim.clear_requests()
    messages = count_rows(send_stack, "messages")
    events = count_rows(send_stack, "events")
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Hi"}, key=key))
    assert "lacks the `send` scope" in text, text
    assert "--scopes send" in text, text
    assert sim.requests() == [], "no request reached Meta"
    assert count_rows(send_stack, "messages") == messages, "no message stored"
    assert count_rows(send_stack, "events") == events, "no event emitted"


def test_c14_read_write_key_reacts_not_sends(send_stack, sim):
    customer = new_customer()
    wamid = send_stack.inbound(customer, "Hi")
    key = send_stack.admin.key_create(user=SEND_OWNER, scopes="read,write", name="c14-rw")
    sim.clear_requests()
    reacted = structured(
        send_stack.call("send_reaction", {"waMessageId": wamid, "emoji": "❤️"}, key=key)
    )
    assert reacted["emoji"] == "❤️"
    assert len(sim.message_posts()) == 1
    text = tool_error(
        send_stack.call(
            "send_template",
            {"phone": customer, "templateName": "order_update", "templateLanguage": "en_US"},
            key=key,
        )
    )
    assert "lacks the `send` scope" in text, text
    assert len(sim.message_posts()) == 1, "the template did not reach Meta"


def test_c14_other_account_not_found(send_stack, sim):
    admin = send_stack.admin
    other_owner = "other-owner@example.com"
    member = "member-of-a@example.com"
    admin.user_add(other_owner)
    admin.user_add(member)
    other_secret = b"metasim-e2e-other-app-secret-000"
    other = admin.account_add(
        owner=other_owner,
        name="Zeppelin Shop",
        waba_id="100000000000004",
        phone_number_id="100000000000003",
        phone="+15550009999",
        app_secret=other_secret,
        verify_token="metasim-verify-token-b",
    )
    admin.member_add(account=send_stack.account.id, user=member, role="member")
    customer = new_customer()
    other_wamid = inbound_at(
        send_stack, other, other_secret, customer, int(time.time()) - 60, "The zeppelin arrived"
    )
    key = admin.key_create(user=member, scopes="read,write,send", name="c14-member")
    sim.clear_requests()

    for tool, arguments in [
        ("send_text", {"from": "+15550009999", "phone": customer, "text": "Hi"}),
        (
            "send_template",
            {
                "from": other.id,
                "phone": customer,
                "templateName": "order_update",
                "templateLanguage": "en_US",
            },
        ),
        ("mark_as_read", {"from": "+15550009999", "waMessageId": other_wamid}),
        ("list_conversations", {"from": "1 555 000 9999"}),
        ("get_conversation", {"from": "+15550009999", "phone": customer}),
    ]:
        text = tool_error(send_stack.call(tool, arguments, key=key))
        assert "account not found" in text, f"{tool}: {text}"
        assert "omit it to use the only reachable account" in text, f"{tool}: {text}"
        assert "Zeppelin Shop" not in text, f"{tool}: {text}"
        assert "zeppelin" not in text.lower(), f"{tool}: {text}"

    search = structured(send_stack.call("search_messages", {"query": "zeppelin"}, key=key))
    assert search["hits"] == []
    assert sim.requests() == [], "nothing reached Meta"

    owner_key = admin.key_create(user=other_owner, scopes="read", name="c14-owner-b")
    found = structured(send_stack.call("search_messages", {"query": "zeppelin"}, key=owner_key))
    assert len(found["hits"]) == 1, "B's owner finds the message the member cannot"

    # With two accounts, only tools that act on several accept `from` omitted.
    admin.member_add(account=other.id, user=member, role="member")
    unknown = {"from": "+15550001234", "phone": customer, "text": "Hi"}
    text = tool_error(send_stack.call("send_text", unknown, key=key))
    assert "account not found: +15550001234" in text, text
    assert "omit it" not in text, text
    text = tool_error(send_stack.call("list_conversations", {"from": "+15550001234"}, key=key))
    assert "omit it to use every reachable account" in text, text
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Hi"}, key=key))
    assert "reaches 2 accounts" in text, text
