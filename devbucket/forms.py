"""Reading a ``multipart/form-data`` POST as it streams in (python-multipart).

The form's fields come first and are kept (they are small); the part named
``file`` must come last and is never held in memory: when its headers
arrive, ``accept`` sees the fields and returns the sink its bytes go to. So a
service can refuse a bad signature or policy before it stores a byte. That
refusal waits until the form is known to have ``file`` last (or until
``DISCARD_LIMIT`` bytes of the file went by), because a field after the file
is the first thing wrong with such a form.
A field may be repeated (names are compared lower-case, so ``Key`` and
``key`` are the same field): every value is kept, in order, and the services'
rules decide what a repeat means (:mod:`devbucket.conditions`).
Provider-neutral: errors here are :class:`MalformedForm` and
:class:`InvalidField`, which each provider maps to its own code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

CHUNK = 64 * 1024
# Every part's headers (so every field's name) and every field's value before
# the file, together: python-multipart caps one header line, not the parts.
MAX_FIELDS_BYTES = 64 * 1024
MAX_PARTS = 1000
DISCARD_LIMIT = 1024**2  # file bytes read past a refusal, looking for a part after the file
FILE_FIELD = "file"


class MalformedForm(Exception):
    """The body is not a well-formed multipart form with ``file`` last."""


class InvalidField(Exception):
    """A field the form may not carry as it is (not UTF-8, too large, a signing
    field repeated with another value)."""


# Lower-case field name -> its values in the order they came.
FormFields = dict[str, list[str]]


@dataclass(frozen=True)
class FilePart:
    filename: str | None
    content_type: str | None


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


Accept = Callable[[FormFields, FilePart], Sink]


class _Refused:
    """The sink of a file ``accept`` refused: it keeps nothing, and raises the
    refusal once enough of the file went by."""

    def __init__(self, refusal: Exception) -> None:
        self.refusal = refusal
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > DISCARD_LIMIT:
            raise self.refusal


class _Reader:
    """python-multipart's callbacks, gathering fields and routing the file."""

    def __init__(self, accept: Accept) -> None:
        self.accept = accept
        self.fields: FormFields = {}
        self.sink: Sink | None = None
        self.file_done = False
        self.fields_bytes = 0
        self.parts = 0
        self._headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._value = bytearray()
        self._in_file = False

    def _count(self, size: int) -> None:
        """Count ``size`` more bytes kept of the form before its file."""
        self.fields_bytes += size
        if self.fields_bytes > MAX_FIELDS_BYTES:
            raise InvalidField(
                "The form's fields and part headers before the file exceed "
                f"{MAX_FIELDS_BYTES} bytes."
            )

    def on_part_begin(self) -> None:
        if self.file_done:
            raise MalformedForm("The file form field must be the last field of the form.")
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidField(f"The form has more than {MAX_PARTS} parts.")
        self._headers, self._value = {}, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        # Latin-1 keeps every byte: parameters are decoded (as UTF-8) once parsed.
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_name, self._header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        kind, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name")
        if kind != b"form-data" or name is None:
            raise MalformedForm("Each part must carry Content-Disposition: form-data; name=...")
        self._name = _utf8(name).lower()
        self._in_file = self._name == FILE_FIELD
        if self._in_file:
            filename = options.get(b"filename")
            part = FilePart(
                filename=_utf8(filename) if filename is not None else None,
                content_type=self._headers.get("content-type") or None,
            )
            try:
                fields = {name: list(values) for name, values in self.fields.items()}
                self.sink = self.accept(fields, part)
            except Exception as refusal:  # raised once the form's shape is known
                self.sink = _Refused(refusal)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            assert self.sink is not None
            self.sink.write(data[start:end])
            return
        self._count(end - start)
        self._value += data[start:end]

    def on_part_end(self) -> None:
        if self._in_file:
            self.file_done = True
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidField(f"The form field {self._name!r} is not UTF-8.") from None
        self.fields.setdefault(self._name, []).append(value)


def _utf8(raw: bytes) -> str:
    """A header or parameter value: UTF-8 as browsers send it, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedForm("The request must be multipart/form-data with a boundary.")
    return boundary


def read_form(body: Readable, length: int, content_type: str, accept: Accept) -> FormFields:
    """Stream ``length`` bytes of ``body`` through the parser; the form's fields.

    ``accept`` is called once, when the ``file`` part starts; a form without
    one, or with parts after it, is a :class:`MalformedForm`. An exception
    from the sink stops the reading and propagates; one from ``accept`` too,
    once the form is known to end with its file.
    """
    reader = _Reader(accept)
    callbacks = {
        name: getattr(reader, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    try:
        parser = MultipartParser(boundary_of(content_type), callbacks)  # type: ignore[arg-type]
        remaining = length
        while remaining > 0:
            chunk = body.read(min(CHUNK, remaining))
            if not chunk:
                raise MalformedForm("The request body ended before its Content-Length.")
            remaining -= len(chunk)
            parser.write(chunk)
        parser.finalize()
    except FormParserError as error:
        raise MalformedForm(f"The body is not well-formed multipart/form-data ({error}).") from None
    if not reader.file_done:
        raise MalformedForm("The form has no complete file field.")
    if isinstance(reader.sink, _Refused):
        raise reader.sink.refusal
    return reader.fields
