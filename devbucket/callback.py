"""OSS's upload callback, performed for real by the dev bucket.

Written from OSS's callback documentation, not from ``chalicelib``: a form
that carries ``callback`` (base64 JSON: ``callbackUrl``, ``callbackBody``,
optional ``callbackHost`` and ``callbackBodyType``) makes the bucket, once
the object is stored, POST the body to the URL with its variables filled in:
``${bucket}``, ``${object}``, ``${etag}``, ``${size}``, ``${mimeType}``,
``${contentMd5}`` (the base64 MD5 of the stored bytes), and ``${x:name}``
from the form's ``x:name`` fields. With the JSON body type each
value goes in as a JSON value; with the form type, URL-encoded.

The call is signed as OSS signs it, with a key pair of the dev bucket's own:
``authorization`` is the base64 RSA PKCS#1 v1.5 signature, with MD5, of the
URL-decoded path, ``?query`` if any, ``\\n`` and the body;
``x-oss-pub-key-url`` is the base64 URL where the bucket serves the public
half (:data:`KEY_PATH`). An answer ``200`` with a JSON body is passed to the
uploader as is; anything else is OSS's ``203 CallbackFailed``, and the object
stays stored.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes, urlsplit

from .errors import ServiceError, invalid_argument

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# Where the dev bucket serves its public key. Keys under this folder are
# refused on upload, so no uploaded object can stand in for the key.
KEY_FOLDER = ".well-known/"
KEY_PATH = f"/{KEY_FOLDER}callback-key.pem"
FORM_BODY = "application/x-www-form-urlencoded"
JSON_BODY = "application/json"
TIMEOUT = 5.0  # seconds, as OSS waits
MAX_URLS = 5  # OSS tries up to five URLs, separated by ";", until one succeeds
MAX_ANSWER_BYTES = 3 * 1024**2
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_URL = re.compile(r"https?://[^\s/?#;]+[^\s#;]*")


@dataclass(frozen=True)
class Callback:
    """A form's decoded ``callback`` field."""

    urls: tuple[str, ...]
    host: str | None
    body: str
    body_type: str


@dataclass(frozen=True)
class Stored:
    """What the callback body's system variables describe."""

    bucket: str
    key: str
    etag: str  # without quotes, as OSS puts it in the body
    size: int
    mime_type: str


def _not_json() -> ServiceError:
    return invalid_argument("The callback configuration is not json format.")


def parse(fields: Mapping[str, str]) -> Callback | None:
    """The form's ``callback`` field, checked before the file is stored; None if absent."""
    raw = fields.get("callback")
    if not raw:
        return None
    try:
        document = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        raise invalid_argument("The callback configuration is not base64 encoded json.") from None
    if not isinstance(document, dict):
        raise _not_json()
    urls, body = document.get("callbackUrl"), document.get("callbackBody")
    body_type = document.get("callbackBodyType") or FORM_BODY
    host = document.get("callbackHost") or None
    if not isinstance(urls, str) or not isinstance(body, str) or not body:
        raise invalid_argument("The callback needs a callbackUrl and a callbackBody.")
    listed = tuple(url for url in urls.split(";") if url)
    if not 1 <= len(listed) <= MAX_URLS or not all(_URL.fullmatch(url) for url in listed):
        raise invalid_argument(f"callbackUrl must be 1 to {MAX_URLS} http(s) URLs, ';' between.")
    if body_type not in (FORM_BODY, JSON_BODY):
        raise invalid_argument(f"callbackBodyType must be {FORM_BODY} or {JSON_BODY}.")
    if not isinstance(host, str | None):
        raise invalid_argument("callbackHost must be a host name.")
    callback = Callback(listed, host, body, body_type)
    if body_type == JSON_BODY:  # checked now, with stand-in values, so nothing is stored
        try:
            json.loads(render(callback, Stored("bucket", "key", "0" * 32, 0, "type"), fields))
        except ValueError:
            raise _not_json() from None
    return callback


def render(callback: Callback, stored: Stored, fields: Mapping[str, str]) -> bytes:
    """The body with every ``${...}`` filled in; an unknown variable is empty."""
    system: dict[str, str | int] = {
        "bucket": stored.bucket,
        "object": stored.key,
        "etag": stored.etag,
        "size": stored.size,
        "mimeType": stored.mime_type,
        # The base64 MD5 of the stored bytes: the ETag's digest, for a form upload.
        "contentMd5": base64.b64encode(bytes.fromhex(stored.etag)).decode("ascii"),
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = fields.get(name, "") if name.startswith("x:") else system.get(name, "")
        if callback.body_type == JSON_BODY:
            return json.dumps(found, ensure_ascii=False)
        return quote(str(found), safe="")

    return _VARIABLE.sub(value, callback.body).encode("utf-8")


def signed_message(url: str, body: bytes) -> bytes:
    """What OSS signs: the URL-decoded path, ``?query`` if any, ``\\n``, the body."""
    parts = urlsplit(url)
    query = b"?" + parts.query.encode("utf-8") if parts.query else b""
    return unquote_to_bytes(parts.path or "/") + query + b"\n" + body


class CallbackKey:
    """The dev bucket's RSA key pair, made on first use (tests start many
    buckets that never call back)."""

    def __init__(self) -> None:
        self._key: RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def _private(self) -> RSAPrivateKey:
        with self._lock:
            if self._key is None:
                from cryptography.hazmat.primitives.asymmetric import rsa

                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return (
            self._private()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def sign(self, message: bytes) -> str:
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from cryptography.hazmat.primitives.hashes import MD5

        return base64.b64encode(self._private().sign(message, PKCS1v15(), MD5())).decode("ascii")


class _Failed(Exception):
    """One URL's failure, worded as OSS words it in ``CallbackFailed``."""


def _post(url: str, host: str | None, body: bytes, headers: Mapping[str, str]) -> bytes:
    """POST ``body`` to ``url``; the answer's body if it is ``200`` and JSON."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.netloc, timeout=TIMEOUT)
    try:
        connection.request("POST", target, body, {"Host": host or parts.netloc, **headers})
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES + 1)
    except TimeoutError:
        raise _Failed("Cost too long time.") from None
    except (OSError, http.client.HTTPException):
        raise _Failed(
            "Error status : -1.OSS can not connect to your callbackUrl, please check it."
        ) from None
    finally:
        connection.close()
    if response.status != 200:
        raise _Failed(f"Error status : {response.status}.")
    if len(answer) > MAX_ANSWER_BYTES:
        raise _Failed("Error status : 400.User server return too long content-length value.")
    try:
        json.loads(answer)
    except ValueError:
        raise _Failed("Response body is not valid json format.") from None
    return answer


def perform(
    callback: Callback,
    stored: Stored,
    fields: Mapping[str, str],
    key: CallbackKey,
    key_url: str,
    *,
    allowed: Collection[str],
) -> bytes:
    """Call back each URL in turn until one answers ``200`` JSON; that answer.

    If none does, the last failure as OSS's ``203 CallbackFailed``. Unlike
    OSS, only ``allowed`` URLs are called, each with its own ``Host``: the
    bucket's key is public, so any form could otherwise make a developer's
    machine post where it likes. Another URL fails as one that cannot be
    reached does, and the object stays stored, as OSS keeps it.
    """
    body = render(callback, stored, fields)
    failure = ""
    for url in callback.urls:
        if url not in allowed or callback.host not in (None, urlsplit(url).netloc):
            failure = f"The dev bucket calls back only the API make run started, not {url}."
            continue
        headers = {
            "Content-Type": callback.body_type,
            "authorization": key.sign(signed_message(url, body)),
            "x-oss-pub-key-url": base64.b64encode(key_url.encode("utf-8")).decode("ascii"),
        }
        try:
            return _post(url, callback.host, body, headers)
        except _Failed as error:
            failure = str(error)
    raise ServiceError(203, "CallbackFailed", failure)
