"""Graph API failures injected by `pons metasim`, seen through the Python
MCP SDK. Each becomes a tool error naming Meta's code or the transport
problem, and the message is stored as failed with the error. The server
keeps serving, and a failed read receipt only adds a warning. When the
stand-in accepted a send before its response was lost, the status webhook
that echoes the send's `biz_opaque_callback_data` gives the message its
wamid and Meta's status."""

from __future__ import annotations

import httpx2
import pytest

from support import meta, metasim
from support.ids import new_customer, new_wamid
from support.mcp import structured, tool_error

# The send stack of this module gives up on a Graph request after this
# many seconds, and the slow-response fault delays the response longer.
GRAPH_TIMEOUT_SECONDS = 2
SLOW_RESPONSE_MS = 6000


@pytest.fixture(scope="module")
def send_stack_env() -> dict[str, str]:
    return {"PONS_GRAPH_TIMEOUT_SECONDS": str(GRAPH_TIMEOUT_SECONDS)}


def failed_send(send_stack, customer: str, **fault) -> tuple[str, dict]:
    """Send a text that meets `fault`, check that it is stored as failed,
    and return the tool error text and the stored message."""
    send_stack.sim.inject(metasim.SEND, **fault)
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Your order"}))
    stored = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    assert stored["direction"] == "outbound"
    assert stored["status"] == "failed", f"{fault}: {stored}"
    assert stored["wamid"] is None
    assert f"messageId {stored['id']}" in text, text
    return text, stored


def stored_error(send_stack, message_id: str) -> tuple:
    rows = send_stack.db.query(
        "SELECT status, error_code, error_title, error_message, error_details "
        "FROM messages WHERE id = ?",
        message_id,
    )
    assert len(rows) == 1, rows
    return rows[0]


def assert_still_serving(send_stack, customer: str) -> None:
    """The server is up, logged no panic, and still sends."""
    health = httpx2.get(f"{send_stack.server.url}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    panics = [line for line in send_stack.server.lines if "panicked" in line]
    assert panics == [], panics
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Second try"}))
    assert output["status"] == "sent"


@pytest.fixture
def customer(send_stack, sim) -> str:
    """A customer who wrote a moment ago, with the stand-in's records cleared after."""
    number = new_customer()
    send_stack.inbound(number, "Hi")
    sim.clear_requests()
    return number


META_ERRORS = [
    # (code, HTTP status override, title, next step, POSTs made)
    (131047, None, "Re-engagement message", "send_template", 1),
    (131026, None, "Message undeliverable", "do not retry", 1),
    (131009, None, "Parameter value is not valid", "", 1),
    (368, None, "Temporarily blocked for policies violations", "", 1),
]


@pytest.mark.parametrize(
    ("code", "http_status", "title", "hint", "posts"), META_ERRORS, ids=[str(e[0]) for e in META_ERRORS]
)
def test_meta_error_fails_message(send_stack, sim, customer, code, http_status, title, hint, posts):
    text, stored = failed_send(send_stack, customer, kind="graph", code=code, http_status=http_status)
    assert f"Meta returned error {code} ({title})" in text, text
    assert hint in text, text
    assert len(sim.message_posts()) == posts
    assert stored["error"]["code"] == code
    assert stored["error"]["title"] == title
    status, error_code, error_title, _, error_details = stored_error(send_stack, stored["id"])
    assert status == "failed"
    assert error_code == code
    assert error_title == title
    assert error_details, "Meta's details are stored"
    assert_still_serving(send_stack, customer)


def test_token_error_marks_account(send_stack, sim, customer):
    text, stored = failed_send(send_stack, customer, kind="graph", code=190)
    assert "Meta returned error 190" in text, text
    assert "pons account set-credentials" in text, text
    assert stored["error"]["code"] == 190
    assert len(sim.message_posts()) == 1, "a token error is not retried"
    listing = send_stack.admin.account_list()
    line = next(l for l in listing.splitlines() if metasim.PHONE_NUMBER_ID in l)
    assert "needs-new" in line.split(), listing

    # While the rejection is recent, a send fails without calling Meta.
    sim.clear_requests()
    text = tool_error(send_stack.call("send_text", {"phone": customer, "text": "Again"}))
    assert "Meta rejected the token at" in text, text
    assert sim.message_posts() == []

    # Five minutes after the rejection, the next send tries the token again.
    send_stack.db.execute(
        "UPDATE accounts SET token_invalid_at = token_invalid_at - 300 WHERE phone_number_id = ?",
        metasim.PHONE_NUMBER_ID,
    )
    assert_still_serving(send_stack, customer)


def test_rate_limit_retried_then_sent(send_stack, sim, customer):
    sim.inject(metasim.SEND, kind="graph", code=130429)
    output = structured(send_stack.call("send_text", {"phone": customer, "text": "Your order"}))
    assert output["status"] == "sent"
    assert len(sim.message_posts()) == 2, "rejected once, then accepted"
    stored = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    assert stored["status"] == "sent"
    assert "error" not in stored


@pytest.mark.parametrize("http_status", [None, 429], ids=["status-400", "status-429"])
def test_rate_limit_exhausted(send_stack, sim, customer, http_status):
    for _ in range(2):
        sim.inject(metasim.SEND, kind="graph", code=130429, http_status=http_status)
    text, stored = failed_send(send_stack, customer, kind="graph", code=130429, http_status=http_status)
    assert "error 130429 (Rate limit hit)" in text, text
    assert "wait a minute" in text, text
    assert len(sim.message_posts()) == 3, "three attempts"
    assert stored["error"]["code"] == 130429
    assert_still_serving(send_stack, customer)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_not_retried(send_stack, sim, customer, status):
    text, stored = failed_send(send_stack, customer, kind="http", status=status)
    assert f"HTTP {status}" in text, text
    assert "check get_conversation before" in text, text
    assert len(sim.message_posts()) == 1, "a send may have run, so no retry"
    assert stored_error(send_stack, stored["id"])[0] == "failed"
    assert_still_serving(send_stack, customer)


def test_slow_response_times_out(send_stack, sim, customer):
    text, stored = failed_send(send_stack, customer, kind="delay", ms=SLOW_RESPONSE_MS)
    assert "timed out" in text, text
    assert "check get_conversation before" in text, text
    status, _, _, error_message, _ = stored_error(send_stack, stored["id"])
    assert status == "failed"
    assert error_message, "the timeout is stored as the error"
    assert_still_serving(send_stack, customer)


def test_dropped_connection(send_stack, sim, customer):
    text, stored = failed_send(send_stack, customer, kind="drop_connection")
    assert "connection to the Graph API failed" in text, text
    assert stored_error(send_stack, stored["id"])[0] == "failed"
    assert_still_serving(send_stack, customer)


LOST_RESPONSES = [
    # (fault, text of the tool error)
    ({"kind": "accept_then_drop"}, "connection to the Graph API failed"),
    # The stand-in keeps the accepted send without a response until Pons
    # gives up after GRAPH_TIMEOUT_SECONDS.
    ({"kind": "accept_then_drop", "hold": True}, "timed out"),
]


@pytest.mark.parametrize(("fault", "reason"), LOST_RESPONSES, ids=["dropped", "timed-out"])
def test_status_webhook_after_lost_response(send_stack, sim, customer, fault, reason):
    try:
        text, stored = failed_send(send_stack, customer, **fault)
    finally:
        sim.release_held()
    assert reason in text, text
    accepted = sim.accepted_messages()[-1]
    assert accepted["wa_id"] == customer, "the stand-in accepted the send"
    assert accepted["body"]["biz_opaque_callback_data"] == stored["id"]
    assert accepted["biz_opaque_callback_data"] == stored["id"]

    for status in ("sent", "delivered"):
        delivery = sim.send_status(accepted["wamid"], status)
        assert delivery["http_status"] == 200, delivery
        echoed = delivery["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]
        assert echoed["biz_opaque_callback_data"] == stored["id"]
        now = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
        assert now["id"] == stored["id"]
        assert now["status"] == status
        assert now["wamid"] == accepted["wamid"]
        assert "error" not in now, now
    assert len(sim.message_posts()) == 1, "the send is not retried"


def test_failed_status_after_lost_response(send_stack, sim, customer):
    _, stored = failed_send(send_stack, customer, kind="accept_then_drop")
    wamid = sim.accepted_messages()[-1]["wamid"]
    delivery = sim.send_status(wamid, "failed", error_code=131026)
    assert delivery["http_status"] == 200, delivery
    now = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    assert now["id"] == stored["id"]
    assert now["status"] == "failed"
    assert now["wamid"] == wamid
    assert now["error"]["code"] == 131026, "Meta's error replaces the transport error"


def test_unmatched_callback_data_only_noted(send_stack, sim, customer):
    sent = structured(send_stack.call("send_text", {"phone": customer, "text": "Your order"}))
    stray = new_wamid()
    entry = meta.status(stray, "delivered", 1750100000, customer)
    entry["biz_opaque_callback_data"] = sent["messageId"]
    change = meta.messages_change(
        phone_number_id=metasim.PHONE_NUMBER_ID,
        display_phone=metasim.DISPLAY_PHONE,
        statuses=[entry],
    )
    body = meta.encode(meta.envelope((metasim.WABA_ID, [change])))
    response = send_stack.stack.meta.post(body, secret=metasim.APP_SECRET)
    assert response.status_code == 200, response.text

    details = send_stack.db.query(
        "SELECT detail FROM webhook_log WHERE detail LIKE ?", f"%{stray}%"
    )
    assert len(details) == 1, details
    assert f"already has the wamid {sent['wamid']}" in details[0][0], details
    now = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    assert now["id"] == sent["messageId"]
    assert now["wamid"] == sent["wamid"], "the stored wamid stays"
    assert now["status"] == "sent"


# A read receipt is idempotent, so Pons retries it after a transport
# failure or a 5xx, up to three attempts in all. Meta's 131009 is final.
RECEIPT_FAULTS = [
    ([{"kind": "graph", "code": 131009}], 1, "131009"),
    ([{"kind": "drop_connection"}] * 3, 3, "connection to the Graph API failed"),
    ([{"kind": "http", "status": 502}] * 3, 3, "HTTP 502"),
]


@pytest.mark.parametrize(
    ("faults", "attempts", "reason"), RECEIPT_FAULTS, ids=["131009", "dropped", "http-502"]
)
def test_failed_read_receipt_only_warns(send_stack, sim, faults, attempts, reason):
    number = new_customer()
    wamid = send_stack.inbound(number, "Hi")
    sim.clear_requests()
    for fault in faults:
        sim.inject(metasim.MARK_READ, **fault)
    output = structured(send_stack.call("mark_as_read", {"waMessageId": wamid}))
    assert output["readReceiptSent"] is False
    assert len(output["warnings"]) == 1, output
    assert "read receipt to Meta failed" in output["warnings"][0]
    assert reason in output["warnings"][0]
    assert len(sim.message_posts()) == attempts
    assert output["unreadCount"] == 0
    conversation = structured(send_stack.call("get_conversation", {"phone": number}))
    assert conversation["conversation"]["unreadCount"] == 0
    assert conversation["messages"][-1]["status"] == "received", "the customer saw no receipt"
    assert wamid not in sim.read_receipts(), "the stand-in accepted no receipt"
    sent = structured(send_stack.call("send_text", {"phone": number, "text": "Right away"}))
    assert sent["status"] == "sent", "a failed receipt does not hold up the reply"


def test_read_receipt_retried_after_drop(send_stack, sim):
    number = new_customer()
    wamid = send_stack.inbound(number, "Hi")
    sim.clear_requests()
    sim.inject(metasim.MARK_READ, kind="drop_connection")
    output = structured(send_stack.call("mark_as_read", {"waMessageId": wamid}))
    assert output["readReceiptSent"] is True
    assert output["warnings"] == []
    assert len(sim.message_posts()) == 2, "dropped once, then accepted"
    assert wamid in sim.read_receipts()


def test_failed_reaction_changes_nothing(send_stack, sim, customer):
    target = structured(send_stack.call("get_conversation", {"phone": customer}))["messages"][-1]
    sim.inject(metasim.SEND, kind="graph", code=131009)
    text = tool_error(
        send_stack.call("send_reaction", {"waMessageId": target["wamid"], "emoji": "👍"})
    )
    assert "sending the reaction failed" in text, text
    assert "error 131009" in text, text
    stored = send_stack.db.scalar(
        "SELECT business_reaction FROM messages WHERE wamid = ?", target["wamid"]
    )
    assert stored is None


def test_template_sync_failure_explained(send_stack, sim, customer):
    sim.inject(metasim.TEMPLATES, kind="graph", code=10)
    name = f"unknown_{customer}"
    text = tool_error(
        send_stack.call(
            "send_template",
            {"phone": customer, "templateName": name, "templateLanguage": "en_US"},
        )
    )
    assert f"template not found: {name}" in text, text
    assert f"fetching the templates of +{metasim.DISPLAY_PHONE}" in text, text
    assert "error 10" in text, text
    assert sim.message_posts() == [], "nothing reached Meta's send endpoint"
