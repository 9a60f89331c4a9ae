"""The upload page in headless Chromium: pick files, watch them upload.

The page (a static server thread), the dev bucket (a thread) and the API
(``chalice local``, as ``make run`` starts it) run on free loopback ports;
Debian's chromium is driven by Playwright. Skipped only where chromium is
missing outside CI; in CI (``CI=true``) a missing browser fails the test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.devbucket_fixtures import HOST, PNG, RunningBucket, free_port, start_bucket

from devtools.run import (
    api_callback_url,
    api_env,
    make_page_server,
    start_api,
    stop_api,
    wait_until_listening,
)
from devbucket.server import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@dataclass
class Stack:
    page_url: str
    bucket: RunningBucket
    env: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    page_server = make_page_server(HOST, 0)
    serve_in_thread(page_server)
    origin = f"http://{HOST}:{page_server.server_address[1]}"
    api_port = free_port()  # the dev bucket calls the API back, as in make run
    api_url = f"http://{HOST}:{api_port}"
    bucket = start_bucket(
        tmp_path_factory.mktemp("bucket"),
        frozenset({origin}),
        callback_urls=frozenset({api_callback_url(api_url)}),
    )
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OSS_", "ALIBABA_"))
    }
    env = api_env(clean, [origin], bucket.url, api_url)
    api = start_api(env, HOST, api_port)
    try:
        wait_until_listening(api, HOST, api_port, 60)
        yield Stack(f"{origin}/?api=http://{HOST}:{api_port}", bucket, env)
    finally:
        stop_api(api)
        for server in (page_server, bucket.server):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 800, "height": 520})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(stack.page_url)
    yield page
    context.close()


def api_refusal(env: dict[str, str], filename: str, content_type: str, size: int) -> str:
    """What the API itself says to this request: the message the page must show."""
    from chalicelib.errors import SignpostError
    from chalicelib.handlers import upload_ticket

    with pytest.raises(SignpostError) as refusal:
        upload_ticket(
            json.dumps({"filename": filename, "content_type": content_type, "size": size}), env
        )
    return refusal.value.message


def test_a_picked_png_uploads_with_progress_and_a_link(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    picture = tmp_path / "sunset.png"
    picture.write_bytes(PNG)
    page.set_input_files("#files", str(picture))

    row = page.locator(".upload", has_text="sunset.png")
    link = row.locator("a.link")
    link.wait_for()
    assert row.locator("progress").get_attribute("value") == "100"
    assert row.locator(".percent").inner_text() == "100%"
    assert row.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth") == 8

    href = link.get_attribute("href")
    assert href.startswith(stack.bucket.url + "/uploads/") and href.endswith("/sunset.png")
    key = href[len(stack.bucket.url) + 1 :]
    assert stack.bucket.stored(key) == PNG
    assert stack.bucket.server.store.get(key).content_type == "image/png"  # type: ignore[union-attr]


def test_several_files_each_get_their_row(page: Any, stack: Stack, tmp_path: Path) -> None:
    names = ["one.png", "two.png", "three.png"]
    for name in names:
        (tmp_path / name).write_bytes(PNG)
    page.set_input_files("#files", [str(tmp_path / name) for name in names])
    for name in names:
        page.locator(".upload", has_text=name).locator("a.link").wait_for()
    assert page.locator(".upload").count() == 3


def test_a_refused_type_shows_the_apis_message(page: Any, stack: Stack, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    page.set_input_files("#files", str(notes))

    error = page.locator(".upload", has_text="notes.txt").locator(".result.error")
    error.wait_for()
    expected = api_refusal(stack.env, "notes.txt", "text/plain", notes.stat().st_size)
    assert error.inner_text() == expected
    assert "415" not in expected and expected


def test_a_storage_refusal_shows_the_storages_message(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """The bucket's clock runs past the ticket's expiration: OSS's XML
    ``<Message>`` is what the row says."""
    late = tmp_path / "late.png"
    late.write_bytes(PNG)
    stack.bucket.clock.advance(3600)
    try:
        page.set_input_files("#files", str(late))
        error = page.locator(".upload", has_text="late.png").locator(".result.error")
        error.wait_for()
        assert error.inner_text() == "Invalid according to Policy: Policy expired."
    finally:
        stack.bucket.clock.advance(-3600)


def test_a_failed_callback_says_the_file_is_stored_but_the_app_was_not_told(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """OSS answers 203 CallbackFailed when the object is stored but the app's
    callback failed. The storage's answer is replaced in the browser, so only
    the page's handling of it is under test here."""
    origin = stack.page_url.split("/?")[0]
    failed = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>CallbackFailed</Code>'
        "<Message>Error status : 403.</Message><RequestId>1</RequestId><HostId>h</HostId></Error>"
    )
    page.route(
        stack.bucket.url + "/",
        lambda route: route.fulfill(
            status=203,
            body=failed,
            headers={"Content-Type": "application/xml", "Access-Control-Allow-Origin": origin},
        ),
    )
    picture = tmp_path / "told.png"
    picture.write_bytes(PNG)
    page.set_input_files("#files", str(picture))
    row = page.locator(".upload", has_text="told.png")
    row.locator("a.link").wait_for()
    assert row.locator(".notice").inner_text() == (
        "Stored, but the app was not told: Error status : 403."
    )
