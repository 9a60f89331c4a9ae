"""CORS (``CORS_ALLOW_ORIGIN``) and ``Cache-Control: no-store``, header by header.

Everything goes through ``chalice.test.Client``, so the edge middleware sees
what API Gateway would hand it, Chalice's own 405/415/500 included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import handlers
from tests.support.environment import chalice_client

ALLOWED = ("https://app.example.com", "http://localhost:8000")
FOREIGN = (
    "https://evil.example.com",
    "https://app.example.com.evil.example.com",
    "http://app.example.com",  # another scheme is another origin
    "https://app.example.com:8443",  # and so is another port
    "null",
)
ROUTES = (("POST", "/upload-tickets"), ("GET", "/get_post_signature_for_oss_upload"))
GOOD_BODY = json.dumps({"filename": "cat.png", "content_type": "image/png"})
PREFLIGHT_ONLY = {
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-max-age": "600",
}


@pytest.fixture
def environment(env: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The OSS test settings (conftest's ``env``), the allowed origins, and
    the legacy route on (its answers get the same edge as the tickets')."""
    env(CORS_ALLOW_ORIGIN=" , ".join(ALLOWED), LEGACY_ROUTE="on")
    return monkeypatch


@pytest.fixture
def client(environment: pytest.MonkeyPatch) -> Iterator[Client]:
    with chalice_client() as test_client:
        yield test_client


def lowered(response: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def cors_of(response: Any) -> dict[str, str]:
    """The ``Access-Control-*`` headers of an answer, names lower-cased."""
    headers = lowered(response)
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def preflight(client: Client, path: str, origin: str | None, method: str) -> Any:
    headers = {
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type",
    }
    if origin is not None:
        headers["origin"] = origin
    return client.http.options(path, headers=headers)


def call(client: Client, method: str, path: str, origin: str | None = None, **headers: str) -> Any:
    if origin is not None:
        headers["origin"] = origin
    if method == "POST":
        headers.setdefault("content-type", "application/json")
        return client.http.post(path, headers=headers, body=GOOD_BODY)
    return client.http.request(method, path, headers=headers)


@pytest.mark.parametrize("origin", [*ALLOWED, *FOREIGN, None])
@pytest.mark.parametrize("is_preflight", [True, False], ids=["preflight", "actual"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_cors_headers_one_by_one(
    client: Client, origin: str | None, is_preflight: bool, method: str, path: str
) -> None:
    """A listed origin is echoed (never ``*``, never credentials), the preflight-only
    headers only on a preflight; any other origin, or none, gets no CORS header."""
    if is_preflight:
        response = preflight(client, path, origin, method)
        assert (response.status_code, response.body) == (204, b"")
    else:
        response = call(client, method, path, origin)
        assert response.status_code == 200, response.body
    expected: dict[str, str] = {}
    if origin in ALLOWED:
        expected = {"access-control-allow-origin": origin}
        expected.update(PREFLIGHT_ONLY if is_preflight else {})
    assert cors_of(response) == expected
    assert lowered(response)["vary"] == "Origin"
    assert lowered(response)["cache-control"] == "no-store"


def test_preflight_needs_no_credentials(client: Client, environment: pytest.MonkeyPatch) -> None:
    """A browser never sends ``Authorization`` on a preflight: it must pass without."""
    environment.setenv("AUTH_MODE", "api-key")
    environment.setenv("API_KEYS", "the-key")
    response = preflight(client, "/upload-tickets", ALLOWED[0], "POST")
    assert response.status_code == 204
    assert cors_of(response)["access-control-allow-origin"] == ALLOWED[0]


def test_refusals_carry_cors_so_the_page_can_read_them(
    client: Client, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("AUTH_MODE", "api-key")
    environment.setenv("API_KEYS", "the-key")
    missing = call(client, "POST", "/upload-tickets", ALLOWED[0])
    assert missing.status_code == 401
    assert lowered(missing)["www-authenticate"] == "Bearer"
    wrong = call(client, "POST", "/upload-tickets", ALLOWED[0], authorization="Bearer nope")
    bad_body = client.http.post(
        "/upload-tickets",
        headers={
            "origin": ALLOWED[0],
            "authorization": "Bearer the-key",
            "content-type": "application/json",
        },
        body=b"[]",
    )
    for response, status in ((missing, 401), (wrong, 403), (bad_body, 400)):
        assert response.status_code == status
        assert cors_of(response) == {"access-control-allow-origin": ALLOWED[0]}
        assert lowered(response)["cache-control"] == "no-store"


def test_configured_origins_match_whatever_their_case(
    client: Client, environment: pytest.MonkeyPatch
) -> None:
    """Browsers send the scheme and host lower-case; a config may not."""
    environment.setenv("CORS_ALLOW_ORIGIN", "https://App.Example.COM")
    response = call(client, "POST", "/upload-tickets", "https://app.example.com")
    assert cors_of(response) == {"access-control-allow-origin": "https://app.example.com"}


@pytest.mark.parametrize("value", ["", "  ", ",", None])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unset_cors_sends_no_cors_headers(
    client: Client, environment: pytest.MonkeyPatch, value: str | None, method: str, path: str
) -> None:
    if value is None:
        environment.delenv("CORS_ALLOW_ORIGIN")
    else:
        environment.setenv("CORS_ALLOW_ORIGIN", value)
    answers = (preflight(client, path, ALLOWED[0], method), call(client, method, path, ALLOWED[0]))
    for response in answers:
        assert response.status_code in (200, 204)
        assert cors_of(response) == {}
        assert "vary" not in lowered(response)
        assert lowered(response)["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https://site.example.org, *",
        "https://site.example.org/",
        "https://site.example.org/path",
        "site.example.org",
        "https://*.example.org",
        "ftp://site.example.org",
        "https://site.example.org:99999999",
        "https://site.example.org\r\nX-Injected: 1",
    ],
)
def test_malformed_cors_setting_is_503_on_every_request(
    client: Client, environment: pytest.MonkeyPatch, value: str
) -> None:
    environment.setenv("CORS_ALLOW_ORIGIN", value)
    answers = [
        preflight(client, "/upload-tickets", ALLOWED[0], "POST"),
        call(client, "POST", "/upload-tickets", ALLOWED[0]),
        call(client, "GET", "/get_post_signature_for_oss_upload", ALLOWED[0]),
    ]
    for response in answers:
        assert response.status_code == 503
        error = json.loads(response.body)["error"]
        assert error["code"] == "NotConfigured"
        assert "CORS_ALLOW_ORIGIN" in error["message"]
        assert value.strip() not in response.body.decode()
        assert cors_of(response) == {}
        assert lowered(response)["cache-control"] == "no-store"


def boom(*args: Any, **kwargs: Any) -> dict[str, Any]:
    raise RuntimeError("a bug, not the caller's fault")


API_KEY_ON = {"AUTH_MODE": "api-key", "API_KEYS": "the-key"}
PNG = {"filename": "a.png", "content_type": "image/png"}


@pytest.mark.parametrize(
    ("method", "path", "extra", "status", "code"),
    [
        ("POST", "/upload-tickets", {}, 200, None),
        ("GET", "/get_post_signature_for_oss_upload", {}, 200, None),
        ("OPTIONS", "/upload-tickets", {}, 204, None),
        ("POST", "/upload-tickets", {"body": "{"}, 400, "InvalidRequest"),
        (
            "POST",
            "/upload-tickets",
            {"body": {**PNG, "content_type": "text/html"}},
            415,
            "UnsupportedContentType",
        ),
        ("POST", "/upload-tickets", {"body": {**PNG, "size": 10**11}}, 413, "EntityTooLarge"),
        ("PUT", "/upload-tickets", {}, 405, "MethodNotAllowedError"),
        ("DELETE", "/get_post_signature_for_oss_upload", {}, 405, "MethodNotAllowedError"),
        (
            "POST",
            "/upload-tickets",
            {"content-type": "application/xml"},
            415,
            "UnsupportedMediaType",
        ),
        ("POST", "/upload-tickets", {"env": API_KEY_ON}, 401, "MissingCredentials"),
        (
            "GET",
            "/get_post_signature_for_oss_upload",
            {"env": API_KEY_ON, "authorization": "Bearer x"},
            403,
            "AccessDenied",
        ),
        ("POST", "/upload-tickets", {"env": {"OSS_BUCKET": ""}}, 503, "NotConfigured"),
        ("POST", "/upload-tickets", {"crash": True}, 500, "InternalServerError"),
    ],
    ids=[
        "ticket",
        "legacy",
        "preflight",
        "400",
        "415-unsupported-type",
        "413",
        "405",
        "405-legacy",
        "415-chalice",
        "401",
        "403",
        "503",
        "500",
    ],
)
def test_every_answer_is_no_store_in_the_documented_shape(
    client: Client,
    environment: pytest.MonkeyPatch,
    method: str,
    path: str,
    extra: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    """A ticket is a credential: no cache may keep any answer, Chalice's own included."""
    for name, value in extra.get("env", {}).items():
        environment.setenv(name, value)
    if extra.get("crash"):
        environment.setattr(handlers, "upload_ticket", boom)
    headers = {"content-type": extra.get("content-type", "application/json")}
    if "authorization" in extra:
        headers["authorization"] = extra["authorization"]
    body = extra.get("body", PNG)
    body = body if isinstance(body, str) else json.dumps(body)
    response = client.http.request(method, path, headers=headers, body=body.encode())
    assert response.status_code == status, response.body
    assert lowered(response)["cache-control"] == "no-store"
    if code is not None:
        answer = json.loads(response.body)
        assert set(answer) == {"error", "message"}
        assert set(answer["error"]) == {"code", "message"}
        assert answer["error"]["code"] == code
        assert "a bug" not in response.body.decode()
