"""Object keys, ``{UPLOAD_DIR}{user/}{random}/{filename}``, and the name an
object is served under."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

from .checks import check_filename, check_object_key_length
from .errors import InvalidFilename

# A ``sub`` made only of these may stand in a key as it is; anything else is
# replaced by its hash, so no caller can smuggle ``/`` or ``..`` into a prefix.
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
HASHED_PREFIX = "h-"
RANDOM_SEGMENT = re.compile(r"[0-9a-f]{32}")  # what random_segment makes
# RFC 5987 attr-char: what may stand unescaped in ``filename*``.
_ATTR_CHARS = "!#$&+-.^_`|~"


def user_segment(subject: str) -> str:
    """The key segment for an authenticated caller.

    The subject itself when it is at most 64 characters of ``[A-Za-z0-9_.@-]``,
    is not ``.`` or ``..`` and does not start with ``h-``; otherwise ``h-``
    and the first 32 hex digits of its SHA-256. Kept subjects never start
    with ``h-``, so no subject can take the hashed segment of another: two
    subjects share a segment only if SHA-256 collides.
    """
    if (
        _SAFE_SEGMENT.fullmatch(subject)
        and subject not in (".", "..")
        and not subject.startswith(HASHED_PREFIX)
    ):
        return subject
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()
    return HASHED_PREFIX + digest[:32]


def owner_prefix(upload_dir: str, user: str | None) -> str:
    """``{UPLOAD_DIR}{user/}``: the folder of one caller's objects."""
    return f"{upload_dir}{user}/" if user else upload_dir


def key_prefix(upload_dir: str, user: str | None, segment: str) -> str:
    """``{UPLOAD_DIR}{user/}{random}/``: the part of a key the caller cannot choose.

    ``segment`` is the random one: 32 hex digits, so keys never collide and
    spread across the store's partitions.
    """
    return f"{owner_prefix(upload_dir, user)}{segment}/"


def object_key(upload_dir: str, user: str | None, segment: str, filename: str) -> str:
    """``{UPLOAD_DIR}{user/}{random}/{filename}``, refused if over 1023 bytes."""
    return check_object_key_length(key_prefix(upload_dir, user, segment) + filename)


def is_own_key(key: str, upload_dir: str, user: str | None) -> bool:
    """Whether ``key`` is one :func:`object_key` could have named for ``user``.

    ``{UPLOAD_DIR}{user/}``, 32 hex digits, ``/``, then a filename that
    passes the ticket checks as it stands (NFC), within the key length: so
    a key that names another user's folder, a folder of the caller's own
    choosing or a path outside the prefix is never one.
    """
    prefix = owner_prefix(upload_dir, user)
    if not key.startswith(prefix):
        return False
    segment, slash, filename = key[len(prefix) :].partition("/")
    if not slash or not RANDOM_SEGMENT.fullmatch(segment):
        return False
    try:
        return (
            check_filename(filename) == filename
            and object_key(upload_dir, user, segment, filename) == key
        )
    except InvalidFilename:
        return False


def content_disposition(filename: str) -> str:
    """``attachment`` with the original name: an ASCII fallback and RFC 5987.

    The fallback keeps printable ASCII and puts ``_`` for the rest and for
    the quote; ``filename*`` carries the exact UTF-8 name.
    """
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\' else "_" for char in filename
    )
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
