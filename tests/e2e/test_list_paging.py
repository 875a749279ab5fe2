"""Paging through list_conversations and list_unanswered with `cursor`:
more conversations than the highest limit, on two accounts, with shared
times and conversations without messages, each listed exactly once."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import pytest

from conftest import Stack, finish_stack, start_stack
from support.admin import Account
from support.ids import new_customer, new_wamid
from support.mcp import ERAS, run_session, result_text
from support.meta import account_change, contact, encode, envelope, reaction_message, text_message

OWNER = "pager@example.com"
# Conversations with a text message per account; every fifth shares its
# time with the one before.
TEXTS = {"A": 140, "B": 90}
# Conversations opened by a reaction to a message Pons never stored, so
# they have no message.
WITHOUT_MESSAGES = {"A": 3, "B": 2}
TOTAL = sum(TEXTS.values()) + sum(WITHOUT_MESSAGES.values())
UNANSWERED = sum(TEXTS.values())
START = 1750200000

ACCOUNT_A = {
    "name": "Paging A",
    "waba_id": "100000000000011",
    "phone_number_id": "100000000000012",
    "phone": "+15550001212",
    "app_secret": b"fake_app_secret_of_paging_a_0000",
    "verify_token": "paging-verify-a",
}
ACCOUNT_B = {
    "name": "Paging B",
    "waba_id": "100000000000013",
    "phone_number_id": "100000000000014",
    "phone": "+15550001313",
    "app_secret": b"fake_app_secret_of_paging_b_0000",
    "verify_token": "paging-verify-b",
}


@dataclass
class Pager:
    """The running server, its two accounts and a read key."""

    stack: Stack
    accounts: dict[str, Account]
    key: str


@pytest.fixture(scope="module")
def pager(backend_name, tmp_path_factory):
    """A server with accounts A and B, their conversations, and a read key.
    Tool calls are not rate-limited, because paging makes many."""
    directory = tmp_path_factory.mktemp(f"pons-paging-{backend_name}")
    running = start_stack(backend_name, directory, {"PONS_TOOL_RATE_PER_MINUTE": "0"})
    try:
        running.admin.user_add(OWNER)
        accounts = {}
        for name, settings in (("A", ACCOUNT_A), ("B", ACCOUNT_B)):
            accounts[name] = running.admin.account_add(owner=OWNER, **settings)
        for name, account in accounts.items():
            post_conversations(running, account, TEXTS[name], WITHOUT_MESSAGES[name])
        key = running.admin.key_create(user=OWNER, scopes="read", name="pager").text
        yield Pager(running, accounts, key)
    finally:
        finish_stack(running)


def post_conversations(stack, account, texts: int, without_messages: int) -> None:
    """Open `texts` conversations with one message each, and
    `without_messages` conversations without any, in one signed webhook."""
    customers = [new_customer() for _ in range(texts + without_messages)]
    messages = []
    for index, customer in enumerate(customers[:texts]):
        # Times step by one second, but every fifth repeats the one before,
        # and both accounts use the same times.
        timestamp = START + index - index // 5
        messages.append(text_message(customer, new_wamid(), timestamp, f"order {index}"))
    for customer in customers[texts:]:
        messages.append(reaction_message(customer, new_wamid(), START, new_wamid(), "👍"))
    change = account_change(
        account,
        contacts=[contact(customer, f"Customer {customer}") for customer in customers],
        messages=messages,
    )
    body = encode(envelope((account.waba_id, [change])))
    response = stack.meta.post(body, secret=account.app_secret)
    assert response.status_code == 200, response.text


def page_through(
    pager: Pager, mode: str, tool: str, limit: int, **arguments
) -> tuple[list[str], list]:
    """Call `tool` with `limit`, then with each nextCursor until `more` is
    false. Returns the conversation ids in the order listed, and the
    structured results."""

    async def work(client):
        ids: list[str] = []
        pages = []
        cursor = None
        # More calls than conversations would mean a page never advanced.
        for _ in range(TOTAL + 2):
            call = {"limit": limit, **arguments}
            if cursor is not None:
                call["cursor"] = cursor
            result = await client.call_tool(tool, call)
            assert not result.is_error, result_text(result)
            page = result.structured_content
            pages.append(page)
            # list_unanswered names the id `conversationId`.
            ids.extend(row.get("id") or row["conversationId"] for row in page["conversations"])
            if not page["more"]:
                assert "nextCursor" not in page, page.get("nextCursor")
                return ids, pages
            cursor = page["nextCursor"]
            assert isinstance(cursor, str) and cursor, page
        raise AssertionError(f"{tool} with limit {limit} did not stop paging")

    return run_session(pager.stack.server.mcp_url, pager.key, mode, work)


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("tool", "expected"), [("list_conversations", TOTAL), ("list_unanswered", UNANSWERED)]
)
def test_pages_list_each_conversation_once(pager, mode, tool, expected):
    ids, pages = page_through(pager, mode, tool, 200)
    assert len(pages) == 2, [len(page["conversations"]) for page in pages]
    assert len(pages[0]["conversations"]) == 200
    assert len(ids) == expected, f"{len(ids)} listed"
    assert len(set(ids)) == expected, "a conversation was listed twice"

    small, small_pages = page_through(pager, mode, tool, 7)
    assert small == ids, "pages of 7 list the conversations in the order of pages of 200"
    assert len(small_pages) == math.ceil(expected / 7)


def test_pages_keep_order_across_accounts(pager):
    _, pages = page_through(pager, "legacy", "list_conversations", 200)
    rows = [row for page in pages for row in page["conversations"]]
    times = [row["lastMessage"]["time"] for row in rows]
    dated = [time for time in times if time is not None]
    assert dated == sorted(dated, reverse=True), "most recent first across pages"
    assert times[len(dated):] == [None] * sum(WITHOUT_MESSAGES.values()), (
        "conversations without messages come last"
    )
    phones = {row["accountPhone"] for row in rows}
    assert phones == {ACCOUNT_A["phone"], ACCOUNT_B["phone"]}


def test_pages_of_one_account(pager):
    account = pager.accounts["B"]
    ids, _ = page_through(pager, "legacy", "list_conversations", 11, **{"from": account.phone})
    assert len(ids) == TEXTS["B"] + WITHOUT_MESSAGES["B"]
    assert len(set(ids)) == len(ids)


def call(pager: Pager, mode: str, tool: str, arguments: dict):
    async def work(client):
        return await client.call_tool(tool, arguments)

    return run_session(pager.stack.server.mcp_url, pager.key, mode, work)


def first_cursor(pager: Pager, tool: str, **arguments) -> str:
    result = call(pager, "legacy", tool, {"limit": 5, **arguments})
    assert not result.is_error, result_text(result)
    return result.structured_content["nextCursor"]


def cursor_error(pager: Pager, mode: str, tool: str, arguments: dict) -> str:
    result = call(pager, mode, tool, arguments)
    assert result.is_error, f"expected a tool error, got {result.structured_content!r}"
    return result_text(result)


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "not a cursor!",
        base64.urlsafe_b64encode(b"1.c.a.00000000.1.x").decode().rstrip("="),
        "A" * 300,
    ],
)
def test_malformed_cursor_rejected(pager, mode, cursor):
    for tool in ("list_conversations", "list_unanswered"):
        text = cursor_error(pager, mode, tool, {"cursor": cursor})
        assert text.startswith("invalid argument `cursor`: "), text
        # An echoed value has at most 64 characters, the `…` of a cut one included.
        shown = cursor if len(cursor) <= 64 else cursor[:63] + "…"
        assert f'"{shown}"' in text, text
        assert f"is not a cursor of {tool}" in text, text
        assert "Pass the nextCursor of an earlier" in text, text
        assert "leave cursor out" in text, text


def test_cursor_of_other_tool_rejected(pager):
    cursor = first_cursor(pager, "list_unanswered")
    text = cursor_error(pager, "legacy", "list_conversations", {"cursor": cursor})
    assert "is a cursor of list_unanswered, not of list_conversations" in text, text
    assert "Pass the nextCursor of an earlier list_conversations call" in text, text


def test_cursor_with_other_filters_rejected(pager):
    cursor = first_cursor(pager, "list_conversations", archived=False)
    text = cursor_error(pager, "legacy", "list_conversations", {"cursor": cursor})
    assert "was issued for `archived: false`, but this call has `archived` left out" in text, text
    text = cursor_error(
        pager, "legacy", "list_conversations", {"cursor": cursor, "archived": True}
    )
    assert "but this call has `archived: true`" in text, text

    account = pager.accounts["A"]
    cursor = first_cursor(pager, "list_unanswered", **{"from": account.phone})
    text = cursor_error(pager, "legacy", "list_unanswered", {"cursor": cursor})
    assert "was issued for other accounts" in text, text


def test_summary_names_cursor(pager):
    result = call(pager, "legacy", "list_unanswered", {"limit": 200})
    summary = result.content[0].text
    assert "pass nextCursor as `cursor`" in summary, summary
    assert "pass `from`" not in summary, summary
