"""The dev bucket on a developer's machine, against a web page that attacks it.

Its key pair is written in this repository, so any page the developer visits
can sign a form for it. These tests hold the bucket to the fixes of the
security review: objects served ``nosniff`` with a disposition, form posts
only from the configured page origins, callbacks only to the configured API,
bounded form headers, idle connections dropped, a cap on connections.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from devbucket import forms
from tests.support.devbucket import (
    HOST,
    PNG,
    RunningBucket,
    assert_refused,
    issue_ticket,
    start_bucket,
)
from tests.support.forms import post, refused, v1_form

PAGE = "http://127.0.0.1:8080"
KEY = "uploads/hardening/page.html"
HTML = b"<script>fetch('/')</script>"


@pytest.fixture
def page_bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    """A dev bucket as ``make run`` starts it: the page's origin configured."""
    running = start_bucket(tmp_path / "bucket", frozenset({PAGE}))
    yield running
    running.stop()


def html_form(**fields: str) -> dict[str, str]:
    """What a hostile page can sign with the published dev key: HTML, no disposition."""
    fields = {"key": KEY, "Content-Type": "text/html", **fields}
    return v1_form(fields, [{name: value} for name, value in fields.items()])


# -- item 5: what is served --------------------------------------------------------


def test_an_object_stored_without_a_disposition_is_served_as_an_attachment(
    page_bucket: RunningBucket,
) -> None:
    assert post(page_bucket, html_form(), HTML, file_type="text/html").status_code == 204
    served = requests.get(f"{page_bucket.url}/{KEY}", timeout=5)
    assert served.content == HTML
    assert served.headers["Content-Type"] == "text/html"
    assert served.headers["Content-Disposition"] == "attachment"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


# -- item 5: who may post ------------------------------------------------------------


def post_ticket_from(bucket: RunningBucket, origin: str | None) -> tuple[dict[str, Any], Any]:
    """A fresh ticket's form, posted as a page at ``origin`` would post it (None: no page)."""
    ticket = issue_ticket(bucket.env(), "cat.png", "image/png", len(PNG))
    form = [(name, (None, value)) for name, value in ticket["fields"].items()]
    response = requests.post(
        bucket.url,
        files=[*form, ("file", ("cat.png", PNG, "image/png"))],
        headers={"Origin": origin} if origin else {},
        timeout=10,
    )
    return ticket, response


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8081"])
def test_a_form_post_from_another_origin_is_refused(
    page_bucket: RunningBucket, origin: str
) -> None:
    """A browser names the posting page's origin; a page not configured gets nothing stored."""
    ticket, response = post_ticket_from(page_bucket, origin)
    message = assert_refused(page_bucket, ticket, response, 403, "AccessForbidden")
    assert "Origin" in message


@pytest.mark.parametrize("origin", [PAGE, None])
def test_the_pages_origin_and_no_origin_may_post(
    page_bucket: RunningBucket, origin: str | None
) -> None:
    """The page posts with its Origin; tools and tests (no Origin) post too."""
    ticket, response = post_ticket_from(page_bucket, origin)
    assert response.status_code == 201, response.text
    assert page_bucket.stored(ticket["key"]) == PNG


# -- item 5: whom it calls back ------------------------------------------------------


class Receiver:
    """A URL that records the calls it gets, answering JSON."""

    def __init__(self) -> None:
        calls = self.calls = []  # type: list[tuple[str, str | None]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                calls.append((self.path, self.headers.get("Host")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def callback_form(url: str, **document: str) -> dict[str, str]:
    encoded = base64.b64encode(
        json.dumps({"callbackUrl": url, "callbackBody": "k=${object}", **document}).encode()
    ).decode()
    fields = {"key": "uploads/hardening/cb.png", "callback": encoded}
    return v1_form(fields, [{name: value} for name, value in fields.items()])


def test_a_callback_to_a_url_not_configured_is_not_made(tmp_path: Path, receiver: Receiver) -> None:
    """OSS would call any URL a form names; the dev bucket calls only the API
    ``make run`` started. The upload is kept, as OSS keeps it when a callback fails."""
    api = f"{receiver.url}/oss-callback"
    running = start_bucket(tmp_path / "b", callback_urls=frozenset({api}))
    try:
        elsewhere = post(running, callback_form(f"{receiver.url}/internal/admin"))
        assert elsewhere.status_code == 203
        assert refused(elsewhere, 203, "CallbackFailed").startswith(
            "The dev bucket calls back only"
        )
        assert running.stored("uploads/hardening/cb.png") == PNG
        other_host = post(running, callback_form(api, callbackHost="intranet.example"))
        assert other_host.status_code == 203
        assert receiver.calls == []
        assert post(running, callback_form(api)).status_code == 200
        assert receiver.calls == [("/oss-callback", receiver.url.removeprefix("http://"))]
    finally:
        running.stop()


# -- item 6: form headers are bounded ------------------------------------------------


class CountingStream:
    """A body that counts what was read of it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read_bytes = data, 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.read_bytes : self.read_bytes + size]
        self.read_bytes += len(chunk)
        return chunk


def multipart(parts: list[bytes], boundary: bytes = b"b0undary") -> tuple[bytes, str]:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary + b"--\r\n", f"multipart/form-data; boundary={boundary.decode()}"


def part(name: bytes, value: bytes = b"", headers: bytes = b"") -> bytes:
    return b'Content-Disposition: form-data; name="' + name + b'"\r\n' + headers + b"\r\n" + value


FILE = b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + PNG


# python-multipart already caps one header line (4 KiB) and a part's headers (8):
# what grew without bound was the number of parts, each with its own name.
LONG_NAMES = [part(b"%05d" % i + b"n" * 4000) for i in range(100)]
MANY_NAMES = [part(b"n%05d" % i + b"n" * 200) for i in range(20_000)]
JUNK_HEADERS = [part(b"j%05d" % i, headers=b"X-Junk: " + b"j" * 4000 + b"\r\n") for i in range(100)]
EMPTY_PARTS = [part(b"f%d" % i) for i in range(5 * forms.MAX_PARTS)]


@pytest.mark.parametrize(
    "parts",
    [LONG_NAMES, MANY_NAMES, JUNK_HEADERS, EMPTY_PARTS],
    ids=["long-names", "many-names", "junk-headers", "many-parts"],
)
def test_names_headers_and_parts_count_against_the_form_cap(parts: list[bytes]) -> None:
    """Refused once the cap is passed, before the rest of the body is read
    (before the fix, a 203 MB body of names was all kept in memory)."""
    parts = [*parts, FILE]
    body, content_type = multipart(parts)
    stream = CountingStream(body)
    with pytest.raises(forms.InvalidField):
        forms.read_form(stream, len(body), content_type, never_reached)
    assert stream.read_bytes <= forms.MAX_FIELDS_BYTES + 2 * forms.CHUNK < len(body)


def never_reached(fields: dict[str, str], file: forms.FilePart) -> forms.Sink:
    raise AssertionError("the file part is never reached")


def test_a_form_of_huge_names_is_a_400_from_the_server(page_bucket: RunningBucket) -> None:
    body, content_type = multipart([*MANY_NAMES, FILE])
    response = requests.post(
        page_bucket.url, data=body, headers={"Content-Type": content_type}, timeout=10
    )
    refused(response, 400, "InvalidArgument")


# -- item 7: idle connections and the connection cap ---------------------------------


def read_until_closed(connection: socket.socket, seconds: float) -> bytes | None:
    """What the server sends on ``connection`` before it closes it, or None
    if it is still open after ``seconds``."""
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    return received


def test_an_idle_connection_is_dropped_after_the_timeout(tmp_path: Path) -> None:
    running = start_bucket(tmp_path / "b", idle_timeout=0.3)
    try:
        with socket.create_connection((HOST, running.server.server_address[1])) as idle:
            started = time.monotonic()
            assert read_until_closed(idle, 5) is not None
            assert 0.2 < time.monotonic() - started < 3
        with socket.create_connection((HOST, running.server.server_address[1])) as stalled:
            stalled.sendall(  # a request whose body never comes
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 1000\r\n\r\n--b\r\n"
            )
            answer = read_until_closed(stalled, 5)
            assert answer is not None, "the stalled connection was not closed"
            assert answer.startswith(b"HTTP/1.1 400")
            assert b"RequestTimeout" in answer
    finally:
        running.stop()


def test_connections_past_the_cap_are_turned_away(tmp_path: Path) -> None:
    running = start_bucket(tmp_path / "b", max_connections=2)
    address = (HOST, running.server.server_address[1])
    try:
        held = [socket.create_connection(address) for _ in range(2)]
        with socket.create_connection(address) as third:
            third.settimeout(5)
            answer = third.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503")
        assert b"ServiceUnavailable" in answer
        for connection in held:
            connection.close()
        deadline = time.monotonic() + 5  # the held slots are freed once their threads end
        while True:
            try:
                response = requests.get(f"{running.url}/nothing", timeout=5)
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code == 404:
                break
            assert time.monotonic() < deadline, "a slot was never freed"
            time.sleep(0.05)
    finally:
        running.stop()
