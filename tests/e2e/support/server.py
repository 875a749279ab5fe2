"""A real `pons serve` process on a free loopback port.

The server logs JSON to standard error. A reader thread copies every line
to `server.log` in the data directory and wakes waiters, so start-up is
detected from the "pons listening" line (which carries the bound address)
without sleeping, within a fixed deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx2

from .backends import Backend

REPO_ROOT = Path(__file__).resolve().parents[3]
START_DEADLINE_SECONDS = 60
STOP_DEADLINE_SECONDS = 30


def pons_binary() -> Path:
    """Return the already built binary: PONS_BIN, else target/debug/pons."""
    configured = os.environ.get("PONS_BIN")
    path = Path(configured) if configured else REPO_ROOT / "target" / "debug" / "pons"
    if not path.is_file():
        raise FileNotFoundError(
            f"pons binary not found at {path}; run `cargo build` first or set PONS_BIN"
        )
    return path


def log_fields(line: str) -> dict | None:
    """Return the event fields of one JSON log line, or None for other text."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    fields = record.get("fields")
    merged = dict(record)
    if isinstance(fields, dict):
        merged.update(fields)
    return merged


class PonsServer:
    """One server process with its own data directory and database."""

    def __init__(self, data_dir: Path, backend: Backend, extra_env: dict[str, str] | None = None):
        self.binary = pons_binary()
        self.data_dir = data_dir
        self.backend = backend
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.addr: str | None = None
        self.exit_code: int | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PONS_")}
        env["PONS_DATA_DIR"] = str(self.data_dir)
        env["PONS_BIND"] = "127.0.0.1:0"
        env["PONS_LOG_FORMAT"] = "json"
        env["PONS_LOG"] = "info"
        if self.backend.database_url:
            env["PONS_DATABASE_URL"] = self.backend.database_url
        env.update(self.extra_env)
        return env

    @property
    def url(self) -> str:
        assert self.addr, "server not started"
        return f"http://{self.addr}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/api/mcp"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhook"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "serve"],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._read_log, daemon=True).start()
        listening = self.wait_for_log(
            lambda f: f.get("message") == "pons listening", START_DEADLINE_SECONDS
        )
        self.addr = str(listening["addr"])
        response = httpx2.get(f"{self.url}/readyz", timeout=10)
        assert response.status_code == 200, f"/readyz after start: {response.status_code}"

    def _read_log(self) -> None:
        assert self.process and self.process.stderr
        with open(self.data_dir / "server.log", "a", encoding="utf-8") as copy:
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                copy.write(line + "\n")
                copy.flush()
                with self.changed:
                    self.lines.append(line)
                    self.changed.notify_all()
        with self.changed:
            self.exit_code = self.process.wait()
            self.changed.notify_all()

    def wait_for_log(self, matches, deadline_seconds: float, start_at: int = 0) -> dict:
        """Return the fields of the first log line from `start_at` that `matches`."""
        deadline = time.monotonic() + deadline_seconds
        seen = start_at
        with self.changed:
            while True:
                for line in self.lines[seen:]:
                    fields = log_fields(line)
                    if fields is not None and matches(fields):
                        return fields
                seen = len(self.lines)
                if self.exit_code is not None:
                    raise AssertionError(
                        f"pons exited with {self.exit_code} before the expected log line:\n"
                        + self.log_tail()
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected log line not seen within {deadline_seconds}s:\n" + self.log_tail()
                    )
                self.changed.wait(remaining)

    def log_tail(self, count: int = 40) -> str:
        with self.changed:
            return "\n".join(self.lines[-count:])

    def terminate(self) -> int:
        """Send SIGTERM and return the exit code once the process has ended."""
        assert self.process, "server not started"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"pons did not stop within {STOP_DEADLINE_SECONDS}s of SIGTERM:\n" + self.log_tail()
            )
        return code

    def run_cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run an administration command on this server's database."""
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env(),
            input=stdin.encode() if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"`pons {' '.join(args)}` failed with {result.returncode}: "
                f"{result.stderr.decode(errors='replace')}"
            )
        return result
