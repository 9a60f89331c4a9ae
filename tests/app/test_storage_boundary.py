"""The storage boundary, bounded (issue 22): what a storage answer may make
the function do. Each storage is faked at the HTTP boundary: ``responses`` for
pages of parts, a local server on 127.0.0.1 that drips its answer for time."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from chalicelib import storage as storage_module
from tests.app.test_multipart import (
    OSS,
    MiB,
    assert_refused,
    assert_unreadable,
    body_of,
    key,
    list_url,
    on_upload,
    parts_xml,
)

GiB = 1024 * MiB


@pytest.fixture
def storage() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def full_page(first: int) -> str:
    """A truncated page of 1000 parts from ``first``, naming the next marker."""
    parts = [(number, 1, f"E{number}") for number in range(first, first + 1000)]
    return parts_xml(parts, truncated=True, marker=first + 999)


def test_ten_pages_of_a_thousand_parts_are_read(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    for page in range(10):
        marker = page * 1000 or None
        answer = full_page(page * 1000 + 1)
        if page == 9:
            answer = answer.replace("<IsTruncated>true", "<IsTruncated>false")
        storage.get(list_url(OSS, key(), marker), body=answer)
    response = api.get(on_upload())
    assert response.status_code == 200, response.body
    assert len(body_of(response)) == 10_000


def test_an_eleventh_page_is_never_asked_for(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    """A storage that says "more" forever: 60 pages cost 60 calls before."""
    for page in range(11):
        marker = page * 1000 or None
        storage.get(list_url(OSS, key(), marker), body=full_page(page * 1000 + 1))
    assert_refused(api.get(on_upload()), 502, "StorageError")
    assert len(storage.calls) == 10


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([(1, 5, "A"), (1, 5, "A")], None),  # a number twice
        ([(0, 5, "A")], None),
        ([(10001, 5, "A")], None),
        ([(1, -1_000_000_000, "A"), (2, 1_073_741_824, "B")], None),  # a negative size
        ([(1, 5 * GiB + 1, "A")], None),
        ([(2, 5, "A"), (1, 5, "B")], None),  # not ascending: 1 after 2
        ([(1, 5, "A"), (2, 5, "B")], [(2, 5, "B"), (3, 5, "C")]),  # page 2 repeats page 1
    ],
    ids=["twice", "zero", "over-10000", "negative", "over-5-GiB", "descending", "not-past-marker"],
)
def test_a_part_list_no_storage_would_give_is_a_storage_error(
    env: Any,
    api: Any,
    storage: responses.RequestsMock,
    first: list[tuple[int, int, str]],
    second: list[tuple[int, int, str]] | None,
) -> None:
    if second is None:
        storage.get(list_url(OSS, key()), body=parts_xml(first))
    else:
        storage.get(list_url(OSS, key()), body=parts_xml(first, truncated=True, marker=1))
        storage.get(list_url(OSS, key(), 1), body=parts_xml(second))
    assert_unreadable(api.get(on_upload()))


def test_sizes_of_zero_and_of_5_gib_are_listed(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    storage.get(list_url(OSS, key()), body=parts_xml([(1, 5 * GiB, "A"), (2, 0, "B")]))
    response = api.get(on_upload())
    assert response.status_code == 200, response.body
    assert [part["Size"] for part in body_of(response)] == [5 * GiB, 0]


class Drip(http.server.BaseHTTPRequestHandler):
    """Answers a byte at a time, slowly: in its headers, or in its body."""

    in_headers = False

    def do_GET(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 4096\r\n\r\n"
        if not self.in_headers:
            self.wfile.write(head)
            head = b""
        try:
            for byte in (head + b"<" * 4096)[:60]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the function hung up: what the test wants

    do_DELETE = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["body", "headers"])
def dripping_storage(request: pytest.FixtureRequest, env: Any) -> Iterator[str]:
    handler = type("DripHere", (Drip,), {"in_headers": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    env(OSS_ENDPOINT=endpoint)
    yield endpoint
    server.shutdown()
    server.server_close()


def test_a_storage_call_has_a_whole_call_deadline(
    api: Any, dripping_storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drip never lets a read wait long, so only a deadline for the whole
    call stops it (the server drips for 6 s; the budget here is 1 s)."""
    monkeypatch.setattr(storage_module, "STORAGE_BUDGET_SECONDS", 1.0)
    started = time.monotonic()
    response = api.get(on_upload())
    took = time.monotonic() - started
    assert_refused(response, 502, "StorageError")
    assert "in time" in body_of(response)["error"]["message"]
    assert took < 2.5


def test_the_budget_fits_the_function_timeouts() -> None:
    """.chalice/config.json's lambda_timeout (29 s) and s.yaml's timeout (30 s):
    every storage call of a request ends in time to answer."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lambda_timeout = json.loads((root / ".chalice" / "config.json").read_text())["lambda_timeout"]
    fc_timeout = int(re.search(r"\btimeout: (\d+)", (root / "s.yaml").read_text())[1])
    _connect, read = storage_module.STORAGE_TIMEOUT
    assert storage_module.STORAGE_BUDGET_SECONDS + read <= min(lambda_timeout, fc_timeout)
