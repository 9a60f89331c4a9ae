"""Shared fixtures: a clean environment with test credentials, the API client,
the app's logs and its audit lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.variables import NAMES
from tests.support.environment import OSS_ENV, api_client


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """The process environment with only the OSS test settings: every variable
    signpost reads (:mod:`chalicelib.variables`) is cleared first, so a
    developer's shell cannot leak into a test.

    Returns a setter, ``env(NAME="value")``, undone after the test; an empty
    string removes the variable.
    """

    def set_env(**values: str) -> None:
        for name, value in values.items():
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)

    set_env(**{**dict.fromkeys(NAMES, ""), **OSS_ENV})
    return set_env


@pytest.fixture
def api() -> Any:
    return api_client()


@pytest.fixture
def app_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record the app logs (Chalice's logger does not propagate to root)."""
    from app import app

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    app.log.addHandler(handler)
    yield records
    app.log.removeHandler(handler)


@pytest.fixture
def audit_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """The audit lines written to standard output since the last call, parsed.

    Chalice's logger writes its records there too (``name - LEVEL - text``):
    those are skipped; every JSON line must be an audit line.
    """

    def read() -> list[dict[str, Any]]:
        lines = capsys.readouterr().out.splitlines()
        parsed = [json.loads(line) for line in lines if line.startswith("{")]
        assert all(isinstance(line, dict) and "event" in line for line in parsed), lines
        return parsed

    return read
