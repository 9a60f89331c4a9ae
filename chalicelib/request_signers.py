"""Request signers: OSS V4 and AWS SigV4 for S3 over HTTP requests, on the
V4 core of the form signers (:class:`.signers.V4Signer`).

Two ways to sign one request, each as its service specifies:

* in the ``Authorization`` header, ``request_headers(request, now)``: the
  headers to add to the function's own storage calls (create, list parts,
  complete, abort a multipart upload);
* in the query string, ``presigned_url(request, now, expires)``: a URL a
  browser uses without credentials (a part ``PUT``).

Both build a canonical request and sign ``ALGORITHM \\n DATE \\n SCOPE \\n
hex(SHA-256(canonical request))`` with the form signers' derived key. The
services part ways on the canonical request's URI, on which headers it lists,
on how it writes a header value and a blank query value, and on the payload
hash: methods of :class:`OssV4RequestSigner` and :class:`S3SigV4RequestSigner`.

A request is an :class:`ObjectRequest` in plain values; the signer encodes
its URL, so what is signed is what is sent. Pure: the clock is an argument.
A module of its own so that only the multipart routes compile it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from .signers import OssV4Signer, S3SigV4Signer, V4Signer, amz_date

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# A presigned URL's longest life, 7 days: OSS's x-oss-expires is 1 to 604800 (its error
# page 0002-00000232), and so is S3's X-Amz-Expires (AWS CLI reference, "presign").
MAX_EXPIRES = 604800

_NONE: Mapping[str, str] = MappingProxyType({})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ObjectRequest(NamedTuple):
    """A request about one object, in plain (not yet encoded) values.

    ``endpoint`` is the bucket's base URL as the settings give it
    (virtual-hosted, path-style or a custom host); the object is at
    ``endpoint/key``. ``query`` is sent in its order, a blank value bare
    (``?uploads``). Every header in ``headers`` is signed; names are
    case-insensitive, each given once, none of the signature's own (date,
    payload hash, token, ``Authorization``). ``body`` is what is sent; only
    S3's header form signs it (by its SHA-256).
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
        """The URL's path: the endpoint's, then the key."""
        return urlsplit(self.endpoint).path + _key_path(self.key)

    @property
    def url(self) -> str:
        """Where the request goes, the key and query encoded as the signature covers them."""
        return _url(self.endpoint, self.key, self.query.items())


def http_date(now: datetime) -> str:
    """``now`` (UTC) as an HTTP date, ``Tue, 24 Nov 2026 12:00:00 GMT``.

    Written out rather than taken from ``email.utils`` (which imports
    ``random``) or ``strftime`` (whose names follow the locale).
    """
    day, month = _WEEKDAYS[now.weekday()], _MONTHS[now.month - 1]
    return f"{day}, {now.day:02d} {month} {now.year:04d} {now:%H:%M:%S} GMT"


def _uri_encode(text: str) -> str:
    """Percent-encode all but RFC 3986's unreserved characters, as both V4 schemes do."""
    return quote(text, safe="")


def _key_path(key: str) -> str:
    """``/`` and the key encoded once, ``/`` kept: as botocore and the OSS SDK send it."""
    return "/" + quote(key, safe="/")


def _url(endpoint: str, key: str, query: Iterable[tuple[str, str]]) -> str:
    url = endpoint + _key_path(key)
    encoded = "&".join(
        f"{_uri_encode(name)}={_uri_encode(value)}" if value else _uri_encode(name)
        for name, value in query
    )
    return f"{url}?{encoded}" if encoded else url


def _host_of(endpoint: str) -> str:
    """The ``Host`` header an HTTP client sends to ``endpoint`` (default port left out)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class _SignedHeaders(NamedTuple):
    """The headers a canonical request covers, and the names its header list line holds."""

    canonical: dict[str, str]  # lower-case name -> value as sent
    listed: tuple[str, ...]


class _RequestSigner(V4Signer, ABC):
    """Header and query signing of a request; the scheme's names come from its form signer."""

    header_list: str  # the Authorization header's list of signed header names
    header_list_param: str  # the same list in a presigned URL
    separator: str  # between the Authorization header's parts

    def request_headers(self, request: ObjectRequest, now: datetime) -> dict[str, str]:
        """The headers that sign ``request``, to send beside its own: date, payload
        hash, STS token, ``Authorization``; names in lower case."""
        stamp = amz_date(now)
        payload_hash = self._payload_hash(request)
        added = {self._field("date"): stamp, self._field("content-sha256"): payload_hash}
        if self._credentials.session_token:
            added[self._field("security-token")] = self._credentials.session_token
        signed = self._signed_headers(request, {**_lower(request.headers), **added})
        canonical = self._canonical_request(request, request.query.items(), signed, payload_hash)
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
        stamp = amz_date(now)
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
        pairs = sorted((_uri_encode(name), _uri_encode(value)) for name, value in query)
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


class OssV4RequestSigner(_RequestSigner, OssV4Signer):
    """OSS V4 requests ("Include a V4 signature in the Authorization header";
    "Include a V4 signature in a URL"; the SDK's ``signer/v4.py``).

    The canonical URI is ``/bucket/key`` whatever the endpoint; ``x-oss-*``,
    ``content-type`` and ``content-md5`` are signed unlisted, any other
    header is listed in ``AdditionalHeaders``; the payload is
    ``UNSIGNED-PAYLOAD``; a ``Date`` header goes with ``x-oss-date``, as the
    SDK sends.
    """

    header_list = "AdditionalHeaders"
    header_list_param = "x-oss-additional-headers"
    separator = ","

    def request_headers(self, request: ObjectRequest, now: datetime) -> dict[str, str]:
        return {"date": http_date(now), **super().request_headers(request, now)}

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


def _oss_signs(name: str) -> bool:
    """Headers OSS V4 always signs, listed or not."""
    return name.startswith("x-oss-") or name in ("content-type", "content-md5")


class S3SigV4RequestSigner(_RequestSigner, S3SigV4Signer):
    """S3 SigV4 requests, as botocore's ``S3SigV4Auth`` and ``S3SigV4QueryAuth``.

    The canonical URI is the URL's path, encoded once (S3 does not normalise
    it); every header is signed and listed, ``host`` among them; values are
    trimmed and inner runs of spaces folded; the header form signs the
    body's SHA-256, a presigned URL ``UNSIGNED-PAYLOAD``. Query parameters
    are ``X-Amz-*``: S3 reads them case-sensitively.
    """

    header_list = "SignedHeaders"
    header_list_param = "X-Amz-SignedHeaders"
    separator = ", "

    def _param(self, field: str) -> str:
        return field.title()  # x-amz-security-token -> X-Amz-Security-Token

    def _canonical_uri(self, request: ObjectRequest) -> str:
        return request.path

    def _signed_headers(self, request: ObjectRequest, headers: dict[str, str]) -> _SignedHeaders:
        canonical = {"host": _host_of(request.endpoint), **headers}
        return _SignedHeaders(canonical, tuple(sorted(canonical)))

    def _header_value(self, value: str) -> str:
        return " ".join(value.split())

    def _query_pair(self, name: str, value: str) -> str:
        return f"{name}={value}"

    def _payload_hash(self, request: ObjectRequest) -> str:
        return hashlib.sha256(request.body).hexdigest()
