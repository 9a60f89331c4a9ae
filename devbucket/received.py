"""A request body streamed to disk, as both services take a part or an object:
never more than the limit, exactly ``Content-Length`` bytes, and the SHA-256
a signed request declares (``x-amz-content-sha256`` / ``x-oss-content-sha256``)
checked against what came."""

from __future__ import annotations

from .errors import ServiceError
from .forms import Readable
from .provider import Provider
from .signatures import UNSIGNED_PAYLOAD, Request, digest_mismatch
from .store import IncomingObject, ObjectStore

CHUNK = 1024 * 1024  # how much of a body is read at a time


def too_large() -> ServiceError:
    return ServiceError(
        400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
    )


def received(
    provider: Provider, store: ObjectStore, request: Request, body: Readable, limit: int
) -> IncomingObject:
    """``body``, kept in a temporary file the caller commits or discards."""
    length = int(request.headers["content-length"])
    if length > limit:
        raise too_large()
    incoming = store.receive(limit, too_large)
    try:
        while chunk := body.read(CHUNK):
            incoming.write(chunk)
        if incoming.size != length:
            raise ServiceError(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header.",
            )
        declared = request.headers.get(provider.REST.payload_header, UNSIGNED_PAYLOAD)
        if declared != UNSIGNED_PAYLOAD and declared != incoming.sha256_hex:
            raise digest_mismatch(provider.REST)
    except BaseException:
        incoming.discard()
        raise
    return incoming
