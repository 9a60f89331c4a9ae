"""The audit line (SPEC 14) through the app: one line per decision, of the
documented shape, with CloudWatch's metrics on Lambda only, and never a secret.

The storage is faked with ``responses`` at the HTTP boundary, as in
``test_multipart.py``, whose helpers build the same calls.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import callback
from tests.app.test_callback import CALLBACK_URL, KEY_URL, body_for, headers_for, pem
from tests.app.test_multipart import (
    ENCODED_ID,
    JSON,
    OSS,
    S3_ENV,
    UPLOAD_ID,
    key,
    list_url,
    object_url,
    on_upload,
    parts_xml,
)
from tests.support.environment import SECRET

Lines = Callable[[], list[dict[str, Any]]]

# docs/operations.md: every line has these; the others when the decision has them.
ALWAYS = {"time", "level", "event", "request_id", "principal", "source_ip", "user_agent"}
SOMETIMES = {
    "provider",
    "bucket",
    "key",
    "filename",
    "content_type",
    "size",
    "max_size",
    "expires_at",
    "policy_sha256",
    "parts",
    "etag",
    "content_md5",
    "status",
    "code",
    "message",
    "reason",
}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MiB = 1024 * 1024
JWT_SECRET = "a-jwt-secret-of-at-least-32-bytes!!"
TICKET_BODY = json.dumps({"filename": "cat.png", "content_type": "image/png"})


def assert_documented(line: dict[str, Any]) -> None:
    """A line of the shape docs/operations.md gives."""
    assert ALWAYS <= set(line) <= ALWAYS | SOMETIMES | {"_aws"}, line
    assert TIME.fullmatch(line["time"])
    assert line["level"] in {"INFO", "ERROR"}
    assert isinstance(line["request_id"], str)
    if line["event"] == "refused":
        assert {"status", "code", "message"} <= set(line)


@pytest.fixture
def oss_storage(env: Callable[..., None]) -> Iterator[responses.RequestsMock]:
    """A multipart upload's storage calls on OSS, each answered as OSS does."""
    env(ALLOWED_CONTENT_TYPES="video/mp4,image/png", LEGACY_ROUTE="on")
    created = re.compile(
        re.escape(OSS.endpoint) + r"/uploads/[0-9a-f]{32}/big%20video.mp4\?uploads"
    )
    upload = f"{object_url(OSS, key())}?uploadId={ENCODED_ID}"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as storage:
        storage.post(
            created,
            body=f"<InitiateMultipartUploadResult><UploadId>{UPLOAD_ID}"
            "</UploadId></InitiateMultipartUploadResult>",
        )
        storage.get(list_url(OSS, key()), body=parts_xml([(1, 5 * MiB, "A1"), (2, 9, "B2")]))
        storage.post(upload, body="<CompleteMultipartUploadResult/>")
        storage.delete(upload, status=204)
        yield storage


@pytest.fixture
def signed_callback(
    env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, oss_storage: responses.RequestsMock
) -> tuple[bytes, dict[str, str]]:
    """A callback OSS signed, its public key served at OSS's key URL."""
    env(OSS_CALLBACK_URL=CALLBACK_URL)
    monkeypatch.setattr(callback, "PUBLIC_KEYS", callback.PublicKeys())
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oss_storage.get(KEY_URL, body=pem(private_key))
    body = body_for()
    return body, headers_for(private_key, body)


def decisions(api: Any, signed: tuple[bytes, dict[str, str]]) -> list[tuple[str, Any]]:
    """Each kind of decision, as a request that makes it."""
    completion = json.dumps(
        {"parts": [{"PartNumber": 1, "ETag": '"A1"'}, {"PartNumber": 2, "ETag": '"B2"'}]}
    )
    upload = json.dumps({"filename": "big video.mp4", "type": "video/mp4", "size": 6 * MiB})
    return [
        ("ticket", lambda: api.post("/upload-tickets", headers=JSON, body=TICKET_BODY)),
        ("ticket", lambda: api.get("/s3/params?filename=cat.png&type=image%2Fpng")),
        ("ticket", lambda: api.get("/get_post_signature_for_oss_upload")),
        ("multipart.create", lambda: api.post("/s3/multipart", headers=JSON, body=upload)),
        ("multipart.sign", lambda: api.get(on_upload("/1"))),
        ("multipart.sign", lambda: api.get(on_upload("/batch") + "&partNumbers=1,2,3")),
        (
            "multipart.complete",
            lambda: api.post(on_upload("/complete"), headers=JSON, body=completion),
        ),
        ("multipart.abort", lambda: api.delete(on_upload())),
        ("callback", lambda: api.post("/oss-callback", headers=signed[1], body=signed[0])),
        ("refused", lambda: api.post("/upload-tickets", headers=JSON, body="{oops")),
        ("refused", lambda: api.get(on_upload("/0"))),
        ("refused", lambda: api.put("/upload-tickets", headers=JSON, body=TICKET_BODY)),  # 405
        ("refused", lambda: api.post("/oss-callback", headers=signed[1], body=b"{}")),
    ]


def test_every_decision_writes_exactly_one_line_of_the_documented_shape(
    api: Any, audit_lines: Lines, oss_storage: Any, signed_callback: Any
) -> None:
    for event, request in decisions(api, signed_callback):
        response = request()
        (line,) = audit_lines()
        assert line["event"] == event, (line, response.body)
        assert_documented(line)
        assert "_aws" not in line  # not on Lambda: plain JSON
        assert (response.status_code >= 400) == (event == "refused")


def test_what_decides_nothing_writes_nothing(
    api: Any, audit_lines: Lines, oss_storage: Any, env: Callable[..., None]
) -> None:
    env(CORS_ALLOW_ORIGIN="https://app.example.com")
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST"}
    assert api.request("OPTIONS", "/upload-tickets", headers=preflight).status_code == 204
    assert api.get("/upload-rules").status_code == 200
    assert api.get(on_upload()).status_code == 200  # the parts so far: a read
    assert audit_lines() == []


def test_a_ticket_line_says_who_got_what(
    env: Callable[..., None], api: Any, audit_lines: Lines
) -> None:
    env(AUTH_MODE="jwt", JWT_SECRET=JWT_SECRET)
    token = jwt.encode({"sub": "alice@example.com", "exp": 2**40}, JWT_SECRET, algorithm="HS256")
    headers = {**JSON, "authorization": f"Bearer {token}", "user-agent": "Uppy/5.1"}
    answer = json.loads(api.post("/upload-tickets", headers=headers, body=TICKET_BODY).body)
    (line,) = audit_lines()
    assert {name: line.get(name) for name in ("principal", "user_agent", "key", "filename")} == {
        "principal": "alice@example.com",
        "user_agent": "Uppy/5.1",
        "key": answer["key"],
        "filename": "cat.png",
    }
    assert (line["provider"], line["bucket"], line["content_type"]) == (
        "oss",
        "signpost-test",
        "image/png",
    )
    assert (line["max_size"], line["expires_at"]) == (answer["max_size"], answer["expires_at"])
    policy = answer["fields"]["policy"]
    assert line["policy_sha256"] == hashlib.sha256(policy.encode()).hexdigest()


def test_a_put_ticket_line_names_the_object_and_never_its_signed_url(
    env: Callable[..., None], api: Any, audit_lines: Lines
) -> None:
    env(**S3_ENV, UPLOAD_METHOD="put")
    body = json.dumps({"filename": "cat.png", "content_type": "image/png", "size": 68})
    answer = json.loads(api.post("/upload-tickets", headers=JSON, body=body).body)
    (line,) = audit_lines()
    assert_documented(line)
    assert (line["event"], line["key"], line["size"]) == ("ticket", answer["key"], 68)
    assert (line["provider"], line["bucket"]) == ("s3", S3_ENV["S3_BUCKET"])
    assert "policy_sha256" not in line  # a PUT ticket has no policy
    assert "X-Amz-Signature" not in json.dumps(line)


def test_an_api_key_is_named_by_a_short_id_that_is_not_the_key(
    env: Callable[..., None], api: Any, audit_lines: Lines
) -> None:
    env(AUTH_MODE="api-key", API_KEYS="key-one-Hq3kD9,key-two-Lw8sP2")
    principals = []
    for api_key in ("key-one-Hq3kD9", "key-two-Lw8sP2", "key-one-Hq3kD9"):
        headers = {**JSON, "authorization": f"Bearer {api_key}"}
        assert api.post("/upload-tickets", headers=headers, body=TICKET_BODY).status_code == 200
        (line,) = audit_lines()
        assert api_key not in json.dumps(line)
        principals.append(line["principal"])
    assert principals[0] == principals[2] != principals[1]
    assert all(re.fullmatch(r"key:[0-9a-f]{12}", principal) for principal in principals)


def emf(line: dict[str, Any]) -> dict[str, Any]:
    """The counts CloudWatch reads from a line, by metric and dimension set
    (the EMF spec: each metric and dimension a member of the root)."""
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "signpost"
    assert isinstance(line["_aws"]["Timestamp"], int)
    for dimension_set in directive["Dimensions"]:
        assert all(isinstance(line[name], str) for name in dimension_set)
    return {
        metric["Name"]: (line[metric["Name"]], metric["Unit"], directive["Dimensions"])
        for metric in directive["Metrics"]
    }


def test_on_lambda_each_line_carries_its_counts_in_cloudwatch_metric_format(
    env: Callable[..., None], api: Any, audit_lines: Lines, oss_storage: Any, signed_callback: Any
) -> None:
    env(AWS_LAMBDA_FUNCTION_NAME="signpost-dev")
    expected = {
        "ticket": {"Tickets": (1, "Count", [[]])},
        "multipart.sign": {"PartsSigned": (1, "Count", [[]])},
        "multipart.complete": {
            "UploadsCompleted": (1, "Count", [[]]),
            "BytesCompleted": (5 * MiB + 9, "Bytes", [[]]),
        },
        "refused": {"Refusals": (1, "Count", [["code"], []])},
    }
    batch = 0
    for event, request in decisions(api, signed_callback):
        request()
        (line,) = audit_lines()
        if event in expected:
            counts = emf(line)
            if line.get("parts") == 3:  # the batch of three part URLs
                batch += 1
                assert counts == {"PartsSigned": (3, "Count", [[]])}
            else:
                assert counts == expected[event]
        else:
            assert "_aws" not in line  # create, abort, callback: no count of their own
    assert batch == 1


SECRETS_OF_EVERY_MODE = {
    "oss-v4-sts": {"OSS_SIGNATURE_VERSION": "v4", "OSS_SESSION_TOKEN": "oss-sts-token-Tq81vB"},
    "oss-v1": {"OSS_SIGNATURE_VERSION": "v1", "OSS_SESSION_TOKEN": "oss-sts-token-Tq81vB"},
    "s3": {**S3_ENV, "AWS_SESSION_TOKEN": "aws-session-token-Zr72mK"},
}


def secrets_of(mode_env: dict[str, str]) -> list[str]:
    return [
        value
        for name, value in {**mode_env, "OSS_ACCESS_KEY_SECRET": SECRET}.items()
        if "SECRET" in name or "TOKEN" in name
    ]


@pytest.mark.parametrize("mode", SECRETS_OF_EVERY_MODE)
def test_no_line_holds_a_secret_a_signature_a_policy_or_a_signed_url(
    env: Callable[..., None], api: Any, audit_lines: Lines, oss_storage: Any, mode: str
) -> None:
    mode_env = SECRETS_OF_EVERY_MODE[mode]
    env(**mode_env, AUTH_MODE="api-key", API_KEYS="the-api-key-Wm40xQ")
    bearer = {**JSON, "authorization": "Bearer the-api-key-Wm40xQ"}
    ticket = json.loads(api.post("/upload-tickets", headers=bearer, body=TICKET_BODY).body)
    api.post(
        "/upload-tickets", headers={**JSON, "authorization": "Bearer a-wrong-key-Yt5"}, body=""
    )
    secrets = [*secrets_of(mode_env), "the-api-key-Wm40xQ", "a-wrong-key-Yt5"]
    secrets += [value for name, value in ticket["fields"].items() if "ignature" in name]
    secrets.append(ticket["fields"]["policy"])
    if mode == "oss-v4-sts":  # the part URLs (OSS only: the storage fake is OSS's)
        part = json.loads(api.get(on_upload("/1"), headers=bearer).body)["url"]
        secrets += [
            part,
            *(value for name, value in parse_qsl(urlsplit(part).query) if "ignature" in name),
        ]
    text = json.dumps(audit_lines())
    assert all(secret not in text for secret in secrets)


def test_no_line_holds_the_jwt_secret_or_a_token(
    env: Callable[..., None], api: Any, audit_lines: Lines
) -> None:
    env(AUTH_MODE="jwt", JWT_SECRET=JWT_SECRET)
    good = jwt.encode({"sub": "alice", "exp": 2**40}, JWT_SECRET, algorithm="HS256")
    expired = jwt.encode({"sub": "alice", "exp": 1}, JWT_SECRET, algorithm="HS256")
    forged = jwt.encode(
        {"sub": "alice", "exp": 2**40}, "another-secret-of-32-bytes-or-more!", algorithm="HS256"
    )
    for token in (good, expired, forged):
        api.post(
            "/upload-tickets",
            headers={**JSON, "authorization": f"Bearer {token}"},
            body=TICKET_BODY,
        )
    lines = audit_lines()
    assert [line["event"] for line in lines] == ["ticket", "refused", "refused"]
    text = json.dumps(lines)
    assert all(secret not in text for secret in (JWT_SECRET, good, expired, forged))
    assert all(part not in text for token in (good, expired, forged) for part in token.split("."))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["filename", "content_type", "size", "other"]),
        st.one_of(st.text(max_size=300), st.integers(), st.none(), st.booleans()),
    ),
    bearer=st.sampled_from(["the-api-key-Wm40xQ", "a-wrong-key-Yt5", ""]),
)
def test_any_request_writes_one_line_and_no_secret(
    env: Callable[..., None], api: Any, audit_lines: Lines, body: dict[str, Any], bearer: str
) -> None:
    env(
        AUTH_MODE="api-key", API_KEYS="the-api-key-Wm40xQ", OSS_SESSION_TOKEN="oss-sts-token-Tq81vB"
    )
    headers = {**JSON, "authorization": f"Bearer {bearer}"}
    response = api.post("/upload-tickets", headers=headers, body=json.dumps(body))
    (line,) = audit_lines()
    assert_documented(line)
    assert line["event"] == ("ticket" if response.status_code == 200 else "refused")
    if line["event"] == "refused":
        assert line["code"] == json.loads(response.body)["error"]["code"]
    text = json.dumps(line)
    for secret in (SECRET, "oss-sts-token-Tq81vB", "the-api-key-Wm40xQ", "a-wrong-key-Yt5"):
        assert secret not in text
    assert len(text) < 4096  # what a caller sends is cut short
