"""The Lambda artifact as Lambda runs it: the unpacked, read-only
``deployment.zip`` under AWS's runtime interface client (``awslambdaric``),
in the Python the template declares, fed by the fake Runtime API of
:mod:`devtools.lambda_runtime`, through the handler the template names.

The same requests arrive as function URL events (payload 2.0) and as API
Gateway's (1.0); both must be answered alike. Skipped only where the
runtime's Python is missing, and never in CI.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.bytecode import NoInterpreter, interpreter
from devtools.lambda_runtime import LambdaRuntime
from tests.e2e.test_package import FAKE_AWS, stage_env, tree
from tests.support.http_events import gateway_event, url_event

ORIGIN = "http://localhost:8000"  # one of the dev stage's CORS_ALLOW_ORIGIN
JSON = {"Content-Type": "application/json", "Origin": ORIGIN}
TICKET = json.dumps({"filename": "cat.png", "content_type": "image/png", "size": 512}).encode()
REQUESTS: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {
    "ticket": ("POST", "/upload-tickets", JSON, TICKET),
    "upload rules": ("GET", "/upload-rules", {"Origin": ORIGIN}, None),
    "uppy params with a query string": (
        "GET",
        "/s3/params?filename=small+cat.png&type=image%2Fpng&metadata%5Bname%5D=small+cat.png",
        {"Origin": ORIGIN},
        None,
    ),
    "preflight": (
        "OPTIONS",
        "/upload-tickets",
        {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        None,
    ),
    "refusal": (
        "POST",
        "/upload-tickets",
        JSON,
        json.dumps({"filename": "../cat.png", "content_type": "image/png"}).encode(),
    ),
}


@pytest.fixture(scope="module")
def lambda_runtime(
    sam_package: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LambdaRuntime]:
    """One execution environment for the dev stage's artifact, for every event."""
    out = sam_package("dev")
    function = json.loads((out / "sam.json").read_text())["Resources"]["APIHandler"]
    runtime = function["Properties"]["Runtime"]
    try:
        interpreter(runtime)
    except NoInterpreter as missing:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"the Lambda runtime's Python is not here: {missing}")
    unpacked = tmp_path_factory.mktemp("lambda") / "task"
    zipfile.ZipFile(out / "deployment.zip").extractall(unpacked)
    before = tree(unpacked)
    env = {**stage_env("dev"), **FAKE_AWS, "AUTH_MODE": "none"}
    with LambdaRuntime(unpacked, runtime, env, handler=function["Properties"]["Handler"]) as rt:
        yield rt
    assert tree(unpacked) == before, "the artifact was written to"


def answered(rt: LambdaRuntime, event: dict[str, Any]) -> dict[str, Any]:
    """Status, lower-cased headers (repeated ones joined) and parsed body."""
    answer = rt.invoke(event)
    headers = {name.lower(): value for name, value in answer["headers"].items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    return {
        "status": answer["statusCode"],
        "headers": headers,
        "body": json.loads(answer["body"]) if answer["body"] else None,
    }


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """A ticket's key, expiry and signature differ from one request to the
    next: their names are compared, not their values."""
    body = answer["body"]
    if isinstance(body, dict) and "fields" in body:
        body = {**body, "key": "...", "expires_at": "...", "fields": sorted(body["fields"])}
    return {**answer, "body": body}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(REQUESTS))
def test_function_url_and_api_gateway_events_are_answered_alike(
    lambda_runtime: LambdaRuntime, case: str
) -> None:
    method, target, headers, body = REQUESTS[case]
    function_url = answered(lambda_runtime, url_event(method, target, headers, body))
    gateway = answered(lambda_runtime, gateway_event(method, target, headers, body))
    assert comparable(function_url) == comparable(gateway)
    assert function_url["headers"]["cache-control"] == "no-store"
    expected = {"preflight": 204, "refusal": 400}.get(case, 200)
    assert function_url["status"] == expected
    if case != "refusal":
        assert function_url["headers"]["access-control-allow-origin"] == ORIGIN
    if case == "refusal":
        assert function_url["body"]["error"]["code"] == "InvalidFilename"
    if case == "uppy params with a query string":
        assert function_url["body"]["key"].endswith("/small cat.png")
    if case == "ticket":
        fields = function_url["body"]["fields"]
        assert fields["x-amz-credential"].startswith(FAKE_AWS["AWS_ACCESS_KEY_ID"] + "/")


@pytest.mark.slow
def test_the_environment_reports_its_cold_start(lambda_runtime: LambdaRuntime) -> None:
    lambda_runtime.invoke(url_event("GET", "/upload-rules", {"Origin": ORIGIN}))
    assert lambda_runtime.first_response_seconds is not None
    assert 0 < lambda_runtime.first_response_seconds < 30
    assert lambda_runtime.peak_rss_bytes > 10 * 2**20
