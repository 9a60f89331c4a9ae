"""The rules of a multipart upload: whose key, which upload, which parts, how large.

Pure: every check here runs before any storage call, and the completion's
decisions (which parts, whether the total fits) are made on what the
storage lists, never on what the caller claims. The storage calls
themselves are :mod:`.storage`'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote

from .errors import AccessDenied, EntityTooLarge, InvalidRequest
from .keys import is_own_key

MAX_PART_NUMBER = 10000  # OSS and S3: part numbers 1 to 10000
MAX_BATCH_PARTS = 100  # part URLs signed by one batch request
# Upload IDs as the services make them: OSS's hex, S3's base64-like with ``. _ -``.
UPLOAD_ID = re.compile(r"[A-Za-z0-9+/=._~-]{1,512}")
_PART_NUMBER = re.compile(r"[0-9]{1,5}")
_MAX_ETAG_CHARS = 256


class Part(NamedTuple):
    """A part the storage holds: its number, its size in bytes, its ETag as stored (quoted)."""

    number: int
    size: int
    etag: str


class SentPart(NamedTuple):
    """A part as the caller names it in a completion: its number and the ETag it was given."""

    number: int
    etag: str


class PartStore(Protocol):
    """The storage calls a completion makes (:class:`.storage.MultipartStorage`)."""

    def list_parts(self, key: str, upload_id: str) -> list[Part]: ...

    def complete(self, key: str, upload_id: str, parts: Sequence[Part]) -> None: ...

    def abort(self, key: str, upload_id: str) -> None: ...


def check_key(key: object, upload_dir: str, user: str | None) -> str:
    """The ``key`` of an upload the caller may touch: one signpost named for this caller."""
    if not isinstance(key, str) or not key:
        raise InvalidRequest(
            "The query parameter 'key' is required: the key that POST /s3/multipart answered."
        )
    if not is_own_key(key, upload_dir, user):
        raise AccessDenied("This key is not one signpost named for you: start your own upload.")
    return key


def check_upload_id(segment: str) -> str:
    """The ``{uploadId}`` path segment, percent-decoded once (as a browser encoded it)."""
    upload_id = unquote(segment)
    if not UPLOAD_ID.fullmatch(upload_id):
        raise InvalidRequest("The upload ID is not one the storage gives.")
    return upload_id


def check_part_number(text: str) -> int:
    """A part number, ``1`` to ``10000``, written in digits."""
    if not _PART_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_PART_NUMBER:
        raise InvalidRequest(f"A part number is a whole number from 1 to {MAX_PART_NUMBER}.")
    return int(text)


def check_part_numbers(text: object) -> list[int]:
    """``partNumbers=1,2,3``: at most ``MAX_BATCH_PARTS`` numbers, repeats dropped."""
    if not isinstance(text, str) or not text:
        raise InvalidRequest("The query parameter 'partNumbers' is required, as 1,2,3.")
    items = text.split(",")
    if len(items) > MAX_BATCH_PARTS:
        raise InvalidRequest(f"At most {MAX_BATCH_PARTS} part URLs are signed at once.")
    return list(dict.fromkeys(check_part_number(item) for item in items))


def _sent_part(item: Any) -> SentPart:
    number, etag = (item.get("PartNumber"), item.get("ETag")) if isinstance(item, dict) else (0, 0)
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 1 <= number <= MAX_PART_NUMBER
        or not isinstance(etag, str)
        or not 0 < len(etag) <= _MAX_ETAG_CHARS
    ):
        raise InvalidRequest(
            'Each part is {"PartNumber": 1 to 10000, "ETag": the ETag its upload answered}.'
        )
    return SentPart(number, etag)


def parse_completion(body: dict[str, Any]) -> list[SentPart]:
    """The parts of ``{"parts": [{"PartNumber", "ETag"}, ...]}``, in ascending order."""
    items = body.get("parts")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PART_NUMBER:
        raise InvalidRequest('The body must be {"parts": [{"PartNumber", "ETag"}, ...]}.')
    parts = sorted((_sent_part(item) for item in items), key=lambda part: part.number)
    if len({part.number for part in parts}) != len(parts):
        raise InvalidRequest("Each part number may appear once.")
    return parts


def _bare(etag: str) -> str:
    """An ETag without its quotes: a browser reads it from a header, the storage lists it in XML."""
    return etag.strip().strip('"')


def match_parts(sent: Sequence[SentPart], listed: Sequence[Part]) -> list[Part]:
    """The listed parts the caller names, each with the ETag the caller was given.

    What is completed is the storage's own list (numbers, sizes, ETags), so
    no part can be swapped for another behind the sizes checked.
    """
    stored = {part.number: part for part in listed}
    chosen = []
    for part in sent:
        match = stored.get(part.number)
        if match is None:
            raise InvalidRequest(f"Part {part.number} has not been uploaded.")
        if _bare(match.etag) != _bare(part.etag):
            raise InvalidRequest(f"Part {part.number}'s ETag is not the one the storage holds.")
        chosen.append(match)
    return chosen


def complete_upload(
    store: PartStore, key: str, upload_id: str, sent: Sequence[SentPart], max_bytes: int
) -> list[Part]:
    """Complete with the listed parts; over ``max_bytes`` in all, abort and refuse.
    The parts joined."""
    parts = match_parts(sent, store.list_parts(key, upload_id))
    total = sum(part.size for part in parts)
    if total > max_bytes:
        store.abort(key, upload_id)
        raise EntityTooLarge(
            f"The parts add up to {total} bytes, over the limit of {max_bytes}: "
            "the upload was aborted."
        )
    store.complete(key, upload_id, parts)
    return parts
