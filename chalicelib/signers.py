"""Form-upload signers, one class per signature scheme (as botocore's auth.py),
and the V4 core they share with request signing (:mod:`.request_signers`).

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


class PostSigner(Protocol):
    def auth_fields(self, now: datetime) -> dict[str, str]: ...

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]: ...


def amz_date(now: datetime) -> str:
    """``now`` (UTC) as V4 dates it, ``20261124T120000Z`` (``AMZ_DATE``); the
    scope's day is its first 8 characters.

    Formatted field by field: ``strftime`` goes through ``time.strftime``
    and a struct_time, which costs more than the rest of a date field.
    """
    day = f"{now.year:04d}{now.month:02d}{now.day:02d}"
    return f"{day}T{now.hour:02d}{now.minute:02d}{now.second:02d}Z"


def _hmac_sha256(key: bytes, message: str) -> bytes:
    """One-shot HMAC-SHA256 (``hmac.digest``: OpenSSL's, no ``HMAC`` object)."""
    return hmac.digest(key, message.encode("utf-8"), "sha256")


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
    """OSS signature V1: base64(HMAC-SHA1(secret, policy)), the legacy V1 route's scheme."""

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


class V4Signer:
    """The V4 core that OSS V4 and AWS SigV4 share, and their POST signing.

    Both derive a key from the secret along a scope (date, region, service,
    terminator) and sign with HMAC-SHA256; only the names and prefixes
    differ. Forms sign the base64 policy with it; requests
    (:mod:`.request_signers`) a string to sign made from the request.
    """

    algorithm: str
    algorithm_field: str  # the form field (and query parameter) naming the algorithm
    field_prefix: str  # of form fields, request headers and query parameters
    secret_prefix: str
    service: str
    terminator: str

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def _scope(self, day: str) -> tuple[str, ...]:
        return (day, self._region, self.service, self.terminator)

    def _credential(self, day: str) -> str:
        return "/".join((self._credentials.access_key_id, *self._scope(day)))

    def _signature(self, message: str, day: str) -> str:
        """Hex HMAC-SHA256 of ``message`` with the key derived for ``day``."""
        secret = (self.secret_prefix + self._credentials.secret).encode("utf-8")
        key = derive_key(secret, self._scope(day))
        return _hmac_sha256(key, message).hex()

    def _field(self, name: str) -> str:
        return f"{self.field_prefix}-{name}"

    def auth_fields(self, now: datetime) -> dict[str, str]:
        stamp = amz_date(now)
        fields = {
            self.algorithm_field: self.algorithm,
            self._field("credential"): self._credential(stamp[:8]),
            self._field("date"): stamp,
        }
        if self._credentials.session_token:
            fields[self._field("security-token")] = self._credentials.session_token
        return fields

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]:
        return {self._field("signature"): self._signature(policy, amz_date(now)[:8])}


class OssV4Signer(V4Signer):
    """OSS signature V4 (``OSS4-HMAC-SHA256``), the default."""

    algorithm = "OSS4-HMAC-SHA256"
    algorithm_field = "x-oss-signature-version"
    field_prefix = "x-oss"
    secret_prefix = "aliyun_v4"
    service = "oss"
    terminator = "aliyun_v4_request"


class S3SigV4Signer(V4Signer):
    """AWS Signature Version 4 for S3 POST (``AWS4-HMAC-SHA256``)."""

    algorithm = "AWS4-HMAC-SHA256"
    algorithm_field = "x-amz-algorithm"
    field_prefix = "x-amz"
    secret_prefix = "AWS4"
    service = "s3"
    terminator = "aws4_request"
