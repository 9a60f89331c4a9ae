"""How the dev bucket checks a signature, for OSS and S3 alike: the V4 form
signature of a POST policy, and the V4 signature of a REST request in its
``Authorization`` header. OSS's V1 form signature is OSS's alone
(:mod:`devbucket.oss`).

Written from the services' pages, not from ``chalicelib`` or an SDK (the
tests hold it to ``alibabacloud-oss-v2``'s and botocore's signers).

Both V4s (OSS V4 and AWS SigV4) sign with a key chained by HMAC-SHA256 from
the prefixed secret over the credential scope (date, region, service,
terminator), and give the hex HMAC-SHA256 of a string to sign
(:func:`v4_signature`, written once). A :class:`V4Scheme` holds the names
and prefixes that differ between the services.

* A form signs its base64 policy document itself ("PostObject"; "Browser-Based
  Uploads Using POST (AWS Signature Version 4)"): :func:`verify_v4_form`.
* A REST request ("Include a V4 signature in the Authorization header
  (recommended)"; "Authenticating Requests: Using the Authorization Header
  (AWS Signature Version 4)") signs a canonical request::

      METHOD \\n CANONICAL-URI \\n CANONICAL-QUERY \\n CANONICAL-HEADERS \\n
      HEADER-NAMES \\n PAYLOAD-HASH

  as ``ALGORITHM \\n DATE \\n SCOPE \\n hex(SHA-256(canonical request))``:
  :func:`verify_request`. A :class:`RestScheme` holds what differs:

  * OSS: the canonical URI is ``/bucket/key`` whatever the host; ``x-oss-*``,
    ``content-type`` and ``content-md5`` are always signed, other headers only
    when ``AdditionalHeaders`` lists them, and the canonical request carries
    that list (empty when there is none); the payload hash is
    ``x-oss-content-sha256`` (``UNSIGNED-PAYLOAD``);
  * AWS: the canonical URI is the request's path; ``SignedHeaders`` lists every
    signed header, ``host`` among them; the payload hash is
    ``x-amz-content-sha256``, checked against the body unless it is
    ``UNSIGNED-PAYLOAD``.

* A presigned URL ("在URL中包含V4签名" (Include a V4 signature in a URL);
  "Authenticating Requests: Using Query Parameters (AWS Signature Version
  4)") carries the same parts in its query (:class:`QueryNames`) and signs
  the same canonical request over the query without its signature, with
  ``UNSIGNED-PAYLOAD`` (AWS always; OSS unless ``x-oss-content-sha256`` is
  sent); it expires ``expires`` seconds after its date.

  Every operation of the REST API (:mod:`devbucket.rest`) is verified here,
  its signature in the header or in the query: :class:`Presented` is what
  either form gives.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, unquote

from .bucket import Bucket
from .errors import (
    ServiceError,
    access_denied,
    invalid_argument,
    request_time_too_skewed,
    required,
)
from .forms import FormFields

V4_DATE = "%Y%m%dT%H%M%SZ"
V4_SCOPE_DATE = "%Y%m%d"
V4_SKEW = timedelta(minutes=15)  # how far from the bucket's clock a V4 date may be
V4_MAX_AGE = timedelta(days=7)  # how long after its date a V4 form may be used
MAX_EXPIRES = 604800  # seconds: the longest a presigned URL may live, on both services
EXPIRY_TIME = "%Y-%m-%dT%H:%M:%SZ"  # Expires and ServerTime in an expired URL's error
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_UNRESERVED = "-_.~"  # RFC 3986: with letters and digits, never percent-encoded


# -- V4, both services, forms and requests ------------------------------------


@dataclass(frozen=True)
class V4Scheme:
    """The names one service gives the V4 signature's parts."""

    brand: str  # "OSS" or "AWS", as the service's messages say
    algorithm: str  # OSS4-HMAC-SHA256 / AWS4-HMAC-SHA256
    algorithm_field: str  # x-oss-signature-version / x-amz-algorithm
    prefix: str  # x-oss / x-amz: {prefix}-credential, -date, -signature
    secret_prefix: str  # aliyun_v4 / AWS4
    service: str  # oss / s3
    terminator: str  # aliyun_v4_request / aws4_request
    mismatch_code: str  # the code of a form signature that does not match

    def field(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def signing_fields(self) -> tuple[str, ...]:
        """The form fields a V4 form signature is made of, its session token included."""
        parts = ("credential", "date", "signature", "security-token")
        return (self.algorithm_field, *(self.field(part) for part in parts))


def v4_signature(scheme: V4Scheme, secret: str, scope: Collection[str], string_to_sign: str) -> str:
    """The hex V4 signature of ``string_to_sign``, with the key chained by
    HMAC-SHA256 from the prefixed secret over the scope's date, region,
    service and terminator."""
    key = (scheme.secret_prefix + secret).encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def v4_time(value: str) -> datetime | None:
    """A V4 date (``20261124T120000Z``) as a UTC time; None if it is not one."""
    try:
        return datetime.strptime(value, V4_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def same_secret(expected: str, given: str) -> bool:
    """Whether the ``given`` value is ``expected``, compared in constant time."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def same_signature(expected: str, given: str, mismatch: ServiceError) -> None:
    if not same_secret(expected, given):
        raise mismatch


# -- form signatures (PostObject) ---------------------------------------------


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


def _check_form_date(
    fields: Mapping[str, str], scheme: V4Scheme, scope_date: str, now: datetime
) -> None:
    name = scheme.field("date")
    date = v4_time(required(fields, name))
    if date is None:
        raise invalid_argument(f"{name} must look like 20261124T120000Z.")
    if date.strftime(V4_SCOPE_DATE) != scope_date:
        raise invalid_argument(
            f"{name} and the date in {scheme.field('credential')} must be the same day."
        )
    if date - now > V4_SKEW:
        raise request_time_too_skewed()
    if now - date > V4_MAX_AGE:
        raise access_denied(f"Request has expired: {name} is more than 7 days old.")


def verify_v4_form(
    scheme: V4Scheme, fields: Mapping[str, str], bucket: Bucket, now: datetime
) -> str:
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
    _check_form_date(fields, scheme, scope_date, now)
    expected = v4_signature(scheme, bucket.secret(key_id, scheme.brand), scope[1:], policy)
    same_signature(expected, signature, ServiceError(403, scheme.mismatch_code, SIGNATURE_MISMATCH))
    return key_id


# -- request signatures (the REST API) ----------------------------------------


@dataclass(frozen=True)
class QueryNames:
    """The query parameters of a presigned URL, as one service names them."""

    algorithm: str
    credential: str
    date: str
    expires: str
    header_names: str  # x-oss-additional-headers / X-Amz-SignedHeaders
    signature: str
    session_token: str


@dataclass(frozen=True)
class RestScheme:
    """How one service signs a REST request, beside its V4 names."""

    v4: V4Scheme
    query: QueryNames
    query_malformed_code: str  # the code of a presigned URL's query that does not parse
    expired_message: str  # a presigned URL past its expiry
    expires_detail: str | None  # the element that repeats X-Amz-Expires in that error (AWS)
    names_key: str  # "AdditionalHeaders" (OSS) / "SignedHeaders" (AWS)
    bucket_in_uri: bool  # OSS: /bucket/key; AWS: the request's path
    always_signed: tuple[str, ...]  # names or prefixes (ending "-") signed unlisted
    must_list: tuple[str, ...]  # names the list must hold (AWS: host)
    collapse_spaces: bool  # AWS folds runs of spaces in header values; OSS only trims
    unlisted_payload: str | None  # the payload hash without its header; None: the body's
    malformed_code: str  # the code of an Authorization header that does not parse
    digest_mismatch_code: str  # the code of a declared payload hash that is not the body's
    anonymous_message: str  # the message of a request with no signature
    blank_value: str  # a query parameter without value: "k" (OSS) or "k=" (AWS)

    @property
    def date_header(self) -> str:
        return self.v4.field("date")

    @property
    def payload_header(self) -> str:
        return self.v4.field("content-sha256")

    @property
    def session_token_header(self) -> str:
        return self.v4.field("security-token")

    def signs_unlisted(self, name: str) -> bool:
        return any(
            name.startswith(rule) if rule.endswith("-") else name == rule
            for rule in self.always_signed
        )


@dataclass(frozen=True)
class Request:
    """A REST request as the server received it.

    ``path`` and ``query`` are as sent (percent-encoded); ``headers`` are keyed
    by lower-case name; ``body_sha256`` is the hex SHA-256 of the body read,
    None for a body the operation streams (a part) after the signature.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body_sha256: str | None

    @property
    def key(self) -> str:
        """The object key the path names (empty for the bucket itself)."""
        return unquote(self.path[1:])

    @property
    def params(self) -> dict[str, str]:
        """The query, decoded; a repeated name keeps its first value."""
        params: dict[str, str] = {}
        for name, value in parse_qsl(self.query, keep_blank_values=True):
            params.setdefault(name, value)
        return params


@dataclass(frozen=True)
class Presented:
    """What a request says about its signature: who, when, over what, and the value."""

    key_id: str
    scope: tuple[str, ...]  # date, region, service, terminator
    header_names: tuple[str, ...]  # listed names, lower-case, in the order given
    signature: str
    date: str
    session_token: str | None
    expires: int | None = None  # seconds after date: a presigned URL's; None in a header


def _malformed(scheme: RestScheme, reason: str, *, in_query: bool = False) -> ServiceError:
    if in_query:
        return ServiceError(
            400, scheme.query_malformed_code, f"The presigned URL's query is malformed: {reason}"
        )
    return ServiceError(
        400, scheme.malformed_code, f"The Authorization header is malformed: {reason}"
    )


def _credential(scheme: RestScheme, value: str, *, in_query: bool) -> list[str]:
    credential = value.split("/")
    if len(credential) != 5 or credential[3:] != [scheme.v4.service, scheme.v4.terminator]:
        raise _malformed(
            scheme,
            f"Credential must be <AccessKeyId>/<yyyymmdd>/<region>/"
            f"{scheme.v4.service}/{scheme.v4.terminator}.",
            in_query=in_query,
        )
    return credential


def presented_in_header(scheme: RestScheme, request: Request) -> Presented:
    """Parse ``ALGORITHM Credential=...,<names_key>=...,Signature=...``."""
    header = request.headers.get("authorization")
    if not header:
        raise access_denied(scheme.anonymous_message)
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != scheme.v4.algorithm:
        raise _malformed(scheme, f"the dev bucket verifies {scheme.v4.algorithm} signatures only.")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, equals, value = item.strip().partition("=")
        if not equals or name in parts:
            raise _malformed(scheme, f"{item.strip()!r} is not one Name=value pair.")
        parts[name] = value.strip()
    if not {"Credential", "Signature"} <= set(parts) or not set(parts) <= {
        "Credential",
        "Signature",
        scheme.names_key,
    }:
        raise _malformed(scheme, f"it takes Credential, {scheme.names_key} and Signature.")
    credential = _credential(scheme, parts["Credential"], in_query=False)
    names = tuple(name for name in parts.get(scheme.names_key, "").split(";") if name)
    date = request.headers.get(scheme.date_header, "")
    token = request.headers.get(scheme.session_token_header)
    return Presented(credential[0], tuple(credential[1:]), names, parts["Signature"], date, token)


def presented_in_query(scheme: RestScheme, request: Request) -> Presented:
    """Parse a presigned URL's algorithm, credential, date, expiry, header
    names and signature."""
    names, params = scheme.query, request.params
    missing = [
        name
        for name in (names.algorithm, names.credential, names.date, names.expires)
        if name not in params
    ]
    if missing:
        raise _malformed(scheme, f"it lacks {', '.join(missing)}.", in_query=True)
    if params[names.algorithm] != scheme.v4.algorithm:
        raise _malformed(scheme, f"{names.algorithm} must be {scheme.v4.algorithm}.", in_query=True)
    expires = params[names.expires]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
        raise _malformed(
            scheme, f"{names.expires} must be 1 to {MAX_EXPIRES} seconds.", in_query=True
        )
    credential = _credential(scheme, params[names.credential], in_query=True)
    listed = tuple(name for name in params.get(names.header_names, "").split(";") if name)
    return Presented(
        credential[0],
        tuple(credential[1:]),
        listed,
        params[names.signature],
        params[names.date],
        params.get(names.session_token),
        int(expires),
    )


def presented_signature(scheme: RestScheme, request: Request) -> Presented:
    """The signature in the ``Authorization`` header, else in the query; a
    request with neither is anonymous, and the dev bucket is private."""
    if "authorization" in request.headers:
        return presented_in_header(scheme, request)
    if scheme.query.signature in request.params:
        return presented_in_query(scheme, request)
    raise access_denied(scheme.anonymous_message)


def canonical_uri(scheme: RestScheme, request: Request, bucket: str) -> str:
    """The path as both services encode it: every byte but unreserved ones and ``/``."""
    path = f"/{bucket}/{request.key}" if scheme.bucket_in_uri else unquote(request.path)
    return quote(path, safe="/" + _UNRESERVED)


def canonical_query(scheme: RestScheme, query: str, *, unsigned: str = "") -> str:
    """The query's pairs encoded and sorted; ``unsigned`` (a presigned URL's
    signature parameter) left out."""
    pairs = sorted(
        (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for name, value in parse_qsl(query, keep_blank_values=True)
        if name != unsigned
    )
    return "&".join(
        f"{name}={value}" if value else f"{name}{scheme.blank_value}" for name, value in pairs
    )


def signed_headers(scheme: RestScheme, request: Request, presented: Presented) -> list[str]:
    """The names of the headers the signature covers, sorted."""
    listed = set(presented.header_names)
    in_query = presented.expires is not None
    missing = sorted(name for name in listed if name not in request.headers)
    if missing:
        raise _malformed(
            scheme, f"it signs {', '.join(missing)}, which the request lacks.", in_query=in_query
        )
    unlisted = [name for name in scheme.must_list if name not in listed]
    if unlisted:
        raise _malformed(
            scheme, f"the signed headers must include {', '.join(unlisted)}.", in_query=in_query
        )
    return sorted(listed | {name for name in request.headers if scheme.signs_unlisted(name)})


def _header_value(scheme: RestScheme, value: str) -> str:
    return " ".join(value.split()) if scheme.collapse_spaces else value.strip()


def canonical_request(
    scheme: RestScheme, request: Request, bucket: str, presented: Presented, payload: str
) -> str:
    names = signed_headers(scheme, request, presented)
    headers = "".join(f"{name}:{_header_value(scheme, request.headers[name])}\n" for name in names)
    unsigned = scheme.query.signature if presented.expires is not None else ""
    return "\n".join(
        (
            request.method,
            canonical_uri(scheme, request, bucket),
            canonical_query(scheme, request.query, unsigned=unsigned),
            headers,
            ";".join(sorted(presented.header_names)),
            payload,
        )
    )


def digest_mismatch(scheme: RestScheme) -> ServiceError:
    return ServiceError(
        400,
        scheme.digest_mismatch_code,
        f"The {scheme.payload_header} you specified did not match what we received.",
    )


def _payload_hash(scheme: RestScheme, request: Request, presented: Presented) -> str:
    """The hash the request declares; a declared hash must be the body's (a
    streamed body is checked by its operation, as it arrives)."""
    declared = request.headers.get(scheme.payload_header)
    if presented.expires is not None and scheme.unlisted_payload is None:
        return UNSIGNED_PAYLOAD  # AWS: a presigned URL never signs its payload
    if declared is None:
        payload = scheme.unlisted_payload or request.body_sha256
        if payload is None:
            raise ServiceError(
                400,
                "InvalidRequest",
                f"Missing required header for this request: {scheme.payload_header}",
            )
        return payload
    if declared != UNSIGNED_PAYLOAD and request.body_sha256 not in (None, declared):
        raise digest_mismatch(scheme)
    return declared


def _check_time(scheme: RestScheme, presented: Presented, now: datetime) -> None:
    """The date: the credential's day, not ahead of the bucket's clock by
    more than 15 minutes; a header's not behind it either, a presigned
    URL's no more than its ``expires``."""
    in_query = presented.expires is not None
    name = scheme.query.date if in_query else scheme.date_header
    when = v4_time(presented.date)
    if when is None:
        raise _malformed(scheme, f"{name} must look like 20261124T120000Z.", in_query=in_query)
    if when.strftime(V4_SCOPE_DATE) != presented.scope[0]:
        raise _malformed(scheme, f"{name} and the Credential's date differ.", in_query=in_query)
    if when - now > V4_SKEW or (presented.expires is None and now - when > V4_SKEW):
        raise request_time_too_skewed()
    if presented.expires is not None:
        expiry = when + timedelta(seconds=presented.expires)
        if now > expiry:
            details = {"Expires": expiry.strftime(EXPIRY_TIME)}
            if scheme.expires_detail:
                details = {scheme.expires_detail: str(presented.expires), **details}
            details["ServerTime"] = now.strftime(EXPIRY_TIME)
            raise ServiceError(403, "AccessDenied", scheme.expired_message, details)


def _check_session_token(
    scheme: RestScheme, given: str | None, bucket: Bucket, key_id: str
) -> None:
    """A temporary key is good only with its own session token."""
    expected = bucket.session_tokens.get(key_id)
    if expected is None and given is None:
        return
    if expected is None or given is None or not same_secret(expected, given):
        raise ServiceError(
            403, "InvalidAccessKeyId", "The security token you provided is not valid for this key."
        )


def verify_request(scheme: RestScheme, request: Request, bucket: Bucket, now: datetime) -> str:
    """The access key id that signed ``request``; a :class:`ServiceError` if none did."""
    given = presented_signature(scheme, request)
    if given.scope[1] != bucket.region:
        raise _malformed(
            scheme,
            f"the region in Credential must be {bucket.region}.",
            in_query=given.expires is not None,
        )
    _check_time(scheme, given, now)
    secret = bucket.secret(given.key_id, scheme.v4.brand)
    _check_session_token(scheme, given.session_token, bucket, given.key_id)
    canonical = canonical_request(
        scheme, request, bucket.name, given, _payload_hash(scheme, request, given)
    )
    string_to_sign = "\n".join(
        (
            scheme.v4.algorithm,
            given.date,
            "/".join(given.scope),
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        )
    )
    expected = v4_signature(scheme.v4, secret, given.scope, string_to_sign)
    mismatch = ServiceError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    same_signature(expected, given.signature, mismatch)
    return given.key_id
