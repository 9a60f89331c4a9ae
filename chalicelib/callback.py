"""OSS upload callbacks (``OSS_CALLBACK_URL``): what a ticket asks OSS to send
back, and the proof that a call to ``POST /oss-callback`` came from OSS.

OSS signs each callback with its own RSA key: ``authorization`` is the base64
PKCS#1 v1.5 signature, with MD5, of the URL-decoded path of the callback URL,
its query string (``?`` and all) if any, ``\\n`` and the body. The key's URL
travels base64-encoded in ``x-oss-pub-key-url``; only a key OSS publishes is
fetched, over TLS, from OSS's own host (or a URL under a prefix the settings
add for a dev bucket), and only a few times a minute (:class:`PublicKeys`),
so the route can never be made to reach anywhere else, nor often.

A call is refused with :class:`CallbackRefused`; its reason is for the log
only, the caller gets a generic ``AccessDenied``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes, urlsplit

from .fetch import TooLarge, UnexpectedStatus, Unreachable, bounded_get
from .rsa_verify import InvalidKey, RsaPublicKey, from_pem, verify

# The body OSS posts back, as JSON. With ``callbackBodyType`` JSON, OSS puts
# each variable in as a JSON value, quoted and escaped, so the template leaves
# ``${...}`` bare: a filename with quotes or backslashes still gives valid JSON.
# ``${contentMd5}`` is the base64 MD5 OSS computed of what it stored (the
# Callback page's system parameters). ``${imageInfo.format}`` is left out:
# OSS's error page 0007-00000303 says a callback whose body asks for image
# information fails when OSS cannot read the image, before it is sent; a file
# disguised as an image would then never reach the check of VERIFY_CONTENT.
CALLBACK_BODY = (
    '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
    '"mimeType":${mimeType},"contentMd5":${contentMd5},"filename":${x:filename},'
    '"user":${x:user},"expires":${x:expires}}'
)
# A callback is stale once its ticket expired this long ago: OSS calls back
# as soon as the upload ends, and an upload starts before its policy expires.
# Later, it is a replay of a call captured earlier.
CALLBACK_GRACE_SECONDS = 3600
CALLBACK_BODY_TYPE = "application/json"

KEY_URL_HEADER = "x-oss-pub-key-url"
SIGNATURE_HEADER = "authorization"
KEY_FETCH_TIMEOUT = 3.0  # seconds: OSS gives up on a callback after 5
MAX_PUBLIC_KEY_BYTES = 16 * 1024  # a PEM public key is well under 1 KiB
MAX_KEY_URL_CHARS = 1024
MAX_HEADER_CHARS = 4096
# A URL's own characters (RFC 3986) without query, fragment or percent-encoding:
# no key URL needs one, and a decoded %2e%2e or %2f would be a path step that
# requests or the server resolves after the prefix was checked.
_KEY_URL = re.compile(r"[A-Za-z0-9._~:/@!$&'()*+,;=-]+")
# OSS's "Callback" page (API reference,
# https://www.alibabacloud.com/help/en/oss/developer-reference/callback) names
# one key, callback_pub_key_v1.pem on gosspublic.alicdn.com: its x-oss-pub-key-url
# example decodes to the http:// URL, and it says a key URL starts with
# http:// or https:// on that host. Either is accepted; the key is always
# read over https, so no one on the path can hand over a key of their own.
OSS_KEY_HOST = "gosspublic.alicdn.com"
OSS_KEY_HOSTS = (f"http://{OSS_KEY_HOST}/", f"https://{OSS_KEY_HOST}/")
OSS_KEY_NAMES = ("callback_pub_key_v1.pem",)

MAX_CACHED_KEYS = 8  # keys kept, and failures remembered, by URL
KEY_FETCH_INTERVAL = 60.0  # seconds a failed fetch is remembered; the window of the cap below
KEY_FETCHES_PER_INTERVAL = 4  # fetches started within one interval, all URLs together


class CallbackRefused(Exception):
    """A callback that is not proven to come from OSS. The reason is for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def callback_fields(
    callback_url: str, filename: str, user: str | None, expires_at: datetime
) -> dict[str, str]:
    """The form fields that make OSS call ``callback_url`` after the upload.

    ``callback`` is the base64 JSON OSS reads; ``x:filename``, ``x:user`` and
    ``x:expires`` (the ticket's expiry, Unix seconds) are the custom
    variables its body refers to (PostObject takes them as form fields). The
    ticket binds all four in its policy, so none can be changed unsigned.
    """
    document = {
        "callbackUrl": callback_url,
        "callbackBody": CALLBACK_BODY,
        "callbackBodyType": CALLBACK_BODY_TYPE,
    }
    text = json.dumps(document, separators=(",", ":"))
    return {
        "callback": base64.b64encode(text.encode("ascii")).decode("ascii"),
        "x:filename": filename,
        "x:user": user or "",
        "x:expires": str(int(expires_at.timestamp())),
    }


class UploadReport(NamedTuple):
    """What a verified callback says was stored."""

    bucket: str
    key: str
    etag: str
    size: int | None
    mime_type: str
    filename: str
    user: str
    expires: int
    content_md5: str = ""  # base64, as OSS computed it

    def answer(self) -> dict[str, Any]:
        """The callback's answer, which OSS hands to the uploader as is."""
        return {"status": "ok", "key": self.key}


def signed_target(callback_url: str) -> bytes:
    """The part of the string to sign that comes from the URL OSS called.

    Taken from the configured callback URL, not from the request: behind API
    Gateway the function sees neither the stage prefix nor the raw query.
    """
    parts = urlsplit(callback_url)
    query = b"?" + parts.query.encode("ascii") if parts.query else b""
    return unquote_to_bytes(parts.path or "/") + query


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise CallbackRefused(f"no {name} header")
    if len(value) > MAX_HEADER_CHARS:
        raise CallbackRefused(f"{name} header too long")
    return value


def _base64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CallbackRefused(f"{name} header is not base64") from None


def key_url(headers: Mapping[str, str], dev_prefixes: tuple[str, ...]) -> str:
    """Where to fetch the public key the call names: one of OSS's keys (over
    https), or a URL under a dev prefix."""
    raw = _base64(_header(headers, KEY_URL_HEADER), KEY_URL_HEADER)
    try:
        url = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CallbackRefused("public key URL is not ASCII") from None
    if len(url) > MAX_KEY_URL_CHARS or not _KEY_URL.fullmatch(url):
        raise CallbackRefused("public key URL is malformed")
    if any(step in (".", "..") for step in url.split("/")):
        raise CallbackRefused("public key URL has a . or .. segment")
    for host in OSS_KEY_HOSTS:
        if url.startswith(host):
            if url[len(host) :] not in OSS_KEY_NAMES:
                raise CallbackRefused("public key URL is not a key OSS publishes")
            return f"https://{OSS_KEY_HOST}/{url[len(host) :]}"
    if url.startswith(dev_prefixes):
        return url
    raise CallbackRefused("public key URL is not on a trusted host")


def load_public_key(url: str) -> RsaPublicKey:
    """The RSA key at ``url``, fetched now: one bounded GET (:mod:`chalicelib.fetch`)."""
    try:
        return from_pem(bounded_get(url, timeout=KEY_FETCH_TIMEOUT, max_bytes=MAX_PUBLIC_KEY_BYTES))
    except UnexpectedStatus as failure:
        raise CallbackRefused(f"public key URL answered {failure.status}") from None
    except TooLarge:
        raise CallbackRefused("public key is too large") from None
    except Unreachable as failure:
        raise CallbackRefused(f"public key fetch failed: {failure.error}") from None
    except InvalidKey as error:
        raise CallbackRefused(f"public key is not one we accept: {error}") from None


def _remember(entries: dict[str, Any], url: str, value: Any) -> None:
    """Keep ``value`` as the newest entry, and no more than ``MAX_CACHED_KEYS``."""
    entries.pop(url, None)
    entries[url] = value
    while len(entries) > MAX_CACHED_KEYS:
        del entries[next(iter(entries))]  # the oldest


class PublicKeys:
    """The callback keys read so far, by URL, for one warm function.

    OSS's key never changes (its Callback page advises caching it), so a key
    once read is kept. Fetches are bounded like the JWKS cache's: a URL whose
    fetch failed is not tried again within ``KEY_FETCH_INTERVAL``, and no
    more than ``KEY_FETCHES_PER_INTERVAL`` fetches start within one, whatever
    the URLs. So forged calls never turn into a flood of outbound requests,
    each waiting for its timeout. ``clock`` is monotonic seconds (injectable).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RsaPublicKey] = {}
        self._failures: dict[str, tuple[float, str]] = {}  # url -> (when, why)
        self._fetches: deque[float] = deque(maxlen=KEY_FETCHES_PER_INTERVAL)

    def key(self, url: str) -> RsaPublicKey:
        """The key at ``url``, fetched first if it is not known and a fetch is allowed."""
        with self._lock:
            if url in self._keys:
                return self._keys[url]
            now = self.clock()
            failed_at, reason = self._failures.get(url, (None, ""))
            if failed_at is not None and now - failed_at < KEY_FETCH_INTERVAL:
                raise CallbackRefused(f"{reason} (under a minute ago: not tried again yet)")
            full = len(self._fetches) == self._fetches.maxlen
            if full and now - self._fetches[0] < KEY_FETCH_INTERVAL:
                raise CallbackRefused("public key not fetched: too many fetches this minute")
            self._fetches.append(now)
            try:
                key = load_public_key(url)
            except CallbackRefused as refusal:
                _remember(self._failures, url, (now, refusal.reason))
                raise
            self._failures.pop(url, None)
            _remember(self._keys, url, key)
            return key


PUBLIC_KEYS = PublicKeys()


def check_signature(key: RsaPublicKey, signature: bytes, message: bytes) -> None:
    """RSA PKCS#1 v1.5 over MD5 of ``message``, as OSS signs."""
    if not verify(key, message, signature, "md5"):
        raise CallbackRefused("signature does not match")


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    """OSS may send a number as a JSON number or as a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def parse_report(body: bytes, now: float) -> UploadReport:
    """The upload a verified body describes, in :data:`CALLBACK_BODY`'s shape,
    unless its ticket expired more than :data:`CALLBACK_GRACE_SECONDS` ago."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise CallbackRefused("body is not JSON") from None
    if not isinstance(document, dict) or not _text(document, "object"):
        raise CallbackRefused("body does not name an object")
    expires = _number(document.get("expires"))
    if expires is None:
        raise CallbackRefused("body carries no ticket expiry")
    if now > expires + CALLBACK_GRACE_SECONDS:
        raise CallbackRefused("callback is stale: its ticket expired long ago")
    return UploadReport(
        bucket=_text(document, "bucket"),
        key=_text(document, "object"),
        etag=_text(document, "etag"),
        size=_number(document.get("size")),
        mime_type=_text(document, "mimeType"),
        filename=_text(document, "filename"),
        user=_text(document, "user"),
        expires=expires,
        content_md5=_text(document, "contentMd5"),
    )


def verify_callback(
    headers: Mapping[str, str],
    body: bytes,
    callback_url: str,
    dev_prefixes: tuple[str, ...],
    now: float,
) -> UploadReport:
    """The upload a callback reports, once it is proven to come from OSS.

    Every header is checked before the key is fetched, and the signature
    before a byte of the body is read.
    """
    url = key_url(headers, dev_prefixes)
    signature = _base64(_header(headers, SIGNATURE_HEADER), SIGNATURE_HEADER)
    check_signature(PUBLIC_KEYS.key(url), signature, signed_target(callback_url) + b"\n" + body)
    return parse_report(body, now)
