"""Multipart uploads through the function, judged by the dev bucket.

The app's own routes (``POST /s3/multipart``, part URLs, list, complete,
abort; Chalice's test client) make every storage call and sign every part
URL with signpost's signers; the dev bucket, in this process on a loopback
port, checks them with code of its own (it imports nothing from
chalicelib). The browser's part is played with ``requests``: a plain PUT of
each part to the URL the function gave.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
import requests

from devbucket import oss, s3
from devbucket.config import PROVIDERS
from tests.support.devbucket import RunningBucket, start_bucket
from tests.support.environment import api_client
from tests.support.forms import refused

MiB = 1024 * 1024
MIN_PART = {"oss": oss.MIN_PART_SIZE, "s3": s3.MIN_PART_SIZE}
EXPIRED = {"oss": "Request has expired.", "s3": "Request has expired"}
SIGNATURE_FIELD = {"oss": "x-oss-signature", "s3": "X-Amz-Signature"}
EXPIRE_SECONDS = 600


class Function:
    """The app's multipart routes, as Uppy calls them."""

    def __init__(self) -> None:
        self.api = api_client()

    def create(self, filename: str, content_type: str) -> dict[str, Any]:
        body = {"filename": filename, "type": content_type, "metadata": {"name": filename}}
        answer = self.api.post(
            "/s3/multipart",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.body
        return dict(answer.json_body)

    def _path(self, upload_id: str, *rest: str) -> str:
        return "/".join(["/s3/multipart", quote(upload_id, safe=""), *rest])

    def sign(self, key: str, upload_id: str, number: int) -> Any:
        return self.api.get(f"{self._path(upload_id, str(number))}?{urlencode({'key': key})}")

    def part_url(self, key: str, upload_id: str, number: int) -> str:
        answer = self.sign(key, upload_id, number)
        assert answer.status_code == 200, answer.body
        return str(answer.json_body["url"])

    def list_parts(self, key: str, upload_id: str) -> Any:
        return self.api.get(f"{self._path(upload_id)}?{urlencode({'key': key})}")

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> Any:
        body = {"parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]}
        return self.api.post(
            f"{self._path(upload_id, 'complete')}?{urlencode({'key': key})}",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    def abort(self, key: str, upload_id: str) -> Any:
        return self.api.delete(f"{self._path(upload_id)}?{urlencode({'key': key})}")


@pytest.fixture(params=tuple(PROVIDERS))
def running(request: Any, tmp_path: Path, env: Callable[..., None]) -> Iterator[RunningBucket]:
    bucket = start_bucket(tmp_path / request.param, provider=request.param)
    env(
        **bucket.env(),
        AUTH_MODE="none",
        ALLOWED_CONTENT_TYPES="video/mp4,application/octet-stream",
        MAX_UPLOAD_BYTES=str(64 * MiB),
        EXPIRE_SECONDS=str(EXPIRE_SECONDS),
    )
    yield bucket
    bucket.stop()


@pytest.fixture
def function(running: RunningBucket) -> Function:
    return Function()


def provider_of(bucket: RunningBucket) -> str:
    return bucket.server.config.provider


def put(url: str, data: bytes) -> requests.Response:
    return requests.put(url, data=data, timeout=30)


def upload_parts(
    function: Function, key: str, upload_id: str, chunks: list[bytes], first: int = 1
) -> list[tuple[int, str]]:
    parts = []
    for number, chunk in enumerate(chunks, first):
        response = put(function.part_url(key, upload_id, number), chunk)
        assert response.status_code == 200, response.text
        parts.append((number, response.headers["ETag"]))
    return parts


def leftovers(bucket: RunningBucket) -> list[Path]:
    return [path for folder in ("uploads", "tmp") for path in (bucket.root / folder).rglob("*")]


def test_25_mib_in_5_mib_parts_through_the_function_is_stored_byte_equal(
    running: RunningBucket, function: Function
) -> None:
    data = os.urandom(25 * MiB)
    chunks = [data[start : start + 5 * MiB] for start in range(0, len(data), 5 * MiB)]
    created = function.create("big video.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    parts = upload_parts(function, key, upload_id, chunks)
    listed = function.list_parts(key, upload_id)
    assert listed.status_code == 200
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed.json_body] == [
        (number, etag, 5 * MiB) for number, etag in parts
    ]
    done = function.complete(key, upload_id, parts)
    assert done.status_code == 200, done.body
    assert running.stored(key) == data
    stored = running.server.store.get(key)
    assert stored is not None
    assert stored.content_type == "video/mp4"
    assert stored.headers["Content-Disposition"].startswith("attachment")
    assert leftovers(running) == []


def with_query(url: str, **changes: str) -> str:
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(split._replace(query=urlencode(query)))


def test_a_tampered_part_url_from_the_function_is_refused(
    running: RunningBucket, function: Function
) -> None:
    provider = provider_of(running)
    created = function.create("cat.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    url = function.part_url(key, upload_id, 1)
    signature = dict(parse_qsl(urlsplit(url).query))[SIGNATURE_FIELD[provider]]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for bad in (
        with_query(url, **{SIGNATURE_FIELD[provider]: flipped}),
        with_query(url, partNumber="2"),
        url.replace("/cat.mp4?", "/dog.mp4?"),
    ):
        refused(put(bad, b"x"), 403, "SignatureDoesNotMatch")
    assert function.list_parts(key, upload_id).json_body == []


def test_an_expired_part_url_from_the_function_is_refused(
    running: RunningBucket, function: Function
) -> None:
    created = function.create("late.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    url = function.part_url(key, upload_id, 1)
    running.clock.advance(EXPIRE_SECONDS + 1)
    message = refused(put(url, b"late"), 403, "AccessDenied")
    assert message == EXPIRED[provider_of(running)]
    running.clock.advance(-(EXPIRE_SECONDS + 1))
    assert put(function.part_url(key, upload_id, 1), b"signed again").status_code == 200


def send_half(url: str, declared: int) -> None:
    split = urlsplit(url)
    head = (
        f"PUT {split.path}?{split.query} HTTP/1.1\r\nHost: {split.netloc}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    host, port = split.netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(head + b"h" * (declared // 2))
        connection.shutdown(socket.SHUT_WR)
        connection.recv(65536)


def test_resume_through_the_function_after_a_failed_part(
    running: RunningBucket, function: Function
) -> None:
    size = MIN_PART[provider_of(running)]
    chunks = [os.urandom(size), os.urandom(size), b"the end"]
    created = function.create("resumed.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    first = upload_parts(function, key, upload_id, chunks[:1])
    send_half(function.part_url(key, upload_id, 2), size)
    listed = function.list_parts(key, upload_id).json_body
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == first
    rest = upload_parts(function, key, upload_id, chunks[1:], first=2)
    assert function.complete(key, upload_id, first + rest).status_code == 200
    assert running.stored(key) == b"".join(chunks)


def test_abort_through_the_function_leaves_nothing(
    running: RunningBucket, function: Function
) -> None:
    created = function.create("aborted.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    upload_parts(function, key, upload_id, [b"some bytes"])
    url = function.part_url(key, upload_id, 2)
    answer = function.abort(key, upload_id)
    assert answer.status_code == 200
    assert answer.json_body == {}
    assert leftovers(running) == []
    assert running.server.store.get(key) is None
    refused(put(url, b"after abort"), 404, "NoSuchUpload")


def test_completion_over_the_limit_is_refused_and_aborted(
    running: RunningBucket, function: Function, env: Callable[..., None]
) -> None:
    size = MIN_PART[provider_of(running)]
    chunks = [os.urandom(size), b"one byte too many"]
    created = function.create("too big.mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    parts = upload_parts(function, key, upload_id, chunks)
    env(MAX_UPLOAD_BYTES=str(size))  # the limit drops while the parts are up
    answer = function.complete(key, upload_id, parts)
    assert answer.status_code == 413
    assert answer.json_body["error"]["code"] == "EntityTooLarge"
    assert running.server.store.get(key) is None
    assert leftovers(running) == []
    refused(put(function.part_url(key, upload_id, 3), b"after"), 404, "NoSuchUpload")
