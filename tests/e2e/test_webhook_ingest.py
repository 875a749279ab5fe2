"""Ingestion cases from public bug reports: statuses, reactions, mixed
fields, duplicate deliveries, failed storage and several numbers behind
one callback URL."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import httpx2
import pytest

from conftest import ACCOUNT_A, OWNER, finish_stack, start_stack
from support.ids import new_customer, new_wamid
from support.mcp import call_tool, structured
from support.meta import (
    account_change,
    contact,
    encode,
    envelope,
    reaction_message,
    status,
    text_body,
    text_message,
)
from support.server import log_fields

INBOUND_EVENT = "message.inbound.received"


@pytest.fixture(scope="module")
def read_key(stack):
    return stack.admin.key_create(user=OWNER, scopes="read", name="ingest reader").text


@pytest.fixture(scope="module")
def a_only_key(stack):
    """A read key of a user who is a member of account A only."""
    stack.admin.user_add("a-member@example.com")
    stack.admin.member_add(account=stack.accounts["A"].id, user="a-member@example.com", role="member")
    return stack.admin.key_create(user="a-member@example.com", scopes="read", name="A only").text


def conversation(stack, key: str, phone: str, account=None) -> dict:
    arguments = {"phone": "+" + phone}
    if account is not None:
        arguments["from"] = account.phone
    result = call_tool(stack.server.mcp_url, key, "legacy", "get_conversation", arguments)
    return structured(result)


def inbound_events(stack, wamid: str) -> int:
    return int(
        stack.db.scalar(
            "SELECT count(*) FROM events WHERE type = ? AND payload_json LIKE ?",
            INBOUND_EVENT,
            f"%{wamid}%",
        )
    )


def insert_outbound(stack, account, customer: str, wamid: str, timestamp: int) -> None:
    """Store an outbound message as a send would, so statuses can apply to it.

    The send tools are not part of this build, so the row is written
    directly; Pons reads it like any other outbound message.
    """
    conversation_id = stack.db.scalar(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
        "WHERE k.account_id = ? AND k.wa_id = ?",
        account.id,
        customer,
    )
    stack.db.execute(
        "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, text, "
        "status, timestamp, created_at) VALUES (?, ?, ?, ?, 'outbound', 'text', ?, 'sent', ?, ?)",
        str(uuid.uuid4()),
        account.id,
        conversation_id,
        wamid,
        "Your order has shipped",
        timestamp,
        timestamp,
    )


def test_status_without_profile_keeps_name(stack, read_key):
    account = stack.accounts["A"]
    customer = new_customer()
    assert stack.meta.post(
        text_body(account, customer, new_wamid(), "Where is my order?", 1750200000, "Carol Example"),
        secret=account.app_secret,
    ).status_code == 200
    outbound = new_wamid()
    insert_outbound(stack, account, customer, outbound, 1750200060)

    no_profile = [contact(customer, None, user_id="US.10000000000000000077")]
    for name, timestamp in [("read", 1750200120), ("delivered", 1750200090)]:
        change = account_change(
            account, contacts=no_profile, statuses=[status(outbound, name, timestamp, customer)]
        )
        body = encode(envelope((account.waba_id, [change])))
        response = stack.meta.post(body, secret=account.app_secret)
        assert response.status_code == 200, f"{name}: {response.text}"

    detail = conversation(stack, read_key, customer)
    assert detail["conversation"]["contact"]["name"] == "Carol Example"
    sent = [m for m in detail["messages"] if m["wamid"] == outbound]
    assert len(sent) == 1
    assert sent[0]["direction"] == "outbound"
    assert sent[0]["status"] == "read", "a late `delivered` must not downgrade `read`"


def test_reaction_set_then_removed(stack, read_key):
    account = stack.accounts["A"]
    customer = new_customer()
    target = new_wamid()
    assert stack.meta.post(
        text_body(account, customer, target, "Thanks for the quick reply", 1750300000),
        secret=account.app_secret,
    ).status_code == 200

    # Reactions are keyed by the target wamid. Outbound targets need the
    # send tools, which this build lacks, so the target is inbound.
    steps = [("👍", "👍"), (None, None), ("👍", "👍"), ("", None)]
    for offset, (emoji, expected_reaction) in enumerate(steps, start=1):
        message = reaction_message(customer, new_wamid(), 1750300000 + offset, target, emoji)
        body = encode(envelope((account.waba_id, [account_change(account, messages=[message])])))
        response = stack.meta.post(body, secret=account.app_secret)
        assert response.status_code == 200, f"reaction {emoji!r}: {response.text}"

        detail = conversation(stack, read_key, customer)
        messages = detail["messages"]
        assert [m["wamid"] for m in messages] == [target], "a reaction must not add a message"
        assert messages[0].get("reaction") == expected_reaction, f"after reaction {emoji!r}"
        assert detail["conversation"]["lastMessage"]["preview"] == "Thanks for the quick reply"


def test_reaction_to_unknown_message(stack):
    account = stack.accounts["A"]
    message = reaction_message(new_customer(), new_wamid(), 1750300100, new_wamid(), "🎉")
    body = encode(envelope((account.waba_id, [account_change(account, messages=[message])])))
    assert stack.meta.post(body, secret=account.app_secret).status_code == 200


def test_template_status_beside_message(stack):
    account = stack.accounts["A"]
    wamid = new_wamid()
    template_change = {
        "field": "message_template_status_update",
        "value": {
            "event": "APPROVED",
            "message_template_id": 1000000000000777,
            "message_template_name": "shipping_update",
            "message_template_language": "en_US",
            "reason": "NONE",
        },
    }
    message_change = account_change(
        account,
        contacts=[contact("15550002222", "Alice Example")],
        messages=[text_message("15550002222", wamid, 1750400000, "Mixed body message")],
    )
    body = encode(envelope((account.waba_id, [template_change, message_change])))

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 200, response.text
    assert stack.db.count_messages(wamid) == 1
    rows = stack.db.query(
        "SELECT status, name, account_id FROM templates WHERE meta_template_id = ?",
        "1000000000000777",
    )
    assert rows == [("APPROVED", "shipping_update", account.id)]


def test_account_update_only_is_logged(stack):
    account = stack.accounts["A"]
    change = {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}
    body = encode(envelope((account.waba_id, [change])))
    before = int(stack.db.scalar("SELECT count(*) FROM webhook_log"))

    response = stack.meta.post(body, secret=account.app_secret)

    assert response.status_code == 200, response.text
    rows = stack.db.query("SELECT detail FROM webhook_log ORDER BY received_at, id")
    assert len(rows) == before + 1
    assert any("account_update" in (detail or "") for (detail,) in rows)


def test_duplicate_delivery_stored_once(stack, read_key):
    account = stack.accounts["A"]
    customer = new_customer()
    first, second = new_wamid(), new_wamid()
    first_body = text_body(account, customer, first, "Sent once, delivered twice", 1750500000)
    second_body = text_body(account, customer, second, "Sent once, delivered four times", 1750500001)

    for _ in range(2):
        assert stack.meta.post(first_body, secret=account.app_secret).status_code == 200
    assert stack.db.count_messages(first) == 1
    assert inbound_events(stack, first) == 1
    assert conversation(stack, read_key, customer)["conversation"]["unreadCount"] == 1

    statuses = stack.meta.post_in_parallel(second_body, account.app_secret, copies=4)
    assert statuses == [200, 200, 200, 200]
    assert stack.db.count_messages(second) == 1
    assert inbound_events(stack, second) == 1
    assert conversation(stack, read_key, customer)["conversation"]["unreadCount"] == 2


def test_failed_storage_is_not_acknowledged(stack, read_key):
    account = stack.accounts["A"]
    customer = new_customer()
    first, second = new_wamid(), new_wamid()
    change = account_change(
        account,
        contacts=[contact(customer, "Dana Example")],
        messages=[
            text_message(customer, first, 1750600000, "First of two"),
            text_message(customer, second, 1750600001, "Second of two"),
        ],
    )
    body = encode(envelope((account.waba_id, [change])))

    server = stack.server
    log_start = len(server.lines)
    stack.db.fail_inserts_of(second)
    try:
        failures = [stack.meta.post(body, secret=account.app_secret) for _ in range(3)]
        readiness = httpx2.get(f"{server.url}/readyz", timeout=10)
    finally:
        stack.db.stop_failing_inserts()
    for failed in failures:
        assert not 200 <= failed.status_code < 300, "a body that was not stored must not get 2xx"
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "30"
        assert "injected" not in failed.text, "a 5xx must not carry internal error text"
    assert stack.db.count_messages(first) == 0, "the batch must roll back as a whole"
    # The database still runs queries, so only the failed write shows that
    # webhooks are lost.
    assert readiness.status_code == 503, readiness.text
    # Three failures in a row make one error line, not one per webhook.
    server.wait_for_log(lambda f: f.get("message", "").startswith("webhook not stored"), 10, log_start)
    with server.changed:
        lines = [log_fields(line) for line in server.lines[log_start:]]
    errors = [f for f in lines if f is not None and f.get("level") == "ERROR"]
    assert len(errors) == 1, errors
    assert "injected" in errors[0]["error"], errors[0]

    retried = stack.meta.post(body, secret=account.app_secret)
    assert retried.status_code == 200, retried.text
    assert httpx2.get(f"{server.url}/readyz", timeout=10).status_code == 200
    server.wait_for_log(lambda f: f.get("message") == "webhooks are stored again", 10, log_start)
    assert stack.db.count_messages(first) == 1
    assert stack.db.count_messages(second) == 1
    assert inbound_events(stack, first) == 1
    assert inbound_events(stack, second) == 1
    assert conversation(stack, read_key, customer)["conversation"]["unreadCount"] == 2


def test_undecryptable_app_secret_gets_retried(stack, read_key):
    account = stack.accounts["A"]
    customer = new_customer()
    wamid = new_wamid()
    body = text_body(account, customer, wamid, "Signed, but the secret is unreadable", 1750650000)
    server = stack.server
    original = stack.db.scalar("SELECT app_secret_encrypted FROM accounts WHERE id = ?", account.id)
    # A secret stored under another key reads as garbage to this server.
    stack.db.execute(
        "UPDATE accounts SET app_secret_encrypted = ? WHERE id = ?", b"\x00" * 40, account.id
    )
    try:
        failed = stack.meta.post(body, secret=account.app_secret)
        readiness = httpx2.get(f"{server.url}/readyz", timeout=10)
    finally:
        stack.db.execute(
            "UPDATE accounts SET app_secret_encrypted = ? WHERE id = ?", bytes(original), account.id
        )

    assert failed.status_code == 503, failed.text
    assert failed.headers["retry-after"] == "30"
    assert readiness.status_code == 503, readiness.text
    assert stack.db.count_messages(wamid) == 0
    retried = stack.meta.post(body, secret=account.app_secret)
    assert retried.status_code == 200, retried.text
    assert stack.db.count_messages(wamid) == 1
    assert httpx2.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_number_b_lands_only_in_b(stack, read_key, a_only_key):
    account_b = stack.accounts["B"]
    customer = new_customer()
    wamid = new_wamid()
    word = "zanzibarquokka"
    body = text_body(account_b, customer, wamid, f"Only B knows {word}", 1750700000)

    assert stack.meta.post(body, secret=account_b.app_secret).status_code == 200

    rows = stack.db.query("SELECT account_id FROM messages WHERE wamid = ?", wamid)
    assert rows == [(account_b.id,)]
    url = stack.server.mcp_url
    hits = structured(call_tool(url, a_only_key, "legacy", "search_messages", {"query": word}))
    assert hits["hits"] == []
    listed = structured(call_tool(url, a_only_key, "legacy", "list_conversations", {}))
    assert customer not in [c["contact"]["waId"] for c in listed["conversations"]]
    owner_hits = structured(call_tool(url, read_key, "legacy", "search_messages", {"query": word}))
    assert [h["wamid"] for h in owner_hits["hits"]] == [wamid]
    assert owner_hits["hits"][0]["accountId"] == account_b.id


def test_unknown_number_is_acknowledged(stack):
    account = stack.accounts["A"]
    unknown = {"phone_number_id": "100000000000099", "waba_id": "100000000000098"}
    wamid = new_wamid()
    change = account_change(
        account,
        contacts=[contact("15550002222", "Alice Example")],
        messages=[text_message("15550002222", wamid, 1750700100, "Wrong number")],
    )
    change["value"]["metadata"]["phone_number_id"] = unknown["phone_number_id"]
    body = encode(envelope((unknown["waba_id"], [change])))
    log_start = len(stack.server.lines)

    response = stack.meta.post(body, secret=b"some other app secret")

    assert response.status_code == 200, "Meta must stop retrying a body for an unknown number"
    assert stack.db.count_messages(wamid) == 0
    logged = stack.server.wait_for_log(
        lambda fields: unknown["phone_number_id"] in str(fields), 10, start_at=log_start
    )
    assert logged.get("level") == "WARN"


def test_server_without_accounts_gets_retried(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path)
    try:
        created = stack.server.wait_for_log(
            lambda fields: "created a new, empty database" in str(fields), 10
        )
        assert created.get("level") == "WARN", created
        account = SimpleNamespace(**ACCOUNT_A)
        customer, wamid = new_customer(), new_wamid()
        body = text_body(account, customer, wamid, "Sent before the account was added")
        log_start = len(stack.server.lines)

        response = stack.meta.post(body, secret=ACCOUNT_A["app_secret"])

        # A server on an empty database was most likely started on the wrong
        # data directory, so Meta must send the body again instead of losing it.
        assert response.status_code == 503, response.text
        assert response.headers.get("retry-after") == "60", response.headers
        assert "pons account add" in response.json()["error"], response.text
        assert "PONS_DATA_DIR" in response.json()["error"], response.text
        logged = stack.server.wait_for_log(
            lambda fields: "holds no account" in str(fields), 10, start_at=log_start
        )
        assert logged.get("level") == "WARN", logged

        stack.add_standard_accounts()
        response = stack.meta.post(body, secret=ACCOUNT_A["app_secret"])
        assert response.status_code == 200, response.text
        assert stack.db.count_messages(wamid) == 1
    finally:
        finish_stack(stack)


def test_b_with_a_secret_rejected(stack):
    account_a, account_b = stack.accounts["A"], stack.accounts["B"]
    customer = new_customer()
    wamid_a, wamid_b = new_wamid(), new_wamid()
    body = encode(
        envelope(
            (account_a.waba_id, [account_change(
                account_a,
                contacts=[contact(customer, "Erin Example")],
                messages=[text_message(customer, wamid_a, 1750700200, "To A")],
            )]),
            (account_b.waba_id, [account_change(
                account_b,
                contacts=[contact(customer, "Erin Example")],
                messages=[text_message(customer, wamid_b, 1750700200, "To B")],
            )]),
        )
    )  # fmt: skip
    assert account_a.app_secret != account_b.app_secret

    wrong = stack.meta.post(body, secret=account_a.app_secret)
    assert wrong.status_code == 401, "a body touching B must carry B's signature too"
    assert stack.db.count_messages(wamid_a) == 0

    b_only = text_body(account_b, customer, new_wamid(), "B signed with A's secret", 1750700300)
    assert stack.meta.post(b_only, secret=account_a.app_secret).status_code == 401


def test_two_entries_split_by_account(stack):
    """Both accounts share one app secret here, as numbers of one Meta app do."""
    account_a = stack.accounts["A"]
    account_c = stack.admin.account_add(
        owner=OWNER,
        name="Shop C",
        waba_id="100000000000008",
        phone_number_id="100000000000007",
        phone="+15550008888",
        app_secret=account_a.app_secret,
        verify_token="fake-verify-token-c",
    )
    customer = new_customer()
    wamid_a, wamid_c = new_wamid(), new_wamid()
    body = encode(
        envelope(
            (account_a.waba_id, [account_change(
                account_a,
                contacts=[contact(customer, "Finn Example")],
                messages=[text_message(customer, wamid_a, 1750700400, "Entry for A")],
            )]),
            (account_c.waba_id, [account_change(
                account_c,
                contacts=[contact(customer, "Finn Example")],
                messages=[text_message(customer, wamid_c, 1750700400, "Entry for C")],
            )]),
        )
    )  # fmt: skip

    assert stack.meta.post(body, secret=account_a.app_secret).status_code == 200

    assert stack.db.query("SELECT account_id FROM messages WHERE wamid = ?", wamid_a) == [
        (account_a.id,)
    ]
    assert stack.db.query("SELECT account_id FROM messages WHERE wamid = ?", wamid_c) == [
        (account_c.id,)
    ]
