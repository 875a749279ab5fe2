"""The encryption key verifier: once a server has started with one key, a
start with another key fails, even while the database stores no account."""

from __future__ import annotations

import base64

import pytest

from conftest import start_stack
from support.server import PonsServer


def test_other_key_rejected_on_empty_database(backend_name, tmp_path):
    stack = start_stack(backend_name, tmp_path)
    started: list[PonsServer] = []
    try:
        assert stack.stop() == 0, stack.server.log_tail()
        other_key = tmp_path / "other.key"
        other_key.write_text(base64.b64encode(bytes([7]) * 32).decode())

        other = PonsServer(
            stack.server.data_dir,
            stack.backend,
            {"PONS_ENCRYPTION_KEY_FILE": str(other_key)},
        )
        started.append(other)
        with pytest.raises(AssertionError, match="pons exited with 1 "):
            other.start()
        log = "\n".join(other.lines)
        assert f"encryption key file {other_key} cannot decrypt" in log, log
        assert "the database's key verifier" in log, log
        assert "restore the key file" in log, log
        assert "PONS_ENCRYPTION_KEY_FILE" in log, log
        assert other.exit_code == 1

        first = PonsServer(stack.server.data_dir, stack.backend)
        started.append(first)
        first.start()
        assert first.terminate() == 0, first.log_tail()
    finally:
        for server in started:
            if server.process and server.process.poll() is None:
                server.terminate()
        stack.backend.drop()
