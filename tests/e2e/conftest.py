"""Fixtures: a real `pons serve` per test module (or per test where a test
needs a clean database), on every configured database backend, with two
WhatsApp accounts set up through the administration CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.admin import Account, Admin
from support.backends import Backend, Database, backend_names, create_backend
from support.meta import FIXTURES, MetaClient
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
    data_dir.mkdir(parents=True)
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
