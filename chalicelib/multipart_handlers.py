"""What the multipart routes do (the endpoint ``@uppy/aws-s3`` calls), in plain values.

Each route checks the caller's key and the upload ID before it builds a
storage client, so a refused request never reaches the storage. This module
brings the request signers and the storage calls with it: ``app`` imports
it inside these routes only, so the other routes' cold start never pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from . import audit
from .checks import UPPY_FIELDS, check_ticket_request, parse_body
from .environment import Env
from .handlers import Clock, SegmentSource, random_segment, utc_now
from .keys import content_disposition, object_key
from .multipart import (
    check_key,
    check_part_number,
    check_part_numbers,
    check_upload_id,
    complete_upload,
    parse_completion,
)
from .policy import iso8601
from .request_signers import OssV4RequestSigner, S3SigV4RequestSigner
from .settings import Settings, load_oss, load_s3, load_settings, verify_content_on
from .storage import MultipartStorage, OssStorage, S3Storage

Query = Mapping[str, str]


class Upload(NamedTuple):
    """An upload the caller may touch: its key (the caller's own) and ID."""

    settings: Settings
    key: str
    upload_id: str


def multipart_storage(settings: Settings, env: Env, clock: Clock) -> MultipartStorage:
    """The storage the settings name; OSS requests are signed with V4 whatever
    ``OSS_SIGNATURE_VERSION`` says of forms (it needs ``OSS_REGION``)."""
    if settings.provider == "s3":
        s3 = load_s3(env)
        signer = S3SigV4RequestSigner(s3.credentials, s3.region)
        return S3Storage(s3.url, s3.bucket, signer, clock)
    oss = load_oss(env, signature_version="v4")
    return OssStorage(
        oss.url, oss.bucket, OssV4RequestSigner(oss.credentials, oss.region or ""), clock
    )


def _upload(upload_id: str, query: Query, env: Env, user: str | None) -> Upload:
    """The checks every route on one upload runs first: the key's owner, the ID's shape."""
    settings = load_settings(env)
    audit.note(provider=settings.provider)
    key = check_key(query.get("key"), settings.upload_dir, user)
    audit.note(key=key)
    return Upload(settings, key, check_upload_id(upload_id))


def create(
    body: bytes | str | None,
    env: Env,
    *,
    user: str | None = None,
    clock: Clock = utc_now,
    segment: SegmentSource = random_segment,
) -> dict[str, Any]:
    """``POST /s3/multipart``: the ticket checks, then the storage's create call."""
    settings = load_settings(env)
    request = check_ticket_request(parse_body(body), settings, UPPY_FIELDS)
    key = object_key(settings.upload_dir, user, segment(), request.filename)
    storage = multipart_storage(settings, env, clock)
    audit.note(provider=settings.provider, bucket=storage.bucket, key=key)
    upload_id = storage.create(key, request.content_type, content_disposition(request.filename))
    audit.decided(
        "multipart.create",
        filename=request.filename,
        content_type=request.content_type,
        size=request.size,
        max_size=settings.max_upload_bytes,
    )
    return {"key": key, "uploadId": upload_id}


def sign_part(
    upload_id: str,
    part_number: str,
    query: Query,
    env: Env,
    *,
    user: str | None = None,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """``GET /s3/multipart/{uploadId}/{partNumber}``: one part's ``PUT`` URL.

    ``expires`` is its life in seconds: Uppy also gives up on a part's
    upload after that long, then asks for a fresh URL.
    """
    upload = _upload(upload_id, query, env, user)
    number = check_part_number(part_number)
    storage = multipart_storage(upload.settings, env, clock)
    expires = upload.settings.expire_seconds
    url = storage.part_url(upload.key, upload.upload_id, number, expires)
    _signed(storage, 1, clock, expires)
    return {"url": url, "expires": expires}


def sign_batch(
    upload_id: str, query: Query, env: Env, *, user: str | None = None, clock: Clock = utc_now
) -> dict[str, Any]:
    """``GET /s3/multipart/{uploadId}/batch?partNumbers=1,2``: several part URLs
    (Uppy Companion's route; Uppy itself signs one part at a time)."""
    upload = _upload(upload_id, query, env, user)
    numbers = check_part_numbers(query.get("partNumbers"))
    storage = multipart_storage(upload.settings, env, clock)
    expires = upload.settings.expire_seconds
    urls = {
        str(number): storage.part_url(upload.key, upload.upload_id, number, expires)
        for number in numbers
    }
    _signed(storage, len(urls), clock, expires)
    return {"presignedUrls": urls}


def _signed(storage: MultipartStorage, parts: int, clock: Clock, expires: int) -> None:
    """The audit line of part URLs signed: how many, and until when."""
    until = clock() + timedelta(seconds=expires)
    audit.decided("multipart.sign", bucket=storage.bucket, parts=parts, expires_at=iso8601(until))


def list_parts(
    upload_id: str, query: Query, env: Env, *, user: str | None = None, clock: Clock = utc_now
) -> list[dict[str, Any]]:
    """``GET /s3/multipart/{uploadId}``: the parts stored so far, to resume."""
    upload = _upload(upload_id, query, env, user)
    parts = multipart_storage(upload.settings, env, clock).list_parts(upload.key, upload.upload_id)
    return [{"PartNumber": part.number, "Size": part.size, "ETag": part.etag} for part in parts]


def complete(
    upload_id: str,
    query: Query,
    body: bytes | str | None,
    env: Env,
    *,
    user: str | None = None,
    clock: Clock = utc_now,
) -> dict[str, Any]:
    """``POST /s3/multipart/{uploadId}/complete``: the listed parts joined, if
    they fit; with ``VERIFY_CONTENT=on``, checked before the answer."""
    upload = _upload(upload_id, query, env, user)
    sent = parse_completion(parse_body(body))
    storage = multipart_storage(upload.settings, env, clock)
    audit.note(bucket=storage.bucket)
    parts = complete_upload(
        storage, upload.key, upload.upload_id, sent, upload.settings.max_upload_bytes
    )
    audit.decided("multipart.complete", size=sum(part.size for part in parts), parts=len(parts))
    if verify_content_on(env):
        from .verify_handlers import verify  # imports this module: not at the top

        verify(storage, upload.key, "multipart.complete")
    return {"location": storage.object_url(upload.key), "key": upload.key}


def abort(
    upload_id: str, query: Query, env: Env, *, user: str | None = None, clock: Clock = utc_now
) -> dict[str, Any]:
    """``DELETE /s3/multipart/{uploadId}``: the upload and its parts dropped."""
    upload = _upload(upload_id, query, env, user)
    storage = multipart_storage(upload.settings, env, clock)
    audit.note(bucket=storage.bucket)
    storage.abort(upload.key, upload.upload_id)
    audit.decided("multipart.abort")
    return {}
