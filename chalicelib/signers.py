"""Form-upload signers, one class per signature scheme (as botocore's auth.py).

A signer contributes two groups of form fields:

* ``auth_fields(now)``: fields that go into the form *and* into the policy as
  object-form conditions (credential scope, date, STS token);
* ``signature_fields(policy, now)``: the signature over the base64 policy,
  and whatever must travel beside it unbound (V1's ``OSSAccessKeyId``).

Everything else about a ticket (the policy, the key, the checks) is shared.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Protocol

from .credentials import Credentials

AMZ_DATE = "%Y%m%dT%H%M%SZ"  # also OSS V4's x-oss-date
SCOPE_DATE = "%Y%m%d"


class PostSigner(Protocol):
    def auth_fields(self, now: datetime) -> dict[str, str]: ...

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]: ...


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


# Derived V4 keys by (SHA-256 of the secret, scope): a key changes only with
# the date, and deriving one costs four of a ticket's five HMACs.
_DERIVED_KEYS: dict[tuple[bytes, tuple[str, ...]], bytes] = {}
_DERIVED_KEYS_MAX = 8


def derive_key(secret: bytes, scope: tuple[str, ...]) -> bytes:
    """The V4 signing key: HMAC-SHA256 chained over the scope's parts.

    Remembered under a digest of the secret, never the secret itself.
    """
    cache_key = (hashlib.sha256(secret).digest(), scope)
    key = _DERIVED_KEYS.get(cache_key)
    if key is None:
        key = secret
        for part in scope:
            key = _hmac_sha256(key, part)
        if len(_DERIVED_KEYS) >= _DERIVED_KEYS_MAX:
            _DERIVED_KEYS.clear()
        _DERIVED_KEYS[cache_key] = key
    return key


class OssV1Signer:
    """OSS signature V1: base64(HMAC-SHA1(secret, policy)), the seed's scheme."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def auth_fields(self, now: datetime) -> dict[str, str]:
        token = self._credentials.session_token
        return {"x-oss-security-token": token} if token else {}

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]:
        digest = hmac.new(
            self._credentials.secret.encode("utf-8"), policy.encode("ascii"), hashlib.sha1
        ).digest()
        return {
            "OSSAccessKeyId": self._credentials.access_key_id,
            "Signature": base64.b64encode(digest).decode("ascii"),
        }


class _V4Signer:
    """The shared shape of OSS V4 and AWS SigV4 POST signing.

    Both sign the base64 policy with a key derived from the secret, the date,
    the region and the service; only the names and prefixes differ.
    """

    algorithm: str
    algorithm_field: str
    field_prefix: str
    secret_prefix: str
    service: str
    terminator: str

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def _scope(self, day: str) -> tuple[str, ...]:
        return (day, self._region, self.service, self.terminator)

    def auth_fields(self, now: datetime) -> dict[str, str]:
        prefix = self.field_prefix
        stamp = now.strftime(AMZ_DATE)
        credential = "/".join((self._credentials.access_key_id, *self._scope(stamp[:8])))
        fields = {
            self.algorithm_field: self.algorithm,
            f"{prefix}-credential": credential,
            f"{prefix}-date": stamp,
        }
        if self._credentials.session_token:
            fields[f"{prefix}-security-token"] = self._credentials.session_token
        return fields

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]:
        secret = (self.secret_prefix + self._credentials.secret).encode("utf-8")
        key = derive_key(secret, self._scope(now.strftime(SCOPE_DATE)))
        signature = hmac.new(key, policy.encode("ascii"), hashlib.sha256).hexdigest()
        return {f"{self.field_prefix}-signature": signature}


class OssV4Signer(_V4Signer):
    """OSS signature V4 (``OSS4-HMAC-SHA256``), the default."""

    algorithm = "OSS4-HMAC-SHA256"
    algorithm_field = "x-oss-signature-version"
    field_prefix = "x-oss"
    secret_prefix = "aliyun_v4"
    service = "oss"
    terminator = "aliyun_v4_request"


class S3SigV4Signer(_V4Signer):
    """AWS Signature Version 4 for S3 POST (``AWS4-HMAC-SHA256``)."""

    algorithm = "AWS4-HMAC-SHA256"
    algorithm_field = "x-amz-algorithm"
    field_prefix = "x-amz"
    secret_prefix = "AWS4"
    service = "s3"
    terminator = "aws4_request"
