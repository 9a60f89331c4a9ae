"""The simple upload page (``upload.js`` alone) in headless Chromium, as a
person uses it.

The page (a static server thread, serving ``simple.html`` with ``data-api``
filled in, as ``make run`` does), the dev bucket (a thread) and the API
(``chalice local``, as ``make run`` starts it) run on free loopback ports,
one of each for the module; each test gets a fresh browser context.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devbucket.server import serve_in_thread
from devtools.run import (
    api_callback_url,
    api_env,
    make_page_server,
    start_api,
    stop_api,
    wait_until_listening,
)
from tests.support.browser import cancel_midway, chromium, new_page
from tests.support.devbucket import HOST, PNG, RunningBucket, free_port, start_bucket

RULES = "Up to 10 MB: PNG, JPEG, GIF, WebP or PDF"
MB = 1024**2


@dataclass
class Stack:
    origin: str
    page_url: str
    api_url: str
    bucket: RunningBucket
    env: dict[str, str]

    def stored_named(self, name: str) -> list[Path]:
        return list((self.bucket.root / "objects").rglob(name))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    api_port = free_port()  # the dev bucket calls the API back, as in make run
    api_url = f"http://{HOST}:{api_port}"
    page_server = make_page_server(HOST, 0, api_url)
    serve_in_thread(page_server)
    origin = f"http://{HOST}:{page_server.server_address[1]}"
    bucket = start_bucket(
        tmp_path_factory.mktemp("bucket"),
        frozenset({origin}),
        callback_urls=frozenset({api_callback_url(api_url)}),
    )
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OSS_", "ALIBABA_", "AUTH_"))
    }
    env = api_env(clean, [origin], bucket.url, api_url)
    api = start_api(env, HOST, api_port)
    try:
        wait_until_listening(api, HOST, api_port, 60)
        yield Stack(origin, f"{origin}/simple.html", api_url, bucket, env)
    finally:
        stop_api(api)
        for server in (page_server, bucket.server):
            server.shutdown()
            server.server_close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    with new_page(browser, stack.page_url) as page:
        # Playwright asks Chromium for file chooser events without waiting for
        # the answer: ask now, long before a test presses Enter on the button.
        page.on("filechooser", lambda chooser: None)
        page.locator("#status", has_text=RULES).wait_for()  # the rules came from the API
        yield page


def ticket_requests(page: Any) -> list[str]:
    """The ticket requests the page makes from now on."""
    seen: list[str] = []
    page.on(
        "request", lambda request: "/upload-tickets" in request.url and seen.append(request.url)
    )
    return seen


def focused(page: Any) -> dict[str, Any]:
    """The focused element's accessible label (or text) and its outline."""
    return page.evaluate(
        """() => {
            const element = document.activeElement, style = getComputedStyle(element);
            return {label: element.getAttribute("aria-label") || element.textContent.trim(),
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
        }"""
    )


def api_refusal(env: dict[str, str], filename: str, content_type: str, size: int) -> str:
    """What the API itself says to this request: the message the page must show."""
    from chalicelib.errors import SignpostError
    from chalicelib.handlers import upload_ticket

    with pytest.raises(SignpostError) as refusal:
        upload_ticket(
            json.dumps({"filename": filename, "content_type": content_type, "size": size}), env
        )
    return refusal.value.message


def test_a_picked_png_uploads_with_progress_a_thumbnail_and_a_download_link(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    picture = tmp_path / "sunset.png"
    picture.write_bytes(PNG)
    page.set_input_files("#files", str(picture))

    row = page.locator(".upload", has_text="sunset.png")
    link = row.get_by_role("link", name="Download sunset.png")
    link.wait_for()
    assert link.inner_text() == "Download"
    bar = row.get_by_role("progressbar", name="Uploading sunset.png")  # an accessible name
    assert bar.get_attribute("value") == "100"
    assert row.locator(".percent").inner_text() == "100%"
    assert row.locator(".size").inner_text() == f"{len(PNG)} bytes"
    row.locator("img.thumb").wait_for()
    assert row.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth") == 8

    href = link.get_attribute("href")
    assert href.startswith(stack.bucket.url + "/uploads/")
    assert href.endswith("/sunset.png")
    key = href[len(stack.bucket.url) + 1 :]
    assert stack.bucket.stored(key) == PNG
    assert stack.bucket.server.store.get(key).content_type == "image/png"  # type: ignore[union-attr]


def test_several_files_each_get_their_row(page: Any, tmp_path: Path) -> None:
    names = ["one.png", "two.png", "three.png"]
    for name in names:
        (tmp_path / name).write_bytes(PNG)
    page.set_input_files("#files", [str(tmp_path / name) for name in names])
    for name in names:
        page.get_by_role("link", name=f"Download {name}").wait_for()
    assert page.locator(".upload").count() == 3


def test_keyboard_alone_picks_uploads_and_reaches_the_link_with_a_visible_focus_ring(
    page: Any, tmp_path: Path
) -> None:
    picture = tmp_path / "keys.png"
    picture.write_bytes(PNG)
    drop = page.locator("#drop")
    before = drop.screenshot()

    page.keyboard.press("Tab")
    assert focused(page) == {"label": "Choose files", "outline": "solid", "width": 3}
    assert drop.screenshot() != before  # the ring is drawn, not on a 1 px invisible input
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(picture))
    page.get_by_role("link", name="Download keys.png").wait_for()

    page.keyboard.press("Tab")
    assert focused(page) == {"label": "Download keys.png", "outline": "solid", "width": 3}


def test_a_click_anywhere_on_the_drop_zone_opens_the_picker(page: Any) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("#drop").click(position={"x": 12, "y": 12})  # a corner, far from the button
    assert chooser.value.is_multiple()


def test_the_rules_are_shown_and_a_file_they_refuse_never_reaches_the_api(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    from chalicelib.handlers import upload_rules

    rules = upload_rules(stack.env)["content_types"]
    expected_accept = [*dict.fromkeys(item for t, exts in rules.items() for item in [*exts, t])]
    assert page.locator("#files").get_attribute("accept").split(",") == expected_accept

    refused = {
        "huge.png": (11 * MB, "This file is 11 MB, over the 10 MB limit."),
        "barely.pdf": (10 * MB + 1, "This file is just over the 10 MB limit."),
        "empty.png": (0, "This file is empty: there is nothing to upload."),
        "README": (
            5,
            (
                "This file has no extension (such as .png), so its type is unknown: "
                f"rename it with the right one and try again. Accepted: {RULES[13:]}."
            ),
        ),
        "setup.exe": (5, f"EXE files are not accepted here. Accepted: {RULES[13:]}."),
    }
    for name, (size, _) in refused.items():
        (tmp_path / name).write_bytes(b"x" * size)
    asked = ticket_requests(page)
    page.set_input_files("#files", [str(tmp_path / name) for name in refused])
    for name, (_, message) in refused.items():
        row = page.locator(".upload", has_text=name)
        assert row.locator(".result.error").inner_text() == message
        assert row.get_by_role("button", name=f"Retry {name}").count() == 0  # it would not help
    assert page.locator(".upload", has_text="huge.png").locator(".size").inner_text() == "11 MB"
    assert asked == []


def test_a_refusal_from_the_api_shows_its_message(page: Any, stack: Stack, tmp_path: Path) -> None:
    """What the rules cannot tell (here a name with ``${``) the API still refuses, in words."""
    name = "a${b}.png"
    (tmp_path / name).write_bytes(PNG)
    page.set_input_files("#files", str(tmp_path / name))
    error = page.locator(".upload", has_text=name).locator(".result.error")
    assert error.inner_text() == api_refusal(stack.env, name, "image/png", len(PNG))


def test_retry_after_the_bucket_refuses_sends_the_same_file_again(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """The bucket's clock runs past the ticket's expiration: the row says the
    storage's ``<Message>``; Retry, once the clock is back, gets a new ticket
    and uploads the file without picking it again."""
    late = tmp_path / "late.png"
    late.write_bytes(PNG)
    row = page.locator(".upload", has_text="late.png")
    stack.bucket.clock.advance(3600)
    try:
        page.set_input_files("#files", str(late))
        error = row.locator(".result.error")
        error.wait_for()
        assert error.inner_text() == "Invalid according to Policy: Policy expired."
    finally:
        stack.bucket.clock.advance(-3600)
    asked = ticket_requests(page)
    row.get_by_role("button", name="Retry late.png").click()
    row.get_by_role("link", name="Download late.png").wait_for()
    assert len(asked) == 1
    assert page.locator(".upload").count() == 1
    assert [path.read_bytes() for path in stack.stored_named("late.png")] == [PNG]


def test_cancel_stops_an_upload_midway_and_nothing_is_stored(
    page: Any, stack: Stack, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The upload is slowed to 256 KiB/s by Chromium's network emulation so
    that it is still running when Cancel is pressed. The dev bucket takes the
    cut connection quietly: no traceback in make run's console."""
    content = os.urandom(2 * MB)
    (tmp_path / "slow.pdf").write_bytes(content)
    row, full_speed = cancel_midway(page, tmp_path / "slow.pdf")
    assert stack.stored_named("slow.pdf") == []
    full_speed()
    row.get_by_role("button", name="Retry slow.pdf").click()
    row.get_by_role("link", name="Download slow.pdf").wait_for()
    assert [path.read_bytes() for path in stack.stored_named("slow.pdf")] == [content]
    assert "Traceback" not in capfd.readouterr().err


def test_a_pasted_image_uploads(page: Any, stack: Stack) -> None:
    """Ctrl+V with an image on the clipboard, as a screenshot tool leaves it."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate(
        """async (data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const image = new Blob([bytes], {type: "image/png"});
            await navigator.clipboard.write([new ClipboardItem({"image/png": image})]);
        }""",
        base64.b64encode(PNG).decode(),
    )
    page.locator("h1").click()
    page.keyboard.press("Control+V")
    link = page.locator(".upload").get_by_role("link")
    link.wait_for()
    key = link.get_attribute("href")[len(stack.bucket.url) + 1 :]
    assert key.endswith(".png")
    assert stack.bucket.server.store.get(key).content_type == "image/png"  # type: ignore[union-attr]


def test_an_image_the_browser_cannot_decode_gets_a_badge_not_a_broken_image(
    page: Any, tmp_path: Path
) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    page.set_input_files("#files", str(tmp_path / "broken.png"))
    row = page.locator(".upload", has_text="broken.png")
    row.get_by_role("link", name="Download broken.png").wait_for()
    assert row.locator("img").count() == 0
    assert row.locator(".thumb").inner_text() == "PNG"


def test_loading_the_page_asks_for_nothing_that_is_missing(browser: Any, stack: Stack) -> None:
    """No failed request on load, and no ``favicon.ico`` 404 in a desktop
    browser: the page names an inline icon, so none is asked for. (Headless
    Chromium never asks for a favicon, so the inline icon is what is checked.)"""
    with new_page(browser, "about:blank") as page:
        failures: list[str] = []
        page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: failures.append(f"failed {r.url}"))
        page.goto(stack.page_url)
        page.wait_for_load_state("networkidle")
        assert failures == []
        assert (
            page.locator("link[rel=icon]").get_attribute("href").startswith("data:image/svg+xml,")
        )


def test_the_page_ignores_an_api_named_in_its_address(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    """A link to the real page with ``?api=https://attacker`` must not send
    the visitor's files (or credentials) there: the page uses its configured
    API only."""
    attacker = Recorder()
    try:
        with new_page(browser, f"{stack.page_url}?api={attacker.url}") as page:
            picture = tmp_path / "private.png"
            picture.write_bytes(PNG)
            page.set_input_files("#files", str(picture))
            page.locator(".upload .result", has_text=re.compile(".")).wait_for()  # done, or failed
            assert attacker.requests == []
            link = page.get_by_role("link", name="Download private.png")
            assert link.get_attribute("href").startswith(stack.bucket.url + "/")
    finally:
        attacker.stop()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            "nowhere",
            (
                "This page has no upload service: its <body data-api> is empty. Set it to "
                "your signpost API's address, or start the page with make run, which does."
            ),
        ),
        (
            "down",
            (
                "Could not reach the upload service at {api}. Is it running? "
                "(If it is, its CORS_ALLOW_ORIGIN must list this page's origin.)"
            ),
        ),
    ],
)
def test_without_a_reachable_api_the_page_says_what_is_wrong_and_how_to_fix_it(
    browser: Any, tmp_path: Path, where: str, expected: str
) -> None:
    api = "" if where == "nowhere" else f"http://{HOST}:{free_port()}"  # nobody listens there
    server = make_page_server(HOST, 0, api)
    serve_in_thread(server)
    try:
        with new_page(browser, f"http://{HOST}:{server.server_address[1]}/simple.html") as page:
            message = expected.format(api=api)
            page.locator("#status.problem", has_text=message).wait_for()
            (tmp_path / "cat.png").write_bytes(PNG)
            page.set_input_files("#files", str(tmp_path / "cat.png"))
            row = page.locator(".upload", has_text="cat.png")
            assert row.locator(".result.error").inner_text() == message
            retry = row.get_by_role("button", name="Retry cat.png")
            assert retry.count() == (0 if where == "nowhere" else 1)
    finally:
        server.shutdown()
        server.server_close()


def test_an_api_asking_for_credentials_is_explained_and_no_file_is_taken(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    """``make run`` with ``AUTH_MODE`` from the shell: the API's 401 reaches
    the page, which says that it sends none, which page does, and how to
    start without; and it takes no file, since none could get through."""
    from chalicelib.auth import authenticate
    from chalicelib.errors import MissingCredentials

    with pytest.raises(MissingCredentials) as refused:  # what the API answers a page without any
        authenticate(None, {"AUTH_MODE": "api-key", "API_KEYS": "a-key"})
    refusal = refused.value
    with new_page(browser, "about:blank") as page:
        page.route(
            f"{stack.api_url}/upload-rules",
            lambda route: route.fulfill(
                status=401,
                json=refusal.to_dict(),
                headers={"Access-Control-Allow-Origin": stack.origin},
            ),
        )
        page.goto(stack.page_url)
        status = page.locator("#status.problem")
        status.wait_for()
        assert status.inner_text() == (
            f"{refusal.message} This page sends no credentials: the main page (index.html) "
            "asks for a key or token; or start the API without AUTH_MODE "
            "(env -u AUTH_MODE make run)."
        )
        assert page.get_by_role("button", name="Choose files").is_disabled()
        (tmp_path / "cat.png").write_bytes(PNG)
        page.set_input_files("#files", str(tmp_path / "cat.png"))
        page.locator("#announce", has_text="No file was taken").wait_for()
        assert page.locator("#uploads li").count() == 0


def test_a_failed_callback_says_the_file_is_stored_but_the_app_was_not_told(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """OSS answers 203 CallbackFailed when the object is stored but the app's
    callback failed. The storage's answer is replaced in the browser, so only
    the page's handling of it is under test here."""
    origin = stack.origin
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
    row.get_by_role("link", name="Download told.png").wait_for()
    assert row.locator(".notice").inner_text() == (
        "Stored, but the app was not told: Error status : 403."
    )


class Recorder:
    """An API at another address that answers anything, noting each request."""

    def __init__(self) -> None:
        requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_OPTIONS = answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.requests = requests
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        serve_in_thread(self.server)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
