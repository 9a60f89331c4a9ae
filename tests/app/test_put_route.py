"""PUT tickets and ``content_md5`` through the routes, as a page calls them:
the answer's shape, the refusals, and never a 5xx, a signature or a secret
for whatever is sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.environment import request_env
from chalicelib.variables import NAMES
from tests.app.test_app import DOCUMENTED_REFUSALS, JSON
from tests.support.environment import OSS_ENV, api_client

S3_SECRET = "put-route-secret-Zq8vY2pL0xN4wB7k"
S3_PUT_ENV = {
    "STORAGE_PROVIDER": "s3",
    "UPLOAD_METHOD": "put",
    "S3_BUCKET": "signpost-test",
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "AKIAPUTROUTETEST0000",
    "AWS_SECRET_ACCESS_KEY": S3_SECRET,
}
MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
API = api_client()


@contextmanager
def with_env(values: dict[str, str]) -> Iterator[None]:
    """Exactly ``values`` of signpost's variables, for the requests made meanwhile
    (an empty value counts as unset; ``os.environ`` is left alone)."""
    with request_env({**dict.fromkeys(NAMES, ""), **values}):
        yield


@pytest.fixture
def put_env() -> Iterator[None]:
    with with_env(S3_PUT_ENV):
        yield


def ask(body: object) -> tuple[int, dict[str, Any], str]:
    raw = json.dumps(body)
    response = API.post("/upload-tickets", headers=JSON, body=raw)
    return response.status_code, json.loads(response.body), response.body.decode()


def test_a_put_ticket_over_http(put_env: None) -> None:
    body = {"filename": "cat.png", "content_type": "image/png", "size": 68, "content_md5": MD5}
    status, answer, _ = ask(body)
    assert status == 200
    assert answer["method"] == "PUT"
    assert "fields" not in answer
    assert answer["headers"]["Content-MD5"] == MD5
    assert answer["max_size"] == 68


def test_a_put_ticket_without_size_is_invalid_size(put_env: None) -> None:
    status, answer, _ = ask({"filename": "cat.png", "content_type": "image/png"})
    assert (status, answer["error"]["code"]) == (400, "InvalidSize")
    assert "size" in answer["message"]


def test_uppy_params_give_a_put_ticket_with_metadata_size(put_env: None) -> None:
    query = urlencode({"filename": "cat.png", "type": "image/png", "metadata[size]": "68"})
    response = API.get(f"/s3/params?{query}")
    answer = json.loads(response.body)
    assert response.status_code == 200
    assert answer["method"] == "PUT"
    assert answer["headers"]["Content-Type"] == "image/png"


def test_oss_with_put_is_not_configured_naming_the_variable() -> None:
    with with_env({**OSS_ENV, "UPLOAD_METHOD": "put"}):
        status, answer, _ = ask({"filename": "cat.png", "content_type": "image/png", "size": 5})
        assert (status, answer["error"]["code"]) == (503, "NotConfigured")
        assert "UPLOAD_METHOD" in answer["message"]


md5_values = st.one_of(
    st.text(max_size=30),
    st.binary(min_size=14, max_size=18).map(lambda raw: base64.b64encode(raw).decode()),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content_md5=md5_values,
    size=st.one_of(st.integers(), st.none(), st.text(max_size=5)),
    method=st.sampled_from(["put", "post"]),
)
def test_any_digest_and_size_get_a_ticket_or_a_documented_refusal(
    content_md5: object, size: object, method: str
) -> None:
    body: dict[str, object] = {"filename": "cat.png", "content_type": "image/png"}
    body["content_md5"] = content_md5
    if size is not None:
        body["size"] = size
    with with_env({**S3_PUT_ENV, "UPLOAD_METHOD": method}):
        status, answer, text = ask(body)
    assert S3_SECRET not in text
    if status == 200:
        assert answer["method"] == method.upper()
        return
    assert (status, answer["error"]["code"]) in DOCUMENTED_REFUSALS
    assert list(answer) == ["error", "message"]
    assert "Signature" not in text
