"""What makes the dev bucket OSS: its signatures, its form rules, its codes.

Written from OSS's ``PostObject`` documentation, not from ``chalicelib``: a
form is checked signature first (V1: base64 HMAC-SHA1 of the policy; V4:
hex HMAC-SHA256 with a key derived from the secret, date, region and
service), then its policy (:mod:`devbucket.conditions`), then the file's size.
Unlike S3, OSS checks only the fields its policy names: a field no condition
binds is accepted and takes effect (``docs/devbucket.md`` cites the pages).
Every refusal is a :class:`~devbucket.errors.ServiceError`, answered as
OSS's XML error document. What S3 does the same way is in
:mod:`devbucket.postobject` and :mod:`devbucket.signatures`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import secrets
from collections.abc import Mapping
from datetime import datetime

from . import callback
from .bucket import Bucket
from .conditions import OPERATORS
from .errors import ServiceError, access_denied, required
from .forms import FilePart
from .signatures import (
    SIGNATURE_MISMATCH,
    UNSIGNED_PAYLOAD,
    QueryNames,
    RestScheme,
    V4Scheme,
    same_signature,
    verify_v4_form,
)

REQUEST_ID_HEADER = "x-oss-request-id"
BRAND = "OSS"  # as OSS's messages name its keys
V4 = V4Scheme(
    brand=BRAND,
    algorithm="OSS4-HMAC-SHA256",
    algorithm_field="x-oss-signature-version",
    prefix="x-oss",
    secret_prefix="aliyun_v4",
    service="oss",
    terminator="aliyun_v4_request",
    mismatch_code="AccessDenied",
)

# REST requests: "Include a V4 signature in the Authorization header"; presigned
# URLs: "Include a V4 signature in a URL".
REST = RestScheme(
    v4=V4,
    query=QueryNames(
        algorithm="x-oss-signature-version",
        credential="x-oss-credential",
        date="x-oss-date",
        expires="x-oss-expires",
        header_names="x-oss-additional-headers",
        signature="x-oss-signature",
        session_token="x-oss-security-token",
    ),
    query_malformed_code="InvalidArgument",
    expired_message="Request has expired.",
    expires_detail=None,
    names_key="AdditionalHeaders",
    bucket_in_uri=True,
    always_signed=("x-oss-", "content-type", "content-md5"),
    must_list=(),
    collapse_spaces=False,
    unlisted_payload=UNSIGNED_PAYLOAD,
    malformed_code="InvalidArgument",
    digest_mismatch_code="InvalidDigest",
    anonymous_message="You have no right to access this object because of bucket acl.",
    blank_value="",
)
SESSION_TOKEN_FIELD = V4.field("security-token")
# The fields a signature is made of (V1 and V4): one value each.
SIGNING_FIELDS: tuple[str, ...] = ("policy", "signature", "ossaccesskeyid", *V4.signing_fields)
POLICY_OPERATORS = OPERATORS  # eq, starts-with, in, not-in
INVALID_KEY_CODE = "InvalidObjectName"
META_PREFIX = "x-oss-meta-"
# Served back as the object's headers, besides the standard ones and x-oss-meta-*.
SERVICE_HEADERS: tuple[str, ...] = ("x-oss-storage-class", "x-oss-server-side-encryption")
# "UploadPart": each part but the last is at least 100 KB; read as 100,000 bytes,
# the smaller of 100 x 1000 and 100 x 1024 (the page does not say which;
# Alibaba's SDKs take 102,400): never stricter than the page.
MIN_PART_SIZE = 100_000
# PostObject documents no Content-MD5 form field: like any field it does not
# name, it is not checked.
MD5_FIELD: str | None = None
XML_NAMESPACE: str | None = None
OBJECT_SIZE_HEADER: str | None = None
# InitiateMultipartUpload: x-oss-forbid-overwrite: true and the key taken is
# refused there already (:func:`overwrite_refusal`).
OVERWRITE_CHECKED_AT_INITIATION = True


def verify_v1(fields: Mapping[str, str], bucket: Bucket) -> None:
    policy = required(fields, "policy")
    signature = required(fields, "signature")
    secret = bucket.secret(fields["ossaccesskeyid"], BRAND)
    digest = hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    same_signature(base64.b64encode(digest).decode(), signature, access_denied(SIGNATURE_MISMATCH))


def verify_signature(fields: Mapping[str, str], bucket: Bucket, now: datetime) -> None:
    """The form's signature, V4 or V1; an unsigned form is anonymous and refused.

    An empty ``x-oss-security-token`` is no token: OSS's own Python sample
    sends one with a long-term key.
    """
    if fields.get(SESSION_TOKEN_FIELD):
        raise ServiceError(
            403,
            "InvalidAccessKeyId",
            "The dev bucket trusts plain access keys only, not STS security tokens.",
        )
    if V4.algorithm_field in fields:
        verify_v4_form(V4, fields, bucket, now)
    elif "ossaccesskeyid" in fields:
        verify_v1(fields, bucket)
    else:
        raise access_denied("You have no right to access this object because of bucket acl.")


def may_go_unbound(name: str) -> bool:
    """Always: OSS checks only the fields its policy names."""
    return True


def forbids_overwrite(fields: Mapping[str, str]) -> bool:
    """``x-oss-forbid-overwrite: true`` forbids replacing an object; ``false``,
    or none, allows it. Any other value is refused: OSS 0006-00000117 (the
    PostObject field) and 0017-00000279 (the header) take true or false
    only. The pages write them in lower case and say nothing of others: any
    case is taken, the reading that lets an upload through."""
    value = fields.get("x-oss-forbid-overwrite")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise ServiceError(
            400,
            "InvalidArgument",
            "The value of x-oss-forbid-overwrite is invalid: it must be true or false.",
        )
    return value.lower() == "true"


def new_upload_id() -> str:
    """32 upper-case hex digits, like ``0004B9894A22E5B1888A1E29F823****``."""
    return secrets.token_hex(16).upper()


def etag(digest: str) -> str:
    """Quoted, upper-case hex, as OSS answers (``"7265F4D211B56873A381D321F586E4A9"``)."""
    return f'"{digest.upper()}"'


def default_type(key: str) -> str:
    """A guess from the key's extension, else ``application/octet-stream``."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def overwrite_refusal(headers: Mapping[str, str]) -> ServiceError | None:
    """``x-oss-forbid-overwrite: true`` (any case) at initiation or on the
    completion: ``409 FileAlreadyExists`` if the key exists (OSS
    InitiateMultipartUpload; 0042-00000214). Sent only at initiation it is
    not carried over to the completion: the pages do not say it is, so the
    dev bucket takes the reading that lets the upload replace the object."""
    if forbids_overwrite(headers):
        return ServiceError(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
    return None


def content_type(fields: Mapping[str, str], part: FilePart, key: str) -> str:
    """The object's type, in OSS's documented order: ``x-oss-content-type``,
    then the file part's own ``Content-Type``, then the ``Content-Type``
    field, then a guess from the key's extension."""
    for candidate in (
        fields.get("x-oss-content-type"),
        part.content_type,
        fields.get("content-type"),
    ):
        if candidate:
            return candidate
    return default_type(key)


def upload_callback(fields: Mapping[str, str]) -> callback.Callback | None:
    """The form's ``callback``, checked before the file is stored; None without one."""
    return callback.parse(fields)


def strict_ranges(headers: Mapping[str, str]) -> bool:
    """A ``Range`` past the object is ignored (``200``, the whole object) unless
    the request asks for RFC 9110's reading with ``x-oss-range-behavior: standard``."""
    return (headers.get("x-oss-range-behavior") or "").lower() == "standard"
