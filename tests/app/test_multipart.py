"""The multipart routes (Uppy's ``@uppy/aws-s3`` endpoint) through Chalice's test client.

The storage is faked with ``responses`` at the HTTP boundary: each test
asserts the exact storage calls made (method, URL, headers, body), proves
their ``Authorization`` with the provider's own signer (the OSS SDK,
botocore), and, for a refusal, that no storage call was made at all.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import jwt
import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.credentials import Credentials
from tests.support.environment import OSS_ENV, SECRET
from tests.support.oracles import (
    oss_authorization,
    oss_part_url,
    own_headers,
    query_of,
    s3_authorization,
    s3_part_url,
)

ROOT = Path(__file__).resolve().parents[2]
JSON = {"content-type": "application/json"}
SEGMENT = re.compile(r"uploads/[0-9a-f]{32}/")
UPLOAD_ID = "VXBsb2FkIElE+for/1=="  # '+', '/' and '=': a browser percent-encodes them
ENCODED_ID = quote(UPLOAD_ID, safe="")
MiB = 1024 * 1024
JWT_SECRET = "a-jwt-secret-of-at-least-32-bytes!!"


class Provider(NamedTuple):
    name: str
    env: dict[str, str]
    endpoint: str
    bucket: str
    region: str
    credentials: Credentials
    authorization: Callable[[Any], str]  # the oracle's Authorization for a sent request
    part_url: Callable[[str], str]  # the oracle's URL for the same part


S3_CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
S3_ENV = {
    "STORAGE_PROVIDER": "s3",
    "S3_BUCKET": "signpost-test",
    "AWS_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": S3_CREDENTIALS.access_key_id,
    "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS.secret,
}
OSS_CREDENTIALS = Credentials(OSS_ENV["OSS_ACCESS_KEY_ID"], SECRET)
OSS = Provider(
    "oss",
    {},
    "https://signpost-test.oss-cn-hangzhou.aliyuncs.com",
    "signpost-test",
    "cn-hangzhou",
    OSS_CREDENTIALS,
    lambda sent: oss_authorization(sent, "signpost-test", "cn-hangzhou", OSS_CREDENTIALS),
    lambda url: oss_part_url(url, "signpost-test", "cn-hangzhou", OSS_CREDENTIALS),
)
S3 = Provider(
    "s3",
    S3_ENV,
    "https://signpost-test.s3.eu-central-1.amazonaws.com",
    "signpost-test",
    "eu-central-1",
    S3_CREDENTIALS,
    lambda sent: s3_authorization(sent, "eu-central-1", S3_CREDENTIALS),
    lambda url: s3_part_url(url, "signpost-test", "eu-central-1", S3_CREDENTIALS),
)
PROVIDERS = pytest.mark.parametrize("provider", [OSS, S3], ids=["oss", "s3"])
# A storage refusal as both services write it (S3 adds a namespace-free <Error> too).
NO_SUCH_UPLOAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code>'
    b"<Message>The specified upload does not exist.</Message>"
    b"<UploadId>VXBsb2FkIElE+for/1==</UploadId><RequestId>5C3D</RequestId></Error>"
)


@pytest.fixture(autouse=True)
def videos(env: Callable[..., None]) -> None:
    """Large files are videos here; the OSS test settings otherwise."""
    env(ALLOWED_CONTENT_TYPES="video/mp4,image/png")


@pytest.fixture
def storage() -> Iterator[responses.RequestsMock]:
    """The storage's HTTP: any call a test did not register fails the test's expectations."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def use(env: Callable[..., None], provider: Provider, **more: str) -> None:
    env(**provider.env, **more)


def key(name: str = "big video.mp4", user: str | None = None) -> str:
    return f"uploads/{user + '/' if user else ''}{'9f0c' * 8}/{name}"


def object_url(provider: Provider, object_key: str) -> str:
    return f"{provider.endpoint}/{quote(object_key)}"


def body_of(response: Any) -> Any:
    return json.loads(response.body)


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    assert set(body_of(response)) == {"error", "message"}
    assert body_of(response)["error"]["code"] == code
    assert response.headers["Cache-Control"] == "no-store"


def assert_unreadable(response: Any) -> None:
    """The storage's answer was not believed: ``502 StorageError``, "could not be read"."""
    assert_refused(response, 502, "StorageError")
    assert "could not be read" in body_of(response)["error"]["message"]


def assert_signed(provider: Provider, sent: Any) -> None:
    assert sent.headers["Authorization"] == provider.authorization(sent)


def assert_presigned(provider: Provider, url: str) -> None:
    """``url`` is the oracle's presigned part URL, up to the order of its query."""
    oracle = provider.part_url(url)
    assert urlsplit(url)[:3] == urlsplit(oracle)[:3]
    assert query_of(url) == query_of(oracle)


def parts_xml(parts: list[tuple[int, int, str]], truncated: bool = False, marker: int = 0) -> str:
    """A ListParts page as S3 writes it (namespaced); OSS's is the same without xmlns."""
    items = "".join(
        f"<Part><PartNumber>{number}</PartNumber><LastModified>2026-11-24T12:00:00.000Z"
        f"</LastModified><ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size></Part>"
        for number, size, etag in parts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Bucket>signpost-test</Bucket><UploadId>{UPLOAD_ID}</UploadId>"
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        f"<NextPartNumberMarker>{marker}</NextPartNumberMarker>{items}</ListPartsResult>"
    )


def list_url(provider: Provider, object_key: str, marker: int | None = None) -> str:
    query = f"uploadId={ENCODED_ID}&max-parts=1000"
    if marker is not None:
        query += f"&part-number-marker={marker}"
    return f"{object_url(provider, object_key)}?{query}"


def on_upload(path: str = "", object_key: str | None = None, upload_id: str = ENCODED_ID) -> str:
    object_key = key() if object_key is None else object_key
    return f"/s3/multipart/{upload_id}{path}?key={quote(object_key, safe='')}"


def complete(api: Any, parts: list[dict[str, Any]], object_key: str | None = None) -> Any:
    body = json.dumps({"parts": parts})
    return api.post(on_upload("/complete", object_key), headers=JSON, body=body)


# -- creation ---------------------------------------------------------------


@PROVIDERS
def test_create_starts_an_upload_typed_attachment_never_overwriting(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider)
    storage.add(
        "POST",
        re.compile(
            re.escape(provider.endpoint) + r"/uploads/[0-9a-f]{32}/big%20video.mp4\?uploads"
        ),
        body="<InitiateMultipartUploadResult><Bucket>signpost-test</Bucket>"
        f"<Key>k</Key><UploadId>{UPLOAD_ID}</UploadId></InitiateMultipartUploadResult>",
    )
    # What Uppy 5.1.0 sends: no size, the file's meta as metadata.
    uppy = {"filename": "big video.mp4", "type": "video/mp4", "metadata": {"name": "x"}}
    response = api.post(
        "/s3/multipart",
        headers=JSON,
        body=json.dumps(uppy),
    )
    assert response.status_code == 200, response.body
    answer = body_of(response)
    assert set(answer) == {"key", "uploadId"}
    assert answer["uploadId"] == UPLOAD_ID
    assert SEGMENT.match(answer["key"])
    assert answer["key"].endswith("/big video.mp4")
    (call,) = storage.calls
    sent = call.request
    assert (sent.method, sent.url) == ("POST", object_url(provider, answer["key"]) + "?uploads")
    guard = {"x-oss-forbid-overwrite": "true"} if provider.name == "oss" else {}
    assert own_headers(sent) == {
        "content-type": "video/mp4",
        "content-disposition": 'attachment; filename="big video.mp4"; '
        "filename*=UTF-8''big%20video.mp4",
        **guard,
    }
    assert_signed(provider, sent)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"filename": "a.mp4", "content_type": "video/mp4"}, 400, "UnknownField"),
        ({"filename": "a.mp4"}, 400, "InvalidRequest"),
        ({"filename": "../a.mp4", "type": "video/mp4"}, 400, "InvalidFilename"),
        ({"filename": "a.html", "type": "text/html"}, 415, "UnsupportedContentType"),
        ({"filename": "a.png", "type": "video/mp4"}, 400, "ContentTypeMismatch"),
        ({"filename": "a.mp4", "type": "video/mp4", "size": 0}, 400, "InvalidSize"),
        ({"filename": "a.mp4", "type": "video/mp4", "size": 10**9 + 1}, 413, "EntityTooLarge"),
    ],
)
def test_create_runs_the_ticket_checks_before_any_storage_call(
    env: Any, api: Any, storage: responses.RequestsMock, body: Any, status: int, code: str
) -> None:
    env(ALLOWED_CONTENT_TYPES="video/mp4,image/png", MAX_UPLOAD_BYTES=str(10**9))
    response = api.post("/s3/multipart", headers=JSON, body=json.dumps(body))
    assert_refused(response, status, code)
    assert not storage.calls


# -- part URLs: signed here, no storage call ------------------------------------


@PROVIDERS
def test_a_part_url_is_the_providers_own_presigned_put(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider, EXPIRE_SECONDS="900")
    response = api.get(on_upload("/7"))
    assert response.status_code == 200, response.body
    answer = body_of(response)
    assert set(answer) == {"url", "expires"}
    assert answer["expires"] == 900
    url = answer["url"]
    assert url.startswith(object_url(provider, key()) + "?")
    assert query_of(url)["uploadId"] == UPLOAD_ID  # decoded once from the path, then re-encoded
    assert query_of(url)["partNumber"] == "7"
    assert_presigned(provider, url)
    assert not storage.calls


@PROVIDERS
def test_a_batch_signs_each_part_named(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider)
    response = api.get(on_upload("/batch") + "&partNumbers=1,2,2,10000")
    assert response.status_code == 200, response.body
    urls = body_of(response)["presignedUrls"]
    assert list(urls) == ["1", "2", "10000"]
    for number, url in urls.items():
        assert query_of(url)["partNumber"] == number
        assert_presigned(provider, url)
    assert not storage.calls


# -- listing, completing, aborting ---------------------------------------------


@PROVIDERS
def test_listing_reads_every_page_and_answers_numbers(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider)
    first = [(number, 5 * MiB, f"etag{number}") for number in range(1, 1001)]
    storage.get(list_url(provider, key()), body=parts_xml(first, truncated=True, marker=1000))
    storage.get(list_url(provider, key(), 1000), body=parts_xml([(1001, 17, "last")]))
    response = api.get(on_upload())
    assert response.status_code == 200, response.body
    answer = body_of(response)
    assert len(answer) == 1001
    assert answer[0] == {"PartNumber": 1, "Size": 5 * MiB, "ETag": '"etag1"'}
    assert answer[-1] == {"PartNumber": 1001, "Size": 17, "ETag": '"last"'}
    for call in storage.calls:
        assert own_headers(call.request) == {}
        assert_signed(provider, call.request)


@PROVIDERS
def test_completion_joins_the_listed_parts_and_refuses_to_overwrite(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider, MAX_UPLOAD_BYTES=str(25 * MiB))
    listed = [(1, 5 * MiB, "A1"), (2, 5 * MiB, "B2"), (3, 3, "C3")]
    storage.get(list_url(provider, key()), body=parts_xml(listed))
    storage.post(f"{object_url(provider, key())}?uploadId={ENCODED_ID}", body="<Done/>")
    # As Uppy sends them: ETags with their quotes, as read from the part's answer.
    parts = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, _, etag in listed]
    response = complete(api, parts)
    assert response.status_code == 200, response.body
    assert body_of(response) == {"location": object_url(provider, key()), "key": key()}
    sent = storage.calls[1].request
    guard = (
        {"x-oss-forbid-overwrite": "true"}
        if provider.name == "oss"
        else {"if-none-match": "*", "x-amz-mp-object-size": str(10 * MiB + 3)}
    )
    assert own_headers(sent) == {"content-type": "application/xml", **guard}
    assert sent.body == (
        b"<CompleteMultipartUpload>"
        b'<Part><PartNumber>1</PartNumber><ETag>"A1"</ETag></Part>'
        b'<Part><PartNumber>2</PartNumber><ETag>"B2"</ETag></Part>'
        b'<Part><PartNumber>3</PartNumber><ETag>"C3"</ETag></Part>'
        b"</CompleteMultipartUpload>"
    )
    assert_signed(provider, sent)


@PROVIDERS
def test_completion_over_the_limit_aborts_and_is_too_large(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider, MAX_UPLOAD_BYTES=str(10 * MiB))
    listed = [(1, 5 * MiB, "A1"), (2, 5 * MiB, "B2"), (3, 1, "C3")]
    storage.get(list_url(provider, key()), body=parts_xml(listed))
    abort = storage.delete(f"{object_url(provider, key())}?uploadId={ENCODED_ID}", status=204)
    response = complete(api, [{"PartNumber": n, "ETag": etag} for n, _, etag in listed])
    assert_refused(response, 413, "EntityTooLarge")
    assert abort.call_count == 1
    assert [call.request.method for call in storage.calls] == ["GET", "DELETE"]
    assert_signed(provider, storage.calls[1].request)


@pytest.mark.parametrize(
    "parts",
    [
        [{"PartNumber": 1, "ETag": '"A1"'}, {"PartNumber": 2, "ETag": '"other"'}],
        [{"PartNumber": 1, "ETag": '"A1"'}, {"PartNumber": 3, "ETag": '"C3"'}],
    ],
    ids=["another-etag", "a-part-never-uploaded"],
)
def test_parts_that_do_not_match_the_listed_ones_are_refused(
    env: Any, api: Any, storage: responses.RequestsMock, parts: list[dict[str, Any]]
) -> None:
    storage.get(list_url(OSS, key()), body=parts_xml([(1, 5 * MiB, "A1"), (2, 9, "B2")]))
    assert_refused(complete(api, parts), 400, "InvalidRequest")
    assert len(storage.calls) == 1  # the listing; no completion, no abort


@PROVIDERS
def test_abort_drops_the_upload(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    use(env, provider)
    storage.delete(f"{object_url(provider, key())}?uploadId={ENCODED_ID}", status=204)
    response = api.delete(on_upload())
    assert (response.status_code, body_of(response)) == (200, {})
    assert own_headers(storage.calls[0].request) == {}
    assert_signed(provider, storage.calls[0].request)


# -- the storage's refusals -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("DELETE", ""), ("POST", "/complete")],
    ids=["list", "abort", "complete"],
)
def test_an_unknown_upload_is_404_no_such_upload_logged_at_info(
    env: Any,
    api: Any,
    storage: responses.RequestsMock,
    method: str,
    path: str,
    audit_lines: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SPEC 11: anyone can name an upload, so one the storage does not know is
    no server error (OSS and S3 answer 404 NoSuchUpload)."""
    storage.add(
        "GET" if path else method,
        re.compile(re.escape(object_url(OSS, key())) + r"\?uploadId=.*"),
        status=404,
        body=NO_SUCH_UPLOAD,
    )
    body = json.dumps({"parts": [{"PartNumber": 1, "ETag": "x"}]}) if path else None
    response = api.request(method, on_upload(path), headers=JSON, body=body)
    assert_refused(response, 404, "NoSuchUpload")
    (line,) = audit_lines()
    assert (line["level"], line["code"]) == ("INFO", "NoSuchUpload")
    assert all(record.levelname == "INFO" for record in caplog.records), caplog.records


def test_a_200_that_is_an_error_is_a_storage_error(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    """S3: "a 200 OK response can contain either a success or an error"."""
    env(**S3_ENV)
    storage.get(list_url(S3, key()), body=parts_xml([(1, 5, "A1")]))
    storage.post(
        f"{object_url(S3, key())}?uploadId={ENCODED_ID}",
        body="<Error><Code>InternalError</Code><Message>We encountered an internal error."
        "</Message></Error>",
    )
    response = complete(api, [{"PartNumber": 1, "ETag": "A1"}])
    assert_refused(response, 502, "StorageError")
    assert "InternalError" in body_of(response)["error"]["message"]


@pytest.mark.parametrize(
    "answer",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
        "<ETag>&b;</ETag><Size>1</Size></Part></ListPartsResult>",
        '<!DOCTYPE r SYSTEM "file:///etc/passwd"><ListPartsResult/>',
        "<ListPartsResult><Part><PartNumber>one</PartNumber></Part></ListPartsResult>",
        "<ListPartsResult>",
    ],
    ids=["entities", "external-dtd", "not-a-number", "not-xml"],
)
def test_an_answer_with_a_dtd_or_unreadable_is_refused(
    env: Any, api: Any, storage: responses.RequestsMock, answer: str
) -> None:
    storage.get(list_url(OSS, key()), body=answer)
    assert_unreadable(api.get(on_upload()))


def test_an_unreachable_storage_is_a_storage_error(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    import requests

    storage.delete(list_url(OSS, key()).split("&")[0], body=requests.ConnectTimeout("x"))
    assert_refused(api.delete(on_upload()), 502, "StorageError")


# -- refusals before any storage call -------------------------------------------

UPLOAD_ROUTES = [
    ("GET", "/1"),
    ("GET", "/batch", "&partNumbers=1"),
    ("GET", ""),
    ("POST", "/complete"),
    ("DELETE", ""),
]


def call_route(api: Any, route: tuple[str, ...], path: str, **headers: str) -> Any:
    method, _, *extra = route
    body = json.dumps({"parts": [{"PartNumber": 1, "ETag": "x"}]}) if method == "POST" else None
    return api.request(method, path + "".join(extra), headers={**JSON, **headers}, body=body)


@pytest.mark.parametrize("route", UPLOAD_ROUTES, ids=lambda route: " ".join(route[:2]))
@pytest.mark.parametrize(
    ("bad_key", "status", "code"),
    [
        (None, 400, "InvalidRequest"),
        ("uploads/big.mp4", 403, "AccessDenied"),
        ("elsewhere/" + "9f0c" * 8 + "/big.mp4", 403, "AccessDenied"),
        ("uploads/" + "9f0c" * 8 + "/../big.mp4", 403, "AccessDenied"),
        ("uploads/" + "9F0C" * 8 + "/big.mp4", 403, "AccessDenied"),
        ("uploads/alice/" + "9f0c" * 8 + "/big.mp4", 403, "AccessDenied"),
        ("uploads/" + "9f0c" * 8 + "/a\u202egnp.exe", 403, "AccessDenied"),
    ],
)
def test_a_key_signpost_did_not_name_for_the_caller_is_refused_first(
    env: Any,
    api: Any,
    storage: responses.RequestsMock,
    route: tuple[str, ...],
    bad_key: str | None,
    status: int,
    code: str,
) -> None:
    path = on_upload(route[1], bad_key or "x")
    if bad_key is None:
        path = path.split("?")[0] + "?"
    assert_refused(call_route(api, route, path), status, code)
    assert not storage.calls


@pytest.mark.parametrize("route", UPLOAD_ROUTES, ids=lambda route: " ".join(route[:2]))
def test_another_users_key_is_refused_first(
    env: Any, api: Any, storage: responses.RequestsMock, route: tuple[str, ...]
) -> None:
    env(AUTH_MODE="jwt", JWT_SECRET=JWT_SECRET)
    bob = jwt.encode({"sub": "bob", "exp": 4102444800}, JWT_SECRET, algorithm="HS256")
    as_bob = {"authorization": f"Bearer {bob}"}
    for owner in ("alice", None):  # alice's key, and a key with no user folder
        response = call_route(api, route, on_upload(route[1], key(user=owner)), **as_bob)
        assert_refused(response, 403, "AccessDenied")
    assert_refused(
        call_route(api, route, on_upload(route[1], key(user="bob"))), 401, "MissingCredentials"
    )
    assert not storage.calls


def test_a_jwt_callers_upload_lives_under_their_own_folder(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    env(AUTH_MODE="jwt", JWT_SECRET=JWT_SECRET)
    bob = jwt.encode({"sub": "bob", "exp": 4102444800}, JWT_SECRET, algorithm="HS256")
    storage.delete(f"{object_url(OSS, key(user='bob'))}?uploadId={ENCODED_ID}", status=204)
    response = api.delete(
        on_upload("", key(user="bob")), headers={"authorization": f"Bearer {bob}"}
    )
    assert response.status_code == 200, response.body


@pytest.mark.parametrize("number", ["0", "10001", "abc", "-1", "1e3", "01x", "99999", "%201"])
def test_a_part_number_outside_1_to_10000_is_refused(
    env: Any, api: Any, storage: responses.RequestsMock, number: str
) -> None:
    assert_refused(api.get(on_upload(f"/{number}")), 400, "InvalidRequest")
    batch = api.get(on_upload("/batch") + f"&partNumbers=1,{number}")
    assert_refused(batch, 400, "InvalidRequest")
    assert not storage.calls


@pytest.mark.parametrize("upload_id", ["a%20b", "a%00b", "%25", "x" * 513, "a%3Cb%3E"])
def test_an_upload_id_the_storage_never_gives_is_refused(
    env: Any, api: Any, storage: responses.RequestsMock, upload_id: str
) -> None:
    for route in UPLOAD_ROUTES:
        path = on_upload(route[1], key(), upload_id)
        assert_refused(call_route(api, route, path), 400, "InvalidRequest")
    assert not storage.calls


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"parts": []},
        {"parts": [{"PartNumber": 1}]},
        {"parts": [{"PartNumber": True, "ETag": "x"}]},
        {"parts": [{"PartNumber": 0, "ETag": "x"}]},
        {"parts": [{"PartNumber": 1, "ETag": "x"}, {"PartNumber": 1, "ETag": "y"}]},
        {"parts": "1"},
    ],
)
def test_a_malformed_completion_is_refused_before_listing(
    env: Any, api: Any, storage: responses.RequestsMock, body: Any
) -> None:
    response = api.post(on_upload("/complete"), headers=JSON, body=json.dumps(body))
    assert_refused(response, 400, "InvalidRequest")
    assert not storage.calls


def test_too_many_part_urls_at_once_are_refused(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    numbers = ",".join(str(number) for number in range(1, 102))
    assert_refused(api.get(on_upload("/batch") + f"&partNumbers={numbers}"), 400, "InvalidRequest")


TEXT = st.characters(exclude_categories=("Cs",))  # what a URL can carry, UTF-8 encoded


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    object_key=st.text(TEXT, max_size=80),
    upload_id=st.text(TEXT, max_size=40),
    part_number=st.text(TEXT, min_size=1, max_size=8),
    route=st.sampled_from(UPLOAD_ROUTES),
)
def test_any_key_upload_id_or_part_number_is_a_clear_4xx(
    env: Any, api: Any, object_key: str, upload_id: str, part_number: str, route: tuple[str, ...]
) -> None:
    """Whatever the three carry, the answer is a 4xx in the error shape, never
    a 500, and no storage call is made (none is registered: one would be a 502)."""
    method, suffix, *extra = route
    suffix = f"/{quote(part_number, safe='')}" if suffix == "/1" else suffix
    path = on_upload(suffix, object_key, quote(upload_id, safe="") or "x")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        response = call_route(api, (method, "", *extra), path)
        assert not mock.calls
    assert 400 <= response.status_code < 500, response.body
    assert set(body_of(response)["error"]) == {"code", "message"}


# -- Uppy's single-request route, and the 5 GiB line -------------------------------


def test_uppy_params_answers_the_ticket_with_headers(env: Any, api: Any) -> None:
    """What Uppy 5.1.0 sends: '+' for spaces, metadata[...], no size."""
    env(MAX_UPLOAD_BYTES=str(5 * 1024**4))
    response = api.get(
        "/s3/params?filename=small+cat+%C3%BC.png&type=image%2Fpng"
        "&metadata%5Bname%5D=small+cat+%C3%BC.png&metadata%5Btype%5D=image%2Fpng"
    )
    assert response.status_code == 200, response.body
    answer = body_of(response)
    assert answer["method"] == "POST"
    assert answer["headers"] == {}
    assert answer["key"].endswith("/small cat ü.png")
    assert answer["fields"]["key"] == answer["key"]
    assert answer["max_size"] == 5 * 1024**3  # one form carries at most 5 GiB


@pytest.mark.parametrize("route", ["/upload-tickets", "/s3/params"])
def test_a_single_request_over_5_gib_points_to_multipart(env: Any, api: Any, route: str) -> None:
    env(MAX_UPLOAD_BYTES=str(5 * 1024**4))
    size = 5 * 1024**3 + 1
    if route == "/s3/params":
        response = api.get(f"/s3/params?filename=a.png&type=image%2Fpng&size={size}")
    else:
        body = {"filename": "a.png", "content_type": "image/png", "size": size}
        response = api.post(route, headers=JSON, body=json.dumps(body))
    assert_refused(response, 413, "EntityTooLarge")
    assert "multipart" in body_of(response)["error"]["message"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("filename=a.png&type=image%2Fpng&size=abc", "InvalidSize"),
        ("filename=a.png", "InvalidRequest"),
        ("filename=a.png&type=image%2Fpng&acl=public-read", "UnknownField"),
    ],
)
def test_uppy_params_refusals(env: Any, api: Any, query: str, code: str) -> None:
    assert_refused(api.get(f"/s3/params?{query}"), 400, code)


# -- the edge: auth, CORS, secrets, cold start ----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/s3/params",
        "/s3/multipart",
        f"/s3/multipart/{ENCODED_ID}",
        f"/s3/multipart/{ENCODED_ID}/1",
        f"/s3/multipart/{ENCODED_ID}/batch",
        f"/s3/multipart/{ENCODED_ID}/complete",
    ],
)
def test_every_route_answers_the_preflight_allowing_delete(env: Any, api: Any, path: str) -> None:
    env(CORS_ALLOW_ORIGIN="https://app.example.com", AUTH_MODE="api-key", API_KEYS="k")
    response = api.options(
        path,
        headers={
            "origin": "https://app.example.com",
            "access-control-request-method": "DELETE",
            "access-control-request-headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_api_key_callers_only(env: Any, api: Any, storage: responses.RequestsMock) -> None:
    env(AUTH_MODE="api-key", API_KEYS="the-key")
    body = json.dumps({"filename": "a.png", "type": "image/png"})
    assert_refused(api.post("/s3/multipart", headers=JSON, body=body), 401, "MissingCredentials")
    wrong = {**JSON, "authorization": "Bearer nope"}
    assert_refused(api.post("/s3/multipart", headers=wrong, body=body), 403, "AccessDenied")
    assert_refused(api.get("/s3/params?filename=a.png&type=image%2Fpng"), 401, "MissingCredentials")
    assert not storage.calls


def test_no_secret_in_any_answer_or_log(
    env: Any, api: Any, storage: responses.RequestsMock, app_logs: list[Any], audit_lines: Any
) -> None:
    storage.get(
        list_url(OSS, key()),
        status=403,
        body=(
            "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
            f"does not match</Message><StringToSign>{SECRET}</StringToSign></Error>"
        ),
    )
    answers = [api.get(on_upload()).body, api.get(on_upload("/1")).body]
    text = b"".join(answers).decode() + "".join(record.getMessage() for record in app_logs)
    text += json.dumps(audit_lines())
    assert "SignatureDoesNotMatch" in text
    assert SECRET not in text


def test_importing_app_loads_no_storage_code() -> None:
    modules = [
        "chalicelib.storage",
        "chalicelib.multipart_handlers",
        "chalicelib.request_signers",
        "xml.etree.ElementTree",
        "requests",
    ]
    probe = f"import sys, app; print([m for m in {modules!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


# -- VERIFY_CONTENT: the check after completion -------------------------------------

HTML = b"<!DOCTYPE html><html><script>alert(document.domain)</script></html>"


def completed(storage: responses.RequestsMock, provider: Provider) -> None:
    """The listing and completion of a one-part upload of ``key('cat.png')``."""
    storage.get(list_url(provider, key("cat.png")), body=parts_xml([(1, 3, "A1")]))
    storage.post(f"{object_url(provider, key('cat.png'))}?uploadId={ENCODED_ID}", body="<Done/>")


def complete_checked(
    env: Any,
    api: Any,
    storage: responses.RequestsMock,
    provider: Provider,
    *,
    deletes: bool,
    **read: Any,
) -> Any:
    """A one-part completion of ``key('cat.png')`` with ``VERIFY_CONTENT=on``:
    the object's GET answered with ``read``, its DELETE with ``204`` when
    the check ``deletes`` (every registered call must be made)."""
    use(env, provider, VERIFY_CONTENT="on")
    completed(storage, provider)
    url = object_url(provider, key("cat.png"))
    storage.get(url, **read)
    if deletes:
        storage.delete(url, status=204)
    return complete(api, [{"PartNumber": 1, "ETag": '"A1"'}], key("cat.png"))


@PROVIDERS
def test_completion_reads_8_kib_with_a_signed_range_and_deletes_a_mismatch(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    response = complete_checked(
        env, api, storage, provider, deletes=True, body=HTML, status=206, content_type="image/png"
    )
    assert_refused(response, 422, "ContentMismatch")
    message = body_of(response)["message"]
    assert "declared image/png" in message
    assert "text/html" in message
    read, deleted = storage.calls[2].request, storage.calls[3].request
    assert read.headers["Range"] == "bytes=0-8191"
    assert_signed(provider, read)  # botocore / the OSS SDK sign the same, Range included
    assert (deleted.method, deleted.url) == ("DELETE", object_url(provider, key("cat.png")))
    assert_signed(provider, deleted)


class CountingBody(io.RawIOBase):
    """A body that counts how much of it was read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


@PROVIDERS
def test_a_store_that_ignores_range_is_read_no_further_than_8_kib(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    served = CountingBody(b"\x89PNG\r\n\x1a\n" + b"\x00" * MiB)
    body = io.BufferedReader(served, buffer_size=4096)
    response = complete_checked(
        env, api, storage, provider, deletes=False, body=body, content_type="image/png"
    )
    assert response.status_code == 200, response.body
    assert served.read_bytes <= 8192 + 4096  # what requests pulls, then the stream is dropped


@PROVIDERS
def test_a_storage_error_while_checking_is_a_502_and_the_object_is_removed(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    error = b"<Error><Code>InternalError</Code><Message>We encountered an error.</Message></Error>"
    response = complete_checked(env, api, storage, provider, deletes=True, body=error, status=500)
    assert_refused(response, 502, "StorageError")
    assert "InternalError" in body_of(response)["message"]


@PROVIDERS
def test_an_empty_object_declared_as_png_is_refused(
    env: Any, api: Any, storage: responses.RequestsMock, provider: Provider
) -> None:
    """S3 answers a range of an empty object 416; OSS ignores the range (200, no body)."""
    status = 416 if provider.name == "s3" else 200
    response = complete_checked(
        env, api, storage, provider, deletes=True, body=b"", status=status, content_type="image/png"
    )
    assert_refused(response, 422, "ContentMismatch")
    assert "empty" in body_of(response)["message"]


def test_a_bad_verify_content_is_not_configured(
    env: Any, api: Any, storage: responses.RequestsMock
) -> None:
    env(VERIFY_CONTENT="maybe")
    completed(storage, OSS)
    response = complete(api, [{"PartNumber": 1, "ETag": '"A1"'}], key("cat.png"))
    assert_refused(response, 503, "NotConfigured")
    assert "VERIFY_CONTENT" in body_of(response)["message"]
    assert "maybe" not in response.body.decode()
