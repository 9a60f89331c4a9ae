"""The audit module on its own: the platform's request ID, a decision written
beside the request's own (``verify``), and what is cut short."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from chalicelib import audit


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_function_computes_request_id_is_the_lines(capsys: pytest.CaptureFixture[str]) -> None:
    audit.begin(SimpleNamespace(request_id="1-fc-request"), "203.0.113.9", "curl/8")
    audit.decided("ticket", key="uploads/a/cat.png")
    audit.finish(200, None, metrics=False)
    (line,) = lines(capsys)
    assert (line["request_id"], line["source_ip"], line["user_agent"]) == (
        "1-fc-request",
        "203.0.113.9",
        "curl/8",
    )


def test_a_local_run_has_no_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    audit.begin(None, None, None)
    audit.decided("multipart.abort")
    audit.finish(200, None, metrics=True)
    (line,) = lines(capsys)
    assert line["request_id"] is None
    assert "_aws" not in line  # an abort counts nothing


def test_verify_is_its_own_line_with_the_requests_who(capsys: pytest.CaptureFixture[str]) -> None:
    audit.begin(SimpleNamespace(aws_request_id="lambda-id"), "198.51.100.7", None)
    audit.note(principal="alice")
    audit.record("verify", key="uploads/alice/x/cat.png", content_type="image/png")
    audit.decided("multipart.complete", size=10, parts=1)
    audit.finish(200, None, metrics=False)
    verify, complete = lines(capsys)
    assert (verify["event"], verify["request_id"], verify["principal"]) == (
        "verify",
        "lambda-id",
        "alice",
    )
    assert complete["event"] == "multipart.complete"


def test_a_refusal_overrides_what_was_decided_and_nothing_outlives_the_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    audit.begin(None, None, "x" * 10_000)
    audit.decided("ticket", filename="cat.png")
    audit.finish(503, ("NotConfigured", "y" * 10_000), metrics=False)
    audit.note(key="after the request")  # no record open: ignored
    audit.finish(200, None, metrics=False)  # nor written twice
    (line,) = lines(capsys)
    assert (line["event"], line["level"], line["code"]) == ("refused", "ERROR", "NotConfigured")
    assert len(line["user_agent"]) == len(line["message"]) == audit.MAX_TEXT
