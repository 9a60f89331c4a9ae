"""Multipart uploads to the dev bucket, made by the providers' own SDKs.

``alibabacloud-oss-v2`` (OSS) and botocore (S3) initiate, sign every part
URL, list, complete and abort (:mod:`tests.support.storage_sdks`); the dev bucket
checks them with code of its own. What it stores is compared byte for byte;
what it refuses is refused with the service's code.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from devbucket import oss, s3
from devbucket.config import PROVIDERS
from tests.support.devbucket import RunningBucket, oss_error, start_bucket
from tests.support.forms import refused
from tests.support.storage_sdks import Oracle, Refused, multipart_etag, oracle_for, oss_sign

MiB = 1024 * 1024
ORIGIN = "http://app.example"
MIN_PART = {"oss": oss.MIN_PART_SIZE, "s3": s3.MIN_PART_SIZE}
EXPIRED = {"oss": "Request has expired.", "s3": "Request has expired"}
SIGNATURE_FIELD = {"oss": "x-oss-signature", "s3": "X-Amz-Signature"}


@pytest.fixture(params=tuple(PROVIDERS))
def running(request: Any, tmp_path: Path) -> Iterator[RunningBucket]:
    bucket = start_bucket(tmp_path / request.param, frozenset({ORIGIN}), provider=request.param)
    yield bucket
    bucket.stop()


@pytest.fixture
def sdk(running: RunningBucket) -> Oracle:
    return oracle_for(running)


@pytest.fixture
def s3_bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    """An S3 dev bucket, for S3's own headers."""
    bucket = start_bucket(tmp_path / "s3", provider="s3")
    yield bucket
    bucket.stop()


def provider_of(bucket: RunningBucket) -> str:
    return bucket.server.config.provider


def key_for(name: str) -> str:
    return f"uploads/9f0c0123456789abcdef0123456789ab/{name}"


def upload_parts(
    sdk: Oracle, key: str, upload_id: str, chunks: list[bytes]
) -> list[tuple[int, str]]:
    """Each chunk through its own presigned URL; ``(number, ETag)`` as answered."""
    parts = []
    for number, chunk in enumerate(chunks, 1):
        response = sdk.put_part(sdk.part_url(key, upload_id, number), chunk)
        assert response.status_code == 200, response.text
        parts.append((number, response.headers["ETag"]))
    return parts


def leftovers(bucket: RunningBucket) -> list[Path]:
    """Anything under the bucket's folder but stored objects and their metadata."""
    return [path for folder in ("uploads", "tmp") for path in (bucket.root / folder).rglob("*")]


def settled(bucket: RunningBucket) -> list[Path]:
    """:func:`leftovers`, once a request the client gave up on has been cleaned up."""
    for _ in range(50):
        found = leftovers(bucket)
        if not found:
            return found
        time.sleep(0.02)
    return leftovers(bucket)


def with_query(url: str, **changes: str) -> str:
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(split._replace(query=urlencode(query)))


# -- a whole upload ------------------------------------------------------------


def test_25_mib_in_5_mib_parts_is_stored_byte_equal(running: RunningBucket, sdk: Oracle) -> None:
    key = key_for("big video ü+1.mp4")
    data = os.urandom(25 * MiB)
    chunks = [data[start : start + 5 * MiB] for start in range(0, len(data), 5 * MiB)]
    upload_id = sdk.initiate(key, "video/mp4", 'attachment; filename="big video.mp4"')
    parts = upload_parts(sdk, key, upload_id, chunks)
    assert [etag for _, etag in parts] == [
        sdk_etag(running, hashlib.md5(chunk).hexdigest()) for chunk in chunks
    ]
    listed = sdk.list_parts(key, upload_id)
    assert [(p.number, p.etag, p.size) for p in listed.parts] == [
        (n, etag, 5 * MiB) for n, etag in parts
    ]
    assert not listed.truncated

    result = sdk.complete(key, upload_id, parts)

    assert result["etag"] == sdk_etag(running, multipart_etag(chunks))
    assert urlsplit(result["location"]).path.endswith("/big%20video%20%C3%BC%2B1.mp4")
    assert running.stored(key) == data
    served = requests.get(f"{running.url}/{urlsplit(result['location']).path[1:]}", timeout=10)
    assert served.content == data
    assert served.headers["Content-Type"] == "video/mp4"
    assert served.headers["Content-Disposition"] == 'attachment; filename="big video.mp4"'
    assert leftovers(running) == []  # no part file stays behind
    with pytest.raises(Refused) as after:
        sdk.list_parts(key, upload_id)
    assert (after.value.status, after.value.code) == (404, "NoSuchUpload")


def sdk_etag(bucket: RunningBucket, digest: str) -> str:
    """An ETag as the provider writes it: OSS upper-case, S3 lower-case, quoted."""
    return f'"{digest.upper() if provider_of(bucket) == "oss" else digest}"'


def test_an_upload_id_that_needs_percent_encoding_goes_through_every_call(
    tmp_path: Path,
) -> None:
    for provider in PROVIDERS:
        bucket = start_bucket(
            tmp_path / provider, provider=provider, upload_ids=lambda: "VXBs+b2Fk/SUQ=="
        )
        try:
            sdk = oracle_for(bucket)
            key = key_for("a&b=c.bin")
            upload_id = sdk.initiate(key, "application/octet-stream")
            assert upload_id == "VXBs+b2Fk/SUQ=="
            url = sdk.part_url(key, upload_id, 1)
            assert "VXBs%2Bb2Fk%2FSUQ%3D%3D" in url
            parts = upload_parts(sdk, key, upload_id, [b"only part"])
            assert sdk.list_parts(key, upload_id).parts[0].size == len(b"only part")
            sdk.complete(key, upload_id, parts)
            assert bucket.stored(key) == b"only part"
        finally:
            bucket.stop()


def test_list_parts_pages_with_max_parts_and_the_marker(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("paged.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [b"1", b"22", b"333"])
    first = sdk.list_parts(key, upload_id, max_parts=2)
    assert [p.number for p in first.parts] == [1, 2]
    assert first.truncated
    assert first.next_marker == 2
    rest = sdk.list_parts(key, upload_id, max_parts=2, marker=first.next_marker)
    assert [(p.number, p.etag, p.size) for p in rest.parts] == [(3, parts[2][1], 3)]
    assert not rest.truncated


def test_a_part_sent_again_replaces_the_first(running: RunningBucket, sdk: Oracle) -> None:
    key = key_for("again.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    upload_parts(sdk, key, upload_id, [b"first try"])
    parts = upload_parts(sdk, key, upload_id, [b"second"])
    assert [p.size for p in sdk.list_parts(key, upload_id).parts] == [6]
    sdk.complete(key, upload_id, parts)
    assert running.stored(key) == b"second"


# -- part URLs: tampered, expired, for another key or number -------------------


def flip_last(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def test_a_tampered_part_url_is_refused_and_nothing_is_stored(
    running: RunningBucket, sdk: Oracle
) -> None:
    provider = provider_of(running)
    key = key_for("cat.png")
    upload_id = sdk.initiate(key, "image/png")
    url = sdk.part_url(key, upload_id, 1)
    signature = dict(parse_qsl(urlsplit(url).query))[SIGNATURE_FIELD[provider]]
    tampered = {
        "signature": with_query(url, **{SIGNATURE_FIELD[provider]: flip_last(signature)}),
        "part number": with_query(url, partNumber="2"),
        "another key": url.replace("/cat.png?", "/dog.png?"),
    }
    for name, bad in tampered.items():
        response = sdk.put_part(bad, b"x" * 1000)
        assert response.status_code == 403, name
        assert oss_error(response)[0] == "SignatureDoesNotMatch", name
    assert sdk.list_parts(key, upload_id).parts == []
    assert running.server.store.get(key_for("dog.png")) is None


def test_an_expired_part_url_is_refused_in_the_services_words(
    running: RunningBucket, sdk: Oracle
) -> None:
    provider = provider_of(running)
    key = key_for("late.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    url = sdk.part_url(key, upload_id, 1, expires=60)
    running.clock.advance(30)
    assert sdk.put_part(url, b"in time").status_code == 200
    running.clock.advance(31)
    response = sdk.put_part(url, b"too late")
    message = refused(response, 403, "AccessDenied")
    assert message == EXPIRED[provider]
    document = ElementTree.fromstring(response.content)
    assert document.findtext("Expires")
    assert document.findtext("ServerTime")
    if provider == "s3":
        assert document.findtext("X-Amz-Expires") == "60"
    assert [p.size for p in sdk.list_parts(key, upload_id).parts] == [len(b"in time")]


def test_a_part_url_for_more_than_seven_days_is_malformed(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("week.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    url = sdk.part_url(key, upload_id, 1)
    expires = "x-oss-expires" if provider_of(running) == "oss" else "X-Amz-Expires"
    response = sdk.put_part(with_query(url, **{expires: "604801"}), b"x")
    code = (
        "InvalidArgument" if provider_of(running) == "oss" else "AuthorizationQueryParametersError"
    )
    refused(response, 400, code)


@pytest.mark.parametrize("number", [0, 10001])
def test_a_part_number_out_of_range_is_invalid(
    running: RunningBucket, sdk: Oracle, number: int
) -> None:
    key = key_for("range.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    response = sdk.put_part(sdk.part_url(key, upload_id, number), b"x")
    message = refused(response, 400, "InvalidArgument")
    assert "between 1 and 10000" in message
    assert sdk.put_part(sdk.part_url(key, upload_id, 10000), b"x").status_code == 200


def test_a_part_for_an_unknown_upload_is_no_such_upload(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("ghost.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    other = key_for("other.bin")  # a signed URL naming the upload with another key
    refused(sdk.put_part(sdk.part_url(other, upload_id, 1), b"x"), 404, "NoSuchUpload")
    refused(sdk.put_part(sdk.part_url(key, "0" * 32, 1), b"x"), 404, "NoSuchUpload")


# -- resume, abort -------------------------------------------------------------


def send_half_a_part(bucket: RunningBucket, url: str, declared: int) -> None:
    """A PUT that promises ``declared`` bytes, sends half and hangs up: a
    connection lost mid-part."""
    split = urlsplit(url)
    head = (
        f"PUT {split.path}?{split.query} HTTP/1.1\r\nHost: {split.netloc}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    port = int(bucket.server.server_address[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head + b"h" * (declared // 2))
        connection.shutdown(socket.SHUT_WR)
        connection.recv(65536)  # the bucket's answer, if any, then it closes


def test_resume_after_a_failed_part_lists_the_parts_then_continues(
    running: RunningBucket, sdk: Oracle
) -> None:
    size = MIN_PART[provider_of(running)]
    chunks = [os.urandom(size), os.urandom(size), b"the end"]
    key = key_for("resumed.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    first = upload_parts(sdk, key, upload_id, chunks[:1])
    send_half_a_part(running, sdk.part_url(key, upload_id, 2), len(chunks[1]))

    listed = sdk.list_parts(key, upload_id)  # what a client resuming asks first
    assert [(p.number, p.etag, p.size) for p in listed.parts] == [(1, first[0][1], size)]
    rest = [
        (number, sdk.put_part(sdk.part_url(key, upload_id, number), chunk).headers["ETag"])
        for number, chunk in ((2, chunks[1]), (3, chunks[2]))
    ]
    sdk.complete(key, upload_id, [(p.number, p.etag) for p in listed.parts] + rest)
    assert running.stored(key) == b"".join(chunks)
    assert settled(running) == []


def test_abort_leaves_nothing_and_later_calls_find_no_upload(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("aborted.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [os.urandom(1000), b"last"])
    assert leftovers(running)  # the parts are on disk, under the bucket's folder
    sdk.abort(key, upload_id)
    assert leftovers(running) == []
    assert running.server.store.get(key) is None
    for call in (
        lambda: sdk.list_parts(key, upload_id),
        lambda: sdk.complete(key, upload_id, parts),
        lambda: sdk.abort(key, upload_id),
    ):
        with pytest.raises(Refused) as refusal:
            call()
        assert (refusal.value.status, refusal.value.code) == (404, "NoSuchUpload")
    refused(sdk.put_part(sdk.part_url(key, upload_id, 3), b"late"), 404, "NoSuchUpload")
    assert leftovers(running) == []


# -- completion's checks ---------------------------------------------------------


def completion_refused(
    sdk: Oracle, key: str, upload_id: str, parts: Any, **options: Any
) -> Refused:
    with pytest.raises(Refused) as refusal:
        sdk.complete(key, upload_id, parts, **options)
    return refusal.value


def test_a_part_under_the_minimum_is_too_small_but_for_the_last(
    running: RunningBucket, sdk: Oracle
) -> None:
    minimum = MIN_PART[provider_of(running)]
    key = key_for("small.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    small = upload_parts(sdk, key, upload_id, [b"s" * (minimum - 1), b"tail"])
    refusal = completion_refused(sdk, key, upload_id, small)
    assert (refusal.status, refusal.code) == (400, "EntityTooSmall")
    assert running.server.store.get(key) is None
    exact = upload_parts(sdk, key, upload_id, [b"e" * minimum, b"tail"])  # replaces both
    sdk.complete(key, upload_id, exact)
    assert running.stored(key) == b"e" * minimum + b"tail"


def test_a_wrong_etag_or_a_missing_part_is_an_invalid_part(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("etags.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [b"only"])
    wrong = [(1, '"' + "0" * 32 + '"')]
    missing = [*parts, (2, parts[0][1])]
    for bad in (wrong, missing):
        refusal = completion_refused(sdk, key, upload_id, bad)
        assert (refusal.status, refusal.code) == (400, "InvalidPart")
    assert running.server.store.get(key) is None
    sdk.complete(key, upload_id, [(1, parts[0][1].strip('"'))])  # quotes are optional
    assert running.stored(key) == b"only"


def test_parts_out_of_order_are_refused(running: RunningBucket, sdk: Oracle) -> None:
    minimum = MIN_PART[provider_of(running)]
    key = key_for("order.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [b"a" * minimum, b"b" * minimum])
    refusal = completion_refused(sdk, key, upload_id, parts[::-1])
    assert (refusal.status, refusal.code) == (400, "InvalidPartOrder")


def test_a_repeated_part_number_in_ascending_order_is_taken_once(
    running: RunningBucket, sdk: Oracle
) -> None:
    """Both services document only "ascending" order: a number repeated
    (1, 1, 2) is not refused, and names its part once (the permissive reading)."""
    minimum = MIN_PART[provider_of(running)]
    key = key_for("twice.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [b"a" * minimum, b"tail"])
    sdk.complete(key, upload_id, [parts[0], *parts])
    assert running.stored(key) == b"a" * minimum + b"tail"


def test_oss_refuses_to_start_an_upload_that_could_not_complete(tmp_path: Path) -> None:
    """OSS: ``x-oss-forbid-overwrite: true`` at InitiateMultipartUpload and
    the key taken: ``409 FileAlreadyExists`` already there."""
    bucket = start_bucket(tmp_path / "oss", provider="oss")
    try:
        sdk = oracle_for(bucket)  # its initiation always sends forbid-overwrite: true
        key = key_for("taken-at-start.bin")
        first = sdk.initiate(key, "application/octet-stream")
        sdk.complete(key, first, upload_parts(sdk, key, first, [b"first"]))
        with pytest.raises(Refused) as refusal:
            sdk.initiate(key, "application/octet-stream")
        assert (refusal.value.status, refusal.value.code) == (409, "FileAlreadyExists")
        assert bucket.stored(key) == b"first"
    finally:
        bucket.stop()


def test_completion_honours_the_providers_no_overwrite_condition(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("taken.bin")
    first = sdk.initiate(key, "application/octet-stream")
    second = sdk.initiate(key, "application/octet-stream")  # before the key is taken
    sdk.complete(key, first, upload_parts(sdk, key, first, [b"first"]))
    parts = upload_parts(sdk, key, second, [b"second"])
    refusal = completion_refused(sdk, key, second, parts, forbid_overwrite=True)
    expected = (
        (409, "FileAlreadyExists") if provider_of(running) == "oss" else (412, "PreconditionFailed")
    )
    assert (refusal.status, refusal.code) == expected
    assert running.stored(key) == b"first"
    sdk.complete(key, second, parts)  # without the condition (only at initiation), replaced
    assert running.stored(key) == b"second"


def test_s3_completion_with_a_stated_size_must_match_the_parts(s3_bucket: RunningBucket) -> None:
    sdk = oracle_for(s3_bucket)
    key = key_for("sized.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    parts = upload_parts(sdk, key, upload_id, [b"12345"])
    refusal = completion_refused(sdk, key, upload_id, parts, size=6)
    assert (refusal.status, refusal.code) == (400, "InvalidRequest")
    sdk.complete(key, upload_id, parts, size=5)
    assert s3_bucket.stored(key) == b"12345"


# -- the server: parts streamed, CORS ----------------------------------------


def test_a_part_streams_to_disk_and_is_never_held_whole(
    running: RunningBucket, sdk: Oracle, tmp_path: Path
) -> None:
    """The bucket runs in this process: its peak allocation while a 12 MiB
    part goes through stays far below the part's size."""
    source = tmp_path / "part.bin"
    source.write_bytes(os.urandom(12 * MiB))
    key = key_for("streamed.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    url = sdk.part_url(key, upload_id, 1)
    tracemalloc.start()
    try:
        with source.open("rb") as body:
            response = sdk.put_part(url, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert peak < 4 * MiB, peak
    assert sdk.list_parts(key, upload_id).parts[0].size == 12 * MiB


def test_a_part_without_content_length_is_refused(running: RunningBucket, sdk: Oracle) -> None:
    key = key_for("chunked.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    response = sdk.put_part(sdk.part_url(key, upload_id, 1), iter([b"a", b"b"]))  # chunked
    refused(response, 411, "MissingContentLength")


def preflight(bucket: RunningBucket, url: str) -> Any:
    target = with_query(url)
    return requests.options(
        target,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )


def test_cors_lets_the_page_put_a_part_and_read_its_etag(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("cors.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    url = sdk.part_url(key, upload_id, 1)
    target = url.replace(urlsplit(url).netloc, f"127.0.0.1:{sdk.port}")
    answer = preflight(running, target)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PUT" in answer.headers["Access-Control-Allow-Methods"].split(", ")
    put = sdk.put_part(url, b"part", {"Origin": ORIGIN})
    assert put.status_code == 200
    assert "ETag" in put.headers["Access-Control-Expose-Headers"].split(", ")
    assert put.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_without_etag_in_the_cors_rule_it_is_not_exposed(tmp_path: Path) -> None:
    bucket = start_bucket(tmp_path / "b", frozenset({ORIGIN}), expose_headers=())
    try:
        sdk = oracle_for(bucket)
        key = key_for("hidden.bin")
        upload_id = sdk.initiate(key, "application/octet-stream")
        put = sdk.put_part(sdk.part_url(key, upload_id, 1), b"part", {"Origin": ORIGIN})
        assert put.status_code == 200
        assert put.headers["ETag"]
        assert "ETag" not in put.headers["Access-Control-Expose-Headers"].split(", ")
    finally:
        bucket.stop()


def test_a_part_from_a_page_the_bucket_does_not_serve_is_refused(
    running: RunningBucket, sdk: Oracle
) -> None:
    key = key_for("foreign.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    put = sdk.put_part(sdk.part_url(key, upload_id, 1), b"x", {"Origin": "https://evil.example"})
    refused(put, 403, "AccessForbidden")


# -- the query verifier on its own, against the SDKs' signers, for any key -----

ENDPOINT = "http://127.0.0.1:9000"
UPLOAD_ID = "VXBs+b2Fk/SUQ=="


def presigned_part(provider: str, key: str, token: str | None = None) -> str:
    """A part URL for ``key`` from the SDK's own signer (no client, no clock)."""
    from conformance.references import object_url

    query = urlencode({"partNumber": "1", "uploadId": UPLOAD_ID})
    url = f"{object_url(ENDPOINT, key)}?{query}"
    if provider == "oss":
        from alibabacloud_oss_v2.types import HttpRequest

        request = HttpRequest("PUT", url)
        oss_sign(request, key, token=token, in_query=True)
        return str(request.url)
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as AwsCredentials

    from devbucket.config import DEV_S3_ACCESS_KEY_ID, DEV_S3_REGION, DEV_S3_SECRET_ACCESS_KEY

    aws = AWSRequest(method="PUT", url=url)
    credentials = AwsCredentials(DEV_S3_ACCESS_KEY_ID, DEV_S3_SECRET_ACCESS_KEY, token)
    S3SigV4QueryAuth(credentials, "s3", DEV_S3_REGION, expires=600).add_auth(aws)
    return str(aws.url)


def verify_put(provider: str, url: str, bucket: Any = None) -> str:
    from datetime import datetime, timezone

    from devbucket import signatures
    from devbucket.config import DEV_BUCKETS

    split = urlsplit(url)
    request = signatures.Request("PUT", split.path, split.query, {"host": split.netloc}, None)
    scheme = PROVIDERS[provider].REST
    return signatures.verify_request(
        scheme, request, bucket or DEV_BUCKETS[provider], datetime.now(timezone.utc)
    )


keys = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda key: not key.startswith("/")
)


@settings(max_examples=60, deadline=None)
@given(key=keys, provider=st.sampled_from(tuple(PROVIDERS)))
def test_any_part_url_the_sdks_sign_verifies_and_no_other_key_does(key: str, provider: str) -> None:
    from conformance.references import object_url
    from devbucket.errors import ServiceError

    url = presigned_part(provider, key)
    assert verify_put(provider, url)
    other = url.replace(object_url(ENDPOINT, key) + "?", object_url(ENDPOINT, key + "x") + "?")
    with pytest.raises(ServiceError) as refusal:
        verify_put(provider, other)
    assert refusal.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("provider", tuple(PROVIDERS))
def test_a_temporary_key_signs_part_urls_with_its_session_token(provider: str) -> None:
    from dataclasses import replace

    from devbucket.config import DEV_BUCKETS
    from devbucket.errors import ServiceError

    base = DEV_BUCKETS[provider]
    key_id = next(iter(base.credentials))
    temporary = replace(base, session_tokens={key_id: "session-token/+="})
    with_token = presigned_part(provider, "k.bin", token="session-token/+=")
    assert verify_put(provider, with_token, temporary) == key_id
    for url in (presigned_part(provider, "k.bin"), presigned_part(provider, "k.bin", "other")):
        with pytest.raises(ServiceError) as refusal:
            verify_put(provider, url, temporary)
        assert refusal.value.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch")


# -- header-signed parts, request bodies ----------------------------------------


def test_a_part_signed_in_its_headers_is_taken_too(running: RunningBucket, sdk: Oracle) -> None:
    key = key_for("headers.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    etag = sdk.upload_part(key, upload_id, 1, b"signed in headers")
    assert etag == sdk_etag(running, hashlib.md5(b"signed in headers").hexdigest())
    sdk.complete(key, upload_id, [(1, etag)])
    assert running.stored(key) == b"signed in headers"


def test_an_s3_part_whose_body_is_not_its_declared_hash_is_refused(
    s3_bucket: RunningBucket,
) -> None:
    sdk = oracle_for(s3_bucket)
    key = key_for("hashed.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    url = sdk.part_url(key, upload_id, 1)
    declared = {"x-amz-content-sha256": hashlib.sha256(b"promised").hexdigest()}
    refused(sdk.put_part(url, b"sent", declared), 400, "XAmzContentSHA256Mismatch")
    assert sdk.list_parts(key, upload_id).parts == []
    assert not list((s3_bucket.root / "tmp").iterdir())  # the refused part was not kept


DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol2;</ETag></Part>
</CompleteMultipartUpload>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&file;</ETag></Part>
</CompleteMultipartUpload>"""


@pytest.mark.parametrize(
    "body",
    [DOCTYPE, EXTERNAL, b"<CompleteMultipartUpload>", b"<Other/>", b"<CompleteMultipartUpload/>"],
    ids=["entities", "external entity", "unclosed", "another document", "no part"],
)
def test_a_completion_body_that_is_not_a_plain_parts_list_is_malformed_xml(
    running: RunningBucket, sdk: Oracle, body: bytes
) -> None:
    key = key_for("xml.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    upload_parts(sdk, key, upload_id, [b"x"])
    response = sdk.signed_post(key, urlencode({"uploadId": upload_id}), body)
    refused(response, 400, "MalformedXML")
    assert running.server.store.get(key) is None


def test_a_completion_list_in_s3s_namespace_is_read(running: RunningBucket, sdk: Oracle) -> None:
    key = key_for("namespaced.bin")
    upload_id = sdk.initiate(key, "application/octet-stream")
    ((number, etag),) = upload_parts(sdk, key, upload_id, [b"x"])
    quoted = etag.replace('"', "&quot;")  # as S3's own ListParts writes it
    body = (
        '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Part><PartNumber>{number}</PartNumber><ETag>{quoted}</ETag></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    response = sdk.signed_post(key, urlencode({"uploadId": upload_id}), body)
    assert response.status_code == 200, response.text
    assert running.stored(key) == b"x"


def test_a_request_body_over_the_limit_is_refused_unread(
    running: RunningBucket, sdk: Oracle
) -> None:
    from devbucket.server import REST_BODY_LIMIT

    key = key_for("huge.xml")
    upload_id = sdk.initiate(key, "application/octet-stream")
    body = b"<CompleteMultipartUpload>" + b" " * REST_BODY_LIMIT + b"</CompleteMultipartUpload>"
    refused(sdk.signed_post(key, urlencode({"uploadId": upload_id}), body), 400, "InvalidArgument")
