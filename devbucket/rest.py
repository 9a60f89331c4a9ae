"""The bucket's REST API: requests signed in their headers or their query
(presigned URLs), not forms.

:func:`route` names a request's operation by method, path and query
(``?uploads``, ``?uploadId=``, ``?partNumber=``); :func:`handle` verifies its
signature (:func:`devbucket.signatures.verify_request`) and only then runs
it. The operations: DeleteObject (``DELETE /<key>``) here, PutObject
(``PUT /<key>``, S3's) in :mod:`devbucket.putobject`, the multipart
upload's five in :mod:`devbucket.multipart`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import multipart, putobject
from .answers import Answer
from .config import DevBucketConfig
from .errors import ServiceError
from .forms import Readable
from .signatures import Request, verify_request
from .store import ObjectStore
from .uploads import Uploads


@dataclass(frozen=True)
class Call:
    """What an operation is given: the bucket's setup and state, the request,
    its body (unread for a part, which streams; read for the others) and the
    bucket's address as the caller named it."""

    config: DevBucketConfig
    store: ObjectStore
    uploads: Uploads
    request: Request
    body: Readable
    base_url: str


Operation = Callable[[Call], Answer]


def delete_object(call: Call) -> Answer:
    """DeleteObject: ``204`` whether or not the key was there."""
    call.store.delete(call.request.key)
    return Answer(204)


def put_object(call: Call) -> Answer:
    """PutObject, for an S3 bucket: the dev bucket models OSS's PUT no further."""
    if call.config.provider != "s3":
        raise ServiceError(
            405, "MethodNotAllowed", "The dev bucket models PutObject for S3 buckets only."
        )
    return putobject.put_object(call.config.rules, call.store, call.request, call.body)


def initiate(call: Call) -> Answer:
    config = call.config
    return multipart.initiate(
        config.rules,
        config.served_bucket,
        call.store,
        call.uploads,
        call.request,
        config.new_upload_id(),
    )


def upload_part(call: Call) -> Answer:
    config = call.config
    return multipart.upload_part(
        config.rules, call.store, call.uploads, call.request, call.body, config.clock()
    )


def list_parts(call: Call) -> Answer:
    config = call.config
    return multipart.list_parts(config.rules, config.served_bucket, call.uploads, call.request)


def complete(call: Call) -> Answer:
    config = call.config
    return multipart.complete(
        config.rules,
        config.served_bucket,
        call.store,
        call.uploads,
        call.request,
        call.body.read(-1),
        call.base_url,
    )


def abort(call: Call) -> Answer:
    return multipart.abort(call.uploads, call.request)


# By method, for a request whose query names an upload (``uploadId``).
UPLOAD_OPERATIONS: dict[str, Operation] = {
    "PUT": upload_part,
    "GET": list_parts,
    "POST": complete,
    "DELETE": abort,
}


def route(request: Request) -> Operation:
    """The operation ``request`` names; ``405`` for one the dev bucket does not model."""
    params = request.params
    if request.key:
        if request.method == "POST" and "uploads" in params:
            return initiate
        if "uploadId" in params and request.method in UPLOAD_OPERATIONS:
            return UPLOAD_OPERATIONS[request.method]
        if request.method == "DELETE":
            return delete_object
        if request.method == "PUT" and "partNumber" not in params:
            return put_object
    if request.method == "DELETE":
        raise ServiceError(405, "MethodNotAllowed", "The dev bucket cannot delete itself.")
    raise ServiceError(
        405,
        "MethodNotAllowed",
        f"The dev bucket does not model {request.method} {request.path} with this query.",
    )


def handle(call: Call) -> Answer:
    """Route, verify, run: no operation runs on a request its signature does not cover."""
    operation = route(call.request)
    config = call.config
    verify_request(config.rules.REST, call.request, config.served_bucket, config.clock())
    return operation(call)
