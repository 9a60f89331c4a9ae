"""The function's own storage calls for a multipart upload, OSS and S3.

Create, list parts, complete and abort are made by the function, signed in
the ``Authorization`` header by :mod:`.request_signers`; part uploads are
the browser's, on URLs signed in the query (:meth:`MultipartStorage.part_url`).
The two services speak the same XML for these calls (OSS's
InitiateMultipartUpload, ListParts, CompleteMultipartUpload,
AbortMultipartUpload pages; S3's CreateMultipartUpload and the rest); they
differ in the headers that keep an upload from replacing an object:

* OSS: ``x-oss-forbid-overwrite: true`` at creation and again at completion,
  where OSS checks it (its error page 0042-00000214);
* S3: ``If-None-Match: *`` at completion ("Uploads the object only if the
  object key name does not already exist"), and ``x-amz-mp-object-size``,
  the total signpost checked ("If there's a mismatch ... 400 InvalidRequest").

A refusal becomes :class:`~.errors.StorageError` naming the storage's error
code, and so does a ``200`` whose body is an ``<Error>`` (S3: "a 200 OK
response can contain either a success or an error"). Answers are parsed
with any DTD or entity refused before the parser sees them. HTTP goes
through :func:`.fetch.bounded_request` (requests, imported there).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType
from xml.etree import ElementTree

from .content_check import StoredHead
from .errors import NoSuchUpload, SignpostError, StorageError
from .fetch import DeadlineExceeded, TooLarge, Unreachable, bounded_request, leading_bytes
from .multipart import MAX_PART_NUMBER, UPLOAD_ID, Part
from .request_signers import ObjectRequest, OssV4RequestSigner, S3SigV4RequestSigner

log = logging.getLogger("signpost.storage")

STORAGE_TIMEOUT = (3.05, 8.0)  # seconds to connect, and between two reads of an answer
# Every storage call of one request ends this many seconds after the first
# starts: with a last read's timeout, inside Lambda's 29 s and FC's 30 s.
STORAGE_BUDGET_SECONDS = 18.0
MAX_ANSWER_BYTES = 1024 * 1024  # a ListParts page of 1000 parts is about 250 kB
PARTS_PER_PAGE = 1000  # the most either service lists at once
MAX_LIST_PAGES = MAX_PART_NUMBER // PARTS_PER_PAGE  # 10 pages hold every part there can be
MAX_PART_BYTES = 5 * 1024**3  # OSS and S3: a part is at most 5 GiB
_ERROR_CODE = re.compile(r"[A-Za-z0-9.-]{1,64}")
# What no storage answer needs and an attacker's would: a DTD, or an entity it declares.
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_NONE: Mapping[str, str] = MappingProxyType({})

RequestSigner = OssV4RequestSigner | S3SigV4RequestSigner
Clock = Callable[[], datetime]


def parse_xml(body: bytes) -> ElementTree.Element:
    """A storage answer's XML root; a DTD, an entity declaration or bad UTF-8 is refused.

    The check runs on the decoded text, which is what is parsed, so no
    declared encoding can hide a declaration from it.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the answer is not UTF-8") from None
    if _DECLARATION.search(text):
        raise ValueError("the answer declares a DTD or an entity")
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError:
        raise ValueError("the answer is not well-formed XML") from None


def _local(tag: str) -> str:
    """An element's name without its namespace (S3 answers carry one, OSS's do not)."""
    return tag.rpartition("}")[2]


def _text(element: ElementTree.Element, name: str) -> str:
    """The text of ``element``'s child ``name``, in any namespace; ``""`` when absent."""
    child = element.find(f"{{*}}{name}")
    return (child.text or "") if child is not None else ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def complete_body(parts: Sequence[Part]) -> bytes:
    """``CompleteMultipartUpload``'s XML: each part's number and ETag, in order."""
    items = "".join(
        f"<Part><PartNumber>{part.number}</PartNumber><ETag>{_escape(part.etag)}</ETag></Part>"
        for part in parts
    )
    return f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode()


class MultipartStorage:
    """One bucket's multipart calls. ``clock`` gives the signing time (UTC)."""

    def __init__(self, endpoint: str, bucket: str, signer: RequestSigner, clock: Clock) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self._signer = signer
        self._clock = clock
        self._deadline: float | None = None  # monotonic; set by the first call

    def object_url(self, key: str) -> str:
        """The object's URL: where a completed upload can be found."""
        return self._request("GET", key).url

    def create(self, key: str, content_type: str, disposition: str) -> str:
        """Start an upload of ``key``; its upload ID."""
        headers = {
            "Content-Type": content_type,
            "Content-Disposition": disposition,
            **self._create_guard(),
        }
        reply = self._call(
            "create the upload", self._request("POST", key, {"uploads": ""}, headers)
        )
        upload_id = _text(reply, "UploadId")
        if not UPLOAD_ID.fullmatch(upload_id):  # the routes would refuse it later
            raise self._unreadable("create the upload")
        return upload_id

    def list_parts(self, key: str, upload_id: str) -> list[Part]:
        """Every part uploaded so far, ascending, all pages read.

        Only what a storage can hold is believed: at most ``MAX_LIST_PAGES``
        pages, part numbers 1 to 10000 ascending (so each once, and past the
        page's marker), sizes 0 to 5 GiB. Anything else is an answer that
        could not be read, never more calls or a sum to trust.
        """
        parts: list[Part] = []
        marker = 0
        for _ in range(MAX_LIST_PAGES):
            query = {"uploadId": upload_id, "max-parts": str(PARTS_PER_PAGE)}
            if marker:
                query["part-number-marker"] = str(marker)
            page = self._call("list the parts", self._request("GET", key, query))
            try:
                for item in page.findall("{*}Part"):
                    part = Part(
                        int(_text(item, "PartNumber")),
                        int(_text(item, "Size")),
                        _text(item, "ETag"),
                    )
                    last = parts[-1].number if parts else marker
                    if not max(last, marker) < part.number <= MAX_PART_NUMBER:
                        raise ValueError("a part number out of order, repeated or out of range")
                    if not 0 <= part.size <= MAX_PART_BYTES:
                        raise ValueError("a part size out of range")
                    parts.append(part)
                truncated = _text(page, "IsTruncated").lower() == "true"
                following = int(_text(page, "NextPartNumberMarker") or 0) if truncated else 0
            except ValueError:
                raise self._unreadable("list the parts") from None
            if not truncated:
                return parts
            if not marker < following <= MAX_PART_NUMBER:  # a marker that does not move on
                raise self._unreadable("list the parts")
            marker = following
        raise self._unreadable("list the parts")  # more pages than parts there can be

    def complete(self, key: str, upload_id: str, parts: Sequence[Part]) -> None:
        """Join ``parts`` (numbers and ETags as listed) into the object, refusing to replace one."""
        total = sum(part.size for part in parts)
        headers = {"Content-Type": "application/xml", **self._complete_guard(total)}
        request = self._request("POST", key, {"uploadId": upload_id}, headers, complete_body(parts))
        self._call("complete the upload", request)

    def abort(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts."""
        self._call("abort the upload", self._request("DELETE", key, {"uploadId": upload_id}))

    def part_url(self, key: str, upload_id: str, part_number: int, expires: int) -> str:
        """A presigned ``PUT`` of one part, valid ``expires`` seconds; no header to send."""
        query = {"partNumber": str(part_number), "uploadId": upload_id}
        return self._signer.presigned_url(self._request("PUT", key, query), self._clock(), expires)

    def read_head(self, key: str, max_bytes: int) -> StoredHead:
        """The object's ``Content-Type`` and first ``max_bytes``: one ranged GET
        (``206``), read no further than ``max_bytes`` if the storage answers
        ``200`` with the whole object. ``416`` (RFC 9110's answer to a range of
        an empty object, which S3 gives; OSS ignores the range) is an empty head."""
        request = self._request("GET", key, headers={"Range": f"bytes=0-{max_bytes - 1}"})
        with self._reaching("read the object"):
            reply = leading_bytes(
                request.url,
                timeout=STORAGE_TIMEOUT,
                max_bytes=max_bytes,
                headers=self._signed(request),
                deadline=self._started(),
            )
        if reply.status in (200, 206):
            return StoredHead(reply.content_type, reply.body)
        if reply.status == 416:
            return StoredHead(reply.content_type, b"")
        raise self._refusal("read the object", reply.status, reply.body)

    def delete(self, key: str) -> None:
        """Delete the object (``204`` whether or not it was there, as both services answer)."""
        self._call("delete the object", self._request("DELETE", key))

    def _create_guard(self) -> Mapping[str, str]:
        """Headers at creation that keep the upload from replacing an object."""
        return _NONE

    def _complete_guard(self, total: int) -> Mapping[str, str]:
        """Headers at completion that keep it from replacing an object (and bind the size)."""
        return _NONE

    def _request(
        self,
        method: str,
        key: str,
        query: Mapping[str, str] = _NONE,
        headers: Mapping[str, str] = _NONE,
        body: bytes = b"",
    ) -> ObjectRequest:
        return ObjectRequest(method, self.endpoint, self.bucket, key, query, headers, body)

    def _started(self) -> float:
        """The deadline of the request's storage calls: ``STORAGE_BUDGET_SECONDS``
        after the first (monotonic seconds)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + STORAGE_BUDGET_SECONDS
        return self._deadline

    def _signed(self, request: ObjectRequest) -> dict[str, str]:
        """The request's headers with its signature, dated now."""
        return {**request.headers, **self._signer.request_headers(request, self._clock())}

    @staticmethod
    @contextmanager
    def _reaching(operation: str) -> Iterator[None]:
        """A storage that gives no usable answer, or none in time, as a ``StorageError``."""
        try:
            yield
        except DeadlineExceeded:
            log.error("storage: could not %s within %s s", operation, STORAGE_BUDGET_SECONDS)
            raise StorageError(f"The storage did not {operation} in time.") from None
        except (Unreachable, TooLarge) as failure:
            log.error("storage: could not %s: %s", operation, failure)
            raise StorageError(f"The storage could not {operation}: no usable answer.") from None

    def _call(self, operation: str, request: ObjectRequest) -> ElementTree.Element:
        """Send a signed request; the answer's XML root (an empty one for no body).

        The request's storage calls share one deadline, ``STORAGE_BUDGET_SECONDS``
        after the first: a storage that answers a byte at a time cannot hold
        the function past its timeout.
        """
        with self._reaching(operation):
            reply = bounded_request(
                request.method,
                request.url,
                timeout=STORAGE_TIMEOUT,
                max_bytes=MAX_ANSWER_BYTES,
                headers=self._signed(request),
                body=request.body or None,
                deadline=self._started(),
            )
        try:
            root = parse_xml(reply.body) if reply.body.strip() else ElementTree.Element("Empty")
        except ValueError as problem:
            log.error("storage: could not %s: HTTP %s, %s", operation, reply.status, problem)
            raise self._unreadable(operation) from None
        if 200 <= reply.status < 300 and _local(root.tag) != "Error":
            return root
        raise self._refusal(operation, reply.status, reply.body)

    @staticmethod
    def _refusal(operation: str, status: int, body: bytes) -> SignpostError:
        """The storage's refusal, named by its error code when its answer gives one."""
        try:
            root = parse_xml(body) if body.strip() else ElementTree.Element("Empty")
        except ValueError:
            root = ElementTree.Element("Empty")
        code = _text(root, "Code") if _local(root.tag) == "Error" else ""
        if code == "NoSuchUpload":  # anyone can name an upload: no server error (SPEC 11)
            log.info("storage: could not %s: HTTP %s NoSuchUpload", operation, status)
            return NoSuchUpload(
                "The storage knows no such upload: it was completed, aborted or never started."
            )
        code = code if _ERROR_CODE.fullmatch(code) else f"HTTP {status}"
        log.warning("storage: could not %s: HTTP %s %s", operation, status, code)
        return StorageError(f"The storage refused to {operation}: {code}.")

    @staticmethod
    def _unreadable(operation: str) -> StorageError:
        return StorageError(f"The storage's answer could not be read ({operation}).")


class OssStorage(MultipartStorage):
    """OSS: ``x-oss-forbid-overwrite: true`` at creation and completion."""

    def _create_guard(self) -> Mapping[str, str]:
        return {"x-oss-forbid-overwrite": "true"}

    def _complete_guard(self, total: int) -> Mapping[str, str]:
        return {"x-oss-forbid-overwrite": "true"}


class S3Storage(MultipartStorage):
    """S3: ``If-None-Match: *`` and the checked total at completion."""

    def _complete_guard(self, total: int) -> Mapping[str, str]:
        return {"If-None-Match": "*", "x-amz-mp-object-size": str(total)}
