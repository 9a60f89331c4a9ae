"""PUT tickets (``UPLOAD_METHOD=put``): a presigned ``PUT`` URL and the
headers it signs, for S3-compatible stores that take no form upload.

A form's policy binds fields; a presigned URL binds headers instead: the
store recomputes the signature over the headers the browser sends, so each
signed header must be sent with exactly its signed value. Signed here: the
content type, ``Content-Disposition: attachment``, ``If-None-Match: *``
(S3's conditional write: never replace an object), ``Content-Length`` (the
declared size: one length only), and ``Content-MD5`` when given. The browser
sets ``Content-Length`` itself, so the answer's ``headers`` leave it out.

Signed by :class:`.request_signers.S3SigV4RequestSigner`, the signer of the
multipart part URLs; imported only when a PUT ticket is issued.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from .checks import TicketRequest
from .errors import InvalidSize
from .keys import content_disposition, object_key
from .request_signers import ObjectRequest, S3SigV4RequestSigner
from .settings import S3Settings, Settings
from .tickets import Ticket, check_single_request, ticket_expiry


@lru_cache(maxsize=4)
def put_signer(s3: S3Settings) -> S3SigV4RequestSigner:
    """The same settings sign with the same signer (as ``handlers.s3_target``)."""
    return S3SigV4RequestSigner(s3.credentials, s3.region)


def issue_put_ticket(
    request: TicketRequest,
    settings: Settings,
    s3: S3Settings,
    *,
    now: datetime,
    segment: str,
    user: str | None = None,
) -> Ticket:
    """A presigned ``PUT`` for one object of exactly the declared size.

    Without a size there is no length to sign, and an unsigned length lets
    any size through: ``InvalidSize``.
    """
    if request.size is None:
        raise InvalidSize(
            "A PUT upload needs the file's size, which the URL is signed for: send size "
            "(File.size, in bytes); GET /s3/params takes size= or metadata[size]."
        )
    check_single_request(request)
    key = object_key(settings.upload_dir, user, segment, request.filename)
    headers = {
        "Content-Type": request.content_type,
        "Content-Disposition": content_disposition(request.filename),
        "If-None-Match": "*",
    }
    if request.content_md5 is not None:
        headers["Content-MD5"] = request.content_md5
    signed = ObjectRequest(
        "PUT", s3.url, s3.bucket, key, headers={**headers, "Content-Length": str(request.size)}
    )
    return Ticket(
        url=put_signer(s3).presigned_url(signed, now, settings.expire_seconds),
        fields={},
        key=key,
        expires_at=ticket_expiry(now, settings),
        max_size=request.size,
        headers=headers,
    )
