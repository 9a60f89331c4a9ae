"""What makes the dev bucket S3: SigV4 form signatures, S3's form rules, its codes.

Written from AWS's "Browser-Based Uploads Using POST (AWS Signature Version
4)" and "POST Policy" pages, not from ``chalicelib``:

* the form carries ``x-amz-algorithm`` (``AWS4-HMAC-SHA256``),
  ``x-amz-credential`` (``<key>/<yyyymmdd>/<region>/s3/aws4_request``),
  ``x-amz-date`` and ``x-amz-signature``: the hex HMAC-SHA256 of the base64
  policy with the key chained ``"AWS4" + secret`` -> date -> region -> ``s3``
  -> ``aws4_request``; a temporary key also needs its
  ``x-amz-security-token``;
* every form field but ``x-amz-signature``, ``file``, ``policy`` and those
  named ``x-ignore-*`` must be bound by a condition; conditions are ``eq``
  (or ``{"field": "value"}``), ``starts-with`` and ``content-length-range``;
* the stored object's type is the ``Content-Type`` field (S3 ignores the
  file part's own header), ``binary/octet-stream`` without one; an upload
  replaces an object of the same key.

Refusals use S3's codes: ``SignatureDoesNotMatch``, ``InvalidAccessKeyId``,
``InvalidToken``, and the policy's (``AccessDenied``, ``EntityTooLarge``...)
shared with OSS in :mod:`devbucket.postobject`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime

from .bucket import Bucket
from .conditions import STRING_OPERATORS
from .errors import ServiceError, access_denied
from .forms import FilePart
from .signatures import QueryNames, RestScheme, V4Scheme, same_secret, verify_v4_form

REQUEST_ID_HEADER = "x-amz-request-id"
V4 = V4Scheme(
    brand="AWS",
    algorithm="AWS4-HMAC-SHA256",
    algorithm_field="x-amz-algorithm",
    prefix="x-amz",
    secret_prefix="AWS4",
    service="s3",
    terminator="aws4_request",
    mismatch_code="SignatureDoesNotMatch",
)
# REST requests: "Authenticating Requests: Using the Authorization Header (AWS
# Signature Version 4)"; presigned URLs: "... Using Query Parameters".
REST = RestScheme(
    v4=V4,
    query=QueryNames(
        algorithm="X-Amz-Algorithm",
        credential="X-Amz-Credential",
        date="X-Amz-Date",
        expires="X-Amz-Expires",
        header_names="X-Amz-SignedHeaders",
        signature="X-Amz-Signature",
        session_token="X-Amz-Security-Token",
    ),
    query_malformed_code="AuthorizationQueryParametersError",
    expired_message="Request has expired",
    expires_detail="X-Amz-Expires",
    names_key="SignedHeaders",
    bucket_in_uri=False,
    always_signed=(),
    must_list=("host",),
    collapse_spaces=True,
    unlisted_payload=None,
    malformed_code="AuthorizationHeaderMalformed",
    digest_mismatch_code="XAmzContentSHA256Mismatch",
    anonymous_message="Access Denied",
    blank_value="=",
)
SESSION_TOKEN_FIELD = V4.field("security-token")
# The fields the signature is made of: one value each.
SIGNING_FIELDS: tuple[str, ...] = ("policy", *V4.signing_fields)
POLICY_OPERATORS = STRING_OPERATORS  # eq, starts-with
INVALID_KEY_CODE = "InvalidArgument"
META_PREFIX = "x-amz-meta-"
SERVICE_HEADERS: tuple[str, ...] = ()
# Fields no condition needs to bind; the bucket is S3's own (it comes from the URL).
EXEMPT = frozenset({"x-amz-signature", "file", "policy", "bucket"})
IGNORED_PREFIX = "x-ignore-"
DEFAULT_TYPE = "binary/octet-stream"
# "Amazon S3 multipart upload limits": 5 MiB to 5 GiB, no minimum for the last part.
MIN_PART_SIZE = 5 * 1024**2
XML_NAMESPACE: str | None = "http://s3.amazonaws.com/doc/2006-03-01/"
# CompleteMultipartUpload's MpuObjectSize: if sent, the parts' sum must equal it.
OBJECT_SIZE_HEADER: str | None = "x-amz-mp-object-size"
# POST Object: "When you use this form field, Amazon S3 checks the object against
# the provided MD5 value."
MD5_FIELD: str | None = "content-md5"
# CreateMultipartUpload documents no overwrite condition: only the completion's.
OVERWRITE_CHECKED_AT_INITIATION = False


def verify_signature(fields: Mapping[str, str], bucket: Bucket, now: datetime) -> None:
    """The SigV4 signature, then the session token a temporary key needs.

    An unsigned form is anonymous; the dev bucket is not public-write.
    """
    if V4.algorithm_field not in fields and V4.field("signature") not in fields:
        raise access_denied("Access Denied")
    key_id = verify_v4_form(V4, fields, bucket, now)
    expected = bucket.session_tokens.get(key_id)
    given = fields.get(SESSION_TOKEN_FIELD)
    if expected is not None and given is None:
        # A temporary key is not a key S3 knows without its token.
        raise ServiceError(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    if given is not None and (expected is None or not same_secret(expected, given)):
        raise ServiceError(
            400, "InvalidToken", "The provided token is malformed or otherwise invalid."
        )


def may_go_unbound(name: str) -> bool:
    """Only the exempt fields and ``x-ignore-*``: S3 refuses a field no
    condition binds."""
    return name in EXEMPT or name.startswith(IGNORED_PREFIX)


def forbids_overwrite(fields: Mapping[str, str]) -> bool:
    """Never: an S3 form upload replaces an object of the same key."""
    return False


def new_upload_id() -> str:
    """An opaque URL-safe base64 string, like S3's (``VXBsb2FkIElE...``)."""
    return secrets.token_urlsafe(48)


def etag(digest: str) -> str:
    """Quoted, lower-case hex, as S3 answers."""
    return f'"{digest.lower()}"'


def default_type(key: str) -> str:
    return DEFAULT_TYPE


def overwrite_refusal(headers: Mapping[str, str]) -> ServiceError | None:
    """``If-None-Match: *`` on the completion: ``412 PreconditionFailed`` if
    the key exists ("CompleteMultipartUpload"); without it the upload
    replaces the object."""
    if headers.get("if-none-match", "").strip() == "*":
        return ServiceError(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            {"Condition": "If-None-Match"},
        )
    return None


def content_type(fields: Mapping[str, str], part: FilePart, key: str) -> str:
    """The ``Content-Type`` field; S3 does not look at the file part's header."""
    return fields.get("content-type") or DEFAULT_TYPE


def upload_callback(fields: Mapping[str, str]) -> None:
    """None: S3 has no upload callback (a ``callback`` field is just a field)."""
    return None


def strict_ranges(headers: Mapping[str, str]) -> bool:
    """S3 reads ``Range`` as RFC 9110 does: the end clipped, a start past the end 416."""
    return True
