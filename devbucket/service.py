"""What the dev bucket's OSS and S3 sides share: both services answer a form
upload the same way, so each rule that is the same is written here once.

* :class:`ServiceError` and the XML error document (``Error``: ``Code``,
  ``Message``, ``RequestId``, ``HostId``), the same shape in both;
* :class:`Bucket`: a bucket's name, region and the keys it trusts;
* :func:`verify_v4`: OSS V4 and AWS SigV4 sign a POST policy alike (hex
  HMAC-SHA256 of the base64 policy, with a key chained over the credential
  scope); a :class:`V4Scheme` holds the names and prefixes that differ;
* the signing fields (one value each), the policy check, the size check,
  the codes of policy violations, the stored headers and the
  ``success_action_status`` answer.

Each provider module (:mod:`devbucket.oss`, :mod:`devbucket.s3`) is a
:class:`Provider`: the server calls it, never a provider by name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol
from xml.etree import ElementTree

from . import conditions
from .conditions import Policy, PolicyViolation
from .forms import FilePart, FormFields, InvalidField, MalformedForm
from .store import AlreadyExists, InvalidKey

if TYPE_CHECKING:
    from .callback import Callback
    from .rest_auth import RestScheme

POST_OBJECT_LIMIT = 5 * 1024**3  # both services' largest form upload
V4_DATE = "%Y%m%dT%H%M%SZ"
V4_SCOPE_DATE = "%Y%m%d"
V4_SKEW = timedelta(minutes=15)  # how far in the future a V4 date may be
V4_MAX_AGE = timedelta(days=7)  # how long after its date a V4 form may be used
SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}
# Form fields kept as the object's HTTP headers, by lower-case name.
STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)

StorageProblem = MalformedForm | InvalidField | InvalidKey | AlreadyExists


class ServiceError(Exception):
    """A refusal as the service words it: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def access_denied(message: str) -> ServiceError:
    return ServiceError(403, "AccessDenied", message)


def invalid_argument(message: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", message)


def xml_document(root: str, children: Mapping[str, str]) -> bytes:
    element = ElementTree.Element(root)
    for name, text in children.items():
        ElementTree.SubElement(element, name).text = text
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element)


def error_document(error: ServiceError, request_id: str, host_id: str) -> bytes:
    return xml_document(
        "Error",
        {"Code": error.code, "Message": error.message, "RequestId": request_id, "HostId": host_id},
    )


@dataclass(frozen=True)
class Bucket:
    """One bucket: its name, its region (V4 scopes name it) and the keys it trusts.

    ``session_tokens`` names the temporary keys (STS): such a key is good
    only with its token.
    """

    name: str
    region: str
    credentials: Mapping[str, str] = field(repr=False)  # access key id -> secret
    session_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)

    def secret(self, key_id: str, brand: str) -> str:
        """The key's secret; ``InvalidAccessKeyId`` (in ``brand``'s words) if unknown."""
        secret = self.credentials.get(key_id)
        if secret is None:
            raise ServiceError(
                403,
                "InvalidAccessKeyId",
                f"The {brand} Access Key Id you provided does not exist in our records.",
            )
        return secret


@dataclass(frozen=True)
class Admitted:
    """A form the service lets through: its policy, and the one value each
    field takes effect with (:meth:`~devbucket.conditions.Policy.effective`)."""

    policy: Policy
    fields: dict[str, str]


class Provider(Protocol):
    """A service's form rules; :mod:`devbucket.oss` and :mod:`devbucket.s3` are ones."""

    REQUEST_ID_HEADER: str
    REST: RestScheme

    def authorize(self, fields: FormFields, bucket: Bucket, now: datetime) -> Admitted: ...

    def storage_refusal(self, error: StorageProblem) -> ServiceError: ...

    def forbids_overwrite(self, fields: Mapping[str, str]) -> bool: ...

    def content_type(self, fields: Mapping[str, str], part: FilePart, key: str) -> str: ...

    def object_headers(self, fields: Mapping[str, str]) -> dict[str, str]: ...

    def upload_callback(self, fields: Mapping[str, str]) -> Callback | None: ...


def required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise invalid_argument(f"The form field {name} is required.")
    return value


def signing_fields(fields: FormFields, names: Collection[str]) -> dict[str, str]:
    """The form's fields that make its signature, one value each.

    A repeat with the same value is harmless. A repeat with another value is
    refused: a service that verified one policy and applied another would
    have no security at all, and neither document says what it does, so the
    dev bucket does not guess (an uploader gains nothing from it that a form
    with the other value alone would not give).
    """
    signing: dict[str, str] = {}
    for name in names:
        values = set(fields.get(name, ()))
        if len(values) > 1:
            raise invalid_argument(f"The form field {name} appears twice with different values.")
        if values:
            signing[name] = values.pop()
    return signing


@dataclass(frozen=True)
class V4Scheme:
    """The names one service gives the V4 form signature's parts."""

    brand: str  # "OSS" or "AWS", as the service's messages say
    algorithm: str  # OSS4-HMAC-SHA256 / AWS4-HMAC-SHA256
    algorithm_field: str  # x-oss-signature-version / x-amz-algorithm
    prefix: str  # x-oss / x-amz: {prefix}-credential, -date, -signature
    secret_prefix: str  # aliyun_v4 / AWS4
    service: str  # oss / s3
    terminator: str  # aliyun_v4_request / aws4_request
    mismatch_code: str  # the code of a signature that does not match

    def field(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def signing_fields(self) -> tuple[str, ...]:
        """The form fields a V4 form signature is made of, its session token included."""
        parts = ("credential", "date", "signature", "security-token")
        return (self.algorithm_field, *(self.field(part) for part in parts))


def _v4_date(fields: Mapping[str, str], scheme: V4Scheme, scope_date: str, now: datetime) -> None:
    name = scheme.field("date")
    try:
        date = datetime.strptime(required(fields, name), V4_DATE)
    except ValueError:
        raise invalid_argument(f"{name} must look like 20261124T120000Z.") from None
    date = date.replace(tzinfo=timezone.utc)
    if date.strftime(V4_SCOPE_DATE) != scope_date:
        raise invalid_argument(
            f"{name} and the date in {scheme.field('credential')} must be the same day."
        )
    if date - now > V4_SKEW:
        raise ServiceError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
    if now - date > V4_MAX_AGE:
        raise access_denied(f"Request has expired: {name} is more than 7 days old.")


def signing_key(scheme: V4Scheme, secret: str, scope: list[str]) -> bytes:
    """The V4 signing key: HMAC-SHA256 chained from the prefixed secret over
    the scope's date, region, service and terminator."""
    key = (scheme.secret_prefix + secret).encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify_v4(fields: Mapping[str, str], bucket: Bucket, now: datetime, scheme: V4Scheme) -> str:
    """The V4 signature of the form's policy; the access key id that signed it."""
    if fields.get(scheme.algorithm_field) != scheme.algorithm:
        raise invalid_argument(f"{scheme.algorithm_field} must be {scheme.algorithm}.")
    policy = required(fields, "policy")
    signature = required(fields, scheme.field("signature"))
    credential = scheme.field("credential")
    scope = required(fields, credential).split("/")
    if (
        len(scope) != 5
        or scope[3:] != [scheme.service, scheme.terminator]
        or not scope[1].isdigit()
    ):
        raise invalid_argument(
            f"{credential} must be <AccessKeyId>/<YYYYMMDD>/<region>/"
            f"{scheme.service}/{scheme.terminator}."
        )
    key_id, scope_date, region = scope[:3]
    if region != bucket.region:
        raise invalid_argument(f"The region in {credential} must be {bucket.region}.")
    _v4_date(fields, scheme, scope_date, now)
    key = signing_key(scheme, bucket.secret(key_id, scheme.brand), scope[1:])
    expected = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
    same_signature(expected, signature, ServiceError(403, scheme.mismatch_code, SIGNATURE_MISMATCH))
    return key_id


def same_secret(expected: str, given: str) -> bool:
    """Whether the form's ``given`` value is ``expected``, compared in constant time."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def same_signature(expected: str, given: str, mismatch: ServiceError) -> None:
    if not same_secret(expected, given):
        raise mismatch


def refusal(violation: PolicyViolation) -> ServiceError:
    """The code and status both services give a policy violation."""
    if isinstance(violation, conditions.MalformedPolicy):
        return ServiceError(400, "InvalidPolicyDocument", str(violation))
    if isinstance(violation, conditions.EntityTooLarge):
        return ServiceError(400, "EntityTooLarge", str(violation))
    if isinstance(violation, conditions.EntityTooSmall):
        return ServiceError(400, "EntityTooSmall", str(violation))
    return access_denied(str(violation))


def admit(
    encoded_policy: str,
    fields: FormFields,
    bucket: Bucket,
    now: datetime,
    *,
    exempt: Collection[str] | None,
    operators: Collection[str] = conditions.OPERATORS,
) -> Admitted:
    """The form's policy, decoded and checked against its fields (the bucket's
    name included, as the service supplies it), and the key's presence.

    ``exempt`` names the fields that need no condition, the others must be
    bound (S3); None lets any field go unbound (OSS).
    """
    fields = {**fields, "bucket": [bucket.name]}
    try:
        policy = conditions.decode_policy(encoded_policy, operators=operators)
        conditions.check_fields(policy, fields, now=now)
        if exempt is not None:
            conditions.check_bound(policy, fields, exempt=exempt)
    except PolicyViolation as violation:
        raise refusal(violation) from None
    effective = policy.effective(fields)
    required(effective, "key")
    return Admitted(policy, effective)


def check_size(policy: Policy, size: int) -> None:
    try:
        conditions.check_size(policy, size)
    except PolicyViolation as violation:
        raise refusal(violation) from None


def storage_refusal(error: StorageProblem, invalid_key_code: str) -> ServiceError:
    """The code and status for what the form reader or the store refused;
    the services name a key they cannot hold differently."""
    if isinstance(error, MalformedForm):
        return ServiceError(
            400,
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {error}",
        )
    if isinstance(error, InvalidKey):
        return ServiceError(400, invalid_key_code, f"The specified object is not valid. {error}")
    if isinstance(error, AlreadyExists):
        return ServiceError(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
    return invalid_argument(str(error))


def object_headers(fields: Mapping[str, str], meta_prefix: str) -> dict[str, str]:
    """The HTTP headers the object is served with: standard ones and user metadata."""
    headers = {
        STORED_HEADERS[name]: value for name, value in fields.items() if name in STORED_HEADERS
    }
    headers.update({name: value for name, value in fields.items() if name.startswith(meta_prefix)})
    return headers


def success(
    fields: Mapping[str, str], bucket: Bucket, key: str, location: str, etag: str
) -> tuple[int, bytes]:
    """The answer to a stored upload: ``success_action_status`` 200 or 204
    with no body, 201 with a ``PostResponse``; anything else is 204."""
    status = SUCCESS_STATUSES.get(fields.get("success_action_status", ""), 204)
    if status != 201:
        return status, b""
    body = {"Location": location, "Bucket": bucket.name, "Key": key, "ETag": etag}
    return status, xml_document("PostResponse", body)
