"""The HTTP routes through Chalice's test client, as a browser would call them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.environment import OSS_ENV, SECRET, api_client
from tests.support.tickets import assert_every_field_bound

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_REFUSALS = {
    (400, "InvalidRequest"),
    (400, "UnknownField"),
    (400, "InvalidFilename"),
    (400, "InvalidContentType"),
    (415, "UnsupportedContentType"),
    (400, "ContentTypeMismatch"),
    (413, "EntityTooLarge"),
    (400, "InvalidSize"),
}
JSON = {"content-type": "application/json"}
LEGACY_PATH = "/get_post_signature_for_oss_upload"


def post(api: Any, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict, Any]:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = api.post("/upload-tickets", headers={**JSON, **(headers or {})}, body=raw)
    return response.status_code, response.headers, json.loads(response.body or b"null")


def test_a_good_request_gets_a_ticket(env: Any, api: Any) -> None:
    status, headers, answer = post(
        api, {"filename": "cat.png", "content_type": "image/png", "size": 5}
    )
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "application/json"
    assert set(answer) == {"url", "method", "fields", "key", "expires_at", "max_size"}
    assert answer["fields"]["key"] == answer["key"]
    assert_every_field_bound(answer["fields"])


def test_text_plain_bodies_are_read_as_json(env: Any, api: Any) -> None:
    body = {"filename": "cat.png", "content_type": "image/png"}
    status, _, _ = post(api, body, {"content-type": "text/plain;charset=UTF-8"})
    assert status == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{", 400, "InvalidRequest"),
        ([], 400, "InvalidRequest"),
        ({"filename": "cat.png"}, 400, "InvalidRequest"),
        (
            {"filename": "cat.png", "content_type": "image/png", "acl": "public-read"},
            400,
            "UnknownField",
        ),
        ({"filename": "../cat.png", "content_type": "image/png"}, 400, "InvalidFilename"),
        ({"filename": "cat.png", "content_type": "image/png; x=1"}, 400, "InvalidContentType"),
        ({"filename": "cat.html", "content_type": "text/html"}, 415, "UnsupportedContentType"),
        ({"filename": "cat.png", "content_type": "application/pdf"}, 400, "ContentTypeMismatch"),
        (
            {"filename": "cat.png", "content_type": "image/png", "size": 10**9},
            413,
            "EntityTooLarge",
        ),
        ({"filename": "cat.png", "content_type": "image/png", "size": True}, 400, "InvalidSize"),
    ],
)
def test_refusals_have_the_documented_status_code_and_shape(
    env: Any, api: Any, body: object, status: int, code: str
) -> None:
    got_status, headers, answer = post(api, body)
    assert (got_status, answer["error"]["code"]) == (status, code)
    assert set(answer) == {"error", "message"}
    assert set(answer["error"]) == {"code", "message"}
    assert answer["error"]["message"]
    # Uppy 5 and Companion's clients read only the top-level message.
    assert answer["message"] == answer["error"]["message"]
    assert headers["Cache-Control"] == "no-store"


def test_a_missing_setting_is_503_naming_it(env: Any, api: Any, audit_lines: Any) -> None:
    env(OSS_BUCKET="")
    status, _, answer = post(api, {"filename": "cat.png", "content_type": "image/png"})
    assert status == 503
    assert answer["error"]["code"] == "NotConfigured"
    assert "OSS_BUCKET" in answer["error"]["message"]
    (line,) = audit_lines()
    assert (line["event"], line["level"], line["code"]) == ("refused", "ERROR", "NotConfigured")
    assert "OSS_BUCKET" in line["message"]


@pytest.mark.parametrize("path", ["/upload-tickets", LEGACY_PATH])
def test_an_unknown_auth_mode_is_503_on_every_route(env: Any, api: Any, path: str) -> None:
    env(AUTH_MODE="basic", LEGACY_ROUTE="on")
    body = json.dumps({"filename": "cat.png", "content_type": "image/png"})
    response = (
        api.post(path, headers=JSON, body=body) if path == "/upload-tickets" else api.get(path)
    )
    assert response.status_code == 503
    assert json.loads(response.body)["error"]["code"] == "NotConfigured"
    assert "AUTH_MODE" in json.loads(response.body)["error"]["message"]


def test_chalice_own_errors_take_the_documented_shape(env: Any, api: Any) -> None:
    response = api.request("DELETE", "/upload-tickets")
    assert response.status_code == 405
    answer = json.loads(response.body)
    assert answer["error"]["code"] == "MethodNotAllowedError"
    assert answer["message"] == answer["error"]["message"]
    response = api.post("/upload-tickets", headers={"content-type": "application/xml"}, body="<a/>")
    assert response.status_code == 415
    assert json.loads(response.body)["error"]["code"] == "UnsupportedMediaType"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("setting", ["", "off", "OFF"])
@pytest.mark.parametrize("authorization", [None, "Bearer the-key", "Bearer wrong"])
def test_the_legacy_route_is_off_unless_legacy_route_is_on(
    env: Any, api: Any, setting: str, authorization: str | None
) -> None:
    """Its policy binds only a key prefix, so it is opt-in: off, the path is a
    404 before any auth, in the error shape, with nothing signed."""
    env(LEGACY_ROUTE=setting, AUTH_MODE="api-key", API_KEYS="the-key")
    headers = {"authorization": authorization} if authorization else {}
    response = api.get(LEGACY_PATH, headers=headers)
    assert response.status_code == 404, response.body
    answer = json.loads(response.body)
    assert set(answer) == {"error", "message"}
    assert set(answer["error"]) == {"code", "message"}
    assert answer["error"]["code"] == "NotFound"
    assert "LEGACY_ROUTE" in answer["error"]["message"]
    for word in ("policy", "signature", "ossAccessKeyId", "LTAItestkeyid"):
        assert word not in response.body.decode()
    assert response.headers["Cache-Control"] == "no-store"


def test_a_bad_legacy_route_setting_is_503_naming_it(env: Any, api: Any) -> None:
    env(LEGACY_ROUTE="yes")
    response = api.get(LEGACY_PATH)
    assert response.status_code == 503
    assert json.loads(response.body)["error"]["code"] == "NotConfigured"
    assert "LEGACY_ROUTE" in json.loads(response.body)["error"]["message"]


def test_the_legacy_route_answers_the_sample_pages_fields(env: Any, api: Any) -> None:
    env(LEGACY_ROUTE="on")
    response = api.get(LEGACY_PATH)
    assert response.status_code == 200
    answer = json.loads(response.body)
    assert set(answer) == {"policy", "ossAccessKeyId", "signature", "host", "dir", "expire"}
    assert answer["dir"].startswith("uploads/")
    assert answer["dir"].endswith("/")


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_the_secret_is_in_no_answer_and_no_log(
    env: Any, api: Any, audit_lines: Any, version: str
) -> None:
    env(OSS_SIGNATURE_VERSION=version, OSS_SESSION_TOKEN="session-token-value", LEGACY_ROUTE="on")
    answers = [
        api.post(
            "/upload-tickets",
            headers=JSON,
            body=json.dumps({"filename": "a.png", "content_type": "image/png"}),
        ),
        api.post(
            "/upload-tickets",
            headers=JSON,
            body=json.dumps({"filename": "a.png", "content_type": "text/x"}),
        ),
        api.post("/upload-tickets", headers=JSON, body="{oops"),
        api.get(LEGACY_PATH),
    ]
    env(OSS_REGION="")
    answers.append(
        api.post(
            "/upload-tickets",
            headers=JSON,
            body=json.dumps({"filename": "a.png", "content_type": "image/png"}),
        )
    )
    assert [a.status_code for a in answers] == [200, 415, 400, 200, 503]
    for answer in answers:
        assert SECRET not in answer.body.decode()
        assert SECRET not in json.dumps(dict(answer.headers))
    lines = audit_lines()
    events = [line["event"] for line in lines]
    assert events == ["ticket", "refused", "refused", "ticket", "refused"]
    for secret in (SECRET, "session-token-value"):
        assert secret not in json.dumps(lines)


def test_the_settings_repr_hides_the_secret() -> None:
    from chalicelib.settings import load_oss

    settings = load_oss({**OSS_ENV, "OSS_SESSION_TOKEN": "session-token-value"})
    assert SECRET not in repr(settings)
    assert "session-token-value" not in repr(settings)
    assert "LTAItestkeyid" in repr(settings)


@pytest.mark.parametrize(
    ("env_values", "secrets"),
    [
        (
            {"AUTH_MODE": "api-key", "API_KEYS": "key-one-secret,key-two-secret"},
            ["key-one-secret", "key-two-secret"],
        ),
        ({"AUTH_MODE": "jwt", "JWT_SECRET": "j" * 40}, ["j" * 40]),
    ],
)
def test_the_auth_settings_repr_hides_keys_and_secrets(env_values: dict, secrets: list) -> None:
    from chalicelib.settings import load_auth

    settings = load_auth(env_values)
    assert settings.mode == env_values["AUTH_MODE"]
    for secret in secrets:
        assert secret not in repr(settings)
        assert secret not in str(settings)


HEAVY = ["boto3", "botocore", "requests", "cryptography", "jwt", "oss2", "alibabacloud_oss_v2"]
# dataclasses imports inspect, which imports ast and dis: a few ms of every cold start.
HEAVY += ["dataclasses", "inspect"]
# The RSA verifier and the content check: only a JWKS key set, a callback or
# VERIFY_CONTENT needs them.
HEAVY += ["chalicelib.rsa_verify", "chalicelib.content_check", "chalicelib.verify_handlers"]


def test_importing_app_loads_no_heavy_library() -> None:
    probe = f"import sys, app; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


# Arbitrary JSON, and arbitrary strings where a field is expected.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)
ticket_bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "filename": st.text() | json_values,
            "content_type": st.sampled_from(["image/png", "IMAGE/JPEG", "application/pdf"])
            | st.text(),
            "size": st.integers() | json_values,
        },
    )
    | st.dictionaries(st.text(), json_values)
    | json_values
)

API = api_client()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=ticket_bodies | st.text() | st.binary())
def test_any_body_gets_a_ticket_or_a_documented_refusal(body: object) -> None:
    import os

    saved = {name: os.environ.get(name) for name in OSS_ENV}
    os.environ.update(OSS_ENV)
    try:
        raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
        response = API.post("/upload-tickets", headers=JSON, body=raw)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    answer = json.loads(response.body)
    if response.status_code == 200:
        fields = answer["fields"]
        policy = assert_every_field_bound(fields)
        assert fields["key"] == answer["key"]
        assert ["eq", "$key", answer["key"]] in policy["conditions"]
        assert ["eq", "$Content-Type", fields["Content-Type"]] in policy["conditions"]
        assert fields["Content-Type"] == body["content_type"].lower()  # type: ignore[index]
    else:
        assert (response.status_code, answer["error"]["code"]) in DOCUMENTED_REFUSALS
        # A refusal is the error and nothing else: no fields, no policy, no signature.
        assert list(answer) == ["error", "message"]
        assert sorted(answer["error"]) == ["code", "message"]
        assert answer["message"] == answer["error"]["message"]
        assert SECRET not in response.body.decode()
