"""The ticket request's checks, rule by rule: each rule's good and bad cases."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from chalicelib.checks import (
    check_content_type,
    check_filename,
    check_object_key_length,
    check_size,
    check_ticket_request,
    parse_body,
)
from chalicelib.errors import (
    ContentTypeMismatch,
    EntityTooLarge,
    InvalidContentType,
    InvalidFilename,
    InvalidRequest,
    InvalidSize,
    UnknownField,
    UnsupportedContentType,
)
from chalicelib.settings import load_settings

SETTINGS = load_settings({})
ALLOWED = SETTINGS.allowed_content_types


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"cat.png"',
        b"null",
        b"42",
        b"\xff\xfe{",
        b"{" * 100_000,
        b'{"size": 1' + b"0" * 5000 + b"}",
    ],
    ids=["empty", "not-json", "array", "string", "null", "number", "bad-utf8", "deep", "huge-int"],
)
def test_a_body_that_is_not_a_json_object_is_an_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_body(body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"filename": "cat.png"},
        {"content_type": "image/png"},
        {"filename": 1, "content_type": "image/png"},
        {"filename": "cat.png", "content_type": None},
        {"filename": ["cat.png"], "content_type": "image/png"},
    ],
)
def test_missing_or_non_string_filename_or_type_is_an_invalid_request(body: dict) -> None:
    with pytest.raises(InvalidRequest):
        check_ticket_request(body, SETTINGS)


@pytest.mark.parametrize("field", ["name", "Filename", "size_bytes", "", "key", "policy"])
def test_a_field_not_in_the_documented_list_is_refused(field: str) -> None:
    body = {"filename": "cat.png", "content_type": "image/png", field: "x"}
    with pytest.raises(UnknownField):
        check_ticket_request(body, SETTINGS)


@pytest.mark.parametrize(
    "name",
    [
        "cat.png",
        "Katze \u00fc.png",
        "\u732b.png",
        "a" * 251 + ".png",  # exactly 255 bytes
        "\u00e9" * 125 + ".png",  # 254 bytes in UTF-8
        ".hidden",
        "with space.png",
        "..cat.png",
        "cat..png",
        "\U0001f431.png",
    ],
)
def test_safe_filenames_pass(name: str) -> None:
    assert check_filename(name) == name


def test_filenames_are_normalised_to_nfc() -> None:
    decomposed = "Cafe\u0301.png"
    assert check_filename(decomposed) == "Caf\u00e9.png"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * 252 + ".png",  # 256 bytes
        "\u00e9" * 128,  # 256 bytes in UTF-8, 128 characters
        ".",
        "..",
        "dir/cat.png",
        "/etc/passwd",
        "..\\cat.png",
        "c:\\cat.png",
        "cat\x00.png",
        "cat\n.png",
        "cat\r.png",
        "cat\x7f.png",
        "cat\u0085.png",  # C1 control, category Cc
        "cat\u202e.gnp",  # right-to-left override, Cf
        "cat\u200b.png",  # zero-width space, Cf
        "\ufeffcat.png",  # BOM, Cf
        "cat\ud800.png",  # lone surrogate
        " cat.png",
        "cat.png ",
        "\tcat.png",
        "cat.png\u3000",
        "\u00a0cat.png",
        "${filename}",
        "cat${filename}.png",
    ],
)
def test_unsafe_filenames_are_refused(name: str) -> None:
    with pytest.raises(InvalidFilename):
        check_filename(name)


FORBIDDEN_CHARACTERS = [
    chr(point)
    for point in range(sys.maxunicode + 1)
    if unicodedata.category(chr(point)) in {"Cc", "Cf", "Cs"}
]


def test_every_control_format_and_surrogate_character_is_refused() -> None:
    """Every code point of the refused categories, in this Python's Unicode
    database, inside an otherwise good name (the printable-name shortcut
    must never let one through)."""
    assert len(FORBIDDEN_CHARACTERS) > 2000  # 65 Cc, ~170 Cf, 2048 Cs
    for char in FORBIDDEN_CHARACTERS:
        with pytest.raises(InvalidFilename):
            check_filename(f"cat{char}.png")


def test_a_key_over_1023_bytes_is_an_invalid_filename() -> None:
    assert check_object_key_length("k" * 1023) == "k" * 1023
    with pytest.raises(InvalidFilename):
        check_object_key_length("k" * 1024)
    with pytest.raises(InvalidFilename):
        check_object_key_length("\u00e9" * 512)  # 1024 bytes


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", "image/png"),
        ("IMAGE/PNG", "image/png"),
        ("Image/Jpeg", "image/jpeg"),
        ("application/pdf", "application/pdf"),
    ],
)
def test_allowed_types_pass_and_are_lower_cased(content_type: str, expected: str) -> None:
    assert check_content_type(content_type, "file", ALLOWED) == expected


@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "image",
        "image/",
        "/png",
        "image/png; charset=utf-8",
        "image/png ",
        " image/png",
        "image /png",
        "image/png\r\nX-Evil: 1",
        "image/png\n",
        "image/p\u00f1g",
        "image/*",
        "*/*",
        "image/png/x",
        "-image/png",
        "i" * 128 + "/png",
    ],
)
def test_malformed_types_are_invalid(content_type: str) -> None:
    with pytest.raises(InvalidContentType):
        check_content_type(content_type, "file", ALLOWED)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "image/svg+xml",
        "application/x-msdownload",
        "video/mp4",
        "application/octet-stream",
    ],
)
def test_types_outside_the_allow_list_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedContentType):
        check_content_type(content_type, "file", ALLOWED)


def test_a_wildcard_allows_every_subtype() -> None:
    allowed = frozenset({"image/*"})
    assert check_content_type("image/avif", "a.avif", allowed) == "image/avif"
    with pytest.raises(UnsupportedContentType):
        check_content_type("application/pdf", "a.pdf", allowed)


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("cat.png", "image/png"),
        ("cat.PNG", "image/png"),
        ("cat.jpg", "image/jpeg"),
        ("cat.jpeg", "image/jpeg"),
        ("cat", "image/png"),
        ("cat.unknownext", "image/png"),
        ("report.pdf", "application/pdf"),
        (".png", "image/png"),
        ("cat.png.", "image/png"),
        ("price$5.png", "image/png"),
        ("{x}.png", "image/png"),
    ],
)
def test_a_matching_or_unknown_extension_passes(filename: str, content_type: str) -> None:
    assert check_content_type(content_type, filename, ALLOWED) == content_type


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("cat.png", "application/pdf"),
        ("cat.png", "image/jpeg"),
        ("cat.pdf", "image/png"),
        ("cat.html", "image/png"),
        ("cat.svg", "image/png"),
        ("cat.exe", "image/gif"),
        ("cat.JPG", "image/webp"),
        ("invoice.html.", "image/png"),
        ("a.pdf..", "image/png"),
    ],
)
def test_an_extension_of_another_type_is_a_mismatch(filename: str, content_type: str) -> None:
    with pytest.raises(ContentTypeMismatch):
        check_content_type(content_type, filename, ALLOWED)


@pytest.mark.parametrize("size", [1, 1024, SETTINGS.max_upload_bytes])
def test_sizes_within_the_limit_pass(size: int) -> None:
    assert check_size(size, SETTINGS.max_upload_bytes) == size


@pytest.mark.parametrize("size", [0, -1, 1.0, 1.5, "10", True, False, [], {}, float("nan"), None])
def test_a_size_that_is_not_a_positive_integer_is_invalid(size: object) -> None:
    with pytest.raises(InvalidSize):
        check_size(size, SETTINGS.max_upload_bytes)


@pytest.mark.parametrize("size", [SETTINGS.max_upload_bytes + 1, 10**30])
def test_a_size_over_the_limit_is_too_large(size: int) -> None:
    with pytest.raises(EntityTooLarge):
        check_size(size, SETTINGS.max_upload_bytes)


def test_the_limit_comes_from_the_settings() -> None:
    settings = load_settings({"MAX_UPLOAD_BYTES": "100"})
    body = {"filename": "cat.png", "content_type": "image/png", "size": 101}
    with pytest.raises(EntityTooLarge):
        check_ticket_request(body, settings)
    assert check_ticket_request({**body, "size": 100}, settings).size == 100


def test_size_null_is_not_the_same_as_no_size() -> None:
    body = {"filename": "cat.png", "content_type": "image/png"}
    assert check_ticket_request(body, SETTINGS).size is None
    with pytest.raises(InvalidSize):
        check_ticket_request({**body, "size": None}, SETTINGS)
