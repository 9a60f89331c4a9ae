"""axe-core (vendored in ``tests/vendor/axe-core/``, for the tests only) finds
no serious or critical problem on the demo page (Uppy 6) nor the simple page:
when it opens, while a file uploads, after an upload and after a refusal; in
light and dark mode. And what axe cannot see: every control shows its focus,
and the Uppy page takes a file pasted anywhere on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_uppy_page import REFUSAL, REFUSED_NAME, Stack, running_stack
from tests.support.browser import chromium, new_page
from tests.support.devbucket import PNG
from tests.support.uppy import dashboard_ready, picker

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = """async () => {
  const found = await axe.run(document, {resultTypes: ["violations"]});
  return found.violations
    .filter((rule) => rule.impact === "serious" || rule.impact === "critical")
    .map((rule) => rule.id + ": " + rule.nodes.map((node) => node.target.join(" ")).join(", "));
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("axe"), "oss") as stack:
        yield stack


def serious(page: Any) -> list[str]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return list(page.evaluate(SERIOUS))


class HeldBucket:
    """The bucket's answers held back until released: the page stays "uploading"."""

    def __init__(self, page: Any, stack: Stack) -> None:
        self.held: list[Any] = []
        page.route(f"{stack.bucket.url}/**", self.hold)

    def hold(self, route: Any) -> None:
        if route.request.method == "OPTIONS":
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.held.clear()


def pick(page: Any, simple: bool, path: Path) -> None:
    if simple:
        page.set_input_files("#files", str(path))
    else:
        picker(page).set_input_files([str(path)])
        page.get_by_role("button", name=re.compile(r"^Upload 1 file$")).click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["index.html", "simple.html"])
def test_no_serious_problem_opened_uploading_uploaded_and_refused(
    browser: Any, stack: Stack, tmp_path: Path, name: str, scheme: str
) -> None:
    simple = name == "simple.html"
    (tmp_path / "cat.png").write_bytes(PNG)
    (tmp_path / REFUSED_NAME).write_bytes(PNG)
    with new_page(browser, "about:blank") as page:
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{stack.origin}/{name}")
        if simple:
            page.locator("#status", has_text="Up to 200 MB").wait_for()
        else:
            dashboard_ready(page)
        assert serious(page) == [], "opened"
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(31, 31, 31)") == (scheme == "dark")  # follows the system
        if not simple:
            theme = page.locator(".uppy-Dashboard").get_attribute("data-uppy-theme")
            assert theme == scheme

        bucket = HeldBucket(page, stack)
        pick(page, simple, tmp_path / "cat.png")
        page.wait_for_function("() => true")
        page.wait_for_timeout(300)  # the ticket came back; the bytes are on their way
        assert bucket.held or page.locator("progress").count(), "not uploading"
        assert serious(page) == [], "uploading"
        bucket.release()
        page.get_by_role("link", name="Download cat.png").wait_for()
        assert serious(page) == [], "uploaded"

        if not simple:
            page.get_by_role("button", name="Done").click()
        pick(page, simple, tmp_path / REFUSED_NAME)
        page.get_by_text(REFUSAL).first.wait_for()
        assert serious(page) == [], "refused"


def test_every_control_on_the_uppy_page_shows_its_focus(browser: Any, stack: Stack) -> None:
    """Tab through the page: each focused control draws a visible outline."""
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        seen = []
        for _ in range(6):
            page.keyboard.press("Tab")
            outline = page.evaluate(
                """() => { const e = document.activeElement; const s = getComputedStyle(e);
                   return [e.tagName + '.' + e.className, s.outlineStyle, s.outlineWidth]; }"""
            )
            if outline[0] == "BODY.":
                break
            seen.append(outline)
        assert seen
        for control, style, width in seen:
            assert (style, width) == ("solid", "3px"), control


def test_the_uppy_page_takes_a_file_pasted_anywhere(browser: Any, stack: Stack) -> None:
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        page.evaluate(
            """(bytes) => {
              const data = new DataTransfer();
              data.items.add(new File([new Uint8Array(bytes)], "pasted.png", {type: "image/png"}));
              document.querySelector("h1").dispatchEvent(
                new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
            }""",
            list(PNG),
        )
        assert page.evaluate("() => uppy.getFiles().map((file) => file.name)") == ["pasted.png"]


def test_each_files_controls_on_the_uppy_page_have_distinct_names(
    browser: Any, stack: Stack, tmp_path: Path
) -> None:
    for name in ("one.png", "two.png"):
        (tmp_path / name).write_bytes(PNG)
    with new_page(browser, stack.page_url) as page:
        dashboard_ready(page)
        picker(page).set_input_files([str(tmp_path / "one.png"), str(tmp_path / "two.png")])
        names = page.locator(".uppy-Dashboard-Item button").evaluate_all(
            "(buttons) => buttons.map((b) => b.getAttribute('aria-label') || b.textContent)"
        )
        assert sorted(names) == ["Remove one.png", "Remove two.png"]
