"""What each route does, in plain values: bytes and an environment in, a dict out.

This is the seam between the pure core and the web framework. Settings are
read here on every call, never at import, so a changed variable takes effect
on the next request; the clock and the random source are the module's
defaults unless a caller passes its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from . import audit
from .checks import UPPY_FIELDS, TicketRequest, check_ticket_request, parse_body
from .content_types import extensions_by_type
from .environment import Env
from .errors import AccessDenied, NotConfigured, NotFound
from .policy import iso8601
from .settings import (
    OssSettings,
    S3Settings,
    Settings,
    legacy_route_on,
    load_callback_key_prefixes,
    load_callback_url,
    load_oss,
    load_s3,
    load_settings,
    verify_content_on,
)
from .signers import OssV1Signer, OssV4Signer, S3SigV4Signer
from .tickets import FormTarget, issue_ticket, legacy_signature, ticket_expiry

Clock = Callable[[], datetime]
SegmentSource = Callable[[], str]  # a key's random segment

_DIGITS = re.compile(r"[0-9]{1,20}")


def utc_now() -> datetime:
    """Now, in UTC, to the second (policies carry no fractions)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def random_segment() -> str:
    """A key's random segment: 32 hex digits from the OS's cryptographic source.

    ``os.urandom`` is what ``secrets.token_hex`` reads; importing ``secrets``
    would also import ``random``, which every cold start would pay for.
    """
    return os.urandom(16).hex()


# The same settings make the same target: built once for each (the loaders
# remember settings by the variables' values, so a changed variable gives
# new settings and a new target).
@lru_cache(maxsize=4)
def oss_target(oss: OssSettings) -> FormTarget:
    signer = (
        OssV1Signer(oss.credentials)
        if oss.signature_version == "v1"
        else OssV4Signer(oss.credentials, oss.region or "")
    )
    return FormTarget(
        oss.url,
        oss.bucket,
        signer,
        fixed_fields={"x-oss-forbid-overwrite": "true"},  # never replace an object
        type_fields=("Content-Type", "x-oss-content-type"),
    )


@lru_cache(maxsize=4)
def s3_target(s3: S3Settings) -> FormTarget:
    # POST Object's Content-MD5 field: S3 checks the object against it.
    return FormTarget(
        s3.url, s3.bucket, S3SigV4Signer(s3.credentials, s3.region), md5_field="Content-MD5"
    )


def form_target(settings: Settings, env: Env) -> FormTarget:
    """The storage the settings name, with its credentials and signer."""
    if settings.provider == "s3":
        return s3_target(load_s3(env))
    return oss_target(load_oss(env))


def upload_ticket(
    body: bytes | str | None,
    env: Env,
    *,
    user: str | None = None,
    clock: Clock = utc_now,
    segment: SegmentSource = random_segment,
) -> dict[str, Any]:
    """``POST /upload-tickets``: check the request, then sign its ticket."""
    settings = load_settings(env)
    request = check_ticket_request(parse_body(body), settings)
    return _ticket(request, settings, env, user, clock(), segment())


def uppy_params(
    query: Mapping[str, str],
    env: Env,
    *,
    user: str | None = None,
    clock: Clock = utc_now,
    segment: SegmentSource = random_segment,
) -> dict[str, Any]:
    """``GET /s3/params``: the ticket of ``POST /upload-tickets``, asked the way
    ``@uppy/aws-s3`` asks (``filename``, ``type``, ``metadata[...]``), with the
    ``headers`` it reads beside the form. Uppy sends no size: ``size=``, else,
    for a PUT ticket, which needs one, the page's ``metadata[size]`` (a form
    ticket ignores ``metadata[...]``, as it always has)."""
    settings = load_settings(env)
    fields: dict[str, Any] = {
        name: value for name, value in query.items() if not name.startswith("metadata[")
    }
    if settings.upload_method == "put" and "size" not in fields and "metadata[size]" in query:
        fields["size"] = query["metadata[size]"]
    if "size" in fields and _DIGITS.fullmatch(fields["size"]):
        fields["size"] = int(fields["size"])  # anything else is refused as InvalidSize
    request = check_ticket_request(fields, settings, UPPY_FIELDS)
    return {"headers": {}, **_ticket(request, settings, env, user, clock(), segment())}


def _ticket(
    request: TicketRequest,
    settings: Settings,
    env: Env,
    user: str | None,
    now: datetime,
    segment: str,
) -> dict[str, Any]:
    """A checked request's ticket: a PUT ticket with ``UPLOAD_METHOD=put``,
    else a form, with the callback fields when one is set."""
    if settings.upload_method == "put":
        # OSS documents no way for a presigned PUT to bind the length (its
        # form's content-length-range does): S3 only.
        if settings.provider != "s3":
            raise NotConfigured(
                "UPLOAD_METHOD", "is put, which needs STORAGE_PROVIDER=s3 (OSS takes post)"
            )
        from .put_tickets import issue_put_ticket  # brings the request signers

        s3 = load_s3(env)
        put = issue_put_ticket(request, settings, s3, now=now, segment=segment, user=user)
        answer = put.to_dict()
        audit_ticket(request, settings, s3.bucket, answer)
        return answer
    target = form_target(settings, env)
    callback_url = load_callback_url(env) if settings.provider == "oss" else None
    extra = None
    if callback_url:
        from .callback import callback_fields  # only deployments with a callback pay for it

        extra = callback_fields(callback_url, request.filename, user, ticket_expiry(now, settings))
    ticket = issue_ticket(
        request, settings, target, now=now, segment=segment, user=user, extra_fields=extra
    )
    answer = ticket.to_dict()
    audit_ticket(request, settings, target.bucket, answer)
    return answer


def audit_ticket(
    request: TicketRequest, settings: Settings, bucket: str, answer: Mapping[str, Any]
) -> None:
    """The ticket's audit facts: who may store what where, until when, under
    which policy for a form (its SHA-256: the policy itself is never logged;
    a PUT ticket has none, and its signed URL is never logged either)."""
    form = answer.get("fields")
    policy = {"policy_sha256": audit.policy_sha256(form["policy"])} if form else {}
    audit.decided(
        "ticket",
        provider=settings.provider,
        bucket=bucket,
        key=answer["key"],
        filename=request.filename,
        content_type=request.content_type,
        size=request.size,
        max_size=answer["max_size"],
        expires_at=answer["expires_at"],
        **policy,
    )


def upload_rules(env: Env) -> dict[str, Any]:
    """``GET /upload-rules``: the limits a page shows, and checks, before a user picks."""
    settings = load_settings(env)
    return {
        "max_size": settings.max_upload_bytes,
        "content_types": extensions_by_type(settings.allowed_content_types),
    }


def no_caller() -> str | None:
    return None


def legacy_policy(
    env: Env,
    *,
    caller: Callable[[], str | None] = no_caller,
    clock: Clock = utc_now,
    segment: SegmentSource = random_segment,
) -> dict[str, Any]:
    """``GET /get_post_signature_for_oss_upload``: the legacy V1 route's answer.

    Off unless ``LEGACY_ROUTE=on``: then ``NotFound``, before ``caller``
    (the auth step, which gives the ``user/`` segment) runs, as for any path
    that is not served.
    """
    if not legacy_route_on(env):
        raise NotFound(
            "There is nothing at this path: the legacy route is off (LEGACY_ROUTE). "
            "Ask POST /upload-tickets for a ticket."
        )
    user = caller()
    settings = load_settings(env)
    target = oss_target(load_oss(env, signature_version="v1"))
    answer = legacy_signature(settings, target, now=clock(), segment=segment(), user=user)
    audit.decided(
        "ticket",
        provider="oss",
        bucket=target.bucket,
        key=answer["dir"],  # a prefix: this route's caller names the key under it
        policy_sha256=audit.policy_sha256(answer["policy"]),
    )
    return answer


def _moment(seconds: int) -> str | None:
    """Unix seconds as ``expires_at`` is written; ``None`` past what a date can hold."""
    try:
        return iso8601(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, ValueError, OSError):
        return None


def oss_callback(
    headers: Mapping[str, str], body: bytes | str, env: Env, *, clock: Clock = utc_now
) -> dict[str, Any]:
    """``POST /oss-callback``: the upload OSS reports, once its signature holds,
    goes to the audit line; with ``VERIFY_CONTENT=on`` its bytes are then
    checked (a mismatch deletes it and refuses the callback: OSS then answers
    the uploader ``203``).

    A refusal's reason goes to the audit line; the caller learns only ``AccessDenied``.
    """
    from .callback import CallbackRefused, verify_callback  # this route's own module

    callback_url = load_callback_url(env)
    if callback_url is None:
        raise NotConfigured("OSS_CALLBACK_URL")
    dev_prefixes = load_callback_key_prefixes(env)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        report = verify_callback(headers, raw, callback_url, dev_prefixes, clock().timestamp())
    except CallbackRefused as refusal:
        audit.note(reason=refusal.reason)  # for the refusal's audit line, not the caller
        raise AccessDenied("The callback could not be verified.") from None
    audit.decided(
        "callback",
        provider="oss",
        bucket=report.bucket,
        key=report.key,
        filename=report.filename,
        content_type=report.mime_type,
        size=report.size,
        etag=report.etag,
        content_md5=report.content_md5,
        expires_at=_moment(report.expires),
    )
    if verify_content_on(env):
        from .verify_handlers import after_callback  # its storage calls: this setting's only

        after_callback(report.key, report.user, env, clock=clock)
    return report.answer()
