"""Driving the demo page's Uppy Dashboard as a person does: wait for the
rules, pick files, press Upload, wait until each file is done."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

UPLOAD_MS = 60_000


def dashboard_ready(page: Any, rules: str = "Up to 200 MB") -> None:
    """The rules came from the API and the Dashboard is shown."""
    page.locator("#status", has_text=rules).wait_for()
    page.locator(".uppy-Dashboard").wait_for()


def picker(page: Any) -> Any:
    """The Dashboard's file input (its other one picks folders)."""
    return page.locator("input.uppy-Dashboard-input").first


def upload(page: Any, *files: Path, timeout_ms: int = UPLOAD_MS) -> list[str]:
    """Add ``files``, press Upload, wait until every file is uploaded or has
    failed (failing the test with Uppy's errors); the Download links' addresses.
    A finished batch is put away first ("Done"), as a person would."""
    done = page.get_by_role("button", name="Done")
    if done.count():
        done.click()
    picker(page).set_input_files([str(file) for file in files])
    page.get_by_role("button", name=re.compile(r"^Upload \d+ files?$")).click()
    page.wait_for_function(
        "() => uppy.getFiles().every((file) => file.progress.uploadComplete || file.error)",
        timeout=timeout_ms,
    )
    failed = page.evaluate(
        "() => uppy.getFiles().filter((file) => file.error).map((f) => `${f.name}: ${f.error}`)"
    )
    assert failed == []
    links = [page.get_by_role("link", name=f"Download {file.name}") for file in files]
    return [link.get_attribute("href") for link in links]
