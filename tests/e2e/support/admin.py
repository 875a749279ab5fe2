"""The administration CLI (`pons user|account|member|key …`) as test helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .server import PonsServer

# API keys show their first 12 characters as the display prefix.
KEY_PREFIX_LENGTH = 12


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    phone: str
    phone_number_id: str
    waba_id: str
    app_secret: bytes
    verify_token: str


@dataclass(frozen=True)
class ApiKey:
    text: str

    @property
    def prefix(self) -> str:
        return self.text[:KEY_PREFIX_LENGTH]


class Admin:
    """Runs `pons` administration commands against one server's database."""

    def __init__(self, server: PonsServer, secrets_dir: Path) -> None:
        self.server = server
        self.secrets_dir = secrets_dir
        self.secrets_dir.mkdir(parents=True, exist_ok=True)

    def user_add(self, email: str) -> str:
        result = self.server.run_cli("user", "add", email)
        user_id = result.stdout.decode().strip()
        assert user_id, "`pons user add` printed no user id"
        return user_id

    def account_add(
        self,
        *,
        owner: str,
        name: str,
        waba_id: str,
        phone_number_id: str,
        phone: str,
        app_secret: bytes,
        verify_token: str,
        access_token: str | None = None,
    ) -> Account:
        """Add an account; `access_token` defaults to a fake token, unused unless a test calls Meta."""
        token_file = self.secrets_dir / f"{phone_number_id}.access-token"
        secret_file = self.secrets_dir / f"{phone_number_id}.app-secret"
        token = access_token or f"EAAG-fake-access-token-{phone_number_id}"
        token_file.write_text(token + "\n")
        secret_file.write_bytes(app_secret + b"\n")
        result = self.server.run_cli(
            "account", "add",
            "--owner", owner,
            "--name", name,
            "--waba-id", waba_id,
            "--phone-number-id", phone_number_id,
            "--phone-number", phone,
            "--access-token-file", str(token_file),
            "--app-secret-file", str(secret_file),
            "--verify-token", verify_token,
        )  # fmt: skip
        output = result.stdout.decode()
        found = re.search(r"^account id:\s+(\S+)$", output, re.MULTILINE)
        assert found, f"`pons account add` printed no account id:\n{output}"
        token = re.search(r"^verify token:\s+(\S+)$", output, re.MULTILINE)
        assert token and token.group(1) == verify_token, f"verify token not echoed:\n{output}"
        return Account(
            id=found.group(1),
            name=name,
            phone=phone,
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            app_secret=app_secret,
            verify_token=verify_token,
        )

    def member_add(self, *, account: str, user: str, role: str) -> None:
        self.server.run_cli("member", "add", "--account", account, "--user", user, "--role", role)

    def key_create(
        self,
        *,
        user: str,
        scopes: str,
        name: str = "e2e",
        accounts: tuple[str, ...] = (),
        expires_in_days: int | None = None,
    ) -> ApiKey:
        args = ["key", "create", "--user", user, "--name", name, "--scopes", scopes]
        for account in accounts:
            args += ["--account", account]
        if expires_in_days is not None:
            args += ["--expires-in-days", str(expires_in_days)]
        lines = self.server.run_cli(*args).stdout.decode().splitlines()
        assert len(lines) == 1, f"`pons key create` must print the key alone, got {lines!r}"
        assert lines[0].startswith("pons_"), f"key without the pons_ prefix: {lines[0][:8]}…"
        return ApiKey(lines[0])

    def key_revoke(self, prefix: str) -> None:
        self.server.run_cli("key", "revoke", prefix)

    def key_list(self) -> str:
        return self.server.run_cli("key", "list").stdout.decode()

    def account_list(self) -> str:
        return self.server.run_cli("account", "list").stdout.decode()
