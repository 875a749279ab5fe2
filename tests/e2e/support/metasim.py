"""Meta's side for the send tools: a `pons metasim` process (the stand-in
that plays the Graph API and sends signed webhooks) and a client for its
control API under /_metasim.

The process prints one JSON line with its URLs once it listens on a free
loopback port. Its log goes to `metasim.log` in the given directory.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from .server import START_DEADLINE_SECONDS, STOP_DEADLINE_SECONDS, pons_binary

# The stand-in's test credentials, which the account under test is added with.
ACCESS_TOKEN = "metasim-e2e-access-token"
APP_SECRET = b"metasim-e2e-app-secret-0000000000"
WABA_ID = "100000000000001"
PHONE_NUMBER_ID = "100000000000002"
DISPLAY_PHONE = "15550001111"
# The user who owns the account on the stand-in's number.
SEND_OWNER = "sender@example.com"

# Fault targets the control API accepts.
SEND = "send"
MARK_READ = "mark_read"
TEMPLATES = "templates"


@dataclass(frozen=True)
class Urls:
    graph_api_url: str
    origin: str
    control_url: str


class ControlError(AssertionError):
    """A control request the stand-in rejected."""


class MetaSimProcess:
    """One `pons metasim` process and its control API."""

    def __init__(self, log_dir: Path, *extra_args: str) -> None:
        self.log_path = log_dir / "metasim.log"
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.urls: Urls | None = None
        self.http: httpx2.Client | None = None

    def start(self) -> Urls:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PONS_")}
        env["PONS_LOG"] = "info"
        args = [
            str(pons_binary()), "metasim",
            "--bind", "127.0.0.1:0",
            "--access-token", ACCESS_TOKEN,
            "--app-secret", APP_SECRET.decode(),
            "--waba-id", WABA_ID,
            "--phone-number-id", PHONE_NUMBER_ID,
            "--display-phone-number", DISPLAY_PHONE,
            *self.extra_args,
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
            )
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read_first_line, args=(lines,), daemon=True).start()
        try:
            line = lines.get(timeout=START_DEADLINE_SECONDS)
        except queue.Empty:
            raise AssertionError(
                f"pons metasim printed no URL line within {START_DEADLINE_SECONDS}s:\n"
                + self.log_tail()
            ) from None
        if not line:
            raise AssertionError(f"pons metasim exited before listening:\n{self.log_tail()}")
        ready = json.loads(line)
        self.urls = Urls(ready["graph_api_url"], ready["origin"], ready["control_url"])
        self.http = httpx2.Client(base_url=self.urls.control_url, timeout=30)
        return self.urls

    def _read_first_line(self, lines: queue.Queue) -> None:
        assert self.process and self.process.stdout
        lines.put(self.process.stdout.readline())

    def log_tail(self, count: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-count:])

    def terminate(self) -> int:
        """Send SIGTERM and return the exit code once the process has ended."""
        if self.http is not None:
            self.http.close()
        assert self.process, "pons metasim not started"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"pons metasim did not stop within {STOP_DEADLINE_SECONDS}s of SIGTERM"
            ) from None

    # The control API, one method per endpoint.

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        assert self.http is not None, "pons metasim not started"
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise ControlError(f"{method} {path} failed with {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def requests(self) -> list[dict]:
        """Every Graph request received so far, oldest first.

        A JSON body is decoded (`body_is_json` true), and any other body is text.
        """
        return self._call("GET", "/requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def message_posts(self) -> list[dict]:
        """Recorded `POST /{phone-number-id}/messages` requests (sends and read receipts)."""
        return [
            r for r in self.requests() if r["method"] == "POST" and r["path"].endswith("/messages")
        ]

    def inject(self, target: str, **fault: Any) -> int:
        """Queue a fault for the next request of `target` and return the queue length.

        `fault` is one of kind="graph" with code (and http_status),
        kind="http" with status, kind="delay" with ms, kind="drop_connection",
        kind="hold" (the normal response once `release_held` is called),
        kind="accept_then_drop" (the send is accepted, then the connection
        closes without a response; with hold=True only once `release_held`
        is called, so a client with a timeout gives up first).
        """
        return self._call("POST", "/faults", {"target": target, "fault": fault})["pending"]

    def pending_faults(self) -> int:
        return self._call("GET", "/faults")["pending"]

    def held_requests(self) -> int:
        """Count the requests that a hold fault keeps waiting. A request counts
        from the moment it is recorded."""
        return self._call("GET", "/held")["held"]

    def release_held(self) -> int:
        """Release every held request to its normal response and return how many."""
        return self._call("POST", "/release")["released"]

    def add_template(self, **template: Any) -> None:
        self._call("POST", "/templates", template)

    def add_recipient(self, wa_id: str, profile_name: str | None = None, fail_with: int | None = None) -> None:
        body = {"wa_id": wa_id, "profile_name": profile_name, "fail_with": fail_with}
        self._call("POST", "/recipients", body)

    def add_media(self, data: bytes, mime_type: str, size_unknown: bool = False) -> str:
        """Store a media file and return its id. With `size_unknown` the
        metadata has no file_size and the download has no Content-Length."""
        body = {
            "data_base64": base64.b64encode(data).decode(),
            "mime_type": mime_type,
            "size_unknown": size_unknown,
        }
        return self._call("POST", "/media", body)["id"]

    def expire_media_urls(self) -> None:
        self._call("POST", "/media/expire")

    def set_last_inbound(self, wa_id: str, seconds_ago: int) -> None:
        self._call("POST", "/last-inbound", {"wa_id": wa_id, "seconds_ago": seconds_ago})

    def set_webhook_url(self, url: str | None) -> None:
        self._call("PUT", "/webhook-url", {"url": url})

    def set_status_plan(
        self, sent_ms: int | None = None, delivered_ms: int | None = None, read_ms: int | None = None
    ) -> None:
        """Set when status webhooks follow an accepted send. None skips that status."""
        body = {"sent_ms": sent_ms, "delivered_ms": delivered_ms, "read_ms": read_ms}
        self._call("PUT", "/status-plan", body)

    def accepted_messages(self) -> list[dict]:
        return self._call("GET", "/accepted-messages")

    def read_receipts(self) -> list[str]:
        return self._call("GET", "/read-receipts")

    def webhook_deliveries(self) -> list[dict]:
        return self._call("GET", "/webhook-deliveries")

    def send_status(self, wamid: str, status: str, error_code: int | None = None) -> dict:
        """Send a status webhook for an accepted message and return the delivery.

        Like Meta, the webhook echoes the send's `biz_opaque_callback_data`.
        """
        body = {"wamid": wamid, "status": status, "error_code": error_code}
        return self._call("POST", "/statuses", body)

    def send_inbound_text(self, sender: str, profile_name: str, text: str) -> dict:
        """Send a customer's text as a webhook. The delivery's `wamid` is the new message's."""
        body = {"from": sender, "profile_name": profile_name, "body": text}
        return self._call("POST", "/inbound/text", body)

    def send_inbound_image(
        self, sender: str, profile_name: str, data: bytes, mime_type: str, caption: str | None = None
    ) -> dict:
        body = {
            "from": sender,
            "profile_name": profile_name,
            "data_base64": base64.b64encode(data).decode(),
            "mime_type": mime_type,
            "caption": caption,
        }
        return self._call("POST", "/inbound/image", body)
