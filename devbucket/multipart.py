"""Multipart uploads, as OSS and S3 both take them; what differs is asked of
the :class:`~devbucket.provider.Provider` (minimum part size, upload ids,
ETag case, what forbids an overwrite, S3's namespace).

* InitiateMultipartUpload, ``POST /<key>?uploads``: the object's type,
  ``Content-Disposition`` and other headers are set here and kept until the
  upload completes;
* UploadPart, ``PUT /<key>?partNumber=N&uploadId=ID``: the body is streamed
  to disk, never held whole; the ETag is the part's quoted MD5; part numbers
  are 1 to 10000 and a number again replaces its part;
* ListParts, ``GET /<key>?uploadId=ID``: ascending, ``max-parts`` (at most
  1000) after ``part-number-marker``;
* CompleteMultipartUpload, ``POST /<key>?uploadId=ID``: the listed parts,
  ascending, each as uploaded (its ETag), each but the last at least the
  provider's minimum, become the object; overwrite as the provider allows;
* AbortMultipartUpload, ``DELETE /<key>?uploadId=ID``: the parts are gone.

An upload id names one upload of one key: with another key it is
``NoSuchUpload``, as after an abort or a completion.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree
from xml.parsers import expat

from .answers import XML, Answer, Children, xml_document
from .bucket import Bucket
from .errors import ServiceError, invalid_argument, malformed_xml, no_such_upload
from .forms import Readable
from .postobject import committing, object_headers, writable_key
from .provider import Provider
from .received import CHUNK, received, too_large
from .signatures import Request
from .store import ObjectStore
from .uploads import Part, Upload, Uploads

MAX_PART_NUMBER = 10000  # both services: part numbers 1 to 10000
MAX_PART_SIZE = 5 * 1024**3  # both services: a part is at most 5 GB
MAX_OBJECT_SIZE = 48_800 * 1024**3  # S3's 48.8 TiB (OSS: 48.8 TB), far above any test
MAX_LIST_PARTS = 1000  # both services: one ListParts answer holds at most 1000 parts


# -- request bodies -----------------------------------------------------------


def parse_xml(body: bytes) -> ElementTree.Element:
    """A request's XML body as a tree, namespaces dropped from the tags.

    No document type is read at all (no DTD, no entity but XML's five), so
    neither an entity expansion nor an external file can get in:
    ``MalformedXML`` instead.
    """

    def _refuse(*_: Any) -> None:
        raise ValueError("no DTD or entity declarations")

    refuse: Any = _refuse  # one handler for three expat callbacks

    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda tag, attributes: builder.start(
        tag.rpartition("}")[2], attributes
    )
    parser.EndElementHandler = lambda tag: builder.end(tag.rpartition("}")[2])
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except (expat.ExpatError, ValueError, AssertionError):
        raise malformed_xml() from None


def completion_list(body: bytes) -> list[tuple[int, str]]:
    """``CompleteMultipartUpload``'s ``(PartNumber, ETag)`` pairs, in the order given."""
    root = parse_xml(body)
    if root.tag != "CompleteMultipartUpload":
        raise malformed_xml()
    listed = []
    for part in root.iter("Part"):
        number, etag = (part.findtext("PartNumber") or "").strip(), part.findtext("ETag")
        if not number.isdigit() or etag is None:
            raise malformed_xml()
        listed.append((int(number), etag.strip()))
    if not listed:
        raise malformed_xml()  # "You must specify at least one part"
    return listed


def _unquoted(etag: str) -> str:
    return etag.strip().strip('"').lower()


# -- the operations -----------------------------------------------------------


def _named(request: Request, key: str) -> dict[str, str]:
    """``Key`` as the answer names it: percent-encoded (and ``EncodingType``
    said) when the request asks ``encoding-type=url``, as the SDKs do."""
    if request.params.get("encoding-type") == "url":
        return {"Key": quote(key, safe="/"), "EncodingType": "url"}
    return {"Key": key}


def _upload_of(uploads: Uploads, request: Request) -> Upload:
    """The upload the query names, for the key the path names."""
    upload = uploads.get(request.params["uploadId"])
    if upload is None or upload.key != request.key:
        raise no_such_upload()
    return upload


def initiate(
    provider: Provider,
    bucket: Bucket,
    store: ObjectStore,
    uploads: Uploads,
    request: Request,
    upload_id: str,
) -> Answer:
    """InitiateMultipartUpload: the object's type and headers are fixed now."""
    key = request.key
    writable_key(provider, store, key)
    if provider.OVERWRITE_CHECKED_AT_INITIATION:
        refusal = provider.overwrite_refusal(request.headers)
        if refusal is not None and store.get(key) is not None:
            raise refusal
    content_type = request.headers.get("content-type") or provider.default_type(key)
    uploads.start(upload_id, key, content_type, object_headers(provider, request.headers))
    document = xml_document(
        "InitiateMultipartUploadResult",
        {"Bucket": bucket.name, **_named(request, key), "UploadId": upload_id},
        provider.XML_NAMESPACE,
    )
    return Answer(200, document, {"Content-Type": XML})


def upload_part(
    provider: Provider,
    store: ObjectStore,
    uploads: Uploads,
    request: Request,
    body: Readable,
    now: datetime,
) -> Answer:
    """UploadPart: the body streamed to disk, counted, hashed, then kept."""
    value = request.params.get("partNumber", "")
    if not value.isdigit() or not 1 <= int(value) <= MAX_PART_NUMBER:
        raise ServiceError(
            400,
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive.",
            {"ArgumentName": "partNumber", "ArgumentValue": value},
        )
    upload = _upload_of(uploads, request)
    incoming = received(provider, store, request, body, MAX_PART_SIZE)
    try:
        part = uploads.put_part(upload, int(value), incoming, now)
    except FileNotFoundError:
        raise no_such_upload() from None
    finally:
        incoming.discard()
    return Answer(200, headers={"ETag": provider.etag(part.md5_hex)})


def _whole_number(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise invalid_argument(f"{name} must be a whole number.")
    return int(value)


def list_parts(provider: Provider, bucket: Bucket, uploads: Uploads, request: Request) -> Answer:
    """ListParts: ascending, ``max-parts`` of them after ``part-number-marker``."""
    upload = _upload_of(uploads, request)
    params = request.params
    marker = _whole_number(params, "part-number-marker", 0)
    limit = min(_whole_number(params, "max-parts", MAX_LIST_PARTS), MAX_LIST_PARTS)
    after = [part for part in uploads.parts(upload) if part.number > marker]
    shown, truncated = after[:limit], len(after) > limit
    children: list[tuple[str, str | Children]] = [
        ("Bucket", bucket.name),
        *_named(request, upload.key).items(),
        ("UploadId", upload.upload_id),
        ("PartNumberMarker", str(marker)),
        ("NextPartNumberMarker", str(shown[-1].number if shown else marker)),
        ("MaxParts", str(limit)),
        ("IsTruncated", "true" if truncated else "false"),
    ]
    children += [
        (
            "Part",
            {
                "PartNumber": str(part.number),
                "LastModified": part.modified,
                "ETag": provider.etag(part.md5_hex),
                "Size": str(part.size),
            },
        )
        for part in shown
    ]
    document = xml_document("ListPartsResult", children, provider.XML_NAMESPACE)
    return Answer(200, document, {"Content-Type": XML})


def _chosen_parts(provider: Provider, upload_parts: list[Part], body: bytes) -> list[Part]:
    """The parts the completion list names, each as uploaded and big enough."""
    listed = completion_list(body)
    numbers = [number for number, _ in listed]
    # Both services document "ascending" only: a number repeated is not out
    # of order (the permissive reading), and names its part once.
    if any(later < earlier for earlier, later in pairwise(numbers)):
        raise ServiceError(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified "
            "in order by part number.",
        )
    stored = {part.number: part for part in upload_parts}
    chosen: list[Part] = []
    for number, etag in listed:
        part = stored.get(number)
        if part is None or _unquoted(etag) != _unquoted(provider.etag(part.md5_hex)):
            raise ServiceError(
                400,
                "InvalidPart",
                "One or more of the specified parts could not be found. The part might not "
                "have been uploaded, or the specified entity tag might not have matched the "
                "part's entity tag.",
                {"PartNumber": str(number), "ETag": etag},
            )
        if not chosen or chosen[-1] is not part:
            chosen.append(part)
    for part in chosen[:-1]:
        if part.size < provider.MIN_PART_SIZE:
            raise ServiceError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
                {
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(provider.MIN_PART_SIZE),
                    "PartNumber": str(part.number),
                },
            )
    return chosen


def multipart_etag(provider: Provider, parts: list[Part]) -> str:
    """The MD5 of the parts' MD5s, then ``-`` and their count: both services'
    form of a multipart object's ETag."""
    digest = hashlib.md5(b"".join(bytes.fromhex(part.md5_hex) for part in parts)).hexdigest()
    return provider.etag(f"{digest}-{len(parts)}")


def complete(
    provider: Provider,
    bucket: Bucket,
    store: ObjectStore,
    uploads: Uploads,
    request: Request,
    body: bytes,
    base_url: str,
) -> Answer:
    """CompleteMultipartUpload: the listed parts, in order, become the object."""
    upload = _upload_of(uploads, request)
    parts = _chosen_parts(provider, uploads.parts(upload), body)
    size = sum(part.size for part in parts)
    declared = request.headers.get(provider.OBJECT_SIZE_HEADER or "")
    if declared is not None and declared.strip() != str(size):
        raise ServiceError(
            400,
            "InvalidRequest",
            f"The provided {provider.OBJECT_SIZE_HEADER} header value {declared} does not "
            f"match what was computed: {size}.",
        )
    refusal = provider.overwrite_refusal(request.headers)
    if refusal is not None and store.get(upload.key) is not None:
        raise refusal
    incoming = store.receive(MAX_OBJECT_SIZE, too_large)
    with committing(provider, incoming, refusal):
        for part in parts:
            with part.path.open("rb") as source:
                shutil.copyfileobj(source, incoming, CHUNK)
        store.commit(
            incoming, upload.key, upload.content_type, upload.headers, overwrite=refusal is None
        )
    uploads.remove(upload)
    etag = multipart_etag(provider, parts)
    document = xml_document(
        "CompleteMultipartUploadResult",
        {
            "Location": f"{base_url}/{quote(upload.key)}",
            "Bucket": bucket.name,
            "Key": upload.key,
            "ETag": etag,
        },
        provider.XML_NAMESPACE,
    )
    return Answer(200, document, {"Content-Type": XML, "ETag": etag})


def abort(uploads: Uploads, request: Request) -> Answer:
    """AbortMultipartUpload: ``204``, and the parts are gone."""
    uploads.remove(_upload_of(uploads, request))
    return Answer(204)
