"""The checks of a ticket request: what a caller may ask for.

One function per rule, each raising the refusal ``docs/api.md`` names for
it; tests parametrize over these functions directly.
"""

from __future__ import annotations

import binascii
import json
import unicodedata
from base64 import b64decode, b64encode
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from .content_types import MEDIA_TYPE, is_allowed, types_for_extension
from .errors import (
    ContentTypeMismatch,
    EntityTooLarge,
    InvalidContentType,
    InvalidFilename,
    InvalidRequest,
    InvalidSize,
    UnknownField,
    UnsupportedContentType,
)
from .settings import Settings

MAX_FILENAME_BYTES = 255
MD5_BASE64_LENGTH = 24  # base64 of MD5's 16 bytes, padded
MAX_OBJECT_KEY_BYTES = 1023  # OSS's and S3's limit on an object key, UTF-8
# Cc: control characters; Cf: bidi overrides and invisible formatting;
# Cs: lone surrogates, which JSON can carry but UTF-8 cannot encode.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class RequestFields(NamedTuple):
    """What a kind of request calls its fields: a ticket's own names, or Uppy's.

    ``ignored`` fields are accepted and not read; any other is ``UnknownField``.
    ``content_md5`` is None where a request cannot carry a digest (Uppy's).
    """

    filename: str = "filename"
    content_type: str = "content_type"
    size: str = "size"
    ignored: tuple[str, ...] = ()
    content_md5: str | None = "content_md5"

    @property
    def known(self) -> tuple[str, ...]:
        md5 = (self.content_md5,) if self.content_md5 else ()
        return (self.filename, self.content_type, self.size, *md5, *self.ignored)


TICKET_FIELDS = RequestFields()
# What @uppy/aws-s3 sends (GET /s3/params, POST /s3/multipart): the file's
# meta in ``metadata``, which signpost does not store.
UPPY_FIELDS = RequestFields(content_type="type", ignored=("metadata",), content_md5=None)


class TicketRequest(NamedTuple):
    """A request that has passed every check: safe to put in a key and a policy."""

    filename: str
    content_type: str
    size: int | None
    content_md5: str | None = None  # base64 of the file's MD5, as Content-MD5 carries it


def parse_body(body: bytes | str | None) -> dict[str, Any]:
    """The JSON object a ticket request carries, or ``InvalidRequest``."""
    try:
        value = json.loads(body or b"")
    except (ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and over-long integers.
        raise InvalidRequest("The body must be a JSON object.") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return value


def check_filename(filename: str) -> str:
    """The NFC form of a safe filename, or ``InvalidFilename`` saying why not."""
    name = unicodedata.normalize("NFC", filename)
    if not name:
        raise InvalidFilename("The filename is empty.")
    # A printable name has none of those categories (str.isprintable): most
    # names are decided without looking up each character's category.
    if not name.isprintable() and any(
        unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in name
    ):
        raise InvalidFilename("The filename contains a control or invisible formatting character.")
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise InvalidFilename(f"The filename is longer than {MAX_FILENAME_BYTES} bytes in UTF-8.")
    if name in (".", ".."):
        raise InvalidFilename("The filename cannot be '.' or '..'.")
    if "/" in name or "\\" in name:
        raise InvalidFilename("The filename cannot contain '/' or '\\'.")
    if name[0].isspace() or name[-1].isspace():
        raise InvalidFilename("The filename cannot start or end with whitespace.")
    if "${" in name:
        # S3 and OSS replace ${filename} in a form's key with the uploaded
        # part's name: the stored key could differ from the one bound.
        raise InvalidFilename("The filename cannot contain '${'.")
    return name


def check_object_key_length(key: str) -> str:
    if len(key.encode("utf-8")) > MAX_OBJECT_KEY_BYTES:
        raise InvalidFilename(
            f"The filename is too long: the object key would exceed {MAX_OBJECT_KEY_BYTES} bytes."
        )
    return key


def check_content_type(content_type: str, filename: str, allowed: Collection[str]) -> str:
    """The lower-cased type, if well-formed, allowed, and right for the name."""
    if not MEDIA_TYPE.fullmatch(content_type):
        raise InvalidContentType(
            "The content type must be a bare type/subtype, such as image/png, "
            "with no parameters or spaces."
        )
    media_type = content_type.lower()
    if not is_allowed(media_type, allowed):
        raise UnsupportedContentType(
            f"Files of type {media_type} are not accepted. Accepted: {', '.join(allowed)}."
        )
    expected = types_for_extension(filename)
    if expected is not None and media_type not in expected:
        raise ContentTypeMismatch(
            f"The file's extension says {' or '.join(sorted(expected))}, "
            f"but its content type is {media_type}."
        )
    return media_type


def check_size(size: object, max_upload_bytes: int) -> int:
    """A declared size; booleans (and ``null``) are not sizes."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidSize("The size must be a whole number of bytes, at least 1.")
    if size > max_upload_bytes:
        raise EntityTooLarge(f"The file is larger than the limit of {max_upload_bytes} bytes.")
    return size


def check_content_md5(content_md5: object) -> str:
    """A ``Content-MD5`` value: the base64 of 16 bytes, 24 characters, as
    RFC 1864 writes it (canonical padding, no other spelling of the same bytes)."""
    message = (
        "content_md5 must be the base64 of the file's 16-byte MD5 digest: "
        f"{MD5_BASE64_LENGTH} characters, such as 1B2M2Y8AsgTpgAmY7PhCfg==."
    )
    if not isinstance(content_md5, str) or len(content_md5) != MD5_BASE64_LENGTH:
        raise InvalidRequest(message)
    try:
        digest = b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(message) from None
    if len(digest) != 16 or b64encode(digest).decode("ascii") != content_md5:
        raise InvalidRequest(message)
    return content_md5


def check_ticket_request(
    body: Mapping[str, Any], settings: Settings, fields: RequestFields = TICKET_FIELDS
) -> TicketRequest:
    """Every check on a parsed body, in the order ``docs/api.md`` lists the refusals."""
    unknown = sorted(set(body) - set(fields.known))
    if unknown:
        raise UnknownField(
            f"Unknown field {unknown[0][:64]!r}; a request has only "
            + ", ".join(fields.known)
            + "."
        )
    filename, content_type = body.get(fields.filename), body.get(fields.content_type)
    if not isinstance(filename, str) or not isinstance(content_type, str):
        raise InvalidRequest(
            f"The fields '{fields.filename}' and '{fields.content_type}' are required strings."
        )
    name = check_filename(filename)
    return TicketRequest(
        filename=name,
        content_type=check_content_type(content_type, name, settings.allowed_content_types),
        size=(
            check_size(body[fields.size], settings.max_upload_bytes)
            if fields.size in body
            else None
        ),
        content_md5=(
            check_content_md5(body[fields.content_md5])
            if fields.content_md5 and fields.content_md5 in body
            else None
        ),
    )
