"""What a dev bucket is set up with: its provider (by name, from
:data:`PROVIDERS`), its bucket and keys (by default the dev buckets below,
whose keys are public: they are in this repository), and its dev-machine
protections (allowed origins and callback URLs, connection bounds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import oss, s3
from .bucket import Bucket
from .provider import Provider

DEV_BUCKET = "signpost-dev"
DEV_REGION = "cn-hangzhou"
DEV_ACCESS_KEY_ID = "LTAIdevbucketkey"
DEV_ACCESS_KEY_SECRET = "devbucket-secret-for-local-use-only"
DEV_S3_REGION = "us-east-1"
DEV_S3_ACCESS_KEY_ID = "AKIADEVBUCKETLOCAL00"
DEV_S3_SECRET_ACCESS_KEY = "devbucket-s3-secret-for-local-use-only"
PROVIDERS: dict[str, Provider] = {"oss": oss, "s3": s3}
DEV_BUCKETS = {
    "oss": Bucket(DEV_BUCKET, DEV_REGION, {DEV_ACCESS_KEY_ID: DEV_ACCESS_KEY_SECRET}),
    "s3": Bucket(DEV_BUCKET, DEV_S3_REGION, {DEV_S3_ACCESS_KEY_ID: DEV_S3_SECRET_ACCESS_KEY}),
}
IDLE_TIMEOUT = 30.0  # seconds a connection may send nothing before it is dropped
MAX_CONNECTIONS = 32  # connections served at once; more are turned away with a 503


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class DevBucketConfig:
    """Where objects go, which service's rules (``provider``: ``oss`` or
    ``s3``; one bucket speaks one), which bucket this is (by default that
    provider's dev bucket, :data:`DEV_BUCKETS`), who may post and from where.

    Its key pair is public (it is in this repository), so any web page could
    sign a form for it: it takes form posts only from ``allowed_origins``
    (or with no ``Origin``, as tools send them), calls back only
    ``callback_urls``, and bounds connections (``idle_timeout`` seconds of
    silence, ``max_connections`` at once). ``clock`` is injectable so a test
    can move past a policy's expiration, ``upload_ids`` so a test can choose
    a multipart upload id (one that needs percent-encoding, say).

    Its one CORS rule allows ``allowed_origins`` to send GET, HEAD, POST and
    PUT with any header, and lets their pages read ``expose_headers`` (and
    the request id): ``ETag``, as the bucket rule ``docs/large-files.md``
    asks for, without which a page cannot read a part's ETag.
    """

    root: Path
    provider: str = "oss"
    bucket: Bucket | None = None
    allowed_origins: frozenset[str] = frozenset()
    callback_urls: frozenset[str] = frozenset()
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    clock: Callable[[], datetime] = utc_now
    upload_ids: Callable[[], str] | None = None
    expose_headers: tuple[str, ...] = ("ETag",)

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}")

    @property
    def rules(self) -> Provider:
        return PROVIDERS[self.provider]

    def new_upload_id(self) -> str:
        return (self.upload_ids or self.rules.new_upload_id)()

    @property
    def served_bucket(self) -> Bucket:
        return self.bucket or DEV_BUCKETS[self.provider]
