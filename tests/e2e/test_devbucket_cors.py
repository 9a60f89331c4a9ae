"""What a page can read of a part's answer is the bucket's CORS rule's to say.

In real Chromium, a page on one origin PUTs a part to a presigned URL (made
by the provider's SDK) on the dev bucket's origin and reads the ``ETag``
header, as Uppy does. With ``ETag`` among the rule's exposed headers (the
dev bucket's default, and the rule ``docs/large-files.md`` gives) the page
reads it; without, the part is stored but the page reads nothing, which is
the hang Uppy users report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devbucket.config import PROVIDERS
from devbucket.server import serve_in_thread
from tests.support.browser import chromium, new_page
from tests.support.devbucket import HOST, start_bucket
from tests.support.storage_sdks import oracle_for

PUT_AND_READ = """async (url) => {
  const answer = await fetch(url, { method: 'PUT', body: new Blob(['a part from the page']) })
  return { status: answer.status, etag: answer.headers.get('ETag') }
}"""


class BlankPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    server = ThreadingHTTPServer((HOST, 0), BlankPage)
    serve_in_thread(server)
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.mark.parametrize("provider", tuple(PROVIDERS))
@pytest.mark.parametrize("exposed", [True, False], ids=["ETag exposed", "ETag not exposed"])
def test_the_page_reads_a_parts_etag_only_when_the_rule_exposes_it(
    browser: Any, page_origin: str, tmp_path: Path, provider: str, exposed: bool
) -> None:
    bucket = start_bucket(
        tmp_path / provider,
        frozenset({page_origin}),
        provider=provider,
        expose_headers=("ETag",) if exposed else (),
    )
    try:
        sdk = oracle_for(bucket)
        key = "uploads/9f0c0123456789abcdef0123456789ab/from the page.bin"
        upload_id = sdk.initiate(key, "application/octet-stream")
        url = sdk.part_url(key, upload_id, 1)  # localhost / signpost-dev.localhost: loopback
        with new_page(browser, page_origin + "/") as page:
            answer = page.evaluate(PUT_AND_READ, url)
        assert answer["status"] == 200
        digest = hashlib.md5(b"a part from the page").hexdigest()
        stored = sdk.list_parts(key, upload_id).parts
        assert [part.size for part in stored] == [len(b"a part from the page")]
        if exposed:
            assert answer["etag"].strip('"').lower() == digest
            assert answer["etag"] == stored[0].etag
        else:
            assert answer["etag"] is None
    finally:
        bucket.stop()
