"""PUT tickets (``UPLOAD_METHOD=put``) and ``content_md5``.

The URLs are held to botocore's ``generate_presigned_url('put_object', ...)``
given the same bucket, key, signed headers, credentials, expiry and a frozen
clock: equal URLs mean S3 takes the request signpost's answer describes and,
since each header is signed, no other.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.checks import check_content_md5
from chalicelib.credentials import Credentials
from chalicelib.errors import EntityTooLarge, InvalidRequest, InvalidSize, NotConfigured
from chalicelib.handlers import upload_ticket, uppy_params
from chalicelib.policy import iso8601
from chalicelib.settings import POST_OBJECT_LIMIT, load_settings
from tests.support.environment import OSS_ENV, botocore_clock, botocore_s3_client
from tests.unit.test_s3_tickets import BUCKET, KEY_ID, NOW, RANDOM, REGION, SECRET
from tests.unit.test_s3_tickets import SESSION_TOKEN as TOKEN

# botocore's virtual-hosted address for this bucket: the ticket is made for the same host.
ENDPOINT = f"https://{BUCKET}.s3.amazonaws.com"
PUT_ENV = {
    "STORAGE_PROVIDER": "s3",
    "UPLOAD_METHOD": "put",
    "S3_BUCKET": BUCKET,
    "AWS_REGION": REGION,
    "S3_ENDPOINT": ENDPOINT,
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "MAX_UPLOAD_BYTES": str(2 * POST_OBJECT_LIMIT),
}
MD5 = base64.b64encode(hashlib.md5(b"\x89PNG").digest()).decode()


def put_ticket(env: dict[str, str] = PUT_ENV, **body: Any) -> dict[str, Any]:
    return upload_ticket(json.dumps(body), env, clock=lambda: NOW, segment=lambda: RANDOM)


def botocore_url(key: str, headers: dict[str, str], size: int, token: str | None) -> str:
    client = botocore_s3_client(Credentials(KEY_ID, SECRET, token), REGION)
    params: dict[str, Any] = {
        "Bucket": BUCKET,
        "Key": key,
        "ContentType": headers["Content-Type"],
        "ContentDisposition": headers["Content-Disposition"],
        "IfNoneMatch": headers["If-None-Match"],
        "ContentLength": size,
    }
    if "Content-MD5" in headers:
        params["ContentMD5"] = headers["Content-MD5"]
    with botocore_clock(NOW):
        return str(client.generate_presigned_url("put_object", Params=params, ExpiresIn=600))


def parsed(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path, dict(parse_qsl(parts.query))


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("md5", [None, MD5])
@pytest.mark.parametrize(
    ("filename", "content_type", "size"),
    [
        ("cat.png", "image/png", 68),
        ("Überweisung März 2026.pdf", "application/pdf", 1),
        ("a b+c%20d&e=f.jpg", "image/jpeg", POST_OBJECT_LIMIT),
    ],
)
def test_put_urls_are_those_of_botocore(
    filename: str, content_type: str, size: int, md5: str | None, token: str | None
) -> None:
    env = {**PUT_ENV, **({"AWS_SESSION_TOKEN": token} if token else {})}
    body: dict[str, Any] = {"filename": filename, "content_type": content_type, "size": size}
    if md5:
        body["content_md5"] = md5
    ticket = put_ticket(env, **body)
    expected = botocore_url(ticket["key"], ticket["headers"], size, token)
    assert parsed(ticket["url"]) == parsed(expected)
    signed = parsed(ticket["url"])[3]["X-Amz-SignedHeaders"].split(";")
    assert "content-length" in signed
    assert "if-none-match" in signed
    assert ("content-md5" in signed) == bool(md5)


def test_a_put_ticket_has_the_documented_shape() -> None:
    ticket = put_ticket(filename="cat.png", content_type="IMAGE/PNG", size=68, content_md5=MD5)
    assert list(ticket) == ["url", "method", "headers", "key", "expires_at", "max_size"]
    assert ticket["method"] == "PUT"
    assert ticket["key"] == f"uploads/{RANDOM}/cat.png"
    assert ticket["url"].startswith(f"{ENDPOINT}/uploads/{RANDOM}/cat.png?")
    assert ticket["headers"] == {
        "Content-Type": "image/png",
        "Content-Disposition": "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png",
        "If-None-Match": "*",
        "Content-MD5": MD5,
    }
    assert ticket["max_size"] == 68
    assert ticket["expires_at"] == iso8601(NOW.replace(minute=9, hour=0, day=25))
    assert parsed(ticket["url"])[3]["X-Amz-Expires"] == "600"


def test_the_disposition_is_the_form_tickets() -> None:
    form_env = {name: value for name, value in PUT_ENV.items() if name != "UPLOAD_METHOD"}
    body = {"filename": "Überweisung.pdf", "content_type": "application/pdf", "size": 9}
    form = put_ticket(form_env, **body)
    assert (
        put_ticket(**body)["headers"]["Content-Disposition"]
        == (form["fields"]["Content-Disposition"])
    )


def test_a_put_ticket_needs_a_size() -> None:
    with pytest.raises(InvalidSize, match="size"):
        put_ticket(filename="cat.png", content_type="image/png")


def test_a_put_ticket_carries_at_most_5_gib() -> None:
    with pytest.raises(EntityTooLarge, match="multipart"):
        put_ticket(filename="cat.png", content_type="image/png", size=POST_OBJECT_LIMIT + 1)


def test_oss_has_no_put_tickets() -> None:
    env = {**OSS_ENV, "UPLOAD_METHOD": "put"}
    with pytest.raises(NotConfigured, match="UPLOAD_METHOD") as refused:
        put_ticket(env, filename="cat.png", content_type="image/png", size=68)
    assert refused.value.status == 503


def test_an_unknown_upload_method_is_not_configured() -> None:
    with pytest.raises(NotConfigured, match="UPLOAD_METHOD"):
        put_ticket(
            {**PUT_ENV, "UPLOAD_METHOD": "patch"}, filename="cat.png", content_type="image/png"
        )


@pytest.mark.parametrize("query", [{"size": "68"}, {"metadata[size]": "68"}])
def test_uppy_params_take_the_size_from_size_or_metadata(query: dict[str, str]) -> None:
    ticket = uppy_params(
        {"filename": "cat.png", "type": "image/png", "metadata[name]": "cat.png", **query},
        PUT_ENV,
        clock=lambda: NOW,
        segment=lambda: RANDOM,
    )
    assert ticket["method"] == "PUT"
    assert ticket["max_size"] == 68
    assert ticket["headers"]["If-None-Match"] == "*"
    assert ticket["url"] == put_ticket(filename="cat.png", content_type="image/png", size=68)["url"]


def test_a_form_ticket_ignores_uppy_metadata_as_before() -> None:
    form_env = {name: value for name, value in PUT_ENV.items() if name != "UPLOAD_METHOD"}
    query = {"filename": "cat.png", "type": "image/png", "metadata[size]": "not a size"}
    ticket = uppy_params(query, form_env, clock=lambda: NOW, segment=lambda: RANDOM)
    assert ticket["method"] == "POST"
    # No size bound: the whole single-request range.
    assert ticket["max_size"] == min(load_settings(form_env).max_upload_bytes, POST_OBJECT_LIMIT)


def test_uppy_params_without_a_size_say_how_to_send_one() -> None:
    with pytest.raises(InvalidSize, match=r"metadata\[size\]"):
        uppy_params({"filename": "cat.png", "type": "image/png"}, PUT_ENV)


# -- content_md5 --------------------------------------------------------------


def test_an_s3_form_ticket_binds_content_md5() -> None:
    form_env = {name: value for name, value in PUT_ENV.items() if name != "UPLOAD_METHOD"}
    ticket = put_ticket(
        form_env, filename="cat.png", content_type="image/png", size=68, content_md5=MD5
    )
    assert ticket["fields"]["Content-MD5"] == MD5
    policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    assert ["eq", "$Content-MD5", MD5] in policy["conditions"]


def test_an_oss_form_ticket_refuses_content_md5_saying_why() -> None:
    with pytest.raises(InvalidRequest, match="PostObject has no Content-MD5"):
        put_ticket(OSS_ENV, filename="cat.png", content_type="image/png", content_md5=MD5)


@given(st.binary(min_size=16, max_size=16))
def test_any_16_byte_digest_in_base64_is_a_content_md5(digest: bytes) -> None:
    value = base64.b64encode(digest).decode()
    assert check_content_md5(value) == value


def _is_md5_base64(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 24 or not value.isascii():
        return False
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return len(digest) == 16 and base64.b64encode(digest).decode() == value


md5_like = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")


@given(
    st.one_of(
        st.text(),
        md5_like,
        md5_like.map(lambda text: (text * 24)[:24]),
        st.binary(min_size=15, max_size=17).map(lambda raw: base64.b64encode(raw).decode()),
        st.integers(),
        st.none(),
        st.lists(st.text(), max_size=2),
    )
)
def test_anything_else_is_refused_as_invalid_request(value: object) -> None:
    if _is_md5_base64(value):
        assert check_content_md5(value) == value
        return
    with pytest.raises(InvalidRequest, match="24 characters"):
        check_content_md5(value)


@pytest.mark.parametrize(
    "value",
    [
        "1B2M2Y8AsgTpgAmY7PhCfh==",  # the same bytes, padding bits set: not RFC 1864's spelling
        "1B2M2Y8AsgTpgAmY7PhCfg=",
        "1B2M2Y8AsgTpgAmY7PhCfg===",
        "d41d8cd98f00b204e9800998ecf8427e",  # hex, not base64
        "1B2M2Y8AsgTpgAmY7PhCf\ng==",
        "",
    ],
)
def test_near_misses_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequest):
        check_content_md5(value)
