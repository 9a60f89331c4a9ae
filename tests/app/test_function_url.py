"""Lambda's entry point, ``app.handler``: function URL events (payload 2.0)
answered as API Gateway answers the same request (payload 1.0).

Each request goes once through ``chalice.test.Client`` (Chalice's model of
API Gateway's REST proxy) and once, as the function URL's event, through
``app.handler``: status, headers and body must be the same. An event the
adapter cannot read is a 400 in the error shape, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from chalicelib import handlers
from chalicelib.http_events import answer_event
from tests.support.environment import FIXED_NOW, chalice_client
from tests.support.http_events import url_event

ORIGIN = "https://app.example.com"
API_KEY = "fn-url-key-Vb71pQ"
KEY = "uploads/" + "9f0c" * 8 + "/film.pdf"
TICKET = json.dumps({"filename": "cat.png", "content_type": "image/png", "size": 512})
LAMBDA_CONTEXT = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678")


class FrozenDatetime(datetime):
    """``datetime`` whose ``now`` is the tests' fixed instant."""

    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:  # type: ignore[override]
        return cls.fromtimestamp(FIXED_NOW.timestamp(), tz)


@pytest.fixture
def client(env: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The OSS test settings, one allowed origin, and a clock and key segment
    that stand still, so two answers to one request are the same bytes."""
    env(CORS_ALLOW_ORIGIN=ORIGIN)
    monkeypatch.setattr(handlers, "datetime", FrozenDatetime)
    monkeypatch.setattr(handlers.os, "urandom", lambda size: b"\x9f" * size)
    with chalice_client() as test_client:
        yield test_client


def lowered(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in dict(headers).items()}


def both_ways(
    client: Client,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    base64_body: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(API Gateway's answer, the function URL's), each as status, headers, body."""
    gateway = client.http.request(method, target, headers=headers or {}, body=body or b"")
    answer = app.handler(
        url_event(method, target, headers, body, base64_body=base64_body), LAMBDA_CONTEXT
    )
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert answer["isBase64Encoded"] is False
    assert app.app.lambda_context is LAMBDA_CONTEXT
    return (
        {
            "status": gateway.status_code,
            "headers": lowered(gateway.headers),
            "body": gateway.body.decode(),
        },
        {
            "status": answer["statusCode"],
            "headers": lowered(answer["headers"]),
            "body": answer["body"],
        },
    )


JSON = {"Content-Type": "application/json", "Origin": ORIGIN}
SAME_AS_API_GATEWAY = {
    "ticket": ("POST", "/upload-tickets", JSON, TICKET.encode()),
    "refusal": (
        "POST",
        "/upload-tickets",
        JSON,
        b'{"filename": "../x.png", "content_type": "image/png"}',
    ),
    "not json": ("POST", "/upload-tickets", JSON, b"{not json"),
    "upload rules": ("GET", "/upload-rules", {"Origin": ORIGIN}, None),
    "uppy params with a query string": (
        "GET",
        "/s3/params?filename=small+cat+%C3%BC.png&type=image%2Fpng"
        "&metadata%5Bname%5D=small+cat+%C3%BC.png&metadata%5Btype%5D=image%2Fpng",
        {"Origin": ORIGIN},
        None,
    ),
    "preflight": (
        "OPTIONS",
        "/upload-tickets",
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
        None,
    ),
    "preflight from another origin": (
        "OPTIONS",
        "/s3/params",
        {"Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"},
        None,
    ),
    "wrong method": ("DELETE", "/upload-tickets", {"Origin": ORIGIN}, None),
    "part url, encoded upload ID": (
        "GET",
        f"/s3/multipart/VXBs%2Fb2Fk%2BSUQ%3D/2?key={KEY}",
        {"Origin": ORIGIN},
        None,
    ),
    "a repeated query name": (
        "GET",
        f"/s3/multipart/0004B9895DBBB6EC98E3/2?key=elsewhere&key={KEY}",
        {"Origin": ORIGIN},
        None,
    ),
    "batch before part number": (
        "GET",
        f"/s3/multipart/0004B9895DBBB6EC98E3/batch?key={KEY}&partNumbers=1,2",
        {"Origin": ORIGIN},
        None,
    ),
}


@pytest.mark.parametrize("base64_body", [False, True], ids=["text", "base64"])
@pytest.mark.parametrize("case", list(SAME_AS_API_GATEWAY))
def test_a_function_url_event_is_answered_as_api_gateway_answers(
    client: Client, case: str, base64_body: bool
) -> None:
    method, target, headers, body = SAME_AS_API_GATEWAY[case]
    gateway, function_url = both_ways(
        client, method, target, headers, body, base64_body=base64_body
    )
    assert function_url == gateway
    assert function_url["headers"]["cache-control"] == "no-store"
    if function_url["body"]:
        assert function_url["headers"]["content-type"] == "application/json"


def test_the_answers_compared_are_the_ones_users_see(client: Client) -> None:
    """The comparison above compares something: a ticket, a query string
    decoded as API Gateway decodes it ('+' is a space), a preflight's grant,
    a refusal's code, and an upload ID decoded once."""
    answers = {
        case: both_ways(client, *SAME_AS_API_GATEWAY[case])[1] for case in SAME_AS_API_GATEWAY
    }
    assert answers["ticket"]["status"] == 200
    assert json.loads(answers["ticket"]["body"])["fields"]["x-oss-signature-version"]
    assert answers["ticket"]["headers"]["access-control-allow-origin"] == ORIGIN
    params = json.loads(answers["uppy params with a query string"]["body"])
    assert params["key"].endswith("/small cat ü.png")
    assert answers["preflight"]["status"] == 204
    assert answers["preflight"]["headers"]["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in answers["preflight from another origin"]["headers"]
    refusal = json.loads(answers["refusal"]["body"])
    assert answers["refusal"]["status"] == 400
    assert refusal["error"]["code"] == "InvalidFilename"
    assert refusal["message"] == refusal["error"]["message"]
    assert answers["wrong method"]["status"] == 405
    part = json.loads(answers["part url, encoded upload ID"]["body"])
    assert dict(parse_qsl(urlsplit(part["url"]).query))["uploadId"] == "VXBs/b2Fk+SUQ="
    assert answers["a repeated query name"]["status"] == 200  # the last value, as API Gateway
    assert set(json.loads(answers["batch before part number"]["body"])["presignedUrls"]) == {
        "1",
        "2",
    }


def test_auth_refusals_match_too(client: Client, env: Callable[..., None]) -> None:
    env(AUTH_MODE="api-key", API_KEYS=API_KEY)
    gateway, function_url = both_ways(client, "POST", "/upload-tickets", JSON, TICKET.encode())
    assert function_url == gateway
    assert function_url["status"] == 401
    assert function_url["headers"]["www-authenticate"] == "Bearer"
    with_key = {**JSON, "Authorization": f"Bearer {API_KEY}"}
    gateway, function_url = both_ways(client, "POST", "/upload-tickets", with_key, TICKET.encode())
    assert function_url == gateway
    assert function_url["status"] == 200
    assert API_KEY not in json.dumps(function_url)


def test_api_gateway_events_still_reach_the_app(client: Client) -> None:
    """The same handler serves the REST API: a 1.0 event goes to the app as is."""
    event = {
        "resource": "/upload-rules",
        "path": "/upload-rules",
        "httpMethod": "GET",
        "headers": {"Origin": ORIGIN},
        "multiValueHeaders": {"Origin": [ORIGIN]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/upload-rules", "httpMethod": "GET", "path": "/api/"},
        "body": None,
        "isBase64Encoded": False,
    }
    answer = app.handler(event, LAMBDA_CONTEXT)
    assert answer["statusCode"] == 200
    assert answer["headers"]["Access-Control-Allow-Origin"] == ORIGIN
    assert json.loads(answer["body"])["max_size"]
    assert app.app.lambda_context is LAMBDA_CONTEXT


@pytest.mark.parametrize("path", ["/", "/nope", "/upload-tickets/", "/s3/multipart//2"])
def test_a_path_the_app_does_not_serve_is_a_404(client: Client, path: str) -> None:
    answer = app.handler(url_event("GET", path), LAMBDA_CONTEXT)
    assert answer["statusCode"] == 404
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "NotFound"
    assert body["message"] == body["error"]["message"]
    assert answer["headers"]["Cache-Control"] == "no-store"


def malformed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    event = url_event("POST", "/upload-tickets", JSON, TICKET.encode())
    change(event)
    return event


MALFORMED = {
    "body flagged base64 that is not": malformed(
        lambda event: event.update(isBase64Encoded=True, body="not base64!")
    ),
    "no requestContext": malformed(lambda event: event.pop("requestContext")),
    "requestContext not an object": malformed(lambda event: event.update(requestContext="x")),
    "no requestContext.http": malformed(lambda event: event["requestContext"].pop("http")),
    "no method": malformed(lambda event: event["requestContext"]["http"].pop("method")),
    "no rawPath": malformed(lambda event: event.pop("rawPath")),
    "rawPath without a slash": malformed(lambda event: event.update(rawPath="upload-tickets")),
    "headers not a map": malformed(lambda event: event.update(headers=["origin"])),
    "a header that is not a string": malformed(lambda event: event["headers"].update(x=1)),
    "query not a map of strings": malformed(
        lambda event: event.update(rawQueryString="a=1", queryStringParameters={"a": 1})
    ),
    "body not a string": malformed(lambda event: event.update(body={"filename": "x"})),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_event_is_a_400_in_the_error_shape(client: Client, case: str) -> None:
    answer = app.handler(MALFORMED[case], LAMBDA_CONTEXT)
    assert answer["statusCode"] == 400
    assert answer["headers"] == {"Content-Type": "application/json", "Cache-Control": "no-store"}
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "InvalidRequest"
    assert body["message"] == body["error"]["message"]
    assert "Traceback" not in answer["body"]


@pytest.mark.parametrize("event", [b"{not json", "[1, 2]", b"\xff", "null"])
def test_a_document_that_is_no_event_is_a_400(client: Client, event: bytes | str) -> None:
    """FC passes the event as JSON text: text that is no JSON object is refused."""
    answer = answer_event(event, app.app, None)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "InvalidRequest"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["rawPath", "rawQueryString", "queryStringParameters", "headers", "body", "isBase64Encoded"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    replaced=st.dictionaries(FIELDS, JSON_VALUES, max_size=3),
    method=st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "PUT", ""]) | st.text(max_size=5),
    path=st.sampled_from(list(app.app.routes)) | st.text(max_size=30),
)
def test_no_event_is_a_500(
    client: Client, replaced: dict[str, Any], method: str, path: str
) -> None:
    """Whatever a field holds, the answer is in the platform's format and
    internal error: a refusal (a 503 names a setting the route needs), or
    the route's answer."""
    event = url_event("POST", "/upload-tickets", JSON, TICKET.encode())
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = path
    event.update(replaced)
    answer = app.handler(event, LAMBDA_CONTEXT)
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert answer["statusCode"] != 500, answer["body"]
    if answer["statusCode"] >= 400:
        assert json.loads(answer["body"])["error"]["code"]
