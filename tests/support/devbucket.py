"""A running dev bucket, tickets from the app for it, and real uploads to it.

The dev bucket checks forms on its own (it imports nothing from chalicelib),
so an upload it accepts is evidence that a ticket is right, and a refusal
evidence that a tampered form is caught.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from devbucket.bucket import Bucket
from devbucket.config import DevBucketConfig
from devbucket.server import DevBucketServer, make_server, serve_in_thread
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

    def allow_callbacks(self, *urls: str) -> None:
        """Let the bucket call back ``urls`` too (servers started after it)."""
        config = self.server.config
        self.server.config = replace(config, callback_urls=config.callback_urls | set(urls))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

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
    **options: Any,
) -> RunningBucket:
    """A dev bucket with ``provider``'s rules, serving in a thread; ``trusted``
    replaces that provider's dev bucket (other keys, session tokens);
    ``options`` are more :class:`DevBucketConfig` fields."""
    clock = MovableClock()
    config = DevBucketConfig(
        root=root,
        provider=provider,
        bucket=trusted,
        allowed_origins=origins,
        clock=clock,
        **options,
    )
    server = make_server(config)
    serve_in_thread(server)
    return RunningBucket(server, clock, root)


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    running = start_bucket(tmp_path / "bucket")
    yield running
    running.stop()


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
    assert root.findtext("RequestId")
    assert root.findtext("HostId")
    return root.findtext("Code") or "", root.findtext("Message") or ""


def widened_policy(ticket: Mapping[str, Any], high: int = 10**9) -> str:
    """The ticket's policy with its size range widened to ``[1, high]``: an
    edit after signing."""
    document = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    document["conditions"] = [
        ["content-length-range", 1, high]
        if isinstance(condition, list) and condition[0] == "content-length-range"
        else condition
        for condition in document["conditions"]
    ]
    return base64.b64encode(json.dumps(document).encode()).decode()


def upload(
    ticket: Mapping[str, Any],
    content: bytes = PNG,
    /,
    *,
    file_type: str | None = "image/png",
    **changes: str | None,
) -> Any:
    """Post the ticket's fields, with ``changes`` applied (None leaves a field
    out), and the file as ``cat.png``."""
    changed = {**ticket["fields"], **changes}
    fields = {name: value for name, value in changed.items() if value is not None}
    return post_form(ticket["url"], fields, content, filename="cat.png", file_type=file_type)


def assert_refused(
    bucket: RunningBucket, ticket: Mapping[str, Any], response: Any, status: int, code: str
) -> str:
    """The answer is the provider's XML error ``code`` with its request id, and
    nothing was stored; the error's message."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers[bucket.server.config.rules.REQUEST_ID_HEADER]
    got, message = oss_error(response)
    assert got == code, message
    assert bucket.server.store.get(ticket["key"]) is None
    return message
