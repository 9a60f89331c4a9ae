"""The dev bucket's signed REST API: ``DELETE {endpoint}/{key}``, verified by
:mod:`devbucket.signatures` as OSS and AWS document header signatures.

Requests are signed by the providers' own signers (``alibabacloud-oss-v2``
for OSS V4, botocore for SigV4), never by the code under test, so a request
the dev bucket accepts is one the SDKs and the dev bucket agree on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.credentials import Credentials
from conformance import references
from devbucket import config, oss, s3, signatures
from devbucket.bucket import Bucket
from devbucket.config import (
    DEV_ACCESS_KEY_ID,
    DEV_ACCESS_KEY_SECRET,
    DEV_BUCKET,
    DEV_BUCKETS,
    DEV_REGION,
    DEV_S3_ACCESS_KEY_ID,
    DEV_S3_REGION,
    DEV_S3_SECRET_ACCESS_KEY,
)
from devbucket.errors import ServiceError
from tests.support.devbucket import (
    PNG,
    RunningBucket,
    issue_ticket,
    start_bucket,
    upload,
)
from tests.support.forms import refused

PROVIDERS = tuple(config.PROVIDERS)
DEV_KEYS = {
    "oss": Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET),
    "s3": Credentials(DEV_S3_ACCESS_KEY_ID, DEV_S3_SECRET_ACCESS_KEY),
}
MALFORMED = {"oss": "InvalidArgument", "s3": "AuthorizationHeaderMalformed"}


def signed_headers(
    provider: str,
    endpoint: str,
    key: str,
    credentials: Credentials | None = None,
    region: str | None = None,
) -> dict[str, str]:
    """The reference signer's headers for ``DELETE {endpoint}/{key}``."""
    credentials = credentials or DEV_KEYS[provider]
    url = references.object_url(endpoint, key)
    if provider == "oss":
        return references.oss_headers(
            "DELETE", url, DEV_BUCKET, region or DEV_REGION, key, credentials
        )
    return references.s3_headers("DELETE", url, region or DEV_S3_REGION, credentials)


def delete(endpoint: str, key: str, headers: dict[str, str]) -> requests.Response:
    return references.send("DELETE", references.object_url(endpoint, key), headers)


@pytest.fixture(params=PROVIDERS)
def running(request: Any, tmp_path: Path) -> Iterator[RunningBucket]:
    bucket = start_bucket(tmp_path / request.param, provider=request.param)
    yield bucket
    bucket.stop()


def provider_of(bucket: RunningBucket) -> str:
    return bucket.server.config.provider


def stored_object(bucket: RunningBucket, filename: str = "cat.png") -> str:
    ticket = issue_ticket(bucket.env(), filename, "image/png", len(PNG))
    assert upload(ticket).status_code == 201
    return str(ticket["key"])


def leftovers(bucket: RunningBucket) -> list[Path]:
    return list((bucket.root / "objects").rglob("*"))


@pytest.mark.parametrize("filename", ["cat.png", "résumé 2026 (final).png", "a+b=c&d;e@f.png"])
def test_a_delete_signed_by_the_providers_signer_removes_the_object(
    running: RunningBucket, filename: str
) -> None:
    provider = provider_of(running)
    key = stored_object(running, filename)
    response = delete(running.url, key, signed_headers(provider, running.url, key))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert running.server.store.get(key) is None
    assert leftovers(running) == []  # its folders went with it
    again = delete(running.url, key, signed_headers(provider, running.url, key))
    assert again.status_code == 204  # both services answer 204 for a key that is not there


Tamper = Callable[[dict[str, str], str], dict[str, str]]


def flip_signature(headers: dict[str, str], provider: str) -> dict[str, str]:
    value = headers["Authorization"]
    last = "0" if value[-1] != "0" else "1"
    return {**headers, "Authorization": value[:-1] + last}


def drop_authorization(headers: dict[str, str], provider: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "Authorization"}


def change_date(headers: dict[str, str], provider: str) -> dict[str, str]:
    name = "x-oss-date" if provider == "oss" else "X-Amz-Date"
    stamp = headers[name]  # YYYYMMDDTHHMMSSZ: another second
    return {**headers, name: stamp[:13] + ("00" if stamp[13:15] != "00" else "01") + "Z"}


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        (flip_signature, 403, "SignatureDoesNotMatch"),
        (change_date, 403, "SignatureDoesNotMatch"),
        (drop_authorization, 403, "AccessDenied"),
    ],
)
def test_a_tampered_delete_is_refused_and_the_object_stays(
    running: RunningBucket, tamper: Tamper, status: int, code: str
) -> None:
    provider = provider_of(running)
    key = stored_object(running)
    headers = tamper(signed_headers(provider, running.url, key), provider)
    refused(delete(running.url, key, headers), status, code)
    assert running.server.store.get(key) is not None


def test_a_signature_for_one_key_does_not_delete_another(running: RunningBucket) -> None:
    provider = provider_of(running)
    key = stored_object(running)
    other = stored_object(running, "dog.png")
    headers = signed_headers(provider, running.url, other)
    refused(delete(running.url, key, headers), 403, "SignatureDoesNotMatch")
    assert running.server.store.get(key) is not None


def test_a_key_the_bucket_does_not_trust_is_refused(running: RunningBucket) -> None:
    provider = provider_of(running)
    key = stored_object(running)
    stranger = Credentials("LTAIsomeoneelse00000", "not-the-secret")
    headers = signed_headers(provider, running.url, key, stranger)
    refused(delete(running.url, key, headers), 403, "InvalidAccessKeyId")


def test_a_delete_signed_for_another_region_is_refused(running: RunningBucket) -> None:
    provider = provider_of(running)
    key = stored_object(running)
    headers = signed_headers(provider, running.url, key, region="eu-central-1")
    message = refused(delete(running.url, key, headers), 400, MALFORMED[provider])
    assert "region" in message


def test_a_delete_signed_more_than_15_minutes_away_is_refused(running: RunningBucket) -> None:
    provider = provider_of(running)
    key = stored_object(running)
    headers = signed_headers(provider, running.url, key)
    running.clock.advance(16 * 60)
    refused(delete(running.url, key, headers), 403, "RequestTimeTooSkewed")


def test_deleting_the_bucket_itself_is_not_allowed(running: RunningBucket) -> None:
    refused(requests.delete(running.url + "/", timeout=5), 405, "MethodNotAllowed")


def test_an_s3_delete_without_a_declared_payload_hash_is_signed_over_its_body(
    tmp_path: Path,
) -> None:
    """botocore's plain ``SigV4Auth`` sends no ``x-amz-content-sha256``: the
    canonical request then carries the body's hash."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as AwsCredentials

    bucket = start_bucket(tmp_path / "s3", provider="s3")
    try:
        key = stored_object(bucket)
        request = AWSRequest(method="DELETE", url=references.object_url(bucket.url, key))
        SigV4Auth(
            AwsCredentials(DEV_S3_ACCESS_KEY_ID, DEV_S3_SECRET_ACCESS_KEY), "s3", DEV_S3_REGION
        ).add_auth(request)
        headers = dict(request.headers.items())
        assert "X-Amz-Content-SHA256" not in headers
        assert delete(bucket.url, key, headers).status_code == 204
        wrong = signed_headers("s3", bucket.url, key)
        wrong["X-Amz-Content-SHA256"] = hashlib.sha256(b"a body").hexdigest()
        refused(delete(bucket.url, key, wrong), 400, "XAmzContentSHA256Mismatch")
    finally:
        bucket.stop()


# -- the verifier on its own, against the SDKs, for any key -------------------

ENDPOINT = "http://127.0.0.1:9000"
SCHEMES = {"oss": oss.REST, "s3": s3.REST}


def as_received(url: str, headers: dict[str, str]) -> signatures.Request:
    """The request as the dev bucket's server hands it to the verifier."""
    split = urlsplit(url)
    received = {name.lower(): value for name, value in headers.items()}
    received.setdefault("host", split.netloc)
    return signatures.Request(
        "DELETE", split.path, split.query, received, hashlib.sha256(b"").hexdigest()
    )


keys = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda key: not key.startswith("/")
)


@settings(max_examples=60, deadline=None)
@given(key=keys, provider=st.sampled_from(PROVIDERS))
def test_any_key_signed_by_the_sdks_verifies_and_no_other_does(key: str, provider: str) -> None:
    from datetime import datetime, timezone

    bucket: Bucket = DEV_BUCKETS[provider]
    headers = signed_headers(provider, ENDPOINT, key)
    url = references.object_url(ENDPOINT, key)
    now = datetime.now(timezone.utc)
    assert signatures.verify_request(SCHEMES[provider], as_received(url, headers), bucket, now)
    other = references.object_url(ENDPOINT, key + "x")
    with pytest.raises(ServiceError) as refusal:
        signatures.verify_request(SCHEMES[provider], as_received(other, headers), bucket, now)
    assert refusal.value.code == "SignatureDoesNotMatch"


# -- GetObject: signed reads and ranges ---------------------------------------------


def signed_get(
    running: RunningBucket, key: str, range_header: str | None, tamper: bool = False
) -> requests.Response:
    """GetObject signed by the provider's own SDK signer, with ``Range`` beside it."""
    provider = provider_of(running)
    url = references.object_url(running.url, key)
    credentials = DEV_KEYS[provider]
    headers = (
        references.oss_headers("GET", url, DEV_BUCKET, DEV_REGION, key, credentials)
        if provider == "oss"
        else references.s3_headers("GET", url, DEV_S3_REGION, credentials)
    )
    if tamper:
        headers = flip_signature(headers, provider)
    if range_header is not None:
        headers["Range"] = range_header
    return references.send("GET", url, headers)


def test_a_signed_ranged_get_answers_206_with_content_range(running: RunningBucket) -> None:
    key = stored_object(running)
    response = signed_get(running, key, "bytes=0-7")
    assert response.status_code == 206, response.text
    assert response.content == PNG[:8]
    assert response.headers["Content-Range"] == f"bytes 0-7/{len(PNG)}"
    assert response.headers["Content-Length"] == "8"


def test_a_tampered_signed_get_is_refused(running: RunningBucket) -> None:
    key = stored_object(running)
    refused(signed_get(running, key, "bytes=0-7", tamper=True), 403, "SignatureDoesNotMatch")


def test_a_range_past_the_end_is_served_as_each_service_documents(
    running: RunningBucket,
) -> None:
    """OSS ignores a range that does not fit (200, the whole object); S3 clips
    its end (206) and answers a start past the end 416 InvalidRange."""
    key = stored_object(running)
    past_end = signed_get(running, key, "bytes=0-8191")
    past_start = signed_get(running, key, f"bytes={len(PNG)}-8191")
    if provider_of(running) == "oss":
        assert (past_end.status_code, past_end.content) == (200, PNG)
        assert (past_start.status_code, past_start.content) == (200, PNG)
        standard = references.send(
            "GET",
            references.object_url(running.url, key),
            {"Range": "bytes=0-8191", "x-oss-range-behavior": "standard"},
        )
        assert standard.status_code == 206
        assert standard.headers["Content-Range"] == f"bytes 0-{len(PNG) - 1}/{len(PNG)}"
    else:
        assert (past_end.status_code, past_end.content) == (206, PNG)
        assert past_end.headers["Content-Range"] == f"bytes 0-{len(PNG) - 1}/{len(PNG)}"
        refused(past_start, 416, "InvalidRange")


@pytest.mark.parametrize("header", ["bytes=0-1,4-5", "items=0-1", "bytes=5-2", "bytes=x-"])
def test_a_range_the_bucket_cannot_read_is_ignored(running: RunningBucket, header: str) -> None:
    key = stored_object(running)
    response = requests.get(f"{running.url}/{key}", headers={"Range": header}, timeout=5)
    assert (response.status_code, response.content) == (200, PNG)
