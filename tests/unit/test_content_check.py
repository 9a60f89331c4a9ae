"""The signature table and the markup sniffer of ``VERIFY_CONTENT``, and the
check's outcomes with a storage that fails, is empty or holds too little."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.content_check import (
    EMPTY,
    HEAD_BYTES,
    SIGNATURES,
    UNKNOWN,
    StoredHead,
    check_stored,
    detect,
    mismatch,
    sniff_markup,
)
from chalicelib.errors import ContentMismatch, StorageError
from tests.support.devbucket import PNG

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
XML_SVG = b'<?xml version="1.0"?>\n<!-- drawn -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'
XML = b'<?xml version="1.0"?><note/>'

REAL = {
    "image/png": PNG,
    "image/jpeg": JPEG,
    "image/gif": GIF,
    "image/webp": WEBP,
    "application/pdf": PDF,
}


@pytest.mark.parametrize("content_type", sorted(REAL))
def test_each_signature_passes_its_own_type_and_no_other(content_type: str) -> None:
    assert detect(REAL[content_type]) == content_type
    assert mismatch(content_type, REAL[content_type]) is None
    for other in REAL:
        if other != content_type:
            assert mismatch(other, REAL[content_type]) == content_type


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (HTML, "text/html"),
        (b"\xef\xbb\xbf  \n<HTML>", "text/html"),
        (b"<p>hi", "text/html"),
        (b"<!-- x --><div>", "text/html"),
        ("<html>".encode("utf-16"), "text/html"),
        (b"<script\nsrc=x>", "text/html"),
        (SVG, "image/svg+xml"),
        (XML_SVG, "image/svg+xml"),
        (b"<!DOCTYPE svg PUBLIC>", "image/svg+xml"),
        (XML, "text/xml"),
        (b"#!/bin/sh\nrm -rf /", "text/x-shellscript"),
    ],
)
def test_markup_is_refused_under_every_type_not_markup_by_nature(head: bytes, found: str) -> None:
    assert sniff_markup(head) == found
    for declared in (*REAL, "text/plain", "video/mp4", "application/octet-stream", "image/avif"):
        assert mismatch(declared, head) == found, declared
    for by_nature in ("text/html", "image/svg+xml", "application/xml", "application/atom+xml"):
        assert mismatch(by_nature, head) is None


@pytest.mark.parametrize("head", [b"<pre>", b"<abbr>", b"<bx", b"hello <html>", b"<?xm"])
def test_text_that_a_browser_would_not_sniff_as_markup_passes(head: bytes) -> None:
    """WHATWG's patterns need the tag's end after the name, and the start of the bytes."""
    assert sniff_markup(head) is None
    assert mismatch("text/plain", head) is None


def test_a_pdf_header_within_the_first_1024_bytes_passes_unless_markup_comes_first() -> None:
    assert mismatch("application/pdf", b"\x00" * 1000 + PDF) is None
    assert mismatch("application/pdf", b"\x00" * 1025 + PDF) == UNKNOWN
    assert mismatch("application/pdf", b"<html><script>x</script>" + PDF) == "text/html"


def test_types_without_a_signature_pass_binary_bytes() -> None:
    for declared in ("video/mp4", "application/zip", "image/avif", "text/plain"):
        assert mismatch(declared, zlib.compress(b"x" * 100)) is None
        assert mismatch(declared, PNG) is None


def test_an_empty_or_short_object_fails_a_type_with_a_signature() -> None:
    assert mismatch("image/png", b"") == EMPTY
    assert mismatch("image/png", PNG[:7]) == UNKNOWN
    assert mismatch("image/gif", b"GIF8") == UNKNOWN
    assert mismatch("text/plain", b"") is None


def test_the_declared_type_is_read_from_a_content_type_header() -> None:
    assert mismatch("IMAGE/PNG; charset=binary", PNG) is None
    assert mismatch("image/png; x=1", HTML) == "text/html"


@settings(max_examples=300, deadline=None)
@given(
    declared=st.sampled_from([*REAL, "text/plain", "text/html", "", "x", "image/png;;"]),
    head=st.binary(max_size=HEAD_BYTES),
)
def test_the_sniffer_never_raises_and_names_a_type_or_nothing(declared: str, head: bytes) -> None:
    found = mismatch(declared, head)
    assert found is None or isinstance(found, str)
    assert detect(head) is None or "/" in str(detect(head))


@settings(max_examples=100, deadline=None)
@given(prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b" \t\r\n", b"\xff\xfe"]), body=st.binary())
def test_markup_prefixes_never_raise(prefix: bytes, body: bytes) -> None:
    sniff_markup(prefix + b"<" + body)


class FakeStorage:
    """The two calls of the check, scripted; what was deleted is kept."""

    bucket = "signpost-test"

    def __init__(self, stored: StoredHead | None, *, delete_fails: bool = False) -> None:
        self.stored = stored
        self.delete_fails = delete_fails
        self.deleted: list[str] = []
        self.asked: list[int] = []

    def read_head(self, key: str, max_bytes: int) -> StoredHead:
        self.asked.append(max_bytes)
        if self.stored is None:
            raise StorageError("The storage refused to read the object: InternalError.")
        return self.stored

    def delete(self, key: str) -> None:
        if self.delete_fails:
            raise StorageError("The storage refused to delete the object: InternalError.")
        self.deleted.append(key)


def test_a_mismatch_deletes_the_object_and_names_both_types() -> None:
    storage = FakeStorage(StoredHead("image/png", HTML))
    with pytest.raises(ContentMismatch) as refusal:
        check_stored(storage, "uploads/k/cat.png")
    assert storage.deleted == ["uploads/k/cat.png"]
    assert storage.asked == [HEAD_BYTES]
    error = refusal.value
    assert (error.status, error.code) == (422, "ContentMismatch")
    assert "image/png" in error.message
    assert "text/html" in error.message


def test_a_match_is_kept() -> None:
    storage = FakeStorage(StoredHead("image/png", PNG))
    assert check_stored(storage, "k").head == PNG
    assert storage.deleted == []


def test_an_empty_object_declared_with_a_signature_is_deleted() -> None:
    storage = FakeStorage(StoredHead("application/pdf", b""))
    with pytest.raises(ContentMismatch, match="empty"):
        check_stored(storage, "k")
    assert storage.deleted == ["k"]


def test_a_storage_error_while_reading_deletes_what_could_not_be_checked() -> None:
    storage = FakeStorage(None)
    with pytest.raises(StorageError):
        check_stored(storage, "k")
    assert storage.deleted == ["k"]
    failing = FakeStorage(None, delete_fails=True)
    with pytest.raises(StorageError, match="read the object"):
        check_stored(failing, "k")


def test_the_message_never_quotes_the_bytes() -> None:
    secret = base64.b64encode(b"not for the message").decode()
    with pytest.raises(ContentMismatch) as refusal:
        check_stored(FakeStorage(StoredHead("image/png", f"<p>{secret}".encode())), "k")
    assert secret not in refusal.value.message


def test_the_docs_list_each_signature_with_its_source() -> None:
    """docs/security.md's table names every type of the table, and its source's document."""
    page = (Path(__file__).parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for content_type, signature in SIGNATURES.items():
        (row,) = [line for line in rows if line.startswith(f"| `{content_type}`")]
        document = signature.source.split(" ")[0]  # PNG, ITU-T, GIF89a, RFC, ISO
        assert document in row, (content_type, document)


def test_pjpeg_is_read_as_jpeg() -> None:
    assert mismatch("image/pjpeg", JPEG) is None
    assert mismatch("image/pjpeg", PNG) == "image/png"
