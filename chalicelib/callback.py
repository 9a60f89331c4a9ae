"""OSS upload callbacks (SPEC section 8): what a ticket asks OSS to send
back, and the proof that a call to ``POST /oss-callback`` came from OSS.

OSS signs each callback with its own RSA key: ``authorization`` is the base64
PKCS#1 v1.5 signature, with MD5, of the URL-decoded path of the callback URL,
its query string (``?`` and all) if any, ``\\n`` and the body. The key's URL
travels base64-encoded in ``x-oss-pub-key-url``; it is fetched only from
OSS's own host (or a prefix the settings add for a dev bucket), so the route
can never be made to reach anywhere else.

A call is refused with :class:`CallbackRefused`; its reason is for the log
only, the caller gets a generic ``AccessDenied``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote_to_bytes, urlsplit


if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

# The body OSS posts back, as JSON. With ``callbackBodyType`` JSON, OSS puts
# each variable in as a JSON value, quoted and escaped, so the template leaves
# ``${...}`` bare: a filename with quotes or backslashes still gives valid JSON.
CALLBACK_BODY = (
    '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
    '"mimeType":${mimeType},"filename":${x:filename},"user":${x:user},'
    '"expires":${x:expires}}'
)
# A callback is stale once its ticket expired this long ago: OSS calls back
# as soon as the upload ends, and an upload starts before its policy expires.
# Later, it is a replay of a call captured earlier.
CALLBACK_GRACE_SECONDS = 3600
CALLBACK_BODY_TYPE = "application/json"

KEY_URL_HEADER = "x-oss-pub-key-url"
SIGNATURE_HEADER = "authorization"
KEY_FETCH_TIMEOUT = 3.0  # seconds: OSS gives up on a callback after 5
MAX_KEY_BYTES = 16 * 1024  # a PEM public key is well under 1 KiB
MAX_KEY_URL_CHARS = 1024
MAX_HEADER_CHARS = 4096
_KEY_URL = re.compile(r"[!-\"$-/0-9:;=@-~]+")  # printable ASCII: no spaces, ?, # or <>
# OSS publishes the keys it signs with as callback_pub_key_v<N>.pem on its host:
# nothing else there is fetched, so no caller can make the route fetch at will.
OSS_KEY_HOSTS = ("http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/")
_OSS_KEY_URL = re.compile(r"https?://gosspublic\.alicdn\.com/callback_pub_key_v[0-9]{1,3}\.pem")

# Public keys by URL: fetched once per warm function, then reused; a few at most.
_PUBLIC_KEYS: dict[str, RSAPublicKey] = {}
MAX_CACHED_KEYS = 8


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


class Upload(NamedTuple):
    """What a verified callback says was stored."""

    bucket: str
    key: str
    etag: str
    size: int | None
    mime_type: str
    filename: str
    user: str
    expires: int

    def log_line(self) -> str:
        """One JSON line: escaped, so a filename cannot forge another log line."""
        return json.dumps({"event": "upload", **self._asdict()})

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
    """The public key's URL, if it is one of OSS's keys or under a dev prefix."""
    raw = _base64(_header(headers, KEY_URL_HEADER), KEY_URL_HEADER)
    try:
        url = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CallbackRefused("public key URL is not ASCII") from None
    if len(url) > MAX_KEY_URL_CHARS or not _KEY_URL.fullmatch(url):
        raise CallbackRefused("public key URL is malformed")
    if url.startswith(dev_prefixes):
        return url
    if not url.startswith(OSS_KEY_HOSTS):
        raise CallbackRefused("public key URL is not on a trusted host")
    if not _OSS_KEY_URL.fullmatch(url):
        raise CallbackRefused("public key URL is not an OSS callback key")
    return url


def fetch_public_key(url: str) -> bytes:
    """The PEM at ``url``: one GET, no redirects, a short timeout, a size cap."""
    import requests

    try:
        with requests.get(
            url, timeout=KEY_FETCH_TIMEOUT, stream=True, allow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise CallbackRefused(f"public key URL answered {response.status_code}")
            pem = b""
            for chunk in response.iter_content(4096):
                pem += chunk
                if len(pem) > MAX_KEY_BYTES:
                    raise CallbackRefused("public key is too large")
    except requests.RequestException as error:
        raise CallbackRefused(f"public key fetch failed: {type(error).__name__}") from None
    return pem


def public_key(url: str) -> RSAPublicKey:
    """The RSA key at ``url``, from the cache or fetched once."""
    if url not in _PUBLIC_KEYS:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            key = load_pem_public_key(fetch_public_key(url))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise CallbackRefused("public key is not a PEM public key") from None
        if not isinstance(key, RSAPublicKey):
            raise CallbackRefused("public key is not an RSA key")
        _PUBLIC_KEYS[url] = key
        while len(_PUBLIC_KEYS) > MAX_CACHED_KEYS:
            del _PUBLIC_KEYS[next(iter(_PUBLIC_KEYS))]  # the oldest
    return _PUBLIC_KEYS[url]


def check_signature(key: RSAPublicKey, signature: bytes, message: bytes) -> None:
    """RSA PKCS#1 v1.5 over MD5 of ``message``, as OSS signs."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import MD5

    try:
        key.verify(signature, message, PKCS1v15(), MD5())
    except InvalidSignature:
        raise CallbackRefused("signature does not match") from None


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


def parse_upload(body: bytes, now: float) -> Upload:
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
    return Upload(
        bucket=_text(document, "bucket"),
        key=_text(document, "object"),
        etag=_text(document, "etag"),
        size=_number(document.get("size")),
        mime_type=_text(document, "mimeType"),
        filename=_text(document, "filename"),
        user=_text(document, "user"),
        expires=expires,
    )


def verify_callback(
    headers: Mapping[str, str],
    body: bytes,
    callback_url: str,
    dev_prefixes: tuple[str, ...],
    now: float,
) -> Upload:
    """The upload a callback reports, once it is proven to come from OSS.

    Every header is checked before the key is fetched, and the signature
    before a byte of the body is read.
    """
    url = key_url(headers, dev_prefixes)
    signature = _base64(_header(headers, SIGNATURE_HEADER), SIGNATURE_HEADER)
    check_signature(public_key(url), signature, signed_target(callback_url) + b"\n" + body)
    return parse_upload(body, now)
