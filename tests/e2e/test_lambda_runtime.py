"""devtools.lambda_runtime: a tiny artifact under AWS's runtime interface
client, fed by the fake Runtime API: answers, the context, errors, figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devtools.lambda_runtime import LambdaError, LambdaRuntime

RUNTIME = "python{}.{}".format(*sys.version_info[:2])
HANDLERS = """
import os

def echo(event, context):
    return {"event": event, "request_id": context.aws_request_id,
            "function": context.function_name, "cwd": os.getcwd()}

def fail(event, context):
    raise ValueError("refused: " + event["why"])
"""


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "handlers.py").write_text(HANDLERS)
    return folder


def test_events_are_answered_one_by_one_with_the_lambda_context(artifact: Path) -> None:
    with LambdaRuntime(artifact, RUNTIME, {}, handler="handlers.echo") as runtime:
        first = runtime.invoke({"n": 1})
        second = runtime.invoke({"n": 2, "text": "ü"})
        assert runtime.first_response_seconds is not None
        assert 0 < runtime.init_seconds <= runtime.first_response_seconds < 30
        assert runtime.peak_rss_bytes > 1_000_000
    assert first["event"] == {"n": 1}
    assert second["event"] == {"n": 2, "text": "ü"}
    assert first["request_id"] != second["request_id"]
    assert len(first["request_id"]) == 36
    assert first["function"] == "signpost-local"
    assert first["cwd"] == str(artifact)
    # The artifact's write bits are back, and nothing was written in it.
    assert sorted(path.name for path in artifact.iterdir()) == ["handlers.py"]
    assert artifact.stat().st_mode & 0o200


def test_a_raising_handler_is_an_invocation_error(artifact: Path) -> None:
    with LambdaRuntime(artifact, RUNTIME, {}, handler="handlers.fail") as runtime:
        with pytest.raises(LambdaError) as raised:
            runtime.invoke({"why": "no"})
        assert raised.value.error["errorType"] == "ValueError"
        assert raised.value.error["errorMessage"] == "refused: no"
        # The environment carries on, as Lambda's does after a handled error.
        with pytest.raises(LambdaError):
            runtime.invoke({"why": "again"})


def test_a_handler_that_cannot_load_is_an_init_error(artifact: Path) -> None:
    with (
        LambdaRuntime(artifact, RUNTIME, {}, handler="missing.handler") as runtime,
        pytest.raises(LambdaError) as raised,
    ):
        runtime.invoke({})
    assert raised.value.error["errorType"] == "Runtime.ImportModuleError"
    assert "missing" in raised.value.error["errorMessage"]
