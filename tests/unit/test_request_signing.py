"""Request signing (OSS V4, S3 SigV4) against the providers' own signers.

Every storage call signpost makes for a multipart upload (create, list parts,
complete, abort) is signed in the ``Authorization`` header, and every part
URL it hands out in the query string, by :mod:`chalicelib.request_signers` and by an
oracle: ``alibabacloud-oss-v2``'s ``SignerV4`` and ``Client.presign`` for
OSS, botocore's ``S3SigV4Auth``, ``S3SigV4QueryAuth`` and
``generate_presigned_url`` for S3. Same instant, credentials and request on
both sides; the headers must be equal, and the URLs equal up to the order of
their query parameters.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import alibabacloud_oss_v2 as oss
import pytest
from alibabacloud_oss_v2.signer.v4 import SignerV4
from alibabacloud_oss_v2.types import Credentials as OssCredentials
from alibabacloud_oss_v2.types import HttpRequest, SigningContext
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.credentials import Credentials
from chalicelib.request_signers import (
    MAX_EXPIRES,
    ObjectRequest,
    OssV4RequestSigner,
    S3SigV4RequestSigner,
    http_date,
)
from tests.support.environment import botocore_clock, botocore_s3_client

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
EXPIRES = 600
# An STS token with the characters a query string must encode.
STS_TOKEN = "CAIS+ExampleSecurityToken/with=padding+and/slashes=="
TOKENS = (None, STS_TOKEN)

OSS_KEY_ID, OSS_SECRET = "LTAI5tExampleKeyId", "ExampleSecretKey123456789012"
OSS_REGION, OSS_BUCKET = "cn-hangzhou", "examplebucket"
OSS_UPLOAD_ID = "0004B9895DBBB6EC9800000000000000"
OSS_ENDPOINTS = (
    f"https://{OSS_BUCKET}.oss-{OSS_REGION}.aliyuncs.com",  # virtual-hosted, the default
    "http://127.0.0.1:9000/oss",  # a custom endpoint (the dev bucket): still /bucket/key
)

S3_KEY_ID, S3_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3_REGION, S3_BUCKET = "us-east-1", "examplebucket"
S3_UPLOAD_ID = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRz.dXBsb2Fk_LQ-"
S3_ENDPOINTS = (
    f"https://{S3_BUCKET}.s3.amazonaws.com",  # virtual-hosted (us-east-1)
    "https://s3.us-east-1.amazonaws.com/example.bucket",  # path-style: a dotted bucket
    "http://127.0.0.1:9000/s3",  # a custom endpoint with a port (the dev bucket)
    "https://examplebucket.s3.amazonaws.com:443",  # the default port, which Host leaves out
)

KEYS = (
    "uploads/9f0c0123456789abcdef0123456789ab/cat photo ü.png",
    "uploads/user/a+b=c&d;e,f.txt",
    "uploads/user/!'()*~ 100%.bin",
    "uploads/user/日本語/ファイル #1?.pdf",
)
COMPLETE_BODY = (
    b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
    b'<ETag>"3858F62230AC3C915F300C664312C11F"</ETag></Part></CompleteMultipartUpload>'
)
DISPOSITION = "attachment; filename=\"cat photo.png\"; filename*=UTF-8''cat%20photo%20%C3%BC.png"


class Call(NamedTuple):
    """One storage call: its method, query and what it sends besides the signature."""

    method: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""


def storage_calls(
    upload_id: str, create: dict[str, str], complete: dict[str, str]
) -> dict[str, Call]:
    """The calls signpost signs in the header, as each service's API reference gives
    them; ``create`` and ``complete`` are the headers one service adds to those calls."""
    listing = {"uploadId": upload_id, "max-parts": "1000"}
    return {
        "create": Call(
            "POST",
            {"uploads": ""},
            {"Content-Type": "image/png", "Content-Disposition": DISPOSITION, **create},
        ),
        "list": Call("GET", listing, {}),
        "list-next": Call("GET", {**listing, "part-number-marker": "1000"}, {}),
        "complete": Call(
            "POST",
            {"uploadId": upload_id},
            {"Content-Type": "application/xml", **complete},
            COMPLETE_BODY,
        ),
        "abort": Call("DELETE", {"uploadId": upload_id}, {}),
    }


NO_OVERWRITE = {"x-oss-forbid-overwrite": "true"}
OSS_CALLS = storage_calls(OSS_UPLOAD_ID, create=NO_OVERWRITE, complete=NO_OVERWRITE)
S3_CALLS = storage_calls(
    S3_UPLOAD_ID,
    create={},
    complete={"If-None-Match": "*", "x-amz-mp-object-size": "26214400"},
)
CALL_NAMES = tuple(OSS_CALLS)


def part(upload_id: str, number: int = 3) -> Call:
    """``UploadPart``: the presigned ``PUT`` a browser sends, with no header of its own."""
    return Call("PUT", {"partNumber": str(number), "uploadId": upload_id}, {})


def request_for(call: Call, endpoint: str, bucket: str, key: str) -> ObjectRequest:
    return ObjectRequest(call.method, endpoint, bucket, key, call.query, call.headers, call.body)


def oss_signer(token: str | None = None, region: str = OSS_REGION) -> OssV4RequestSigner:
    return OssV4RequestSigner(Credentials(OSS_KEY_ID, OSS_SECRET, token), region)


def s3_signer(token: str | None = None, region: str = S3_REGION) -> S3SigV4RequestSigner:
    return S3SigV4RequestSigner(Credentials(S3_KEY_ID, S3_SECRET, token), region)


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def sent_headers(request: ObjectRequest, signed: Mapping[str, str]) -> dict[str, str]:
    """Every header the request goes out with: its own, then the signature's."""
    return {**lower(request.headers), **lower(signed)}


def parsed(url: str) -> tuple[str, str, str, dict[str, str]]:
    """A URL with its query as a mapping: equal for equal URLs in any parameter order."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    assert len({name for name, _ in query}) == len(query), url
    return parts.scheme, parts.netloc, parts.path, dict(query)


# -- the oracles ------------------------------------------------------------


def oss_context(
    request: ObjectRequest, token: str | None, now: datetime
) -> tuple[HttpRequest, SigningContext]:
    http = HttpRequest(request.method, request.url, headers=dict(request.headers))
    context = SigningContext(
        product="oss",
        region=OSS_REGION,
        bucket=request.bucket,
        key=request.key,
        request=http,
        credentials=OssCredentials(OSS_KEY_ID, OSS_SECRET, token),
        signing_time=now,
        # signpost signs every header it sends: the others are "additional".
        additional_headers={name.lower() for name in request.headers},
    )
    return http, context


def oss_oracle_headers(
    request: ObjectRequest, token: str | None, now: datetime = NOW
) -> dict[str, str]:
    http, context = oss_context(request, token, now)
    SignerV4().sign(context)
    return lower(http.headers)


def oss_oracle_url(
    request: ObjectRequest, token: str | None, now: datetime = NOW, expires: int = EXPIRES
) -> str:
    http, context = oss_context(request, token, now)
    context.auth_method_query = True
    context.expiration_time = now + timedelta(seconds=expires)
    SignerV4().sign(context)
    return http.url


def boto_credentials(token: str | None) -> BotoCredentials:
    return BotoCredentials(S3_KEY_ID, S3_SECRET, token)


def s3_oracle_headers(
    request: ObjectRequest, token: str | None, now: datetime = NOW
) -> dict[str, str]:
    aws = AWSRequest(
        method=request.method, url=request.url, headers=dict(request.headers), data=request.body
    )
    with botocore_clock(now):
        S3SigV4Auth(boto_credentials(token), "s3", S3_REGION).add_auth(aws)
    return lower(aws.headers)


def s3_oracle_url(
    request: ObjectRequest, token: str | None, now: datetime = NOW, expires: int = EXPIRES
) -> str:
    # No body: S3SigV4QueryAuth would move it into the query (a presigned URL signs none).
    aws = AWSRequest(method=request.method, url=request.url, headers=dict(request.headers))
    with botocore_clock(now):
        S3SigV4QueryAuth(boto_credentials(token), "s3", S3_REGION, expires=expires).add_auth(aws)
    return str(aws.url)


@functools.cache
def botocore_client(token: str | None, addressing_style: str = "virtual") -> Any:
    credentials = Credentials(S3_KEY_ID, S3_SECRET, token)
    return botocore_s3_client(credentials, S3_REGION, addressing_style=addressing_style)


def botocore_part_url(
    bucket: str,
    key: str,
    token: str | None,
    addressing_style: str = "virtual",
    now: datetime = NOW,
    number: int = 3,
) -> str:
    client = botocore_client(token, addressing_style)
    with botocore_clock(now):
        return str(
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": bucket,
                    "Key": key,
                    "UploadId": S3_UPLOAD_ID,
                    "PartNumber": number,
                },
                ExpiresIn=EXPIRES,
            )
        )


class Provider(NamedTuple):
    """One storage service: where it is, what signpost sends it, and its oracle."""

    signer: Callable[..., OssV4RequestSigner | S3SigV4RequestSigner]
    bucket: str
    upload_id: str
    endpoints: tuple[str, ...]
    calls: dict[str, Call]
    oracle_headers: Callable[..., dict[str, str]]
    oracle_url: Callable[..., str]

    def request(self, call: Call, key: str, endpoint: str | None = None) -> ObjectRequest:
        return request_for(call, endpoint or self.endpoints[0], self.bucket, key)


PROVIDERS = {
    "oss": Provider(
        oss_signer,
        OSS_BUCKET,
        OSS_UPLOAD_ID,
        OSS_ENDPOINTS,
        OSS_CALLS,
        oss_oracle_headers,
        oss_oracle_url,
    ),
    "s3": Provider(
        s3_signer,
        S3_BUCKET,
        S3_UPLOAD_ID,
        S3_ENDPOINTS,
        S3_CALLS,
        s3_oracle_headers,
        s3_oracle_url,
    ),
}
PLACES = [
    (name, endpoint) for name, provider in PROVIDERS.items() for endpoint in provider.endpoints
]


# -- header form: the function's own storage calls --------------------------


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("provider", "endpoint"), PLACES)
@pytest.mark.parametrize("call", CALL_NAMES)
def test_storage_calls_are_signed_as_the_oracle_signs_them(
    call: str, provider: str, endpoint: str, key: str, token: str | None
) -> None:
    service = PROVIDERS[provider]
    request = service.request(service.calls[call], key, endpoint)
    signed = service.signer(token).request_headers(request, NOW)
    assert sent_headers(request, signed) == service.oracle_headers(request, token)


def test_the_header_forms_are_as_the_services_document_them() -> None:
    """As the SDKs gave them (alibabacloud-oss-v2 1.4.1, botocore 1.44.8), to the byte."""
    key = KEYS[0]
    headers = {
        "Content-Type": "image/png",
        "Content-Disposition": 'attachment; filename="cat.png"',
        "x-oss-forbid-overwrite": "true",
    }
    oss_create = ObjectRequest("POST", OSS_ENDPOINTS[0], OSS_BUCKET, key, {"uploads": ""}, headers)
    assert oss_signer().request_headers(oss_create, NOW) == {
        "date": "Tue, 24 Nov 2026 12:00:00 GMT",
        "x-oss-date": "20261124T120000Z",
        "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
        "authorization": (
            "OSS4-HMAC-SHA256 Credential=LTAI5tExampleKeyId/20261124/cn-hangzhou/oss/"
            "aliyun_v4_request,AdditionalHeaders=content-disposition,"
            "Signature=7c9f7d828d90d534e7c206384346a17d920bbdc659f2dc46d554af1d9cd381ee"
        ),
    }
    s3_complete = request_for(S3_CALLS["complete"], S3_ENDPOINTS[0], S3_BUCKET, key)
    signed = s3_signer(STS_TOKEN).request_headers(s3_complete, NOW)
    assert signed["x-amz-content-sha256"] == hashlib.sha256(COMPLETE_BODY).hexdigest()
    assert signed["x-amz-security-token"] == STS_TOKEN
    assert signed["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/us-east-1/s3/aws4_request, "
        "SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date;"
        "x-amz-mp-object-size;x-amz-security-token, Signature="
    )


def test_an_oss_call_without_other_headers_lists_none() -> None:
    # An empty AdditionalHeaders= is refused by OSS (its error 0002-00000209).
    request = request_for(OSS_CALLS["abort"], OSS_ENDPOINTS[0], OSS_BUCKET, KEYS[0])
    authorization = oss_signer().request_headers(request, NOW)["authorization"]
    assert "AdditionalHeaders" not in authorization


def test_s3_header_values_are_read_with_their_spaces_folded() -> None:
    headers = {"Content-Type": "image/png", "Content-Disposition": "  attachment;   x=1 "}
    request = ObjectRequest("POST", S3_ENDPOINTS[0], S3_BUCKET, KEYS[0], {"uploads": ""}, headers)
    assert sent_headers(request, s3_signer().request_headers(request, NOW)) == (
        s3_oracle_headers(request, None)
    )


def test_oss_header_values_are_signed_as_the_service_receives_them() -> None:
    # HTTP drops the spaces around a field value: OSS computes over what it got.
    spaced = {"Content-Type": " image/png ", "Content-Disposition": "  attachment "}
    plain = {"Content-Type": "image/png", "Content-Disposition": "attachment"}
    signer = oss_signer()
    as_sent, as_received = (
        signer.request_headers(
            ObjectRequest("POST", OSS_ENDPOINTS[0], OSS_BUCKET, KEYS[0], {"uploads": ""}, h), NOW
        )
        for h in (spaced, plain)
    )
    assert as_sent == as_received


# -- query form: presigned part URLs ----------------------------------------


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("provider", "endpoint"), PLACES)
def test_part_urls_are_the_oracles(
    provider: str, endpoint: str, key: str, token: str | None
) -> None:
    service = PROVIDERS[provider]
    request = service.request(part(service.upload_id), key, endpoint)
    url = service.signer(token).presigned_url(request, NOW, EXPIRES)
    assert parsed(url) == parsed(service.oracle_url(request, token))


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    ("bucket", "endpoint", "style"),
    [
        (S3_BUCKET, S3_ENDPOINTS[0], "virtual"),
        # botocore's path-style host in us-east-1 is the global one.
        ("example.bucket", "https://s3.amazonaws.com/example.bucket", "path"),
    ],
)
def test_s3_part_urls_are_those_of_generate_presigned_url(
    bucket: str, endpoint: str, style: str, key: str, token: str | None
) -> None:
    request = request_for(part(S3_UPLOAD_ID), endpoint, bucket, key)
    url = s3_signer(token).presigned_url(request, NOW, EXPIRES)
    assert parsed(url) == parsed(botocore_part_url(bucket, key, token, style))


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("key", KEYS)
def test_oss_part_urls_are_those_of_client_presign(key: str, token: str | None) -> None:
    """``Client.presign`` reads the real clock: sign at the date and expiry it chose."""
    config = oss.config.load_default()
    config.credentials_provider = oss.credentials.StaticCredentialsProvider(
        OSS_KEY_ID, OSS_SECRET, token
    )
    config.region = OSS_REGION
    theirs = (
        oss.Client(config)
        .presign(
            oss.UploadPartRequest(
                bucket=OSS_BUCKET, key=key, part_number=3, upload_id=OSS_UPLOAD_ID
            ),
            expires=timedelta(seconds=EXPIRES),
        )
        .url
    )
    query = parsed(theirs)[3]
    now = datetime.strptime(query["x-oss-date"], "%Y%m%dT%H%M%S%z")
    request = request_for(part(OSS_UPLOAD_ID), OSS_ENDPOINTS[0], OSS_BUCKET, key)
    ours = oss_signer(token).presigned_url(request, now, int(query["x-oss-expires"]))
    assert parsed(ours) == parsed(theirs)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("call", CALL_NAMES)
def test_any_call_can_be_presigned_as_the_oracle_does(provider: str, call: str) -> None:
    """Headers in a presigned URL: signed (OSS: listed unless it always signs them)."""
    service = PROVIDERS[provider]
    request = service.request(service.calls[call], KEYS[0])
    url = service.signer(STS_TOKEN).presigned_url(request, NOW, EXPIRES)
    assert parsed(url) == parsed(service.oracle_url(request, STS_TOKEN))


RECORDED_PATH = "/uploads/9f0c0123456789abcdef0123456789ab/cat%20photo%20%C3%BC.png"
RECORDED_PART_URLS = {
    "oss": (
        OSS_UPLOAD_ID,
        f"{OSS_ENDPOINTS[0]}{RECORDED_PATH}?partNumber=3&uploadId={OSS_UPLOAD_ID}"
        "&x-oss-signature-version=OSS4-HMAC-SHA256"
        "&x-oss-credential=LTAI5tExampleKeyId%2F20261124%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
        "&x-oss-date=20261124T120000Z&x-oss-expires=600"
        "&x-oss-signature=734197407f3521c01151e8822f15b1d1ef8159729f626578f44c2ce7ef1a3b07",
    ),
    "s3": (
        "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
        f"{S3_ENDPOINTS[0]}{RECORDED_PATH}?partNumber=3"
        "&uploadId=VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
        "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261124%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20261124T120000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=fc5448f35d14d10f48a9b1a323fdb9df2c9ca1459cd9b307ab99a85286e5e04c",
    ),
}


@pytest.mark.parametrize("provider", sorted(RECORDED_PART_URLS))
def test_the_part_urls_are_exact(provider: str) -> None:
    """As both SDKs gave them (alibabacloud-oss-v2 1.4.1, botocore 1.44.8), to the byte.

    Pinned values: a change in an SDK cannot hide a change here.
    """
    upload_id, recorded = RECORDED_PART_URLS[provider]
    service = PROVIDERS[provider]
    url = service.signer().presigned_url(service.request(part(upload_id), KEYS[0]), NOW, EXPIRES)
    assert url == recorded


@pytest.mark.parametrize(
    ("provider", "name"), [("oss", "x-oss-security-token"), ("s3", "X-Amz-Security-Token")]
)
def test_the_sts_token_rides_in_the_query_ahead_of_the_signature(provider: str, name: str) -> None:
    service = PROVIDERS[provider]
    url = service.signer(STS_TOKEN).presigned_url(
        service.request(part(service.upload_id), KEYS[0]), NOW, EXPIRES
    )
    names = [pair.split("=")[0] for pair in urlsplit(url).query.split("&")]
    assert parsed(url)[3][name] == STS_TOKEN
    assert names[-1].lower().endswith("-signature")
    assert names.index(name) < len(names) - 1


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("expires", [0, -1, MAX_EXPIRES + 1])
def test_an_expiry_outside_one_second_to_seven_days_is_refused(provider: str, expires: int) -> None:
    request = request_for(part("u"), "https://b.example", "b", "k")
    with pytest.raises(ValueError, match="expires"):
        PROVIDERS[provider].signer().presigned_url(request, NOW, expires)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("expires", [1, MAX_EXPIRES])
def test_the_longest_and_shortest_expiries_are_the_oracles(provider: str, expires: int) -> None:
    service = PROVIDERS[provider]
    request = service.request(part(service.upload_id), KEYS[0])
    assert parsed(service.signer().presigned_url(request, NOW, expires)) == parsed(
        service.oracle_url(request, None, expires=expires)
    )


# -- any key, any instant ---------------------------------------------------

keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.just(timezone.utc),
).map(lambda moment: moment.replace(microsecond=0))


@settings(max_examples=100, deadline=None)
@given(
    provider=st.sampled_from(sorted(PROVIDERS)),
    call=st.sampled_from(CALL_NAMES),
    key=keys,
    now=instants,
    token=st.sampled_from(TOKENS),
)
def test_any_key_at_any_instant_is_signed_as_the_oracle_does(
    provider: str, call: str, key: str, now: datetime, token: str | None
) -> None:
    service = PROVIDERS[provider]
    signer = service.signer(token)
    request = service.request(service.calls[call], key, service.endpoints[-1])
    assert sent_headers(request, signer.request_headers(request, now)) == (
        service.oracle_headers(request, token, now)
    )
    upload = service.request(part(service.upload_id), key)
    assert parsed(signer.presigned_url(upload, now, EXPIRES)) == parsed(
        service.oracle_url(upload, token, now)
    )


@settings(max_examples=40, deadline=None)
@given(key=keys, now=instants, token=st.sampled_from(TOKENS))
def test_any_key_makes_the_part_url_of_generate_presigned_url(
    key: str, now: datetime, token: str | None
) -> None:
    upload = PROVIDERS["s3"].request(part(S3_UPLOAD_ID), key)
    assert parsed(s3_signer(token).presigned_url(upload, now, EXPIRES)) == parsed(
        botocore_part_url(S3_BUCKET, key, token, now=now)
    )


@given(now=st.datetimes(timezones=st.just(timezone.utc)))
def test_the_http_date_is_the_standard_librarys(now: datetime) -> None:
    assert http_date(now) == email.utils.format_datetime(now.replace(microsecond=0), usegmt=True)


# -- properties of our own --------------------------------------------------

BASE = ObjectRequest(
    "POST",
    "https://b.example",
    "b",
    "uploads/user/cat.png",
    {"uploadId": "u1"},
    {"Content-Type": "application/xml", "Content-Disposition": "attachment"},
    b"<CompleteMultipartUpload/>",
)
CHANGES = {
    "method": BASE._replace(method="PUT"),
    "key": BASE._replace(key="uploads/user/cat.pnG"),
    "bucket": BASE._replace(bucket="c"),
    "endpoint host": BASE._replace(endpoint="https://c.example"),
    "query value": BASE._replace(query={"uploadId": "u2"}),
    "query name": BASE._replace(query={"uploadid": "u1"}),
    "added parameter": BASE._replace(query={"uploadId": "u1", "partNumber": "1"}),
    "header value": BASE._replace(
        headers={"Content-Type": "application/xml", "Content-Disposition": "inline"}
    ),
    "added header": BASE._replace(headers={**BASE.headers, "x-oss-meta-a": "1"}),
    "body": BASE._replace(body=b"<CompleteMultipartUpload></CompleteMultipartUpload>"),
}
# What each scheme does not sign, by design.
UNSIGNED = {
    "oss": {"endpoint host", "body"},  # /bucket/key, not the host; UNSIGNED-PAYLOAD
    "s3": {"bucket"},  # the bucket is in the endpoint
}
UNSIGNED_IN_URL = {"oss": {"endpoint host", "body"}, "s3": {"bucket", "body"}}


def signature_of(text: str) -> str:
    return text.rsplit("ignature=", 1)[1]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_request_changes_the_signature(provider: str, change: str) -> None:
    signer = PROVIDERS[provider].signer()
    before = signature_of(signer.request_headers(BASE, NOW)["authorization"])
    after = signature_of(signer.request_headers(CHANGES[change], NOW)["authorization"])
    assert (before == after) == (change in UNSIGNED[provider])
    url_before = signature_of(signer.presigned_url(BASE, NOW, EXPIRES))
    url_after = signature_of(signer.presigned_url(CHANGES[change], NOW, EXPIRES))
    assert (url_before == url_after) == (change in UNSIGNED_IN_URL[provider])


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_another_key_instant_or_region_changes_the_signature(provider: str) -> None:
    make = PROVIDERS[provider].signer
    reference = signature_of(make().presigned_url(BASE, NOW, EXPIRES))
    others = [
        make(region="eu-central-1").presigned_url(BASE, NOW, EXPIRES),
        make().presigned_url(BASE, NOW + timedelta(seconds=1), EXPIRES),
        make().presigned_url(BASE, NOW, EXPIRES + 1),
        make(STS_TOKEN).presigned_url(BASE, NOW, EXPIRES),
    ]
    assert reference not in {signature_of(url) for url in others}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_secret_is_in_no_signed_output(provider: str) -> None:
    signer = PROVIDERS[provider].signer(STS_TOKEN)
    secret = OSS_SECRET if provider == "oss" else S3_SECRET
    output = [signer.presigned_url(BASE, NOW, EXPIRES), *signer.request_headers(BASE, NOW).values()]
    assert not [text for text in output if secret in text]


def test_the_url_is_the_endpoint_then_the_key_encoded_once() -> None:
    request = ObjectRequest(
        "GET", "https://h.example/base", "b", "a b/ü+%2F~!", {"uploadId": "x y", "uploads": ""}
    )
    assert request.path == "/base/a%20b/%C3%BC%2B%252F~%21"
    assert request.url == "https://h.example/base/a%20b/%C3%BC%2B%252F~%21?uploadId=x%20y&uploads"


def test_importing_app_compiles_no_request_signer() -> None:
    """Only the multipart routes pay for this module (a Lambda zip holds no ``.pyc``)."""
    probe = "import sys, app; print('chalicelib.request_signers' in sys.modules)"
    root = Path(__file__).parents[2]
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
