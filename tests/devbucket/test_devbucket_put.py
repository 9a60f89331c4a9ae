"""The dev bucket's PutObject (``PUT /<key>``) with presigned URLs, as S3
documents it, and the ``Content-MD5`` form field of S3's POST Object.

URLs come from botocore's ``S3SigV4QueryAuth`` (independent of the dev
bucket and of ``chalicelib``) and from signpost's own PUT tickets; what a
user would see is asserted: the status, S3's error code, and what is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from chalicelib.handlers import upload_ticket
from conformance.references import object_url
from devbucket.config import DEV_S3_ACCESS_KEY_ID, DEV_S3_REGION, DEV_S3_SECRET_ACCESS_KEY
from tests.support.devbucket import PNG, RunningBucket, oss_error, post_form, start_bucket

KEY = "uploads/5d1e5d1e/cat.png"
TIMEOUT = 10


def md5_of(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content).digest()).decode()


@pytest.fixture
def s3_bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    running = start_bucket(tmp_path / "s3", provider="s3")
    yield running
    running.stop()


def botocore_url(endpoint: str, key: str, headers: Mapping[str, str], expires: int = 600) -> str:
    """botocore's presigned PUT for ``key`` with ``headers`` signed."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="PUT", url=object_url(endpoint, key), headers=dict(headers))
    credentials = Credentials(DEV_S3_ACCESS_KEY_ID, DEV_S3_SECRET_ACCESS_KEY)
    S3SigV4QueryAuth(credentials, "s3", DEV_S3_REGION, expires=expires).add_auth(request)
    return str(request.url)


def signed_headers(content: bytes = PNG, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "image/png",
        "Content-Disposition": 'attachment; filename="cat.png"',
        "If-None-Match": "*",
        "Content-Length": str(len(content)),
        **extra,
    }


def put(url: str, headers: Mapping[str, str], content: bytes = PNG) -> requests.Response:
    sent = {name: value for name, value in headers.items() if name != "Content-Length"}
    return requests.put(url, data=content, headers=sent, timeout=TIMEOUT)


def refused(bucket: RunningBucket, response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    got, message = oss_error(response)
    assert got == code, message
    return message


def test_a_presigned_put_stores_the_bytes_with_its_headers(s3_bucket: RunningBucket) -> None:
    headers = signed_headers(**{"Content-MD5": md5_of(PNG)})
    response = put(botocore_url(s3_bucket.url, KEY, headers), headers)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{hashlib.md5(PNG).hexdigest()}"'
    assert s3_bucket.stored(KEY) == PNG
    served = requests.get(object_url(s3_bucket.url, KEY), timeout=TIMEOUT)
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == 'attachment; filename="cat.png"'


@pytest.mark.parametrize(
    ("change", "content"),
    [
        ({"Content-Type": "text/html"}, PNG),
        ({"Content-Disposition": "inline"}, PNG),
        ({}, PNG + b"\0"),  # a byte more: another Content-Length than the signed one
        ({}, PNG[:-1]),
        ({"Content-MD5": md5_of(b"other")}, PNG),
    ],
)
def test_a_header_other_than_signed_fails_the_signature(
    s3_bucket: RunningBucket, change: dict[str, str], content: bytes
) -> None:
    headers = signed_headers(**{"Content-MD5": md5_of(PNG)})
    url = botocore_url(s3_bucket.url, KEY, headers)
    response = put(url, {**headers, **change}, content)
    refused(s3_bucket, response, 403, "SignatureDoesNotMatch")
    assert s3_bucket.server.store.get(KEY) is None


def test_a_dropped_signed_header_is_refused(s3_bucket: RunningBucket) -> None:
    headers = signed_headers()
    url = botocore_url(s3_bucket.url, KEY, headers)
    dropped = {name: value for name, value in headers.items() if name != "If-None-Match"}
    response = put(url, dropped)
    assert response.status_code in (400, 403), response.text
    assert s3_bucket.server.store.get(KEY) is None


def test_a_digest_of_other_bytes_is_bad_digest(s3_bucket: RunningBucket) -> None:
    headers = signed_headers(**{"Content-MD5": md5_of(b"other")})
    response = put(botocore_url(s3_bucket.url, KEY, headers), headers)
    refused(s3_bucket, response, 400, "BadDigest")
    assert s3_bucket.server.store.get(KEY) is None


@pytest.mark.parametrize("digest", ["not-a-digest", md5_of(b"x")[:-4], "A" * 32])
def test_a_malformed_digest_is_invalid_digest(s3_bucket: RunningBucket, digest: str) -> None:
    headers = signed_headers(**{"Content-MD5": digest})
    response = put(botocore_url(s3_bucket.url, KEY, headers), headers)
    refused(s3_bucket, response, 400, "InvalidDigest")


def test_if_none_match_keeps_the_first_object(s3_bucket: RunningBucket) -> None:
    headers = signed_headers()
    url = botocore_url(s3_bucket.url, KEY, headers)
    assert put(url, headers).status_code == 200
    other = bytes(reversed(PNG))
    refused(s3_bucket, put(url, headers, other), 412, "PreconditionFailed")
    assert s3_bucket.stored(KEY) == PNG


def test_without_if_none_match_the_last_write_wins(s3_bucket: RunningBucket) -> None:
    headers = {"Content-Type": "image/png", "Content-Length": str(len(PNG))}
    url = botocore_url(s3_bucket.url, KEY, headers)
    assert put(url, headers).status_code == 200
    assert put(url, headers, bytes(reversed(PNG))).status_code == 200
    assert s3_bucket.stored(KEY) == bytes(reversed(PNG))


def test_an_unsigned_amz_header_is_refused(s3_bucket: RunningBucket) -> None:
    headers = signed_headers()
    url = botocore_url(s3_bucket.url, KEY, headers)
    response = put(url, {**headers, "x-amz-acl": "public-read"})
    message = refused(s3_bucket, response, 403, "AccessDenied")
    assert "not signed" in message
    assert s3_bucket.server.store.get(KEY) is None


def test_a_signed_amz_header_goes_through(s3_bucket: RunningBucket) -> None:
    headers = signed_headers(**{"x-amz-meta-note": "kept"})
    response = put(botocore_url(s3_bucket.url, KEY, headers), headers)
    assert response.status_code == 200, response.text


def test_an_expired_url_is_refused(s3_bucket: RunningBucket) -> None:
    headers = signed_headers()
    url = botocore_url(s3_bucket.url, KEY, headers, expires=60)
    s3_bucket.clock.advance(61)
    refused(s3_bucket, put(url, headers), 403, "AccessDenied")


def test_a_url_for_one_key_writes_no_other(s3_bucket: RunningBucket) -> None:
    headers = signed_headers()
    split = urlsplit(botocore_url(s3_bucket.url, KEY, headers))
    moved = urlunsplit(split._replace(path=split.path.replace("cat.png", "dog.png")))
    refused(s3_bucket, put(moved, headers), 403, "SignatureDoesNotMatch")
    assert s3_bucket.server.store.get(KEY.replace("cat", "dog")) is None


def test_an_oss_bucket_does_not_model_put_object(tmp_path: Path) -> None:
    running = start_bucket(tmp_path / "oss", provider="oss")
    try:
        response = requests.put(object_url(running.url, KEY), data=PNG, timeout=TIMEOUT)
        assert response.status_code in (403, 405)
        assert running.server.store.get(KEY) is None
    finally:
        running.stop()


# -- signpost's PUT tickets against the dev bucket ------------------------------


def put_ticket(bucket: RunningBucket, content: bytes = PNG, **body: Any) -> dict[str, Any]:
    request = {"filename": "cat.png", "content_type": "image/png", "size": len(content), **body}
    return upload_ticket(json.dumps(request), bucket.env(UPLOAD_METHOD="put"))


def test_a_put_ticket_uploads_as_issued(s3_bucket: RunningBucket) -> None:
    ticket = put_ticket(s3_bucket, content_md5=md5_of(PNG))
    response = put(ticket["url"], ticket["headers"])
    assert response.status_code == 200, response.text
    assert s3_bucket.stored(ticket["key"]) == PNG


def test_a_put_ticket_with_another_files_digest_is_bad_digest(s3_bucket: RunningBucket) -> None:
    ticket = put_ticket(s3_bucket, content_md5=md5_of(b"other"))
    refused(s3_bucket, put(ticket["url"], ticket["headers"]), 400, "BadDigest")


# -- the Content-MD5 form field of POST Object ----------------------------------


def s3_form_ticket(bucket: RunningBucket, md5: str) -> dict[str, Any]:
    body = {"filename": "cat.png", "content_type": "image/png", "size": len(PNG)}
    return upload_ticket(json.dumps({**body, "content_md5": md5}), bucket.env())


def test_a_form_with_the_right_content_md5_is_stored(s3_bucket: RunningBucket) -> None:
    ticket = s3_form_ticket(s3_bucket, md5_of(PNG))
    response = post_form(ticket["url"], ticket["fields"], PNG, file_type="image/png")
    assert response.status_code == 201, response.text
    assert s3_bucket.stored(ticket["key"]) == PNG


def test_a_form_with_another_files_content_md5_is_bad_digest(s3_bucket: RunningBucket) -> None:
    ticket = s3_form_ticket(s3_bucket, md5_of(b"other"))
    response = post_form(ticket["url"], ticket["fields"], PNG, file_type="image/png")
    refused(s3_bucket, response, 400, "BadDigest")
    assert s3_bucket.server.store.get(ticket["key"]) is None
