"""The multipart rules (:mod:`chalicelib.multipart`), key ownership and safe XML, pure."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.checks import check_filename
from chalicelib.errors import AccessDenied, EntityTooLarge, InvalidFilename, InvalidRequest
from chalicelib.keys import is_own_key, object_key, user_segment
from chalicelib.multipart import (
    Part,
    SentPart,
    check_key,
    check_part_number,
    check_upload_id,
    complete_upload,
    match_parts,
)
from chalicelib.storage import complete_body, parse_xml

HEX = st.text("0123456789abcdef", min_size=32, max_size=32)
NAMES = st.text(min_size=1, max_size=60)
USERS = st.one_of(st.none(), st.text(min_size=1, max_size=40).map(user_segment))


def checked(name: str) -> str | None:
    try:
        return check_filename(name)
    except InvalidFilename:
        return None


@given(segment=HEX, name=NAMES, user=USERS, other=USERS)
def test_a_key_signpost_names_is_its_callers_own_and_no_one_elses(
    segment: str, name: str, user: str | None, other: str | None
) -> None:
    filename = checked(name)
    if filename is None:
        return
    key = object_key("uploads/", user, segment, filename)
    assert is_own_key(key, "uploads/", user)
    assert is_own_key(key, "uploads/", other) == (other == user)
    assert not is_own_key(key, "other/", user)


@pytest.mark.parametrize(
    "key",
    [
        "uploads/" + "ab" * 16 + "/x/y.png",  # a folder of the caller's choosing
        "uploads/" + "ab" * 16 + "/../y.png",
        "uploads/" + "ab" * 16 + "/",
        "uploads/" + "ab" * 15 + "/y.png",
        "uploads/" + "AB" * 16 + "/y.png",
        "uploads/" + "ab" * 16 + "/e\u0301.png",  # not NFC: signpost never names it
        "uploads/" + "ab" * 16 + "/ y.png",
        "uploads/" + "ab" * 16 + "/" + "y" * 1020,  # over the key length
    ],
)
def test_keys_signpost_never_names_are_not_owned(key: str) -> None:
    assert not is_own_key(key, "uploads/", None)
    with pytest.raises(AccessDenied):
        check_key(key, "uploads/", None)


@pytest.mark.parametrize("key", [None, "", 3])
def test_a_missing_key_is_a_bad_request(key: Any) -> None:
    with pytest.raises(InvalidRequest):
        check_key(key, "uploads/", None)


@pytest.mark.parametrize(
    ("segment", "upload_id"),
    [
        ("0004B9895DBBB6EC98E36", "0004B9895DBBB6EC98E36"),
        ("VXBs%2Bb2F%2Fk%3D%3D", "VXBs+b2F/k=="),
        ("a.b_c-d~e", "a.b_c-d~e"),
    ],
)
def test_upload_ids_are_decoded_once(segment: str, upload_id: str) -> None:
    assert check_upload_id(segment) == upload_id


@pytest.mark.parametrize("segment", ["", "a%2520b", "a%20b", "%0A", "a%3Fb", "x" * 513])
def test_odd_upload_ids_are_refused(segment: str) -> None:
    with pytest.raises(InvalidRequest):
        check_upload_id(segment)


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("10000", 10000), ("00042", 42)])
def test_part_numbers(text: str, number: int) -> None:
    assert check_part_number(text) == number


@pytest.mark.parametrize("text", ["0", "10001", "", "+1", "1.0", "\u0661", "100000"])
def test_part_numbers_out_of_range_or_not_digits(text: str) -> None:
    with pytest.raises(InvalidRequest):
        check_part_number(text)


LISTED = [Part(1, 5, '"a"'), Part(2, 5, '"b"'), Part(3, 1, '"c"')]


def test_the_completion_takes_the_listed_parts_the_caller_names() -> None:
    # A part the caller leaves out is not completed (the storage drops it).
    chosen = match_parts([SentPart(1, "a"), SentPart(3, '"c"')], LISTED)
    assert chosen == [LISTED[0], LISTED[2]]


class Store:
    """A storage that records the calls a completion makes."""

    def __init__(self, listed: list[Part]) -> None:
        self.listed, self.calls = listed, []  # type: ignore[var-annotated]

    def list_parts(self, key: str, upload_id: str) -> list[Part]:
        self.calls.append("list")
        return self.listed

    def complete(self, key: str, upload_id: str, parts: Any) -> None:
        self.calls.append(("complete", list(parts)))

    def abort(self, key: str, upload_id: str) -> None:
        self.calls.append("abort")


@pytest.mark.parametrize(("limit", "fits"), [(11, True), (10, False)])
def test_the_limit_is_on_the_listed_sizes(limit: int, fits: bool) -> None:
    store = Store(LISTED)
    sent = [SentPart(part.number, part.etag) for part in LISTED]
    if fits:
        complete_upload(store, "k", "u", sent, limit)
        assert store.calls == ["list", ("complete", LISTED)]
    else:
        with pytest.raises(EntityTooLarge):
            complete_upload(store, "k", "u", sent, limit)
        assert store.calls == ["list", "abort"]


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
        b'<!doctype a [<!entity e "x">]><a>&e;</a>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16"),
        "<a>\udcff</a>".encode("utf-8", "surrogateescape"),
        b"<a>",
        b"<a>&undeclared;</a>",
    ],
)
def test_xml_with_a_dtd_an_entity_or_not_utf8_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"UTF-8|DTD|entity|well-formed"):
        parse_xml(body)


def test_the_completion_body_escapes_what_xml_must() -> None:
    body = complete_body([Part(1, 5, '"a&b<c>"')])
    assert parse_xml(body).find("Part/ETag").text == '"a&b<c>"'  # type: ignore[union-attr]
