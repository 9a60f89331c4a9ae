"""Headless Chromium for the page's tests: Debian's ``/usr/bin/chromium``, driven
by Playwright. Missing, the tests skip with how to install it, except in CI
(``CI=true``), where they fail."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devtools.screenshot import CHROMIUM, CHROMIUM_ARGS

INSTALL_HINT = "install it to run the browser tests: sudo apt-get install chromium"
TIMEOUT_MS = 15_000


def require_chromium(chromium: Path = CHROMIUM) -> None:
    """Skip (fail in CI) when the browser is missing, saying how to get it."""
    if chromium.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{chromium} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{chromium} is not installed; {INSTALL_HINT}")


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium, for a whole test module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Any, url: str) -> Iterator[Any]:
    """A fresh context (no shared state between tests) with the page open."""
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(url)
        yield page
    finally:
        context.close()


def cancel_midway(page: Any, file: Path) -> tuple[Any, Callable[[], None]]:
    """On the simple page: upload ``file`` slowed to 256 KiB/s by Chromium's
    network emulation, so that it is still running when Cancel is pressed;
    check the row says so with its bar short of full. Returns the file's row
    and a function that lifts the slowdown (for a Retry)."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    slow = {"offline": False, "latency": 0, "downloadThroughput": -1}
    network.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": 256 * 1024})
    page.set_input_files("#files", str(file))
    row = page.locator(".upload", has_text=file.name)
    bar = row.get_by_role("progressbar", name=f"Uploading {file.name}")
    page.wait_for_function("bar => bar.value > 0", arg=bar.element_handle())
    row.get_by_role("button", name=f"Cancel {file.name}").click()
    assert row.locator(".result.error").inner_text() == "Cancelled."
    assert int(row.locator("progress").get_attribute("value")) < 100

    def full_speed() -> None:
        network.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": -1})

    return row, full_speed
