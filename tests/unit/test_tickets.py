"""Tickets from the core, with a fixed clock and token: exact to the byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from alibabacloud_oss_v2.signer.v4 import SignerV4

from chalicelib import handlers
from chalicelib.errors import InvalidFilename, NotConfigured
from chalicelib.keys import content_disposition
from tests.support.environment import FIXED_NOW, FIXED_SEGMENT, OSS_ENV, SECRET
from tests.support.tickets import assert_every_field_bound, decode_policy


def ticket(body: str, env: dict[str, str] | None = None) -> dict:
    return handlers.upload_ticket(
        body, {**OSS_ENV, **(env or {})}, clock=lambda: FIXED_NOW, segment=lambda: FIXED_SEGMENT
    )


CAT = '{"filename": "cat.png", "content_type": "image/png", "size": 2048}'


def test_a_v4_ticket_is_exact() -> None:
    answer = ticket(CAT)
    key = f"uploads/{FIXED_SEGMENT}/cat.png"
    assert answer["url"] == "https://signpost-test.oss-cn-hangzhou.aliyuncs.com"
    assert answer["method"] == "POST"
    assert answer["key"] == key
    assert answer["expires_at"] == "2026-11-24T12:10:00Z"
    assert answer["max_size"] == 2048
    fields = answer["fields"]
    assert list(fields) == [
        "key",
        "Content-Type",
        "x-oss-content-type",
        "Content-Disposition",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "x-oss-signature-version",
        "x-oss-credential",
        "x-oss-date",
        "policy",
        "x-oss-signature",
    ]
    credential = "LTAItestkeyid/20261124/cn-hangzhou/oss/aliyun_v4_request"
    disposition = "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png"
    assert decode_policy(fields) == {
        "expiration": "2026-11-24T12:10:00Z",
        "conditions": [
            {"bucket": "signpost-test"},
            ["eq", "$key", key],
            ["eq", "$Content-Type", "image/png"],
            ["eq", "$x-oss-content-type", "image/png"],
            ["eq", "$Content-Disposition", disposition],
            ["eq", "$x-oss-forbid-overwrite", "true"],
            ["eq", "$success_action_status", "201"],
            ["content-length-range", 2048, 2048],
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": credential},
            {"x-oss-date": "20261124T120000Z"},
        ],
    }
    assert fields["x-oss-credential"] == credential
    assert fields["x-oss-date"] == "20261124T120000Z"


def test_the_v4_signature_equals_the_oss_sdk_derivation() -> None:
    fields = ticket(CAT)["fields"]
    expected = SignerV4()._calc_signature(
        SECRET, "20261124", "cn-hangzhou", "oss", fields["policy"]
    )
    assert fields["x-oss-signature"] == expected


def test_the_v4_signature_changes_with_the_secret_date_and_region() -> None:
    reference = ticket(CAT)["fields"]["x-oss-signature"]
    assert ticket(CAT, {"OSS_ACCESS_KEY_SECRET": "other"})["fields"]["x-oss-signature"] != reference
    assert ticket(CAT, {"OSS_REGION": "cn-beijing"})["fields"]["x-oss-signature"] != reference
    later = handlers.upload_ticket(
        CAT, OSS_ENV, clock=lambda: FIXED_NOW + timedelta(days=1), segment=lambda: FIXED_SEGMENT
    )
    sdk = SignerV4()._calc_signature(
        SECRET, "20261125", "cn-hangzhou", "oss", later["fields"]["policy"]
    )
    assert later["fields"]["x-oss-signature"] == sdk != reference


def test_a_v1_ticket_signs_with_hmac_sha1() -> None:
    fields = ticket(CAT, {"OSS_SIGNATURE_VERSION": "v1"})["fields"]
    digest = hmac.new(SECRET.encode(), fields["policy"].encode(), hashlib.sha1).digest()
    assert fields["Signature"] == base64.b64encode(digest).decode()
    assert fields["OSSAccessKeyId"] == "LTAItestkeyid"
    assert "x-oss-signature" not in fields
    assert "x-oss-credential" not in fields
    policy = assert_every_field_bound(fields)
    assert ["content-length-range", 2048, 2048] in policy["conditions"]


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_every_field_is_bound_exactly(version: str) -> None:
    fields = ticket(CAT, {"OSS_SIGNATURE_VERSION": version})["fields"]
    policy = assert_every_field_bound(fields)
    assert {"bucket": "signpost-test"} in policy["conditions"]


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_an_sts_token_is_sent_and_bound(version: str) -> None:
    fields = ticket(CAT, {"OSS_SESSION_TOKEN": "sts-token-1", "OSS_SIGNATURE_VERSION": version})[
        "fields"
    ]
    assert fields["x-oss-security-token"] == "sts-token-1"
    assert_every_field_bound(fields)


def test_function_compute_credentials_are_the_fallback() -> None:
    fc = {
        "OSS_ACCESS_KEY_ID": "",
        "OSS_ACCESS_KEY_SECRET": "",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.fcrole",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "fc-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "fc-token",
    }
    fields = ticket(CAT, fc)["fields"]
    assert fields["x-oss-credential"].startswith("STS.fcrole/")
    assert fields["x-oss-security-token"] == "fc-token"
    sdk = SignerV4()._calc_signature(
        "fc-secret", "20261124", "cn-hangzhou", "oss", fields["policy"]
    )
    assert fields["x-oss-signature"] == sdk


def test_without_a_size_the_range_is_one_to_the_limit() -> None:
    answer = ticket(
        '{"filename": "cat.png", "content_type": "image/png"}', {"MAX_UPLOAD_BYTES": "5000"}
    )
    assert ["content-length-range", 1, 5000] in decode_policy(answer["fields"])["conditions"]
    assert answer["max_size"] == 5000


def test_settings_shape_the_ticket() -> None:
    answer = ticket(
        CAT,
        {
            "UPLOAD_DIR": "avatars/2026/",
            "EXPIRE_SECONDS": "60",
            "OSS_ENDPOINT": "http://127.0.0.1:9000/",
        },
    )
    assert answer["key"] == f"avatars/2026/{FIXED_SEGMENT}/cat.png"
    assert answer["expires_at"] == "2026-11-24T12:01:00Z"
    assert answer["url"] == "http://127.0.0.1:9000"


def test_keys_are_random_per_ticket() -> None:
    first = handlers.upload_ticket(CAT, OSS_ENV)["key"]
    second = handlers.upload_ticket(CAT, OSS_ENV)["key"]
    assert first != second
    for key in (first, second):
        prefix, token, name = key.split("/")
        assert prefix == "uploads"
        assert name == "cat.png"
        assert len(token) == 32
        assert int(token, 16) >= 0


def test_a_name_too_long_for_a_key_is_refused() -> None:
    name = "n" * 200 + ".png"
    with pytest.raises(InvalidFilename):
        ticket(
            f'{{"filename": "{name}", "content_type": "image/png"}}',
            {"UPLOAD_DIR": "d" * 800 + "/"},
        )


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("cat.png", "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png"),
        ("my cat.png", "attachment; filename=\"my cat.png\"; filename*=UTF-8''my%20cat.png"),
        (
            "K\u00e4tzchen.png",
            "attachment; filename=\"K_tzchen.png\"; filename*=UTF-8''K%C3%A4tzchen.png",
        ),
        ("\u732b.png", "attachment; filename=\"_.png\"; filename*=UTF-8''%E7%8C%AB.png"),
        (
            'say "hi".png',
            "attachment; filename=\"say _hi_.png\"; filename*=UTF-8''say%20%22hi%22.png",
        ),
        ("a;b=c'd.png", "attachment; filename=\"a;b=c'd.png\"; filename*=UTF-8''a%3Bb%3Dc%27d.png"),
    ],
)
def test_content_disposition_keeps_the_original_name(filename: str, header: str) -> None:
    assert content_disposition(filename) == header


def test_the_legacy_answer_is_a_v1_policy_for_a_fresh_directory() -> None:
    env = {**OSS_ENV, "LEGACY_ROUTE": "on"}
    answer = handlers.legacy_policy(env, clock=lambda: FIXED_NOW, segment=lambda: FIXED_SEGMENT)
    assert set(answer) == {"policy", "ossAccessKeyId", "signature", "host", "dir", "expire"}
    assert answer["dir"] == f"uploads/{FIXED_SEGMENT}/"
    assert answer["host"] == "https://signpost-test.oss-cn-hangzhou.aliyuncs.com"
    assert answer["expire"] == int((FIXED_NOW + timedelta(seconds=600)).timestamp())
    assert answer["ossAccessKeyId"] == "LTAItestkeyid"
    digest = hmac.new(SECRET.encode(), answer["policy"].encode(), hashlib.sha1).digest()
    assert answer["signature"] == base64.b64encode(digest).decode()
    assert decode_policy(answer) == {
        "expiration": "2026-11-24T12:10:00Z",
        "conditions": [
            {"bucket": "signpost-test"},
            ["starts-with", "$key", f"uploads/{FIXED_SEGMENT}/"],
            ["content-length-range", 1, 10485760],
            ["eq", "$success_action_status", "200"],
        ],
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OSS_ACCESS_KEY_ID", ""),
        ("OSS_ACCESS_KEY_SECRET", ""),
        ("OSS_BUCKET", ""),
        ("OSS_REGION", ""),
        ("OSS_BUCKET", "Not_A_Bucket"),
        ("OSS_SIGNATURE_VERSION", "v3"),
        ("EXPIRE_SECONDS", "0"),
        ("EXPIRE_SECONDS", "3601"),
        ("EXPIRE_SECONDS", "ten"),
        ("MAX_UPLOAD_BYTES", str(5 * 1024**4 + 1)),  # over 5 TiB
        ("UPLOAD_DIR", "uploads"),
        ("UPLOAD_DIR", "/abs/"),
        ("ALLOWED_CONTENT_TYPES", "image/png;q=1"),
        ("STORAGE_PROVIDER", "gcs"),
        ("OSS_ENDPOINT", "ftp://x"),
    ],
)
def test_a_missing_or_bad_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(NotConfigured) as refusal:
        ticket(CAT, {variable: value})
    assert refusal.value.status == 503
    assert variable in refusal.value.message
    if len(value) > 4:  # shorter values occur in the messages' own words and numbers
        assert value not in refusal.value.message
