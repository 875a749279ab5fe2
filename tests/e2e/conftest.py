"""Fixtures: a real `pons serve` per test module (or per test where a test
needs a clean database), on every configured database backend, with two
WhatsApp accounts set up through the administration CLI. For the send
tools, a `pons metasim` process plays Meta's Graph API and webhook sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import metasim
from support.admin import Account, Admin, ApiKey
from support.backends import Backend, Database, backend_names, create_backend
from support.mcp import ERAS, call_tool
from support.meta import FIXTURES, MetaClient
from support.metasim import MetaSimProcess
from support.server import PonsServer

OWNER = "owner@example.com"
# Account A is the business number of every fixture except the second
# entry of 38_batch_two_entries.json, which belongs to account B.
ACCOUNT_A = {
    "name": "Shop A",
    "waba_id": "100000000000001",
    "phone_number_id": "100000000000002",
    "phone": "+15550001111",
    "app_secret": (FIXTURES / "signature" / "APP_SECRET.txt").read_bytes().strip(),
    "verify_token": "fake-verify-token",
}
ACCOUNT_B = {
    "name": "Shop B",
    "waba_id": "100000000000004",
    "phone_number_id": "100000000000003",
    "phone": "+15550009999",
    "app_secret": b"fake_app_secret_of_account_b_000",
    "verify_token": "fake-verify-token-b",
}


@dataclass
class Stack:
    """A running server with its database, CLI and webhook client."""

    server: PonsServer
    backend: Backend
    admin: Admin
    meta: MetaClient
    accounts: dict[str, Account] = field(default_factory=dict)
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = self.backend.connect()
        return self._db

    def add_standard_accounts(self, shared_secret: bool = False) -> None:
        """Create OWNER with accounts A and B, both owned by OWNER.

        With `shared_secret`, B gets A's app secret, as two numbers of one
        Meta app do; otherwise the secrets differ.
        """
        self.admin.user_add(OWNER)
        self.accounts["A"] = self.admin.account_add(owner=OWNER, **ACCOUNT_A)
        settings_b = dict(ACCOUNT_B)
        if shared_secret:
            settings_b["app_secret"] = ACCOUNT_A["app_secret"]
        self.accounts["B"] = self.admin.account_add(owner=OWNER, **settings_b)

    def stop(self) -> int:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.meta.close()
        return self.server.terminate()


def start_stack(backend_name: str, directory: Path, extra_env: dict | None = None) -> Stack:
    data_dir = directory / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    backend = create_backend(backend_name, data_dir)
    server = PonsServer(data_dir, backend, extra_env)
    try:
        server.start()
    except BaseException:
        if server.process and server.process.poll() is None:
            server.terminate()
        backend.drop()
        raise
    return Stack(server, backend, Admin(server, directory / "secrets"), MetaClient(server.webhook_url))


def finish_stack(stack: Stack) -> None:
    try:
        code = stack.stop()
        assert code == 0, f"pons exited with {code} after SIGTERM:\n{stack.server.log_tail()}"
    finally:
        stack.backend.drop()


@pytest.fixture(scope="module", params=backend_names())
def backend_name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def stack(backend_name, tmp_path_factory):
    """One server per test module, with accounts A and B."""
    running = start_stack(backend_name, tmp_path_factory.mktemp(f"pons-{backend_name}"))
    try:
        running.add_standard_accounts()
        yield running
    finally:
        finish_stack(running)


# The send tools against the Meta stand-in (`pons metasim`): one stand-in
# and one server per test module and backend, wired both ways.

SEND_OWNER = metasim.SEND_OWNER
ALL_SCOPES = "read,write,send"
# A template with an image header and a URL button, beside the positional,
# named and pending templates of `pons metasim --demo-templates`.
RECEIPT_TEMPLATE = {
    "id": "200000000000005",
    "name": "receipt",
    "language": "de",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "BODY", "text": "Danke {{1}}, hier ist deine Rechnung."},
        {"type": "HEADER", "format": "IMAGE"},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "URL", "text": "Open", "url": "https://shop.example/r/{{1}}"}],
        },
    ],
}


@dataclass
class SendStack:
    """A server whose Graph API is a `pons metasim` process, with one
    account on the stand-in's number and a key with every scope."""

    stack: Stack
    sim: MetaSimProcess
    account: Account
    key: ApiKey

    @property
    def server(self) -> PonsServer:
        return self.stack.server

    @property
    def admin(self) -> Admin:
        return self.stack.admin

    @property
    def db(self) -> Database:
        return self.stack.db

    def call(self, tool: str, arguments: dict | None = None, *, key: ApiKey | None = None,
             mode: str = ERAS[0]):
        """Call `tool` through the Python MCP SDK with the full key unless `key` is given."""
        return call_tool(self.server.mcp_url, (key or self.key).text, mode, tool, arguments)

    def inbound(self, customer: str, text: str, name: str = "Hans") -> str:
        """Have `customer` write `text` through a signed webhook from the
        stand-in, which opens the 24-hour window, and return the message's wamid."""
        delivery = self.sim.send_inbound_text(customer, name, text)
        assert delivery["http_status"] == 200, f"inbound webhook not accepted: {delivery}"
        return delivery["wamid"]


def start_send_stack(backend_name: str, directory: Path, extra_env: dict | None = None) -> SendStack:
    sim = MetaSimProcess(directory, "--demo-templates")
    urls = sim.start()
    env = {
        "PONS_GRAPH_API_URL": urls.graph_api_url,
        # Every test makes many calls with one key.
        "PONS_TOOL_RATE_PER_MINUTE": "0",
        # Template syncs run only when a test calls a tool that needs one,
        # so recorded requests contain only what the test caused.
        "PONS_TEMPLATE_SYNC_INTERVAL_SECONDS": "0",
        **(extra_env or {}),
    }
    try:
        stack = start_stack(backend_name, directory / "server", env)
    except BaseException:
        sim.terminate()
        raise
    try:
        sim.set_webhook_url(stack.server.webhook_url)
        # Status webhooks only when a test sends one, so a stored status
        # never changes behind a test's back.
        sim.set_status_plan()
        sim.add_template(**RECEIPT_TEMPLATE)
        stack.admin.user_add(SEND_OWNER)
        account = stack.admin.account_add(
            owner=SEND_OWNER,
            name="Metasim Shop",
            waba_id=metasim.WABA_ID,
            phone_number_id=metasim.PHONE_NUMBER_ID,
            phone="+" + metasim.DISPLAY_PHONE,
            app_secret=metasim.APP_SECRET,
            verify_token="metasim-verify-token",
            access_token=metasim.ACCESS_TOKEN,
        )
        key = stack.admin.key_create(user=SEND_OWNER, scopes=ALL_SCOPES, name="full")
    except BaseException:
        finish_send_stack(SendStack(stack, sim, None, None))  # type: ignore[arg-type]
        raise
    return SendStack(stack, sim, account, key)


def finish_send_stack(running: SendStack) -> None:
    try:
        finish_stack(running.stack)
    finally:
        code = running.sim.terminate()
        assert code == 0, f"pons metasim exited with {code} after SIGTERM:\n{running.sim.log_tail()}"


@pytest.fixture(scope="module")
def send_stack_env() -> dict[str, str]:
    """Extra server settings of `send_stack`. A module overrides this fixture to change them."""
    return {}


@pytest.fixture(scope="module")
def send_stack(backend_name, send_stack_env, tmp_path_factory):
    """One stand-in and server per test module and backend."""
    running = start_send_stack(
        backend_name, tmp_path_factory.mktemp(f"pons-send-{backend_name}"), send_stack_env
    )
    try:
        yield running
    finally:
        finish_send_stack(running)


@pytest.fixture
def sim(send_stack) -> MetaSimProcess:
    """The module's stand-in with its recorded requests cleared and no fault left queued."""
    send_stack.sim.clear_requests()
    yield send_stack.sim
    assert send_stack.sim.pending_faults() == 0, "a queued fault was not consumed"
