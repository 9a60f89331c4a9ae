"""``python -m devtools.screenshot``: refresh ``docs/screenshot.png``.

Starts ``make run`` (``python -m devtools.run``, on free ports, with a
throwaway dev bucket), opens the page (Uppy's Dashboard) in headless
Chromium, uploads three pictures and one whose name the API refuses, and
saves what the browser shows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
SCREENSHOT = PROJECT / "docs" / "screenshot.png"
REFUSED = " leading space.png"  # a name only the API refuses
# Debian's chromium, as the browser tests drive it (Playwright's own download
# is not used).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PICTURES = {  # name: the CSS gradient the picture shows
    "sunset.jpg": "linear-gradient(160deg, #ffb347, #ff5e62 55%, #5b2a86)",
    "harbour.png": "linear-gradient(180deg, #9fd3f5, #2b6cb0 60%, #1a365d)",
    "forest.png": "radial-gradient(circle at 30% 30%, #c6f6d5, #2f855a 60%, #1c4532)",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def paint(browser: Any, folder: Path) -> list[Path]:
    """The pictures, drawn by the browser itself (no image library needed)."""
    page = browser.new_page(viewport={"width": 320, "height": 240})
    paths = []
    for name, gradient in PICTURES.items():
        page.set_content(f'<body style="margin:0;height:100vh;background:{gradient}">')
        path = folder / name
        kind = "jpeg" if name.endswith(".jpg") else "png"
        path.write_bytes(page.screenshot(type=kind))
        paths.append(path)
    page.close()
    return paths


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        ports = [f"--{name}-port={free_port()}" for name in ("api", "page", "bucket")]
        run = subprocess.Popen(
            [sys.executable, "-m", "devtools.run", *ports, "--bucket-dir", str(folder / "bucket")],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            assert run.stdout is not None
            address = next(line.split()[1] for line in run.stdout if line.startswith("Open "))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                files = paint(browser, folder)
                page = browser.new_page(viewport={"width": 800, "height": 760})
                page.goto(address)
                page.locator(".uppy-Dashboard").wait_for()
                chooser = page.locator("input.uppy-Dashboard-input").first
                chooser.set_input_files([str(path) for path in files])
                page.get_by_role("button", name=f"Upload {len(files)} files").click()
                for path in files:
                    page.get_by_role("link", name=f"Download {path.name}").wait_for()
                # And one the API refuses, shown in its words beside the file.
                refused = folder / REFUSED
                refused.write_bytes(files[0].read_bytes())
                page.get_by_role("button", name="Done").click()
                chooser.set_input_files([str(refused)])
                page.get_by_role("button", name="Upload 1 file").click()
                page.locator("#results .why").wait_for()
                page.wait_for_function(
                    "() => !document.querySelector('.uppy-Informer p')", timeout=15_000
                )
                page.screenshot(path=str(SCREENSHOT), full_page=True)
                browser.close()
        finally:
            os.killpg(run.pid, signal.SIGINT)
            run.wait(20)
    print(f"Wrote {SCREENSHOT.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
