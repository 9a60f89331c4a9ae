"""The Function Compute adapter, driven by events in FC 3.0's documented format.

Each test hands ``fc.handler`` the JSON bytes an FC HTTP trigger passes to a
built-in Python runtime, and a context shaped like FC's, and checks the
response FC would turn into HTTP: status, headers, body.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

import fc
from chalicelib.credentials import Credentials
from chalicelib.signers import OssV4Signer

BUCKET = "signpost-fc"
REGION = "cn-hangzhou"
CONTEXT_KEY_ID = "STS.NUfcContextKeyId"
CONTEXT_SECRET = "fc-context-secret-3s9LmQ"
CONTEXT_TOKEN = "CAIS-fc-context-token-Zx81"
ENV_KEY_ID = "STS.NUfcEnvironmentKeyId"
ENV_SECRET = "fc-environment-secret-Pq27"
ORIGIN = "https://app.example.com"
# Prefixes and names of everything signpost reads, cleared before each test.
OWN_PREFIXES = ("OSS_", "ALIBABA_CLOUD_", "AWS_", "S3_", "JWT_")
OWN_NAMES = (
    "STORAGE_PROVIDER",
    "UPLOAD_DIR",
    "EXPIRE_SECONDS",
    "MAX_UPLOAD_BYTES",
    "ALLOWED_CONTENT_TYPES",
    "CORS_ALLOW_ORIGIN",
    "AUTH_MODE",
    "API_KEYS",
    "LEGACY_ROUTE",
)


@pytest.fixture(autouse=True)
def fc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an FC function's configuration sets: the bucket, no keys."""
    for name in list(os.environ):
        if name.startswith(OWN_PREFIXES) or name in OWN_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("OSS_BUCKET", BUCKET)
    monkeypatch.setenv("OSS_REGION", REGION)
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", ORIGIN)


def fc_event(
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    base64_body: bool = False,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> bytes:
    """An HTTP-trigger event as FC documents it, as the bytes the runtime passes."""
    if body is None:
        text = ""
    elif base64_body:
        text = base64.b64encode(body).decode("ascii")
    else:
        text = body.decode("utf-8")
    return json.dumps(
        {
            "version": "v1",
            "rawPath": quote(path),
            "body": text,
            "isBase64Encoded": base64_body,
            "headers": {
                "Host": "abc123.cn-hangzhou.fcapp.run",
                "User-Agent": "Mozilla/5.0",
                **(headers or {}),
            },
            "queryParameters": query or {},
            "requestContext": {
                "accountId": "1234567890123456",
                "domainName": "abc123.cn-hangzhou.fcapp.run",
                "domainPrefix": "abc123",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "Mozilla/5.0",
                },
                "requestId": "1-6743a1b2-0123456789abcdef",
                "time": "2026-11-24T12:00:00Z",
                "timeEpoch": "1795521600000",
            },
        }
    ).encode("utf-8")


def fc_context(
    key_id: str = CONTEXT_KEY_ID, secret: str = CONTEXT_SECRET, token: str = CONTEXT_TOKEN
) -> SimpleNamespace:
    """FC's Python context (3.10 runtime): the role's temporary keys included."""
    return SimpleNamespace(
        request_id="1-6743a1b2-0123456789abcdef",
        credentials=SimpleNamespace(
            access_key_id=key_id, access_key_secret=secret, security_token=token
        ),
        function=SimpleNamespace(name="signpost", handler="fc.handler", memory=256, timeout=10),
        region=REGION,
        account_id="1234567890123456",
    )


NO_CREDENTIALS = SimpleNamespace(request_id="1-6743a1b2-ffff", region=REGION)  # Python 3.12


def ticket_request(body: dict[str, Any] | None = None, *, base64_body: bool = False) -> bytes:
    payload = json.dumps(body or {"filename": "cat.png", "content_type": "image/png", "size": 512})
    return fc_event(
        "POST",
        "/upload-tickets",
        payload.encode(),
        base64_body=base64_body,
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )


def call(event: bytes, context: Any) -> tuple[dict[str, Any], Any]:
    """The handler's response, its parsed body, and a check that no secret shows."""
    response = fc.handler(event, context)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    visible = json.dumps(response)
    for secret in (CONTEXT_SECRET, ENV_SECRET):
        assert secret not in visible
    body = json.loads(response["body"]) if response["body"] else None
    return response, body


def assert_signed_with(fields: dict[str, str], credentials: Credentials) -> None:
    """The V4 signature is the one these keys make over this policy."""
    now = datetime.strptime(fields["x-oss-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    signer = OssV4Signer(credentials, REGION)
    assert signer.signature_fields(fields["policy"], now) == {
        "x-oss-signature": fields["x-oss-signature"]
    }


@pytest.mark.parametrize("base64_body", [False, True], ids=["text", "base64"])
def test_ticket_signed_with_the_contexts_role_keys(base64_body: bool) -> None:
    response, body = call(ticket_request(base64_body=base64_body), fc_context())
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Access-Control-Allow-Origin"] == ORIGIN
    assert body["url"] == f"https://{BUCKET}.oss-{REGION}.aliyuncs.com"
    assert body["key"].startswith("uploads/")
    assert body["key"].endswith("/cat.png")
    assert body["max_size"] == 512
    fields = body["fields"]
    assert fields["x-oss-credential"].startswith(f"{CONTEXT_KEY_ID}/")
    assert fields["x-oss-security-token"] == CONTEXT_TOKEN
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-oss-security-token": CONTEXT_TOKEN} in policy["conditions"]
    assert_signed_with(fields, Credentials(CONTEXT_KEY_ID, CONTEXT_SECRET, CONTEXT_TOKEN))
    # The keys were the request's own: the process environment never saw them.
    assert not any(name.startswith("ALIBABA_CLOUD_") for name in os.environ)


def test_python312_runtime_keys_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FC's 3.12 context has no credentials; the ALIBABA_CLOUD_* variables do."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ENV_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET)
    response, body = call(ticket_request(), NO_CREDENTIALS)
    assert response["statusCode"] == 200
    assert body["fields"]["x-oss-credential"].startswith(f"{ENV_KEY_ID}/")
    assert "x-oss-security-token" not in body["fields"]
    assert_signed_with(body["fields"], Credentials(ENV_KEY_ID, ENV_SECRET))


def test_context_keys_are_never_paired_with_a_stale_environment_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ENV_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "stale-environment-token")
    response, body = call(ticket_request(), fc_context(token=""))
    assert response["statusCode"] == 200
    assert body["fields"]["x-oss-credential"].startswith(f"{CONTEXT_KEY_ID}/")
    assert "x-oss-security-token" not in body["fields"]
    assert_signed_with(body["fields"], Credentials(CONTEXT_KEY_ID, CONTEXT_SECRET))


def test_explicit_oss_keys_still_win_over_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ALIBABA_CLOUD_* keys are used only when the OSS_* ones are absent."""
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "LTAIexplicitKeyId")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", ENV_SECRET)
    response, body = call(ticket_request(), fc_context())
    assert response["statusCode"] == 200
    assert body["fields"]["x-oss-credential"].startswith("LTAIexplicitKeyId/")
    assert "x-oss-security-token" not in body["fields"]
    assert_signed_with(body["fields"], Credentials("LTAIexplicitKeyId", ENV_SECRET))


def test_one_requests_keys_do_not_reach_the_next() -> None:
    first, _ = call(ticket_request(), fc_context())
    assert first["statusCode"] == 200
    second, body = call(ticket_request(), NO_CREDENTIALS)
    assert second["statusCode"] == 503
    assert body["error"]["code"] == "NotConfigured"
    assert "OSS_ACCESS_KEY_ID" in body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"filename": "../cat.png", "content_type": "image/png"}, 400, "InvalidFilename"),
        ({"filename": "cat.png", "content_type": "application/pdf"}, 400, "ContentTypeMismatch"),
        (
            {"filename": "cat.png", "content_type": "image/png", "size": 10**12},
            413,
            "EntityTooLarge",
        ),
        (
            {"filename": "cat.png", "content_type": "image/png", "colour": "red"},
            400,
            "UnknownField",
        ),
    ],
)
@pytest.mark.parametrize("base64_body", [False, True], ids=["text", "base64"])
def test_refusals_keep_the_documented_shape(
    payload: dict[str, Any], status: int, code: str, base64_body: bool
) -> None:
    response, body = call(ticket_request(payload, base64_body=base64_body), fc_context())
    assert response["statusCode"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "fields" not in body
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"


def test_a_body_that_is_not_json_is_a_400() -> None:
    event = fc_event(
        "POST",
        "/upload-tickets",
        b"\xff\xfenot json",
        base64_body=True,
        headers={"Content-Type": "application/json"},
    )
    response, body = call(event, fc_context())
    assert response["statusCode"] == 400
    assert body["error"]["code"] == "InvalidRequest"


def test_preflight_from_a_listed_origin() -> None:
    event = fc_event(
        "OPTIONS",
        "/upload-tickets",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    response, body = call(event, fc_context())
    assert response["statusCode"] == 204
    assert body is None
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    assert headers["Vary"] == "Origin"
    assert "Content-Type" not in headers


def test_preflight_from_another_origin_gets_no_grant() -> None:
    event = fc_event(
        "OPTIONS",
        "/upload-tickets",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    response, _ = call(event, fc_context())
    assert "Access-Control-Allow-Origin" not in response["headers"]
    assert response["headers"]["Vary"] == "Origin"


def test_legacy_route_with_a_query_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_ROUTE", "on")
    event = fc_event("GET", "/get_post_signature_for_oss_upload", query={"t": "1"})
    response, body = call(event, fc_context())
    assert response["statusCode"] == 200
    assert body["ossAccessKeyId"] == CONTEXT_KEY_ID
    assert body["x-oss-security-token"] == CONTEXT_TOKEN
    assert body["host"] == f"https://{BUCKET}.oss-{REGION}.aliyuncs.com"


@pytest.mark.parametrize("path", ["/", "/nope", "/upload-tickets/", "/upload-tickets/x"])
def test_unknown_path_is_a_404(path: str) -> None:
    response, body = call(fc_event("GET", path), fc_context())
    assert response["statusCode"] == 404
    assert body["error"]["code"] == "NotFound"
    assert "/upload-tickets" in body["error"]["message"]
    assert response["headers"]["Cache-Control"] == "no-store"


def test_wrong_method_is_a_405_in_the_documented_shape() -> None:
    response, body = call(fc_event("DELETE", "/upload-tickets"), fc_context())
    assert response["statusCode"] == 405
    assert body["error"]["code"] == "MethodNotAllowedError"


def test_a_part_url_through_function_compute_is_signed_with_the_role() -> None:
    """The multipart routes, with their path parameters, behind FC's adapter: a
    part URL signed with the invocation's role keys and its STS token."""
    key = "uploads/" + "9f0c" * 8 + "/film.pdf"
    event = fc_event("GET", "/s3/multipart/0004B9895DBBB6EC98E3/2", query={"key": key})
    response, body = call(event, fc_context())
    assert response["statusCode"] == 200, body
    query = dict(parse_qsl(urlsplit(body["url"]).query))
    assert query["partNumber"] == "2"
    assert query["uploadId"] == "0004B9895DBBB6EC98E3"
    assert query["x-oss-credential"].startswith(CONTEXT_KEY_ID + "/")
    assert query["x-oss-security-token"] == CONTEXT_TOKEN


@pytest.mark.parametrize("upload_id", ["VXBs/b2Fk+SUQ=", "a%b", "2~ZmlsbQ.x_y-z"])
def test_an_upload_id_is_routed_and_decoded_once_as_on_api_gateway(upload_id: str) -> None:
    """Uppy sends the upload ID percent-encoded in the path. FC's ``rawPath``
    keeps it so (``requestContext.http.path`` is decoded): the route is found
    by the encoded path, where a ``/`` in the ID cannot split a segment, and
    the handler decodes the ID once. (``%`` is not an ID character: refused.)"""
    key = "uploads/" + "9f0c" * 8 + "/film.pdf"
    event = json.loads(fc_event("GET", f"/s3/multipart/{upload_id}/2", query={"key": key}))
    event["rawPath"] = f"/s3/multipart/{quote(upload_id, safe='')}/2"
    response, body = call(json.dumps(event).encode(), fc_context())
    if "%" in upload_id:
        assert response["statusCode"] == 400
        assert body["error"]["code"] == "InvalidRequest"
        return
    assert response["statusCode"] == 200, body
    query = dict(parse_qsl(urlsplit(body["url"]).query))
    assert query["uploadId"] == upload_id
    assert query["partNumber"] == "2"


def test_the_audit_line_names_fcs_request_and_carries_no_metrics_or_role_keys(
    audit_lines: Any,
) -> None:
    """On FC the line's ``request_id`` is the context's, the caller's address
    is the trigger's, and there is no ``_aws`` member (no CloudWatch there)."""
    response, _ = call(ticket_request(), fc_context())
    assert response["statusCode"] == 200
    (line,) = audit_lines()
    assert (line["event"], line["request_id"], line["source_ip"]) == (
        "ticket",
        "1-6743a1b2-0123456789abcdef",
        "203.0.113.7",
    )
    assert "_aws" not in line
    assert all(secret not in json.dumps(line) for secret in (CONTEXT_SECRET, CONTEXT_TOKEN))
