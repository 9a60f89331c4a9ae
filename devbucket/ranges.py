"""GetObject's ``Range`` header, as each service documents it.

One range of the RFC 9110 14.1.2 forms ``bytes=first-last``, ``bytes=first-``
and ``bytes=-suffix``; both services serve one range per request. They part
ways on a range that does not fit the object:

* OSS (its "How to obtain OSS resources by segmenting HTTP Range requests"
  page, and the range download pages of its SDKs): without
  ``x-oss-range-behavior: standard``, an invalid or out-of-range ``Range`` is
  ignored, and the whole object comes back ``200``; with it, the end is
  clipped to the object and a start past the end is ``416 InvalidRange``;
* S3 (GetObject, and RFC 9110 14.1.1, which S3 follows): the end is clipped
  to the object; a start past the end is ``416 InvalidRange``.

A header the dev bucket cannot read (several ranges, another unit) is ignored
by both, the most permissive reading: the whole object, ``200``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")


class Unsatisfiable(Exception):
    """A range that starts past the object's end, which the service answers 416."""


class ByteRange(NamedTuple):
    """Bytes ``first`` to ``last``, inclusive, of an object of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def requested(header: str | None, size: int, *, strict: bool) -> ByteRange | None:
    """The range to serve from ``size`` bytes; None for the whole object (``200``).

    ``strict`` is RFC 9110's reading (S3's, or OSS's with
    ``x-oss-range-behavior: standard``): an end past the object is clipped, a
    start past it raises :class:`Unsatisfiable`. Otherwise OSS's default: any
    range that does not fit is ignored.
    """
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or match[1] == match[2] == "":
        return None
    if match[1] == "":  # the last N bytes
        suffix = int(match[2])
        if suffix == 0:
            if strict:
                raise Unsatisfiable
            return None
        return ByteRange(max(size - suffix, 0), size - 1, size) if size else None
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if last < first:
        return None  # not a valid range: ignored (RFC 9110 14.1.1)
    if first >= size:
        if strict:
            raise Unsatisfiable
        return None
    if last >= size:
        if not strict:
            return None
        last = size - 1
    return ByteRange(first, last, size)
