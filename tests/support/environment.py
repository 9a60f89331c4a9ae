"""The tests' settings, clock and clients: what test modules import by name.

Fixtures built on these are in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

from chalicelib.credentials import Credentials

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


@contextmanager
def botocore_clock(now: datetime) -> Iterator[None]:
    """botocore's clock stopped at ``now``: its policies' expiry and its signing time.

    botocore reads it in naive UTC.
    """
    naive = now.astimezone(timezone.utc).replace(tzinfo=None)
    with (
        mock.patch("botocore.signers.get_current_datetime", return_value=naive),
        mock.patch("botocore.auth.get_current_datetime", return_value=naive),
    ):
        yield


def botocore_s3_client(credentials: Credentials, region: str, **s3: str) -> Any:
    """botocore's S3 client signing SigV4: the oracle of S3 signatures."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "s3",
        region_name=region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret,
        aws_session_token=credentials.session_token,
        config=Config(signature_version="s3v4", s3=s3 or None),
    )


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
