"""What is timed per ticket, all for the same upload: ``cat.png``, 48213 bytes.

* the signing core: ``issue_ticket`` with settings and target built once;
* the whole handler: ``app.app(event, context)`` with an API Gateway REST
  proxy event, as Lambda calls it (settings read from ``os.environ`` per call);
* Chalice's own cost: the same event to a bare Chalice route returning a dict;
* the seed page's sample (``bench/seed_sample.py``);
* botocore's ``generate_presigned_post`` for the same S3 upload (client made
  once, outside the timing), and the usual boto3 Chalice app around it;
* the floor: JSON, base64 and the five HMAC-SHA256 of a V4 ticket, nothing else;
* parts of the handler, to see where its time goes: the settings it reads, the
  checks, ``handlers.upload_ticket`` without Chalice around it, and that
  function right after a bare Chalice call (two code paths in turn cost more
  than the sum of each timed alone: each evicts the other from the caches).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from chalice import Chalice

from chalicelib.checks import TicketRequest, check_ticket_request, parse_body
from chalicelib.handlers import form_target, upload_ticket
from chalicelib.settings import load_allowed_origins, load_settings
from chalicelib.tickets import Ticket, issue_ticket

from .event import (
    BODY,
    CONTENT_TYPE,
    FILENAME,
    LAMBDA_CONTEXT,
    OSS_SECRET,
    OSS_V1,
    OSS_V4,
    S3,
    SIZE,
    proxy_event,
)
from .timing import Case

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
SEGMENT = "9f0c" * 8  # the key's random segment, fixed


def use_env(values: Mapping[str, str]) -> Callable[[], None]:
    """A ``prepare`` step: put the case's settings in ``os.environ``."""
    return lambda: os.environ.update(values)


def core_ticket(env: Mapping[str, str]) -> Callable[[], Ticket]:
    """``issue_ticket`` for the bench upload, settings and target made once."""
    settings = load_settings(env)
    target = form_target(settings, env)
    request = TicketRequest(FILENAME, CONTENT_TYPE, SIZE)
    return lambda: issue_ticket(request, settings, target, now=NOW, segment=SEGMENT)


def settings_per_request() -> object:
    """What a V4 request reads from ``os.environ``: common, OSS and CORS settings."""
    settings = load_settings(os.environ)
    return form_target(settings, os.environ), load_allowed_origins(os.environ)


def checks(env: Mapping[str, str]) -> Callable[[], TicketRequest]:
    settings, body = load_settings(env), BODY.encode()
    return lambda: check_ticket_request(parse_body(body), settings)


def floor(ticket: Ticket) -> Callable[[], str]:
    """The steps no V4 ticket can skip: its policy to JSON and base64, the
    4 HMACs of the key derivation and the 1 of the signature (one-shot
    ``hmac.digest``)."""
    document = json.loads(base64.b64decode(ticket.fields["policy"]))
    secret = ("aliyun_v4" + OSS_SECRET).encode()
    scope = [part.encode() for part in ("20261124", "cn-hangzhou", "oss", "aliyun_v4_request")]

    def run() -> str:
        text = json.dumps(document, separators=(",", ":"))
        policy = base64.b64encode(text.encode("ascii"))
        key = secret
        for part in scope:
            key = hmac.digest(key, part, "sha256")
        return hmac.digest(key, policy, "sha256").hex()

    return run


def botocore_post(ticket: Ticket) -> Callable[[], dict[str, Any]]:
    """botocore's ``generate_presigned_post`` for the S3 ticket's upload:
    same bucket, key, fields and conditions, signed with SigV4 as ours. The
    client is created here, once, with static credentials: its creation is
    not in the timing."""
    import botocore.config
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3",
        region_name=S3["AWS_REGION"],
        config=botocore.config.Config(signature_version="s3v4"),
        aws_access_key_id=S3["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3["AWS_SECRET_ACCESS_KEY"],
    )
    names = ("Content-Type", "Content-Disposition", "success_action_status")
    fields = {name: ticket.fields[name] for name in names}
    conditions = [
        *({name: value} for name, value in fields.items()),
        ["content-length-range", SIZE, SIZE],
    ]

    def run() -> dict[str, Any]:
        # botocore adds to both arguments, so each call gets fresh copies.
        return client.generate_presigned_post(
            Bucket=S3["S3_BUCKET"],
            Key=ticket.key,
            Fields=dict(fields),
            Conditions=list(conditions),
            ExpiresIn=600,
        )

    return run


def bare_chalice(answer: dict[str, Any]) -> Chalice:
    """A Chalice app with the same route, returning ``answer``: Chalice's cost."""
    bare = Chalice(app_name="bare")

    @bare.route("/upload-tickets", methods=["POST"], content_types=["application/json"])
    def route() -> dict[str, Any]:
        return answer

    return bare


def lambda_call(app: Chalice) -> Callable[[], dict[str, Any]]:
    event = proxy_event()
    return lambda: app(event, LAMBDA_CONTEXT)


def all_cases() -> list[Case]:
    from app import app

    from . import seed_sample, usual_app

    v4_ticket, s3_ticket = core_ticket(OSS_V4)(), core_ticket(S3)()
    ticket_sized = v4_ticket.to_dict()
    body, bare = BODY.encode(), lambda_call(bare_chalice(ticket_sized))
    return [
        Case("floor", "floor: JSON + base64 + 5 HMAC", floor(v4_ticket)),
        Case("core_oss_v4", "core: issue_ticket, OSS V4", core_ticket(OSS_V4)),
        Case("core_oss_v1", "core: issue_ticket, OSS V1", core_ticket(OSS_V1)),
        Case("core_s3", "core: issue_ticket, S3 SigV4", core_ticket(S3)),
        Case("settings", "part: settings read (os.environ)", settings_per_request, use_env(OSS_V4)),
        Case("checks", "part: parse_body + checks", checks(OSS_V4)),
        Case(
            "upload_ticket",
            "part: handlers.upload_ticket, no Chalice",
            lambda: upload_ticket(body, os.environ),
            use_env(OSS_V4),
        ),
        Case(
            "chalice_then_upload_ticket",
            "part: bare Chalice route, then upload_ticket",
            lambda: (bare(), upload_ticket(body, os.environ)),
            use_env(OSS_V4),
        ),
        Case("handler_oss_v4", "handler: Lambda event, OSS V4", lambda_call(app), use_env(OSS_V4)),
        Case("handler_s3", "handler: Lambda event, S3", lambda_call(app), use_env(S3)),
        Case("chalice_tiny", "bare Chalice route, {} answer", lambda_call(bare_chalice({}))),
        Case("chalice_ticket", "bare Chalice route, ticket-sized answer", bare),
        Case("seed_sample", "seed sample get_token (V1)", seed_sample.get_token),
        Case("botocore", "botocore generate_presigned_post", botocore_post(s3_ticket)),
        Case(
            "usual_handler",
            "boto3 Chalice app: Lambda event",
            lambda_call(usual_app.app),
            use_env(S3),
        ),
    ]
