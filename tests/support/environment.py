"""The tests' settings, clock and clients: what test modules import by name.

Fixtures built on these are in ``tests/conftest.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SECRET = "test-secret-Zq8vY2pL0xN4wB7k"
OSS_ENV = {
    "OSS_ACCESS_KEY_ID": "LTAItestkeyid",
    "OSS_ACCESS_KEY_SECRET": SECRET,
    "OSS_BUCKET": "signpost-test",
    "OSS_REGION": "cn-hangzhou",
}
FIXED_NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
FIXED_SEGMENT = "9f0c" * 8  # the key's random segment


class FakeClock:
    """Monotonic seconds that a test moves by hand (``clock.now += 60``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def chalice_client() -> Any:
    """A Chalice test client that ignores ``.chalice/config.json``.

    The deployment stages set environment variables of their own (a JWKS URL,
    ``STORAGE_PROVIDER=s3``); tests set exactly the ones they mean to.
    """
    from chalice.test import Client

    from app import app

    return Client(app, project_dir=str(Path(__file__).parents[1] / "no-chalice-project"))


def api_client() -> Any:
    return chalice_client().http
