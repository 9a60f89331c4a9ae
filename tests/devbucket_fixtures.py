"""A running dev bucket, tickets from the app for it, and real uploads to it.

The dev bucket checks forms on its own (it imports nothing from chalicelib),
so an upload it accepts is evidence that a ticket is right, and a refusal
evidence that a tampered form is caught.
"""

from __future__ import annotations

import json
import socket
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from devbucket.service import Bucket
from devbucket.server import DevBucketConfig, DevBucketServer, make_server, serve_in_thread
from devtools.run import dev_bucket_env


def make_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (230, 90, 30)) -> bytes:
    """A valid, solid-colour PNG, made with zlib (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = make_png()


HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on now (for a server started by another process)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class MovableClock:
    """The dev bucket's clock: real time plus an offset a test can move."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class RunningBucket:
    server: DevBucketServer
    clock: MovableClock
    root: Path

    @property
    def url(self) -> str:
        return self.server.url

    def env(self, **overrides: str) -> dict[str, str]:
        """The API's settings for this bucket, as ``make run`` sets them."""
        return {**dev_bucket_env(self.server.config.provider, self.url), **overrides}

    def stored(self, key: str) -> bytes:
        obj = self.server.store.get(key)
        assert obj is not None, f"{key} is not in the dev bucket"
        return obj.path.read_bytes()


def start_bucket(
    root: Path,
    origins: frozenset[str] = frozenset(),
    *,
    provider: str = "oss",
    trusted: Bucket | None = None,
) -> RunningBucket:
    """A dev bucket with ``provider``'s rules, serving in a thread; ``trusted``
    replaces that provider's dev bucket (other keys, session tokens)."""
    clock = MovableClock()
    config = DevBucketConfig(
        root=root, provider=provider, bucket=trusted, allowed_origins=origins, clock=clock
    )
    server = make_server(config)
    serve_in_thread(server)
    return RunningBucket(server, clock, root)


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    running = start_bucket(tmp_path / "bucket")
    yield running
    running.server.shutdown()
    running.server.server_close()


def issue_ticket(
    env: Mapping[str, str], filename: str, content_type: str, size: int | None
) -> dict[str, Any]:
    """A ticket from the app's own handler, as ``POST /upload-tickets`` answers."""
    from chalicelib.handlers import upload_ticket

    body: dict[str, Any] = {"filename": filename, "content_type": content_type}
    if size is not None:
        body["size"] = size
    return upload_ticket(json.dumps(body), env)


def post_form(
    url: str,
    fields: Mapping[str, str],
    content: bytes,
    *,
    filename: str = "upload.bin",
    file_type: str | None = None,
) -> Any:
    """POST ``fields`` in order, then the file last as ``file``, like a browser."""
    import requests

    file_part = (filename, content, file_type) if file_type else (filename, content)
    parts = [(name, (None, value)) for name, value in fields.items()]
    return requests.post(url, files=[*parts, ("file", file_part)], timeout=10)


def oss_error(response: Any) -> tuple[str, str]:
    """``(Code, Message)`` of an OSS or S3 XML error (the same shape); fails
    if the body is not one."""
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    assert root.findtext("RequestId") and root.findtext("HostId")
    return root.findtext("Code") or "", root.findtext("Message") or ""
