"""What ``make test`` tells a person at the end: which tests were skipped, and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import INSTALL_HINT, require_chromium

PROJECT = Path(__file__).resolve().parents[2]


def test_the_last_lines_name_each_skipped_test_and_its_reason(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        "def test_needs_a_browser():\n    pytest.skip('/usr/bin/chromium is not installed; ' + "
        f"{INSTALL_HINT!r})\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(PROJECT / "pyproject.toml"), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = run.stdout.strip().splitlines()[-3:]
    assert last[-1].startswith("1 passed, 1 skipped")
    assert "SKIPPED [1] test_sample.py:7: /usr/bin/chromium is not installed" in last[-2]
    assert "sudo apt-get install chromium" in last[-2]


def test_a_missing_chromium_skips_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="sudo apt-get install chromium"):
        require_chromium(Path("/nonexistent/chromium"))


def test_a_missing_chromium_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must install Debian's chromium"):
        require_chromium(Path("/nonexistent/chromium"))
