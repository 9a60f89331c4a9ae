"""Signers, one class per signature scheme (as botocore's auth.py).

OSS V1 signs forms only. The two V4 schemes, OSS V4 (``OSS4-HMAC-SHA256``)
and AWS SigV4 for S3 (``AWS4-HMAC-SHA256``), share one core: a scope
(date, region, service, terminator), a key derived from the secret along it,
and HMAC-SHA256 with that key. They differ only in names, which are class
attributes, and in a few rules of the canonical request, which are methods.
Each V4 signer signs three ways:

* a form (POST policy): ``auth_fields(now)`` go into the form *and* into the
  policy as object-form conditions (credential scope, date, STS token);
  ``signature_fields(policy, now)`` is the signature over the base64 policy.
  Everything else about a ticket (the policy, the key, the checks) is shared;
* a request, in the ``Authorization`` header: ``request_headers(request, now)``
  answers the headers to add (the function's own storage calls);
* a request, in the query string: ``presigned_url(request, now, expires)``
  answers the URL (a part ``PUT`` that a browser sends).

A request is an :class:`ObjectRequest` in plain values; the signer encodes
its URL, so what is signed is what is sent. Pure: the clock is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple, Protocol
from urllib.parse import quote, urlsplit

from .credentials import Credentials

AMZ_DATE = "%Y%m%dT%H%M%SZ"  # also OSS V4's x-oss-date
SCOPE_DATE = "%Y%m%d"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 604800  # seconds (7 days): both services refuse a presigned URL valid longer

_NONE: Mapping[str, str] = MappingProxyType({})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PostSigner(Protocol):
    def auth_fields(self, now: datetime) -> dict[str, str]: ...

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]: ...


def uri_encode(text: str) -> str:
    """Percent-encode all but RFC 3986's unreserved characters, as both V4 schemes do."""
    return quote(text, safe="")


def http_date(now: datetime) -> str:
    """``now`` (UTC) as an HTTP date, ``Tue, 24 Nov 2026 12:00:00 GMT``.

    Written out rather than taken from ``email.utils`` (which imports
    ``random``) or ``strftime`` (whose names follow the locale).
    """
    day, month = _WEEKDAYS[now.weekday()], _MONTHS[now.month - 1]
    return f"{day}, {now.day:02d} {month} {now.year:04d} {now:%H:%M:%S} GMT"


class ObjectRequest(NamedTuple):
    """A request about one object, in plain (not yet encoded) values.

    ``endpoint`` is the bucket's base URL as the settings give it
    (virtual-hosted, path-style or a custom host); the object is at
    ``endpoint/key``. ``query`` is sent in its order, a blank value bare
    (``?uploads``). Every header in ``headers`` is signed; names are
    case-insensitive, each given once. ``body`` is what is sent; only S3's
    header form signs it (by its SHA-256).
    """

    method: str
    endpoint: str
    bucket: str
    key: str
    query: Mapping[str, str] = _NONE
    headers: Mapping[str, str] = _NONE
    body: bytes = b""

    @property
    def path(self) -> str:
        """The URL's path: the endpoint's, then the key encoded once, ``/`` kept."""
        return urlsplit(self.endpoint).path + "/" + quote(self.key, safe="/")

    @property
    def url(self) -> str:
        """Where the request goes, the key and query encoded as the signature covers them."""
        return _url(self.endpoint, self.key, self.query.items())


def _url(endpoint: str, key: str, query: Iterable[tuple[str, str]]) -> str:
    url = f"{endpoint}/{quote(key, safe='/')}"
    encoded = "&".join(
        f"{uri_encode(name)}={uri_encode(value)}" if value else uri_encode(name)
        for name, value in query
    )
    return f"{url}?{encoded}" if encoded else url


def host_of(endpoint: str) -> str:
    """The ``Host`` header an HTTP client sends to ``endpoint`` (default port left out)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


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


class _SignedHeaders(NamedTuple):
    """The headers a canonical request covers, and the names its header list line holds."""

    canonical: dict[str, str]  # lower-case name -> value as sent
    listed: tuple[str, ...]


class _V4Signer(ABC):
    """The V4 core: scope, derived key, string to sign; forms and requests on top.

    Subclasses give the names, and where the two services part ways on the
    canonical request: its URI, which headers it lists, how it writes a
    header value and a blank query value, and the payload hash it signs.
    """

    algorithm: str
    algorithm_field: str  # the form field (and query parameter) naming the algorithm
    field_prefix: str  # of form fields, request headers and query parameters
    secret_prefix: str
    service: str
    terminator: str
    header_list: str  # the Authorization header's list of signed header names
    header_list_param: str  # the same list in a presigned URL
    separator: str  # between the Authorization header's parts

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    # -- the core ---------------------------------------------------------

    def _scope(self, day: str) -> tuple[str, ...]:
        return (day, self._region, self.service, self.terminator)

    def _credential(self, day: str) -> str:
        return "/".join((self._credentials.access_key_id, *self._scope(day)))

    def _signature(self, message: str, day: str) -> str:
        secret = (self.secret_prefix + self._credentials.secret).encode("utf-8")
        key = derive_key(secret, self._scope(day))
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def _field(self, name: str) -> str:
        return f"{self.field_prefix}-{name}"

    # -- forms ------------------------------------------------------------

    def auth_fields(self, now: datetime) -> dict[str, str]:
        stamp = now.strftime(AMZ_DATE)
        fields = {
            self.algorithm_field: self.algorithm,
            self._field("credential"): self._credential(stamp[:8]),
            self._field("date"): stamp,
        }
        if self._credentials.session_token:
            fields[self._field("security-token")] = self._credentials.session_token
        return fields

    def signature_fields(self, policy: str, now: datetime) -> dict[str, str]:
        return {self._field("signature"): self._signature(policy, now.strftime(SCOPE_DATE))}

    # -- requests ---------------------------------------------------------

    def request_headers(self, request: ObjectRequest, now: datetime) -> dict[str, str]:
        """The headers that sign ``request`` (send them beside its own): date,
        payload hash, STS token, ``Authorization``; names in lower case."""
        stamp = now.strftime(AMZ_DATE)
        added = {
            self._field("date"): stamp,
            self._field("content-sha256"): self._payload_hash(request),
        }
        if self._credentials.session_token:
            added[self._field("security-token")] = self._credentials.session_token
        signed = self._signed_headers(request, {**_lower(request.headers), **added})
        canonical = self._canonical_request(
            request, request.query.items(), signed, added[self._field("content-sha256")]
        )
        parts = [f"Credential={self._credential(stamp[:8])}"]
        if signed.listed:  # never empty for S3 (host); OSS refuses an empty list
            parts.append(f"{self.header_list}={';'.join(signed.listed)}")
        parts.append(f"Signature={self._sign_request(canonical, stamp)}")
        added["authorization"] = f"{self.algorithm} {self.separator.join(parts)}"
        return added

    def presigned_url(self, request: ObjectRequest, now: datetime, expires: int) -> str:
        """``request``'s URL, signed in its query for ``expires`` seconds (1 to 7 days).

        The payload is unsigned (a browser sends it later); the request's
        headers are signed and must be sent as given.
        """
        if not 1 <= expires <= MAX_EXPIRES:
            raise ValueError(f"expires must be 1 to {MAX_EXPIRES} seconds, not {expires}")
        stamp = now.strftime(AMZ_DATE)
        signed = self._signed_headers(request, _lower(request.headers))
        auth = {
            self._param(self.algorithm_field): self.algorithm,
            self._param(self._field("credential")): self._credential(stamp[:8]),
            self._param(self._field("date")): stamp,
            self._param(self._field("expires")): str(expires),
        }
        if signed.listed:
            auth[self.header_list_param] = ";".join(signed.listed)
        if self._credentials.session_token:
            auth[self._param(self._field("security-token"))] = self._credentials.session_token
        query = [*request.query.items(), *auth.items()]
        signature = self._sign_request(
            self._canonical_request(request, query, signed, UNSIGNED_PAYLOAD), stamp
        )
        query.append((self._param(self._field("signature")), signature))
        return _url(request.endpoint, request.key, query)

    def _sign_request(self, canonical_request: str, stamp: str) -> str:
        digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
        scope = "/".join(self._scope(stamp[:8]))
        return self._signature(f"{self.algorithm}\n{stamp}\n{scope}\n{digest}", stamp[:8])

    def _canonical_request(
        self,
        request: ObjectRequest,
        query: Iterable[tuple[str, str]],
        signed: _SignedHeaders,
        payload_hash: str,
    ) -> str:
        """METHOD, URI, sorted query, headers, the header list, payload hash: one a line."""
        pairs = sorted((uri_encode(name), uri_encode(value)) for name, value in query)
        canonical_query = "&".join(self._query_pair(name, value) for name, value in pairs)
        headers = "".join(
            f"{name}:{self._header_value(value)}\n"
            for name, value in sorted(signed.canonical.items())
        )
        return "\n".join(
            (
                request.method.upper(),
                self._canonical_uri(request),
                canonical_query,
                headers,
                ";".join(signed.listed),
                payload_hash,
            )
        )

    def _param(self, field: str) -> str:
        """A query parameter's name, from the form field of the same meaning."""
        return field

    @abstractmethod
    def _canonical_uri(self, request: ObjectRequest) -> str:
        """The canonical URI: what the service takes the request's object to be."""

    @abstractmethod
    def _signed_headers(self, request: ObjectRequest, headers: dict[str, str]) -> _SignedHeaders:
        """Which of ``headers`` (lower-case names) the request covers, and which it lists."""

    @abstractmethod
    def _header_value(self, value: str) -> str:
        """A header value as the service reads it."""

    @abstractmethod
    def _query_pair(self, name: str, value: str) -> str:
        """A query parameter in the canonical query (name and value already encoded)."""

    @abstractmethod
    def _payload_hash(self, request: ObjectRequest) -> str:
        """The payload hash the header form signs."""


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class OssV4Signer(_V4Signer):
    """OSS signature V4 (``OSS4-HMAC-SHA256``), the default.

    Requests: the canonical URI is ``/bucket/key`` whatever the endpoint;
    ``x-oss-*``, ``content-type`` and ``content-md5`` are signed unlisted,
    any other header is listed in ``AdditionalHeaders``; the payload is
    ``UNSIGNED-PAYLOAD``; a ``Date`` header goes with ``x-oss-date``, as the
    SDK sends.
    """

    algorithm = "OSS4-HMAC-SHA256"
    algorithm_field = "x-oss-signature-version"
    field_prefix = "x-oss"
    secret_prefix = "aliyun_v4"
    service = "oss"
    terminator = "aliyun_v4_request"
    header_list = "AdditionalHeaders"
    header_list_param = "x-oss-additional-headers"
    separator = ","

    def _canonical_uri(self, request: ObjectRequest) -> str:
        return quote(f"/{request.bucket}/{request.key}", safe="/")

    def _signed_headers(self, request: ObjectRequest, headers: dict[str, str]) -> _SignedHeaders:
        # OSS refuses an empty name in the list, so a blank header is not listed.
        listed = tuple(
            sorted(name for name, value in headers.items() if value and not _oss_signs(name))
        )
        canonical = {
            name: value for name, value in headers.items() if _oss_signs(name) or name in listed
        }
        return _SignedHeaders(canonical, listed)

    def _header_value(self, value: str) -> str:
        # HTTP drops the spaces around a value, so the service never sees them.
        return value.strip()

    def _query_pair(self, name: str, value: str) -> str:
        return f"{name}={value}" if value else name

    def _payload_hash(self, request: ObjectRequest) -> str:
        return UNSIGNED_PAYLOAD

    def request_headers(self, request: ObjectRequest, now: datetime) -> dict[str, str]:
        return {"date": http_date(now), **super().request_headers(request, now)}


def _oss_signs(name: str) -> bool:
    """Headers OSS V4 always signs, listed or not."""
    return name.startswith("x-oss-") or name in ("content-type", "content-md5")


class S3SigV4Signer(_V4Signer):
    """AWS Signature Version 4 for S3 (``AWS4-HMAC-SHA256``), as botocore's S3 signers.

    Requests: the canonical URI is the URL's path, encoded once (S3 does
    not normalise it); every header is signed and listed, ``host`` among
    them; values are trimmed and inner runs of spaces folded; the header
    form signs the body's SHA-256, a presigned URL ``UNSIGNED-PAYLOAD``.
    Query parameters are ``X-Amz-*``: S3 reads them case-sensitively.
    """

    algorithm = "AWS4-HMAC-SHA256"
    algorithm_field = "x-amz-algorithm"
    field_prefix = "x-amz"
    secret_prefix = "AWS4"
    service = "s3"
    terminator = "aws4_request"
    header_list = "SignedHeaders"
    header_list_param = "X-Amz-SignedHeaders"
    separator = ", "

    def _param(self, field: str) -> str:
        return field.title()  # x-amz-security-token -> X-Amz-Security-Token

    def _canonical_uri(self, request: ObjectRequest) -> str:
        return request.path

    def _signed_headers(self, request: ObjectRequest, headers: dict[str, str]) -> _SignedHeaders:
        canonical = {"host": host_of(request.endpoint), **headers}
        return _SignedHeaders(canonical, tuple(sorted(canonical)))

    def _header_value(self, value: str) -> str:
        return " ".join(value.split())

    def _query_pair(self, name: str, value: str) -> str:
        return f"{name}={value}"

    def _payload_hash(self, request: ObjectRequest) -> str:
        return hashlib.sha256(request.body).hexdigest()
