"""Media types: the RFC 6838 syntax, the allow-list, and the extension table.

The table is fixed here rather than read from the host's ``/etc/mime.types``
(what :mod:`mimetypes` does), so every machine decides alike.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable

# RFC 6838 section 4.2: restricted-name = first char alnum, then up to 126 of
# alnum and ``!#$&-^_.+``. A bare ``type/subtype``: no parameters, no spaces.
_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
MEDIA_TYPE = re.compile(rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}")
MEDIA_RANGE = re.compile(rf"{_RESTRICTED_NAME}/(?:{_RESTRICTED_NAME}|\*)")


def _table(*rows: tuple[str, str]) -> dict[str, frozenset[str]]:
    """Build ``{".ext": {types}}`` from ``("ext ext", "type type")`` rows."""
    table: dict[str, frozenset[str]] = {}
    for extensions, types in rows:
        for extension in extensions.split():
            table["." + extension] = frozenset(types.split())
    return table


# Extension -> the types a browser may report for it. A name whose extension
# is listed must be sent with one of its types; an unlisted extension (or none)
# is decided by the allow-list alone.
EXTENSION_TYPES: dict[str, frozenset[str]] = _table(
    ("png", "image/png"),
    ("jpg jpeg jpe jfif pjpeg pjp", "image/jpeg image/pjpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("bmp", "image/bmp image/x-ms-bmp"),
    ("tif tiff", "image/tiff"),
    ("ico", "image/vnd.microsoft.icon image/x-icon"),
    ("svg svgz", "image/svg+xml"),
    ("pdf", "application/pdf"),
    ("txt text log", "text/plain"),
    ("csv", "text/csv"),
    ("md markdown", "text/markdown"),
    ("html htm xhtml", "text/html application/xhtml+xml"),
    ("css", "text/css"),
    ("js mjs", "text/javascript application/javascript"),
    ("json", "application/json"),
    ("xml", "application/xml text/xml"),
    ("rtf", "application/rtf text/rtf"),
    ("zip", "application/zip application/x-zip-compressed"),
    ("gz tgz", "application/gzip application/x-gzip"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    ("rar", "application/vnd.rar application/x-rar-compressed"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("mp3", "audio/mpeg audio/mp3"),
    ("wav", "audio/wav audio/x-wav audio/wave"),
    ("ogg oga", "audio/ogg"),
    ("m4a", "audio/mp4 audio/x-m4a"),
    ("flac", "audio/flac audio/x-flac"),
    ("aac", "audio/aac"),
    ("mp4 m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("avi", "video/x-msvideo"),
    ("mkv", "video/x-matroska"),
    ("exe dll", "application/x-msdownload application/vnd.microsoft.portable-executable"),
)


def extension_of(filename: str) -> str:
    """The lower-cased extension with its dot, or ``""`` (``.bashrc`` has none).

    Trailing dots do not hide one: Windows drops them when it saves the file,
    so ``invoice.html.`` is downloaded as ``invoice.html``.
    """
    return posixpath.splitext(filename.rstrip("."))[1].lower()


def types_for_extension(filename: str) -> frozenset[str] | None:
    """The types the table allows for this name, or None if it does not know it."""
    return EXTENSION_TYPES.get(extension_of(filename))


def is_allowed(content_type: str, allowed: Collection[str]) -> bool:
    """Whether a lower-case type is in the allow-list, exactly or by ``type/*``."""
    if content_type in allowed:
        return True
    major = content_type.partition("/")[0]
    return f"{major}/*" in allowed


def extensions_by_type(allowed: Iterable[str]) -> dict[str, list[str]]:
    """Each allowed type with the extensions a file of it may have, in the
    allow-list's order: what a page needs for ``accept`` and to refuse early.

    Derived from :data:`EXTENSION_TYPES`, the table the checks use, so a page
    and the API cannot disagree on a name the table knows. A range such as
    ``image/*`` brings in every type of its kind the table knows, each with
    its extensions, and is listed itself with none: it also allows types the
    table does not know (a file with no extension, or an unlisted one).
    """
    by_type: dict[str, list[str]] = {}
    for extension, types in EXTENSION_TYPES.items():
        for media_type in sorted(types):
            by_type.setdefault(media_type, []).append(extension)
    rules: dict[str, list[str]] = {}
    for item in allowed:
        if item.endswith("/*"):
            kind = item[:-1]  # "image/"
            for media_type, extensions in by_type.items():
                if media_type.startswith(kind):
                    rules.setdefault(media_type, extensions)
        rules.setdefault(item, by_type.get(item, []))
    return rules
