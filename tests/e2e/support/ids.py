"""Identifiers that no other test in the same run uses."""

from __future__ import annotations

import itertools
import uuid

_customers = itertools.count(1)


def new_customer() -> str:
    """Return customer phone digits unused by the fixtures and other tests.

    The fixtures use 1555000xxxx; these are 1555077xxxx.
    """
    return f"1555077{next(_customers):04d}"


def new_wamid() -> str:
    """Return a fresh wamid; Meta's ids are opaque strings with `=` and `+`."""
    return f"wamid.E2E{uuid.uuid4().hex.upper()}+x="
