"""What makes the dev bucket OSS: its signatures, its form rules, its XML.

Written from OSS's ``PostObject`` documentation, not from ``chalicelib``: a
form is checked signature first (V1: base64 HMAC-SHA1 of the policy; V4:
hex HMAC-SHA256 with a key derived from the secret, date, region and
service), then its policy (:mod:`devbucket.conditions`), then the file's size.
Every refusal is an :class:`OssError`, answered as OSS's XML error document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from . import conditions
from .conditions import Policy, PolicyViolation
from .forms import FilePart, InvalidField, MalformedForm
from .store import AlreadyExists, InvalidKey

V4_ALGORITHM = "OSS4-HMAC-SHA256"
V4_DATE = "%Y%m%dT%H%M%SZ"
V4_SCOPE_DATE = "%Y%m%d"
V4_SKEW = timedelta(minutes=15)  # how far in the future x-oss-date may be
V4_MAX_AGE = timedelta(days=7)  # how long after x-oss-date a V4 form may be used
POST_OBJECT_LIMIT = 5 * 1024**3

# Fields no condition needs to bind: the policy, the signatures, V1's key id,
# the file, and the bucket (the service supplies it).
EXEMPT = frozenset({"policy", "signature", "ossaccesskeyid", "x-oss-signature", "file", "bucket"})
# Form fields kept as the object's HTTP headers, by lower-case name.
STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}
SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class OssError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def access_denied(message: str) -> OssError:
    return OssError(403, "AccessDenied", message)


def invalid_argument(message: str) -> OssError:
    return OssError(400, "InvalidArgument", message)


def xml_document(root: str, children: Mapping[str, str]) -> bytes:
    element = ElementTree.Element(root)
    for name, text in children.items():
        ElementTree.SubElement(element, name).text = text
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element)


def error_document(error: OssError, request_id: str, host_id: str) -> bytes:
    return xml_document(
        "Error",
        {"Code": error.code, "Message": error.message, "RequestId": request_id, "HostId": host_id},
    )


@dataclass(frozen=True)
class Bucket:
    """One bucket: its name, its region (V4 scopes name it) and the keys it trusts."""

    name: str
    region: str
    credentials: Mapping[str, str] = field(repr=False)  # access key id -> secret

    def secret(self, key_id: str) -> str:
        secret = self.credentials.get(key_id)
        if secret is None:
            raise OssError(
                403,
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
            )
        return secret


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise invalid_argument(f"The form field {name} is required.")
    return value


def _same(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass")):
        raise access_denied(SIGNATURE_MISMATCH)


def verify_v1(fields: Mapping[str, str], bucket: Bucket) -> None:
    policy = _required(fields, "policy")
    signature = _required(fields, "signature")
    secret = bucket.secret(fields["ossaccesskeyid"])
    digest = hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    _same(base64.b64encode(digest).decode(), signature)


def _v4_date(fields: Mapping[str, str], scope_date: str, now: datetime) -> None:
    try:
        date = datetime.strptime(_required(fields, "x-oss-date"), V4_DATE)
    except ValueError:
        raise invalid_argument("x-oss-date must look like 20261124T120000Z.") from None
    date = date.replace(tzinfo=timezone.utc)
    if date.strftime(V4_SCOPE_DATE) != scope_date:
        raise invalid_argument("x-oss-date and the date in x-oss-credential must be the same day.")
    if date - now > V4_SKEW:
        raise OssError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
    if now - date > V4_MAX_AGE:
        raise access_denied("Request has expired: x-oss-date is more than 7 days old.")


def verify_v4(fields: Mapping[str, str], bucket: Bucket, now: datetime) -> None:
    if fields["x-oss-signature-version"] != V4_ALGORITHM:
        raise invalid_argument(f"x-oss-signature-version must be {V4_ALGORITHM}.")
    policy = _required(fields, "policy")
    signature = _required(fields, "x-oss-signature")
    scope = _required(fields, "x-oss-credential").split("/")
    if len(scope) != 5 or scope[3:] != ["oss", "aliyun_v4_request"] or not scope[1].isdigit():
        raise invalid_argument(
            "x-oss-credential must be <AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request."
        )
    key_id, scope_date, region = scope[:3]
    if region != bucket.region:
        raise invalid_argument(f"The region in x-oss-credential must be {bucket.region}.")
    _v4_date(fields, scope_date, now)
    key = ("aliyun_v4" + bucket.secret(key_id)).encode()
    for part in scope[1:]:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    _same(hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(), signature)


def verify_signature(fields: Mapping[str, str], bucket: Bucket, now: datetime) -> None:
    """The form's signature, V4 or V1; an unsigned form is anonymous and refused."""
    if "x-oss-security-token" in fields:
        raise OssError(
            403,
            "InvalidAccessKeyId",
            "The dev bucket trusts plain access keys only, not STS security tokens.",
        )
    if "x-oss-signature-version" in fields:
        verify_v4(fields, bucket, now)
    elif "ossaccesskeyid" in fields:
        verify_v1(fields, bucket)
    else:
        raise access_denied("You have no right to access this object because of bucket acl.")


def refusal(violation: PolicyViolation) -> OssError:
    """OSS's code and status for a policy violation."""
    if isinstance(violation, conditions.MalformedPolicy):
        return OssError(400, "InvalidPolicyDocument", str(violation))
    if isinstance(violation, conditions.EntityTooLarge):
        return OssError(400, "EntityTooLarge", str(violation))
    if isinstance(violation, conditions.EntityTooSmall):
        return OssError(400, "EntityTooSmall", str(violation))
    return access_denied(str(violation))


def storage_refusal(error: MalformedForm | InvalidField | InvalidKey | AlreadyExists) -> OssError:
    """OSS's code and status for what the form reader or the store refused."""
    if isinstance(error, MalformedForm):
        return OssError(
            400,
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {error}",
        )
    if isinstance(error, InvalidKey):
        return OssError(400, "InvalidObjectName", f"The specified object is not valid. {error}")
    if isinstance(error, AlreadyExists):
        return OssError(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
    return invalid_argument(str(error))


def authorize(fields: Mapping[str, str], bucket: Bucket, now: datetime) -> Policy:
    """Everything OSS checks before the file: signature, policy, the key's presence."""
    verify_signature(fields, bucket, now)
    try:
        policy = conditions.decode_policy(fields["policy"])
        conditions.check_fields(policy, {**fields, "bucket": bucket.name}, now=now, exempt=EXEMPT)
    except PolicyViolation as violation:
        raise refusal(violation) from None
    _required(fields, "key")
    return policy


def check_size(policy: Policy, size: int) -> None:
    try:
        conditions.check_size(policy, size)
    except PolicyViolation as violation:
        raise refusal(violation) from None


def forbids_overwrite(fields: Mapping[str, str]) -> bool:
    value = fields.get("x-oss-forbid-overwrite", "false").lower()
    if value not in ("true", "false"):
        raise invalid_argument("x-oss-forbid-overwrite must be true or false.")
    return value == "true"


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
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def object_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """The HTTP headers the object is served with: standard ones and ``x-oss-meta-*``."""
    headers = {
        STORED_HEADERS[name]: value for name, value in fields.items() if name in STORED_HEADERS
    }
    headers.update(
        {name: value for name, value in fields.items() if name.startswith("x-oss-meta-")}
    )
    return headers


def success(
    fields: Mapping[str, str], bucket: Bucket, key: str, location: str, etag: str
) -> tuple[int, bytes]:
    """The answer to a stored upload: ``success_action_status`` 200 or 204
    with no body, 201 with OSS's ``PostResponse``; anything else is 204."""
    status = SUCCESS_STATUSES.get(fields.get("success_action_status", ""), 204)
    if status != 201:
        return status, b""
    body = {"Bucket": bucket.name, "Location": location, "Key": key, "ETag": etag}
    return status, xml_document("PostResponse", body)
