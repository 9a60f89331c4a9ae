"""The bucket's REST API: requests signed in their headers, not forms.

:func:`handle` routes a request to its operation by method and path (the
multipart calls will add their queries: ``?uploads``, ``?uploadId=``,
``?partNumber=``), verifies its signature
(:func:`devbucket.signatures.verify_request`) and only then runs it.
DeleteObject (``DELETE /<key>``) is the one operation today.
"""

from __future__ import annotations

from collections.abc import Callable

from .answers import Answer
from .config import DevBucketConfig
from .errors import ServiceError
from .signatures import Request, verify_request
from .store import ObjectStore

Operation = Callable[[ObjectStore, Request], Answer]


def delete_object(store: ObjectStore, request: Request) -> Answer:
    """DeleteObject: ``204`` whether or not the key was there."""
    store.delete(request.key)
    return Answer(204)


def route(request: Request) -> Operation:
    """The operation ``request`` names. The server sends its DELETEs here:
    ``DELETE /<key>`` is DeleteObject; the bucket itself is not deleted (``405``)."""
    if not request.key:
        raise ServiceError(405, "MethodNotAllowed", "The dev bucket cannot delete itself.")
    return delete_object


def handle(config: DevBucketConfig, store: ObjectStore, request: Request) -> Answer:
    """Route, verify, run: no operation runs on a request its signature does not cover."""
    operation = route(request)
    verify_request(config.rules.REST, request, config.served_bucket, config.clock())
    return operation(store, request)
