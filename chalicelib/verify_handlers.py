"""Where ``VERIFY_CONTENT`` checks an upload, in plain values: after a multipart
completion, in OSS's upload callback, and on S3's ``Object Created`` event.

Each place builds the storage client the multipart routes use (the
function's own signed calls) and runs :func:`.content_check.check_stored`;
a mismatch deletes the object. Imported by those paths only: it brings the
request signers and the storage calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import audit
from .content_check import StoredObjects, check_stored, media_type
from .environment import Env
from .errors import AccessDenied, ContentMismatch, SignpostError
from .handlers import Clock, utc_now
from .keys import is_own_key
from .multipart_handlers import multipart_storage
from .settings import load_s3, load_settings, verify_content_on

# S3's EventBridge events ("Using EventBridge" and "EventBridge event message
# structure" in the S3 user guide): what the app's handler subscribes to.
OBJECT_CREATED = "Object Created"
S3_SOURCE = "aws.s3"


def verify(storage: StoredObjects, key: str, where: str) -> None:
    """Check ``key``; its ``verify`` audit line says what was found (SPEC 14).
    A mismatch or a storage error is raised on, after its line."""
    facts = {"where": where, "bucket": storage.bucket, "key": key}
    try:
        stored = check_stored(storage, key)
    except ContentMismatch as mismatch:
        audit.record(
            "verify",
            outcome="deleted",
            content_type=mismatch.declared,
            detected=mismatch.detected,
            **facts,
        )
        raise
    except SignpostError as error:
        audit.record("verify", "ERROR", outcome="unchecked", code=error.code, **facts)
        raise
    audit.record("verify", outcome="passed", content_type=media_type(stored.content_type), **facts)


def after_callback(key: str, user: str, env: Env, *, clock: Clock = utc_now) -> None:
    """With ``VERIFY_CONTENT=on`` (the caller checks it), the object a
    verified OSS callback reports, checked before the callback is answered: a
    mismatch refuses it, so OSS tells the uploader ``203``.

    OSS signs the callbacks of every bucket with one key, so a verified call
    may still name an object signpost never ticketed: only keys signpost
    names are read.
    """
    settings = load_settings(env)
    if not is_own_key(key, settings.upload_dir, user or None):
        raise AccessDenied("The callback names an object signpost did not ticket.")
    verify(multipart_storage(settings, env, clock), key, "callback")


def object_created(event: Mapping[str, Any], env: Env, *, clock: Clock = utc_now) -> str:
    """S3's ``Object Created`` event through EventBridge: check the object, and
    delete it on a mismatch. What happened, as a word for the log and tests:
    ``skipped`` (off, another bucket or prefix, not this event), ``passed``,
    ``deleted``. A storage error is raised, so Lambda retries the event."""
    if not verify_content_on(env):
        return "skipped"
    detail = event.get("detail")
    if event.get("source") != S3_SOURCE or event.get("detail-type") != OBJECT_CREATED:
        return "skipped"
    if not isinstance(detail, Mapping):
        return "skipped"
    bucket = detail.get("bucket")
    item = detail.get("object")
    name = bucket.get("name") if isinstance(bucket, Mapping) else None
    key = item.get("key") if isinstance(item, Mapping) else None
    settings = load_settings(env)
    if (
        settings.provider != "s3"
        or name != load_s3(env).bucket
        or not isinstance(key, str)
        or not key.startswith(settings.upload_dir)
    ):
        return "skipped"
    try:
        verify(multipart_storage(settings, env, clock), key, "s3.object-created")
    except ContentMismatch:
        return "deleted"
    return "passed"
