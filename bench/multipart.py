"""Multipart (large files): the routes Uppy calls, beside botocore doing the same.

* signing one part's URL: the route (``GET /s3/multipart/{uploadId}/{n}``,
  a Lambda event through the whole app) beside botocore's
  ``generate_presigned_url("upload_part")`` (client made once);
* creating an upload: the route (``POST /s3/multipart``, a Lambda event)
  with the storage faked at the requests boundary by ``responses``, so the
  route's figure includes ``responses`` matching the call and building its
  answer; beside botocore's ``create_multipart_upload`` answered by a
  ``before-send`` hook (its serialisation, signing and parsing, no network);
* completing an upload (``POST /s3/multipart/{uploadId}/complete``, a
  Lambda event, the storage faked by ``responses``) with ``VERIFY_CONTENT``
  off and on: the difference is the check's cost per completion in the
  function (signing the ranged GET, reading 8 KiB through requests and
  ``responses``, the sniff, its audit line), without the storage's round
  trip, which a real check adds once (one GET of at most 8 KiB, in the region);
* the sniff alone (:func:`chalicelib.content_check.mismatch` on 8 KiB).

Both storages answer ``CreateMultipartUpload`` with the same XML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .event import CONTENT_TYPE, FILENAME, S3, proxy_event

UPLOAD_ID = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRz"
KEY = f"uploads/{'9f0c' * 8}/{FILENAME}"
CREATED = (
    "<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
    "<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
)
UPPY_BODY = json.dumps({"filename": FILENAME, "type": CONTENT_TYPE, "metadata": {}})
COMPLETE_BODY = json.dumps({"parts": [{"PartNumber": 1, "ETag": '"a1"'}]})
LISTED = (
    "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
    '<ETag>"a1"</ETag><Size>48213</Size></Part></ListPartsResult>'
)
STORED_HEAD = b"\x89PNG\r\n\x1a\n" + bytes(8184)  # what the check reads: 8 KiB


def sign_part_event() -> dict[str, Any]:
    return proxy_event(
        f"/s3/multipart/{UPLOAD_ID}/3",
        None,
        method="GET",
        resource="/s3/multipart/{uploadId}/{partNumber}",
        path_parameters={"uploadId": UPLOAD_ID, "partNumber": "3"},
        query={"key": KEY},
    )


def create_event() -> dict[str, Any]:
    return proxy_event("/s3/multipart", UPPY_BODY)


def complete_event() -> dict[str, Any]:
    return proxy_event(
        f"/s3/multipart/{UPLOAD_ID}/complete",
        COMPLETE_BODY,
        resource="/s3/multipart/{uploadId}/complete",
        path_parameters={"uploadId": UPLOAD_ID},
        query={"key": KEY},
    )


def fake_storage() -> None:
    """The storage's answers through requests, for the rest of the process
    (the bench's own): create, list parts, complete, and the ranged GET of
    the completed object (8 KiB of a PNG, ``206``)."""
    import responses

    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add(
        responses.POST,
        re.compile(r"https://[^?]+\?uploads$"),
        body=CREATED.format(bucket=S3["S3_BUCKET"], key=KEY, upload_id=UPLOAD_ID),
        content_type="application/xml",
    )
    mock.add(
        responses.GET,
        re.compile(r"https://[^?]+\?uploadId=[^&]+&max-parts=1000$"),
        body=LISTED,
        content_type="application/xml",
    )
    mock.add(
        responses.POST,
        re.compile(r"https://[^?]+\?uploadId=[^&]+$"),
        body="<CompleteMultipartUploadResult/>",
        content_type="application/xml",
    )
    mock.add(
        responses.GET,
        re.compile(r"https://[^?]+/cat\.png$"),
        body=STORED_HEAD,
        status=206,
        content_type=CONTENT_TYPE,
    )
    mock.start()


class _Body:
    """The raw body ``AWSResponse`` reads (``stream()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def botocore_create(client: Any) -> Callable[[], Any]:
    """botocore's ``create_multipart_upload`` for the same object, its HTTP
    send answered by a hook with the storage's XML."""
    from botocore.awsrequest import AWSResponse

    xml = CREATED.format(bucket=S3["S3_BUCKET"], key=KEY, upload_id=UPLOAD_ID).encode()

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, _Body(xml))

    client.meta.events.register("before-send.s3.CreateMultipartUpload", answer)
    return lambda: client.create_multipart_upload(
        Bucket=S3["S3_BUCKET"],
        Key=KEY,
        ContentType=CONTENT_TYPE,
        ContentDisposition=f'attachment; filename="{FILENAME}"',
    )


def multipart_cases(app: Any, client: Any, use_s3: Callable[[], None]) -> list[Any]:
    """The multipart route rows: part URL and create through the whole app,
    beside botocore doing the same job (``client`` made once); completion
    without and with the content check."""
    from chalicelib.content_check import mismatch

    from .cases import lambda_event_call, use_env
    from .timing import Case

    fake_storage()
    return [
        Case(
            "route_complete",
            "route: complete (S3, storage faked, VERIFY_CONTENT off)",
            lambda_event_call(app, complete_event()),
            use_env({**S3, "VERIFY_CONTENT": "off"}),
        ),
        Case(
            "route_complete_verified",
            "route: complete + content check (VERIFY_CONTENT on)",
            lambda_event_call(app, complete_event()),
            use_env({**S3, "VERIFY_CONTENT": "on"}),
        ),
        Case("sniff", "content check: sniff 8 KiB", lambda: mismatch(CONTENT_TYPE, STORED_HEAD)),
        Case(
            "route_part_url",
            "route: part URL (Lambda event, S3)",
            lambda_event_call(app, sign_part_event()),
            use_s3,
        ),
        Case(
            "route_create",
            "route: create (S3, storage faked by responses)",
            lambda_event_call(app, create_event()),
            use_s3,
        ),
        Case(
            "botocore_create",
            "botocore create_multipart_upload (send hooked)",
            botocore_create(client),
        ),
    ]
