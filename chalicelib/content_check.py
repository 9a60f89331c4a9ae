"""What was uploaded is what was declared (``VERIFY_CONTENT``): the table of
signatures, the markup sniffer, and the check of a stored object's first bytes.

A ticket binds the content type as a label only; OWASP's File Upload Cheat
Sheet says to check a file's signature and never trust the type a client
sends. The check reads at most :data:`HEAD_BYTES` of the stored object (one
ranged GET, :meth:`.storage.MultipartStorage.read_head`) and judges them
against the object's own ``Content-Type``, the type the storage will serve:

* a type in :data:`SIGNATURES` must start with its signature;
* markup (HTML, SVG, XML, a ``#!`` script) is refused under any type that
  is not markup by nature (:func:`markup_by_nature`);
* any other type passes: signpost knows no signature for it.

No libmagic (not on the Lambda or FC images) and no ``filetype`` (which
detects neither HTML nor SVG): the table below, each row with its source.
Pure; the storage calls come in through :class:`StoredObjects`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import NamedTuple, Protocol

from .errors import ContentMismatch, StorageError

HEAD_BYTES = 8192  # what one ranged GET reads: Range: bytes=0-8191
# PDF: ISO 32000-1 7.5.2 puts "%PDF-1.n" on the first line; Adobe's PDF Reference
# (sixth edition, Appendix H, implementation note 13) says Acrobat accepts the
# header anywhere in the first 1024 bytes. signpost takes Acrobat's reading, so
# every PDF a reader opens passes, unless what comes before the header is markup.
PDF_HEADER_WINDOW = 1024
EMPTY = "nothing (the object is empty)"
UNKNOWN = "bytes of no type signpost knows"


class Signature(NamedTuple):
    """A type's signature: a test of the first bytes, and where it is specified."""

    matches: Callable[[bytes], bool]
    source: str


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _pdf(head: bytes) -> bool:
    return head.find(b"%PDF-", 0, PDF_HEADER_WINDOW + 5) >= 0


SIGNATURES: dict[str, Signature] = {
    "image/png": Signature(
        lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
        "PNG (W3C, third edition) 5.2 PNG signature: 89 50 4E 47 0D 0A 1A 0A",
    ),
    "image/jpeg": Signature(
        lambda head: head.startswith(b"\xff\xd8\xff"),
        "ITU-T T.81 (JPEG) B.2.1: the SOI marker FF D8, then the next marker's FF "
        "(JFIF APP0 and Exif APP1 alike); WHATWG MIME Sniffing 6.1",
    ),
    "image/gif": Signature(
        lambda head: head[:6] in (b"GIF87a", b"GIF89a"),
        "GIF89a specification, 17. Header: 'GIF' then the version '87a' or '89a'",
    ),
    "image/webp": Signature(
        _webp,
        "RFC 9649 (WebP) 2.5: 'RIFF', the file size (4 bytes), 'WEBP'",
    ),
    "application/pdf": Signature(
        _pdf,
        "ISO 32000-1 7.5.2 File header '%PDF-'; within the first 1024 bytes as Acrobat "
        "reads it (PDF Reference, sixth edition, implementation note 13)",
    ),
}
# Another name a browser gives a type of the table (content_types.EXTENSION_TYPES).
ALIASES = {"image/pjpeg": "image/jpeg"}

# WHATWG MIME Sniffing 7.1, "rules for identifying an unknown MIME type": after
# leading whitespace, each of these (ASCII case-insensitive) followed by a
# tag-terminating byte makes a browser treat the bytes as HTML. signpost also
# accepts any whitespace or "/" as the terminator (an HTML parser does), and adds
# SVG's root element, which the standard does not sniff.
_HTML_TAGS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_SVG_TAGS = (b"<svg", b"<!doctype svg")
_TERMINATORS = b" >/\t\n\x0c\r"
_WHITESPACE = b"\t\n\x0c\r "
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xfe\xff", b"\xff\xfe")
_MARKUP_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/ecmascript",
        "text/ecmascript",
    }
)


class StoredHead(NamedTuple):
    """An object's first bytes and the ``Content-Type`` it is stored (and served) with."""

    content_type: str
    head: bytes


class StoredObjects(Protocol):
    """The storage calls the check makes (:class:`.storage.MultipartStorage`)."""

    bucket: str

    def read_head(self, key: str, max_bytes: int) -> StoredHead: ...

    def delete(self, key: str) -> None: ...


def media_type(content_type: str) -> str:
    """``type/subtype`` of a ``Content-Type`` value, lower-case, parameters dropped."""
    return content_type.partition(";")[0].strip().lower()


def markup_by_nature(declared: str) -> bool:
    """A type whose bytes are markup or script anyway: nothing to refuse under it."""
    return declared in _MARKUP_TYPES or declared.endswith("+xml")


def _as_text(head: bytes) -> bytes:
    """The bytes a sniffer reads: a UTF-16 text re-encoded as UTF-8, a BOM dropped,
    leading whitespace skipped, letters lower-cased."""
    if head[:2] in _UTF16_BOMS:
        head = head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    head = head.removeprefix(_UTF8_BOM)
    return head.lstrip(_WHITESPACE).lower()


def _tag_at_start(text: bytes, tags: tuple[bytes, ...]) -> bool:
    for tag in tags:
        if text.startswith(tag):
            following = text[len(tag) : len(tag) + 1]
            if tag == b"<!--" or (following and following in _TERMINATORS):
                return True
    return False


def sniff_markup(head: bytes) -> str | None:
    """The markup type the bytes start as, or None: HTML and XML by WHATWG's
    patterns, SVG by its root (also after an XML declaration or a comment),
    a script by its ``#!`` line."""
    text = _as_text(head)
    if text.startswith(b"#!"):
        return "text/x-shellscript"
    if _tag_at_start(text, _SVG_TAGS) or (text.startswith((b"<?xml", b"<!--")) and b"<svg" in text):
        return "image/svg+xml"
    if _tag_at_start(text, _HTML_TAGS):
        return "text/html"
    if text.startswith(b"<?xml"):
        return "text/xml"
    return None


def detect(head: bytes) -> str | None:
    """What the first bytes are: a signature's type, else markup, else None.
    Never raises; reads no more than it is given."""
    for content_type, signature in SIGNATURES.items():
        if content_type != "application/pdf" and signature.matches(head):
            return content_type
    markup = sniff_markup(head)
    if markup is None and _pdf(head):
        return "application/pdf"
    return markup


def mismatch(declared: str, head: bytes) -> str | None:
    """What the bytes are when they are not what ``declared`` says; None when they pass."""
    declared = media_type(declared)
    if markup_by_nature(declared):
        return None
    markup = sniff_markup(head)
    signature = SIGNATURES.get(ALIASES.get(declared, declared))
    if signature is None:
        return markup
    if markup is None and signature.matches(head):
        return None
    if not head:
        return EMPTY
    return detect(head) or UNKNOWN


def check_stored(storage: StoredObjects, key: str) -> StoredHead:
    """Read ``key``'s first bytes and judge them; on a mismatch delete the object
    and raise :class:`ContentMismatch`. A storage error while reading leaves
    nothing unchecked: the object is deleted if the storage lets it be, and the
    caller gets the :class:`StorageError`."""
    try:
        stored = storage.read_head(key, HEAD_BYTES)
    except StorageError:
        with suppress(StorageError):  # the read's error is the one to report
            storage.delete(key)
        raise
    detected = mismatch(stored.content_type, stored.head)
    if detected is not None:
        storage.delete(key)
        declared = media_type(stored.content_type) or "no type"
        raise ContentMismatch(
            f"The file was declared {declared} but its content is {detected}: "
            "it was removed. Upload a file whose content matches its type.",
            declared=declared,
            detected=detected,
        )
    return stored
