"""Signed REST requests to the dev bucket: OSS V4 and AWS SigV4 in the
``Authorization`` header.

Written from the services' pages, not from ``chalicelib`` or an SDK (the
tests hold it to ``alibabacloud-oss-v2``'s and botocore's signers): OSS
"Include a V4 signature in the Authorization header (recommended)" and AWS
"Authenticating Requests: Using the Authorization Header (AWS Signature
Version 4)". Both sign a canonical request::

    METHOD \\n CANONICAL-URI \\n CANONICAL-QUERY \\n CANONICAL-HEADERS \\n
    HEADER-NAMES \\n PAYLOAD-HASH

then ``ALGORITHM \\n DATE \\n SCOPE \\n hex(SHA-256(canonical request))`` with
the V4 signing key both already use for POST policies
(:func:`devbucket.service.signing_key`). A :class:`RestScheme` holds what
differs:

* OSS: the canonical URI is ``/bucket/key`` whatever the host; ``x-oss-*``,
  ``content-type`` and ``content-md5`` are always signed, other headers only
  when ``AdditionalHeaders`` lists them, and the canonical request carries
  that list (empty when there is none); the payload hash is
  ``x-oss-content-sha256`` (``UNSIGNED-PAYLOAD``);
* AWS: the canonical URI is the request's path; ``SignedHeaders`` lists every
  signed header, ``host`` among them; the payload hash is
  ``x-amz-content-sha256``, checked against the body unless it is
  ``UNSIGNED-PAYLOAD``.

Every operation of the dev bucket's REST API (``DELETE /<key>`` today; the
multipart calls later) verifies its request here. Query-string signatures
(presigned URLs) will build the same canonical request from the query's
credential, date and signature: :class:`Presented` is what either form gives.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, unquote

from .service import (
    SIGNATURE_MISMATCH,
    V4_DATE,
    V4_SCOPE_DATE,
    Bucket,
    ServiceError,
    V4Scheme,
    access_denied,
    same_secret,
    signing_key,
)

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = timedelta(minutes=15)  # both services refuse a request time further off
_UNRESERVED = "-_.~"  # RFC 3986: with letters and digits, never percent-encoded


@dataclass(frozen=True)
class RestScheme:
    """How one service signs a REST request, beside its V4 names."""

    v4: V4Scheme
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
    def token_header(self) -> str:
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
    by lower-case name; ``body_sha256`` is the hex SHA-256 of the body read.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body_sha256: str

    @property
    def key(self) -> str:
        """The object key the path names (empty for the bucket itself)."""
        return unquote(self.path[1:])


@dataclass(frozen=True)
class Presented:
    """What a request says about its signature: who, when, over what, and the value."""

    key_id: str
    scope: tuple[str, ...]  # date, region, service, terminator
    header_names: tuple[str, ...]  # listed names, lower-case, in the order given
    signature: str
    date: str


def _malformed(scheme: RestScheme, reason: str) -> ServiceError:
    return ServiceError(
        400, scheme.malformed_code, f"The Authorization header is malformed: {reason}"
    )


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
    credential = parts["Credential"].split("/")
    if len(credential) != 5 or credential[3:] != [scheme.v4.service, scheme.v4.terminator]:
        raise _malformed(
            scheme,
            f"Credential must be <AccessKeyId>/<yyyymmdd>/<region>/"
            f"{scheme.v4.service}/{scheme.v4.terminator}.",
        )
    names = tuple(name for name in parts.get(scheme.names_key, "").split(";") if name)
    date = request.headers.get(scheme.date_header, "")
    return Presented(credential[0], tuple(credential[1:]), names, parts["Signature"], date)


def canonical_uri(scheme: RestScheme, request: Request, bucket: str) -> str:
    """The path as both services encode it: every byte but unreserved ones and ``/``."""
    path = f"/{bucket}/{request.key}" if scheme.bucket_in_uri else unquote(request.path)
    return quote(path, safe="/" + _UNRESERVED)


def canonical_query(scheme: RestScheme, query: str) -> str:
    pairs = sorted(
        (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for name, value in parse_qsl(query, keep_blank_values=True)
    )
    return "&".join(
        f"{name}={value}" if value else f"{name}{scheme.blank_value}" for name, value in pairs
    )


def signed_headers(scheme: RestScheme, request: Request, presented: Presented) -> list[str]:
    """The names of the headers the signature covers, sorted."""
    listed = set(presented.header_names)
    missing = sorted(name for name in listed if name not in request.headers)
    if missing:
        raise _malformed(scheme, f"it signs {', '.join(missing)}, which the request lacks.")
    unlisted = [name for name in scheme.must_list if name not in listed]
    if unlisted:
        raise _malformed(scheme, f"{scheme.names_key} must include {', '.join(unlisted)}.")
    return sorted(listed | {name for name in request.headers if scheme.signs_unlisted(name)})


def _header_value(scheme: RestScheme, value: str) -> str:
    return " ".join(value.split()) if scheme.collapse_spaces else value.strip()


def canonical_request(
    scheme: RestScheme, request: Request, bucket: str, presented: Presented, payload: str
) -> str:
    names = signed_headers(scheme, request, presented)
    headers = "".join(f"{name}:{_header_value(scheme, request.headers[name])}\n" for name in names)
    return "\n".join(
        (
            request.method,
            canonical_uri(scheme, request, bucket),
            canonical_query(scheme, request.query),
            headers,
            ";".join(sorted(presented.header_names)),
            payload,
        )
    )


def _payload_hash(scheme: RestScheme, request: Request) -> str:
    """The hash the request declares; a declared hash must be the body's."""
    declared = request.headers.get(scheme.payload_header)
    if declared is None:
        return scheme.unlisted_payload or request.body_sha256
    if declared != UNSIGNED_PAYLOAD and declared != request.body_sha256:
        raise ServiceError(
            400,
            scheme.digest_mismatch_code,
            f"The {scheme.payload_header} you specified did not match what we received.",
        )
    return declared


def _check_time(scheme: RestScheme, presented: Presented, now: datetime) -> None:
    try:
        when = datetime.strptime(presented.date, V4_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise _malformed(scheme, f"{scheme.date_header} must look like 20261124T120000Z.") from None
    if when.strftime(V4_SCOPE_DATE) != presented.scope[0]:
        raise _malformed(scheme, f"{scheme.date_header} and the Credential's date differ.")
    if abs(now - when) > MAX_SKEW:
        raise ServiceError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )


def _check_token(scheme: RestScheme, request: Request, bucket: Bucket, key_id: str) -> None:
    """A temporary key is good only with its own session token."""
    expected = bucket.session_tokens.get(key_id)
    given = request.headers.get(scheme.token_header)
    if expected is None and given is None:
        return
    if expected is None or given is None or not same_secret(expected, given):
        raise ServiceError(
            403, "InvalidAccessKeyId", "The security token you provided is not valid for this key."
        )


def verify(scheme: RestScheme, request: Request, bucket: Bucket, now: datetime) -> str:
    """The access key id that signed ``request``; a :class:`ServiceError` if none did."""
    presented = presented_in_header(scheme, request)
    if presented.scope[1] != bucket.region:
        raise _malformed(scheme, f"the region in Credential must be {bucket.region}.")
    _check_time(scheme, presented, now)
    secret = bucket.secret(presented.key_id, scheme.v4.brand)
    _check_token(scheme, request, bucket, presented.key_id)
    canonical = canonical_request(
        scheme, request, bucket.name, presented, _payload_hash(scheme, request)
    )
    string_to_sign = "\n".join(
        (
            scheme.v4.algorithm,
            presented.date,
            "/".join(presented.scope),
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        )
    )
    key = signing_key(scheme.v4, secret, list(presented.scope))
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not same_secret(expected, presented.signature):
        raise ServiceError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    return presented.key_id
