"""Headless Chromium for the page's tests: Debian's ``/usr/bin/chromium``, driven
by Playwright. Missing, the tests skip with how to install it, except in CI
(``CI=true``), where they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
