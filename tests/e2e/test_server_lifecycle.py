"""Health endpoints and a clean stop on SIGTERM."""

from __future__ import annotations

import httpx2

from conftest import start_stack


def test_health_endpoints(stack):
    healthz = httpx2.get(f"{stack.server.url}/healthz", timeout=10)
    readyz = httpx2.get(f"{stack.server.url}/readyz", timeout=10)
    assert healthz.status_code == 200
    assert readyz.status_code == 200


def test_sigterm_stops_with_exit_code_zero(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path)
    try:
        log_start = len(stack.server.lines)
        code = stack.stop()
    finally:
        stack.backend.drop()

    assert code == 0, stack.server.log_tail()
    stopped = stack.server.wait_for_log(
        lambda fields: fields.get("message") == "pons stopped", 5, start_at=log_start
    )
    assert stopped["level"] == "INFO"
