"""Upload tickets: the signed form fields for exactly one object.

Pure: the clock and the random key segment are arguments, so a test that
fixes them gets the same policy to the byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

from .checks import TicketRequest
from .errors import EntityTooLarge, InvalidRequest
from .keys import content_disposition, key_prefix, object_key
from .policy import (
    Condition,
    binding,
    encode_policy,
    exact,
    iso8601,
    length_range,
    starts_with,
)
from .settings import POST_OBJECT_LIMIT, Settings
from .signers import PostSigner

SUCCESS_STATUS = "201"  # OSS and S3 answer 201 with an XML body naming the object


class FormTarget(NamedTuple):
    """Where a form posts, who signs it, and the fields every form there carries.

    ``type_fields`` are the form fields that can set the stored object's type;
    a ticket sends and binds each of them to the requested type. OSS needs
    two: it stores ``x-oss-content-type`` first, then the file part's own
    ``Content-Type`` header, and only then the ``Content-Type`` field.
    ``md5_field`` is the form field the storage checks the file's MD5
    against (S3's ``Content-MD5``); None where its form has none (OSS).
    """

    url: str
    bucket: str
    signer: PostSigner
    fixed_fields: Mapping[str, str] = MappingProxyType({})
    type_fields: tuple[str, ...] = ("Content-Type",)
    md5_field: str | None = None


class Ticket(NamedTuple):
    """A form ticket (its ``fields``), or with ``headers`` a PUT ticket
    (:mod:`.put_tickets`: the headers its URL signs, and no fields)."""

    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_size: int
    headers: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        sent: dict[str, Any] = (
            {"method": "POST", "fields": self.fields}
            if self.headers is None
            else {"method": "PUT", "headers": self.headers}
        )
        return {
            "url": self.url,
            **sent,
            "key": self.key,
            "expires_at": iso8601(self.expires_at),
            "max_size": self.max_size,
        }


def ticket_expiry(now: datetime, settings: Settings) -> datetime:
    """When a ticket issued ``now`` stops working: ``EXPIRE_SECONDS`` later."""
    return now + timedelta(seconds=settings.expire_seconds)


def single_request_limit(settings: Settings) -> int:
    """What one form upload may carry: ``MAX_UPLOAD_BYTES``, at most 5 GiB (PostObject)."""
    return min(settings.max_upload_bytes, POST_OBJECT_LIMIT)


def check_single_request(request: TicketRequest) -> None:
    """One request (a form or a PUT) carries at most 5 GiB: a larger declared
    size goes in parts."""
    if request.size and request.size > POST_OBJECT_LIMIT:
        raise EntityTooLarge(
            f"One upload request carries at most {POST_OBJECT_LIMIT} bytes (5 GiB): "
            "send a larger file in parts, with a multipart upload (POST /s3/multipart)."
        )


def md5_fields(request: TicketRequest, target: FormTarget) -> dict[str, str]:
    """The form field that makes the storage check the file's MD5, when one was given."""
    if request.content_md5 is None:
        return {}
    if target.md5_field is None:
        raise InvalidRequest(
            "OSS's PostObject has no Content-MD5 form field, so the storage cannot check "
            "content_md5: leave content_md5 out."
        )
    return {target.md5_field: request.content_md5}


def sign_form(
    target: FormTarget,
    fields: Mapping[str, str],
    conditions: list[Condition],
    now: datetime,
    expiration: datetime,
) -> dict[str, str]:
    """Bind ``fields`` (and ``conditions``) in a policy and sign it.

    The result is every form field in order: the bound fields, the signer's
    own (bound too), then the policy and its signature.
    """
    auth = target.signer.auth_fields(now)
    policy = encode_policy(
        expiration,
        [
            {"bucket": target.bucket},
            *binding(fields),
            *conditions,
            *({name: value} for name, value in auth.items()),
        ],
    )
    return {**fields, **auth, "policy": policy, **target.signer.signature_fields(policy, now)}


def issue_ticket(
    request: TicketRequest,
    settings: Settings,
    target: FormTarget,
    *,
    now: datetime,
    segment: str,
    user: str | None = None,
    extra_fields: Mapping[str, str] | None = None,
) -> Ticket:
    """A ticket for one object: every field it returns is bound exactly.

    ``segment`` is the key's random segment. One form carries at most 5 GiB,
    whatever ``MAX_UPLOAD_BYTES`` allows: a larger declared size is refused,
    and an undeclared one is capped there.
    """
    check_single_request(request)
    key = object_key(settings.upload_dir, user, segment, request.filename)
    low, high = (
        (request.size, request.size) if request.size else (1, single_request_limit(settings))
    )
    fields = {
        "key": key,
        **dict.fromkeys(target.type_fields, request.content_type),
        "Content-Disposition": content_disposition(request.filename),
        **md5_fields(request, target),
        **target.fixed_fields,
        **(extra_fields or {}),
        "success_action_status": SUCCESS_STATUS,
    }
    expires_at = ticket_expiry(now, settings)
    return Ticket(
        url=target.url,
        fields=sign_form(target, fields, [length_range(low, high)], now, expires_at),
        key=key,
        expires_at=expires_at,
        max_size=high,
    )


def legacy_signature(
    settings: Settings,
    target: FormTarget,
    *,
    now: datetime,
    segment: str,
    user: str | None = None,
) -> dict[str, Any]:
    """The legacy V1 route's answer: a policy for any key under a fresh directory.

    The client of OSS's form-upload sample picks the key itself (``dir +
    filename``), so this policy can only bind the prefix, which holds the
    caller's ``user/`` segment like a ticket's key. New clients should use
    tickets.
    """
    directory = key_prefix(settings.upload_dir, user, segment)
    expires_at = ticket_expiry(now, settings)
    fields = sign_form(
        target,
        {},
        [
            starts_with("key", directory),
            length_range(1, single_request_limit(settings)),
            exact("success_action_status", "200"),
        ],
        now,
        expires_at,
    )
    answer: dict[str, Any] = {
        "policy": fields["policy"],
        "ossAccessKeyId": fields["OSSAccessKeyId"],
        "signature": fields["Signature"],
        "host": target.url,
        "dir": directory,
        "expire": int(expires_at.timestamp()),
    }
    if "x-oss-security-token" in fields:
        answer["x-oss-security-token"] = fields["x-oss-security-token"]
    return answer
