"""What signpost remembers between requests, and that it never goes stale.

Settings are parsed once per set of values, yet every change is seen on the
next call; derived V4 keys are remembered per secret and scope.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chalicelib.errors import NotConfigured
from chalicelib.settings import load_oss, load_settings
from chalicelib.signers import derive_key
from tests.support.environment import OSS_ENV


def test_the_same_values_give_the_same_parsed_settings() -> None:
    first = load_settings({"UPLOAD_DIR": "cache-a/"})
    assert load_settings({"UPLOAD_DIR": "cache-a/"}) is first


def test_a_changed_variable_takes_effect_on_the_next_call() -> None:
    env = {"UPLOAD_DIR": "cache-b/", "EXPIRE_SECONDS": "60"}
    assert load_settings(env).expire_seconds == 60
    env["EXPIRE_SECONDS"] = "90"
    assert load_settings(env).expire_seconds == 90
    del env["EXPIRE_SECONDS"]
    assert load_settings(env).expire_seconds == 600


def test_a_variable_read_only_on_one_path_is_still_watched() -> None:
    fallback = {
        "OSS_BUCKET": "cache-bucket",
        "OSS_REGION": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "role-key",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "role-secret",
    }
    assert load_oss(fallback).credentials.access_key_id == "role-key"
    explicit = {**fallback, "OSS_ACCESS_KEY_ID": "own-key", "OSS_ACCESS_KEY_SECRET": "own-secret"}
    assert load_oss(explicit).credentials.access_key_id == "own-key"
    assert load_oss(fallback).credentials.access_key_id == "role-key"


def test_a_setting_broken_after_a_good_parse_is_refused() -> None:
    env = {**OSS_ENV, "OSS_BUCKET": "cache-good"}
    assert load_oss(env).bucket == "cache-good"
    env["OSS_BUCKET"] = "Not A Bucket"
    with pytest.raises(NotConfigured, match="OSS_BUCKET"):
        load_oss(env)
    with pytest.raises(NotConfigured, match="OSS_BUCKET"):
        load_oss(env)


def test_arguments_are_part_of_the_key() -> None:
    assert load_oss(OSS_ENV).signature_version == "v4"
    assert load_oss(OSS_ENV, signature_version="v1").signature_version == "v1"
    assert load_oss(OSS_ENV).signature_version == "v4"


def chained_hmac(secret: bytes, scope: tuple[str, ...]) -> bytes:
    key = secret
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


@pytest.mark.parametrize(
    ("secret", "scope"),
    [
        (b"aliyun_v4secret-one", ("20261124", "cn-hangzhou", "oss", "aliyun_v4_request")),
        (b"aliyun_v4secret-two", ("20261124", "cn-hangzhou", "oss", "aliyun_v4_request")),
        (b"aliyun_v4secret-one", ("20261125", "cn-hangzhou", "oss", "aliyun_v4_request")),
        (b"aliyun_v4secret-one", ("20261124", "cn-beijing", "oss", "aliyun_v4_request")),
        (b"AWS4secret-one", ("20261124", "cn-hangzhou", "s3", "aws4_request")),
    ],
)
def test_a_remembered_key_is_the_key_for_that_secret_and_scope(
    secret: bytes, scope: tuple[str, ...]
) -> None:
    # Twice: the second answer comes from what the first one remembered.
    assert derive_key(secret, scope) == chained_hmac(secret, scope)
    assert derive_key(secret, scope) == chained_hmac(secret, scope)


def test_many_secrets_and_days_never_mix() -> None:
    scopes = [
        (f"202611{day:02d}", "cn-hangzhou", "oss", "aliyun_v4_request") for day in range(1, 29)
    ]
    for round_ in range(2):
        for day, scope in enumerate(scopes):
            secret = f"aliyun_v4secret-{day % 3}".encode()
            assert derive_key(secret, scope) == chained_hmac(secret, scope), round_
