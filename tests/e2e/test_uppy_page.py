"""The Uppy pages in headless Chromium against the real stack: the demo page
(Uppy 6 with ``uppy-signpost.js``), Uppy 6's ``companionEndpoint`` mode, and
the Uppy 5 example page (``endpoint`` + ``headers``).

As ``make run`` wires them: the page (with ``data-api``), a dev bucket with
OSS's or S3's rules, and the API (``chalice local``) with ``MAX_UPLOAD_BYTES``
raised for the demo. A small file goes in one form POST with a ticket, a
25 MiB one in 5 MiB parts; each is stored byte for byte, and the requests the
browser made say which way it went. One browser for the module; each test
gets a fresh context.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from devbucket.server import serve_in_thread
from devtools.run import (
    DEMO_MAX_UPLOAD_BYTES,
    api_callback_url,
    api_env,
    make_page_server,
    start_api,
    stop_api,
    wait_until_listening,
)
from tests.support.browser import chromium, new_page
from tests.support.devbucket import HOST, PNG, RunningBucket, free_port, start_bucket
from tests.support.run import child_env
from tests.support.uppy import dashboard_ready, picker, upload

MiB = 1024**2
LARGE = 25 * MiB  # over the page's 16 MiB threshold: five 5 MiB parts
API_KEY = "uppy-page-key-0123456789"


@dataclass
class Stack:
    origin: str
    api_url: str
    bucket: RunningBucket

    @property
    def page_url(self) -> str:
        return f"{self.origin}/"

    @property
    def uppy5_url(self) -> str:
        return f"{self.origin}/uppy5.html"

    @property
    def provider(self) -> str:
        return str(self.bucket.server.config.provider)

    def stored(self, href: str) -> bytes:
        """The object a Download link points at, as the dev bucket holds it."""
        assert href.startswith(self.bucket.url + "/"), href
        return self.bucket.stored(unquote(urlsplit(href).path[1:]))


@contextmanager
def running_stack(root: Path, provider: str, **settings: str) -> Iterator[Stack]:
    api_port = free_port()
    api_url = f"http://{HOST}:{api_port}"
    page_server = make_page_server(HOST, 0, api_url)
    serve_in_thread(page_server)
    origin = f"http://{HOST}:{page_server.server_address[1]}"
    calls_back = provider == "oss"  # as make run: the OSS dev bucket calls the API back
    bucket = start_bucket(
        root,
        frozenset({origin}),
        provider=provider,
        callback_urls=frozenset({api_callback_url(api_url)} if calls_back else ()),
    )
    shell = child_env(MAX_UPLOAD_BYTES=str(DEMO_MAX_UPLOAD_BYTES), **settings)
    env = api_env(shell, [origin], bucket.url, api_url if calls_back else None, provider=provider)
    api = start_api(env, HOST, api_port)
    try:
        wait_until_listening(api, HOST, api_port, 60)
        yield Stack(origin, api_url, bucket)
    finally:
        stop_api(api)
        page_server.shutdown()
        page_server.server_close()
        bucket.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module", params=["oss", "s3"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp(request.param), request.param) as stack:
        yield stack


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API that asks for an API key."""
    root = tmp_path_factory.mktemp("guarded")
    with running_stack(root, "oss", AUTH_MODE="api-key", API_KEYS=API_KEY) as stack:
        yield stack


class Requests:
    """The requests the page makes from now on, by kind: which API route, or
    which method to the bucket."""

    ROUTES = (
        (re.compile(r"/s3/multipart/[^/]+/complete"), "/s3/multipart/ID/complete"),
        (re.compile(r"/s3/multipart/[^/]+/batch"), "/s3/multipart/ID/batch"),
        (re.compile(r"/s3/multipart/[^/]+/\d+"), "/s3/multipart/ID/N"),
        (re.compile(r"/s3/multipart/[^/]+"), "/s3/multipart/ID"),
    )

    def __init__(self, page: Any, stack: Stack) -> None:
        self.stack = stack
        self.seen: list[Any] = []
        page.on("request", lambda request: self.seen.append(request))

    def kind(self, request: Any) -> str:
        if request.url.startswith(self.stack.bucket.url):
            return f"{request.method} bucket"
        path = urlsplit(request.url).path
        for pattern, name in self.ROUTES:
            if pattern.fullmatch(path):
                return f"{request.method} {name}"
        return f"{request.method} {path}"

    def counted(self) -> Counter[str]:
        """Of the requests to the API and the bucket (not the thumbnails' blob: URLs)."""
        return Counter(
            self.kind(request)
            for request in self.to_api() + self.to_bucket()
            if request.method != "OPTIONS"
        )

    def to_api(self) -> list[Any]:
        return [request for request in self.seen if request.url.startswith(self.stack.api_url)]

    def to_bucket(self) -> list[Any]:
        return [request for request in self.seen if request.url.startswith(self.stack.bucket.url)]


REFUSED_NAME = " leading-space.png"  # a name only the API refuses
REFUSAL = "The filename cannot start or end with whitespace."


def expired_answer(provider: str) -> tuple[str, dict[str, str]]:
    """What each store documents for an expired presigned URL: OSS V4, error
    code (EC) 0002-00000236 with AccessDenied and no fixed text; S3,
    AccessDenied "Request has expired"."""
    if provider == "oss":
        body = (
            "<Code>AccessDenied</Code><Message>Invalid signing date in Authorization header."
            "</Message><EC>0002-00000236</EC>"
        )
        return body, {"x-oss-ec": "0002-00000236"}
    return "<Code>AccessDenied</Code><Message>Request has expired</Message>", {}


def test_a_small_file_goes_in_one_form_post_and_a_large_one_in_parts(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    small, large = tmp_path / "small cat ü.png", tmp_path / "big scan.pdf"
    small.write_bytes(PNG)
    large.write_bytes(os.urandom(LARGE))
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        made = Requests(page, stack)
        (href,) = upload(page, small)
        assert stack.stored(href) == PNG
        assert made.counted() == Counter({"GET /s3/params": 1, "POST bucket": 1})

        made.seen.clear()
        (href,) = upload(page, large)
        assert stack.stored(href) == large.read_bytes()
        # Four calls to the API: signpost creates, signs the parts at once, lists, completes.
        assert made.counted() == Counter(
            {
                "POST /s3/multipart": 1,
                "GET /s3/multipart/ID/batch": 1,
                "PUT bucket": 5,
                "GET /s3/multipart/ID": 1,
                "POST /s3/multipart/ID/complete": 1,
            }
        )
        assert page.locator("#results .why").count() == 0
        assert page.locator("#results").inner_text().count("Uploaded.") == 2


def test_an_expired_part_url_is_signed_again_and_the_upload_completes(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    """The bucket's first answer to part 2 is its provider's documented answer
    for an expired URL: the page asks signpost for fresh part URLs and goes on
    from the parts already stored; nothing is aborted."""
    words, headers = expired_answer(stack.provider)
    refused: list[str] = []

    def expire_once(route: Any) -> None:
        part = parse_qs(urlsplit(route.request.url).query).get("partNumber")
        if route.request.method == "PUT" and part == ["2"] and not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=403,
                body=f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{words}</Error>',
                headers={
                    "Content-Type": "application/xml",
                    "Access-Control-Allow-Origin": stack.origin,
                    **headers,
                },
            )
        else:
            route.continue_()

    content = os.urandom(LARGE)
    (tmp_path / "late.pdf").write_bytes(content)
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        page.route(f"{stack.bucket.url}/**", expire_once)
        made = Requests(page, stack)
        (href,) = upload(page, tmp_path / "late.pdf")
        assert refused
        assert stack.stored(href) == content
        counted = made.counted()
        assert counted["GET /s3/multipart/ID/batch"] == 2  # signed again
        assert counted["PUT bucket"] == 6
        assert counted["DELETE /s3/multipart/ID"] == 0  # not aborted
        assert page.locator("#results .why").count() == 0


def test_with_put_tickets_uppy_6_puts_with_the_signed_headers(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """UPLOAD_METHOD=put (S3-compatible stores without form uploads): the
    helper sends the file's size, and Uppy PUTs with the headers signpost
    signed, the overwrite guard among them."""
    small = tmp_path / "put cat.png"
    small.write_bytes(PNG)
    root = tmp_path_factory.mktemp("put")
    with (
        running_stack(root, "s3", UPLOAD_METHOD="put") as put_stack,
        new_page(browser, put_stack.page_url) as page,
    ):
        dashboard_ready(page)
        made = Requests(page, put_stack)
        (href,) = upload(page, small)
        assert put_stack.stored(href) == PNG
        assert made.counted() == Counter({"GET /s3/params": 1, "PUT bucket": 1})
        (put,) = made.to_bucket()
        assert put.all_headers()["if-none-match"] == "*"
        assert put.all_headers()["content-type"] == "image/png"


def test_a_part_url_near_its_end_is_signed_anew_before_it_is_sent(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The helper reads each cached URL's end from its own query: with
    EXPIRE_SECONDS=20, within its 30 s margin, every part asks for fresh URLs
    instead of sending one that may expire on the way."""
    content = os.urandom(LARGE)
    (tmp_path / "short.pdf").write_bytes(content)
    root = tmp_path_factory.mktemp("short")
    with (
        running_stack(root, "oss", EXPIRE_SECONDS="20") as short,
        new_page(browser, short.page_url) as page,
    ):
        dashboard_ready(page)
        made = Requests(page, short)
        (href,) = upload(page, tmp_path / "short.pdf")
        assert short.stored(href) == content
        counted = made.counted()
        assert counted["GET /s3/multipart/ID/batch"] == 5  # one per part
        assert counted["PUT bucket"] == 5  # none refused


def test_a_name_only_the_api_refuses_is_shown_beside_it_in_the_apis_words(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    (tmp_path / REFUSED_NAME).write_bytes(PNG)
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        picker(page).set_input_files([str(tmp_path / REFUSED_NAME)])
        page.get_by_role("button", name=re.compile(r"^Upload 1 file$")).click()
        row = page.locator("#results li", has_text=REFUSAL)
        row.wait_for()
        assert row.locator(".name").inner_text() == REFUSED_NAME
        assert row.locator(".why").inner_text() == f"Not uploaded: {REFUSAL}"
        announced = page.locator("#announce").text_content()
        assert announced == f"{REFUSED_NAME}: Not uploaded: {REFUSAL}"
        # It cannot succeed: no Retry; the Dashboard is free for the next file.
        assert page.evaluate("() => uppy.getFiles().length") == 0
        assert page.get_by_role("button", name=re.compile("Retry")).count() == 0


def test_the_dashboard_takes_only_what_the_rules_allow_and_asks_the_api_nothing(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not an accepted type\n")
    (tmp_path / "mislabelled.exe").write_bytes(PNG)
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        # MIME types only: an extension entry would let a mislabelled file through.
        assert picker(page).get_attribute("accept") == (
            "image/png, image/jpeg, image/gif, image/webp, application/pdf"
        )
        made = Requests(page, stack)
        picker(page).set_input_files(
            [str(tmp_path / "notes.txt"), str(tmp_path / "mislabelled.exe")]
        )
        informer = page.locator(".uppy-Informer", has_text="You can only upload").first
        assert informer.inner_text().startswith("You can only upload PNG, JPEG, GIF, WebP or PDF.")
        assert page.locator(".uppy-Dashboard-Item").count() == 0
        assert made.to_api() == []


def test_the_page_ignores_an_api_named_in_its_address(browser: Any, stack: Stack) -> None:
    elsewhere = f"http://{HOST}:{free_port()}"
    with new_page(browser, "about:blank") as page:
        made = Requests(page, stack)
        page.goto(f"{stack.page_url}?api={elsewhere}")
        dashboard_ready(page)
        assert [urlsplit(r.url).path for r in made.to_api()] == ["/upload-rules"]
        assert not [r.url for r in made.seen if r.url.startswith(elsewhere)]


def test_with_an_api_key_the_page_asks_for_it_plainly_and_sends_it_to_the_api_only(
    browser: Any, guarded: Stack, tmp_path: Path
) -> None:
    small, large = tmp_path / "key.png", tmp_path / "key.pdf"
    small.write_bytes(PNG)
    large.write_bytes(os.urandom(17 * MiB))  # four parts
    with new_page(browser, guarded.page_url) as page:
        page.get_by_text("This upload service needs an API key.").wait_for()
        assert page.locator("#status.problem").count() == 0  # no red before anything failed
        token = page.get_by_label("API key")
        assert page.evaluate("() => document.activeElement.id") == "token"
        token.fill("a-wrong-key")
        page.get_by_role("button", name="Use this key").click()
        page.locator("#status", has_text="The API key is not valid.").wait_for()
        assert page.locator(".uppy-Dashboard").count() == 0
        assert page.evaluate("() => document.activeElement.id") == "token"

        token.fill(API_KEY)
        page.get_by_role("button", name="Use this key").click()
        dashboard_ready(page)
        assert page.locator("#credentials").is_hidden()
        # Focus is kept in reach: on the Dashboard's browse button, not lost to the page.
        focused = page.evaluate("() => document.activeElement.className").split()
        assert "uppy-Dashboard-browse" in focused
        made = Requests(page, guarded)
        hrefs = upload(page, small, large)
        assert [guarded.stored(href) for href in hrefs] == [PNG, large.read_bytes()]
        kinds = made.counted()
        assert kinds["GET /s3/params"] == 1
        assert kinds["POST /s3/multipart/ID/complete"] == 1
        assert {r.all_headers().get("authorization") for r in made.to_api()} == {
            f"Bearer {API_KEY}"
        }
        assert all("authorization" not in r.all_headers() for r in made.to_bucket())


def test_a_key_refused_mid_upload_is_asked_for_again_and_retry_then_uploads(
    browser: Any, guarded: Stack, tmp_path: Path
) -> None:
    """401/403 are the refusals a new key can change: the file stays, with Retry."""
    (tmp_path / "again.png").write_bytes(PNG)
    with new_page(browser, guarded.page_url) as page:
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Use this key").click()
        dashboard_ready(page)
        page.evaluate("() => { headers = {Authorization: 'Bearer revoked-meanwhile'}; }")
        picker(page).set_input_files([str(tmp_path / "again.png")])
        page.get_by_role("button", name=re.compile(r"^Upload 1 file$")).click()
        page.locator("#status", has_text="Enter a valid key, then press Retry.").wait_for()
        assert page.locator("#results li").count() == 0
        assert page.evaluate("() => uppy.getFiles().map((file) => file.name)") == ["again.png"]

        page.get_by_role("textbox", name="API key").fill(API_KEY)
        page.get_by_role("button", name="Use this key").click()
        page.locator("#credentials").wait_for(state="hidden")
        page.get_by_role("button", name="Retry").click()
        href = page.get_by_role("link", name="Download again.png").get_attribute("href")
        assert guarded.stored(href) == PNG


COMPANION_UPLOAD = """async ([api, name, size]) => {
  const {Uppy, AwsS3} = window.Uppy;
  const uppy = new Uppy({id: "companion"}).use(AwsS3, {
    companionEndpoint: api, shouldUseMultipart: (file) => file.size > 16 * 1024 * 1024,
  });
  const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 251);
  uppy.addFile({name: name, type: "application/pdf", data: new Blob([bytes])});
  const result = await uppy.upload();
  return {
    done: result.successful.map((file) => file.response.uploadURL),
    failed: result.failed.map((file) => String(file.error)),
  };
}"""


def test_uppy_6_in_companion_mode_uploads_through_the_same_routes(
    browser: Any, stack: Stack
) -> None:
    """``companionEndpoint``: no code of the page's own, no custom header (so
    AUTH_MODE=none only); a small file by one form POST, a large one in parts."""
    size = 17 * MiB
    expected = bytes((i * 7) % 251 for i in range(size))
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        made = Requests(page, stack)
        for name, length in (("companion.pdf", 1000), ("companion-parts.pdf", size)):
            answer = page.evaluate(COMPANION_UPLOAD, [stack.api_url, name, length])
            assert answer["failed"] == []
            (href,) = answer["done"]
            assert stack.stored(href) == expected[:length]
        counted = made.counted()
        assert counted["GET /s3/params"] == 1
        assert counted["POST /s3/multipart"] == 1
        assert counted["POST /s3/multipart/ID/complete"] == 1


def test_uppy_5_with_endpoint_still_uploads_and_shows_a_refusals_text(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    """The Uppy 5 example page: ``endpoint`` + ``headers``, one part URL per
    call as Uppy 5 asks; a refusal reaches Uppy as the API's top-level
    ``message``."""
    small, large = tmp_path / "five.png", tmp_path / "five.pdf"
    small.write_bytes(PNG)
    large.write_bytes(os.urandom(LARGE))
    (tmp_path / REFUSED_NAME).write_bytes(PNG)
    with new_page(browser, stack.uppy5_url) as page:
        dashboard_ready(page)
        made = Requests(page, stack)
        hrefs = upload(page, small, large)
        assert [stack.stored(href) for href in hrefs] == [PNG, large.read_bytes()]
        assert made.counted()["GET /s3/multipart/ID/N"] == 5

        page.get_by_role("button", name="Done").click()
        picker(page).set_input_files([str(tmp_path / REFUSED_NAME)])
        page.get_by_role("button", name=re.compile(r"^Upload 1 file$")).click()
        page.wait_for_function("() => uppy.getFiles().every((file) => file.error)")
        assert page.evaluate("() => uppy.getFiles().map((file) => file.error)") == [REFUSAL]
