"""PutObject, ``PUT /<key>``: one object in one request, as S3 takes it
from a presigned URL (the browser's PUT ticket) or a signed request.

Its signature is verified first (:func:`devbucket.rest.handle`): it covers
every header the URL lists, ``Content-Length`` and ``Content-MD5`` among
them when listed, so a body of another length fails it. Then, from AWS's
pages:

* "Authenticating Requests: Using Query Parameters (AWS Signature Version
  4)": the signed headers are ``host`` and "any x-amz-* headers that you
  plan to add to the request": an ``x-amz-*`` header the signature does not
  list is ``403 AccessDenied`` ("There were headers present in the request
  which were not signed");
* "PutObject": at most 5 GB in one request (``400 EntityTooLarge``); the
  stored type is ``Content-Type`` (``binary/octet-stream`` without one);
  ``Content-Disposition``, ``Cache-Control``, ``Content-Encoding``,
  ``Expires`` and ``x-amz-meta-*`` are kept and served back; ``Content-MD5``
  is checked against the body (:mod:`devbucket.digests`); ``If-None-Match:
  *`` writes only if the key is free, else ``412 PreconditionFailed``
  ("How to prevent object overwrites with conditional writes"); without it
  the last write wins.

S3 only: OSS's PutObject (its own headers, ``x-oss-forbid-overwrite``) is
not modelled, and signpost signs no OSS PUT.
"""

from __future__ import annotations

from .answers import Answer
from .digests import check_md5, declared_md5
from .errors import ServiceError
from .forms import Readable
from .postobject import committing, object_headers, writable_key
from .provider import Provider
from .received import received
from .signatures import Request, presented_signature
from .store import ObjectStore

MAX_PUT_SIZE = 5 * 1024**3  # "PutObject": up to 5 GB in a single operation
AMZ_PREFIX = "x-amz-"


def unsigned_amz_headers(provider: Provider, request: Request) -> list[str]:
    """The ``x-amz-*`` headers sent that the signature does not list."""
    listed = set(presented_signature(provider.REST, request).header_names)
    return sorted(
        name for name in request.headers if name.startswith(AMZ_PREFIX) and name not in listed
    )


def put_object(provider: Provider, store: ObjectStore, request: Request, body: Readable) -> Answer:
    """PutObject: the checks above, the body streamed to disk, then kept."""
    unsigned = unsigned_amz_headers(provider, request)
    if unsigned:
        raise ServiceError(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            {"HeadersNotSigned": ", ".join(unsigned)},
        )
    key = request.key
    writable_key(provider, store, key)
    md5 = request.headers.get("content-md5")
    if md5 is not None:
        declared_md5(md5)  # a malformed digest is refused before the body is read
    incoming = received(provider, store, request, body, MAX_PUT_SIZE)
    refusal = provider.overwrite_refusal(request.headers)
    with committing(provider, incoming, refusal):
        if md5 is not None:
            check_md5(md5, incoming.md5_hex)
        content_type = request.headers.get("content-type") or provider.default_type(key)
        headers = object_headers(provider, request.headers)
        store.commit(incoming, key, content_type, headers, overwrite=refusal is None)
    return Answer(200, headers={"ETag": provider.etag(incoming.md5_hex)})
