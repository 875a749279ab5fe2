"""Databases behind test servers.

Every test runs on SQLite, where Pons creates `pons.db` in the server's
data directory, and on PostgreSQL, where every server gets a fresh, uniquely
named database on the server PONS_TEST_DATABASE_URL names, dropped when the
server is done. Without that variable the run stops with an error naming it.

The test side opens its own connection to the same database for what no
tool shows (exact row counts, event rows) and to inject storage failures
with a trigger, so Pons needs no test-only code path.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

POSTGRES_URL_VARIABLE = "PONS_TEST_DATABASE_URL"
FAILURE_TRIGGER = "e2e_fail_message_insert"
FAILURE_MESSAGE = "storage failure injected by an end-to-end test"


def backend_names() -> list[str]:
    """Return the backends to run: SQLite and PostgreSQL."""
    return ["sqlite", "postgres"]


def postgres_server_url() -> str:
    """Return the URL of the PostgreSQL server the tests create databases on."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        raise RuntimeError(
            f"{POSTGRES_URL_VARIABLE} is not set: the end-to-end tests also run on "
            "PostgreSQL and need a server where they may create databases, such as "
            f"{POSTGRES_URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/test "
            "(scripts/test uses that one when the variable is unset)"
        )
    return url


def quote_literal(value: str) -> str:
    """Quote a string as an SQL literal, for DDL that takes no parameters."""
    return "'" + value.replace("'", "''") + "'"


class Database:
    """A test-side connection to the database of one server."""

    def query(self, sql: str, *params: object) -> list[tuple]:
        raise NotImplementedError

    def execute(self, sql: str, *params: object) -> None:
        raise NotImplementedError

    def scalar(self, sql: str, *params: object) -> object:
        rows = self.query(sql, *params)
        assert len(rows) == 1, f"expected one row from {sql!r}, got {rows!r}"
        return rows[0][0]

    def count_messages(self, wamid: str) -> int:
        return int(self.scalar("SELECT count(*) FROM messages WHERE wamid = ?", wamid))

    def fail_inserts_of(self, wamid: str) -> None:
        """Make every insert of the message `wamid` fail until restored."""
        raise NotImplementedError

    def stop_failing_inserts(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    def __init__(self, path: Path) -> None:
        # Autocommit, so the test never holds a transaction open while Pons
        # writes; the timeout covers Pons's own short write locks.
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None)

    def query(self, sql: str, *params: object) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def execute(self, sql: str, *params: object) -> None:
        self.connection.execute(sql, params)

    def fail_inserts_of(self, wamid: str) -> None:
        self.connection.execute(
            f"CREATE TRIGGER {FAILURE_TRIGGER} BEFORE INSERT ON messages "
            f"WHEN NEW.wamid = {quote_literal(wamid)} "
            f"BEGIN SELECT RAISE(ABORT, {quote_literal(FAILURE_MESSAGE)}); END"
        )

    def stop_failing_inserts(self) -> None:
        self.connection.execute(f"DROP TRIGGER {FAILURE_TRIGGER}")

    def close(self) -> None:
        self.connection.close()


class PostgresDatabase(Database):
    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()

    def execute(self, sql: str, *params: object) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)

    def fail_inserts_of(self, wamid: str) -> None:
        self.execute(
            f"CREATE FUNCTION {FAILURE_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NEW.wamid = {quote_literal(wamid)} THEN "
            f"RAISE EXCEPTION {quote_literal(FAILURE_MESSAGE)}; END IF; RETURN NEW; END $$"
        )
        self.execute(
            f"CREATE TRIGGER {FAILURE_TRIGGER} BEFORE INSERT ON messages "
            f"FOR EACH ROW EXECUTE FUNCTION {FAILURE_TRIGGER}()"
        )

    def stop_failing_inserts(self) -> None:
        self.execute(f"DROP TRIGGER {FAILURE_TRIGGER} ON messages")
        self.execute(f"DROP FUNCTION {FAILURE_TRIGGER}()")

    def close(self) -> None:
        self.connection.close()


class Backend:
    """Where one server keeps its data; `database_url` is None for SQLite."""

    name: str
    database_url: str | None

    def connect(self) -> Database:
        raise NotImplementedError

    def drop(self) -> None:
        """Remove the database; called after the server has stopped."""


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        self.database_url = None
        self.path = data_dir / "pons.db"

    def connect(self) -> Database:
        assert self.path.exists(), f"{self.path} missing: the server creates it at start-up"
        return SqliteDatabase(self.path)


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, server_url: str) -> None:
        self.database_name = f"pons_e2e_{uuid.uuid4().hex}"
        parts = urlsplit(server_url)
        self.admin_url = server_url
        self.database_url = urlunsplit(parts._replace(path="/" + self.database_name))
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database_name}"')

    def connect(self) -> Database:
        return PostgresDatabase(self.database_url)

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')


def create_backend(name: str, data_dir: Path) -> Backend:
    if name == "sqlite":
        return SqliteBackend(data_dir)
    if name == "postgres":
        return PostgresBackend(postgres_server_url())
    raise ValueError(f"unknown backend {name!r}; use sqlite or postgres")
