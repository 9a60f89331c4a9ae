"""What the dev bucket answers, before HTTP: an :class:`Answer` (status,
headers, body) and the XML documents OSS and S3 both answer with, in the
same shape (``Error``, ``PostResponse``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

from .errors import ServiceError

XML = "application/xml"


@dataclass
class Answer:
    """An operation's answer; the server adds the request id, CORS and length."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Children = Mapping[str, "str | Children"] | Sequence[tuple[str, "str | Children"]]


def _fill(element: ElementTree.Element, children: Children) -> None:
    items = children.items() if isinstance(children, Mapping) else children
    for name, content in items:
        child = ElementTree.SubElement(element, name)
        if isinstance(content, str):
            child.text = content
        else:
            _fill(child, content)


def xml_document(root: str, children: Children, namespace: str | None = None) -> bytes:
    """``<root>`` holding ``children`` (text, or more children: a list of pairs
    may repeat a name); S3 puts its answers in its ``namespace``."""
    element = ElementTree.Element(root, {"xmlns": namespace} if namespace else {})
    _fill(element, children)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element)


def error_document(error: ServiceError, request_id: str, host_id: str) -> bytes:
    """``Error``: ``Code``, ``Message``, ``RequestId``, ``HostId``."""
    return xml_document(
        "Error",
        {
            "Code": error.code,
            "Message": error.message,
            **error.details,
            "RequestId": request_id,
            "HostId": host_id,
        },
    )


def post_response(location: str, bucket: str, key: str, etag: str) -> bytes:
    """``PostResponse``, a form upload's answer when it asks for ``201``."""
    return xml_document(
        "PostResponse", {"Location": location, "Bucket": bucket, "Key": key, "ETag": etag}
    )
