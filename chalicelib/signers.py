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


def derive_key(secret: bytes, scope: tuple[str, ...]) -> bytes:
    """The V4 signing key: HMAC-SHA256 chained over the scope's parts."""
    key = secret
    for part in scope:
        key = _hmac_sha256(key, part)
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

    def _scope(self, now: datetime) -> tuple[str, ...]:
        return (now.strftime(SCOPE_DATE), self._region, self.service, self.terminator)

    def auth_fields(self, now: datetime) -> dict[str, str]:
        prefix = self.field_prefix
        credential = "/".join((self._credentials.access_key_id, *self._scope(now)))
        fields = {
            self.algorithm_field: self.algorithm,
            f"{prefix}-credential": credential,
            f"{prefix}-date": now.strftime(AMZ_DATE),
        }
        if self._credentials.session_token:
            fields[f"{prefix}-security-token"] = self._credentials.session_token
        return fields

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]:
        secret = (self.secret_prefix + self._credentials.secret).encode("utf-8")
        key = derive_key(secret, self._scope(now))
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
