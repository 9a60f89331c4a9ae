"""The cases ``make bench`` times, each one call of something a request does.

* the signing core: ``issue_ticket`` with settings and target built once;
* the whole handler: ``app.app(event, context)`` with an API Gateway REST
  proxy event, as Lambda calls it (settings read from ``os.environ`` per call);
* Chalice's own cost: the same event to a bare Chalice route returning a
  ticket-sized dict, and that route behind signpost's edge middleware;
* every part of the handler above the core, each timed alone: the settings a
  ticket reads, the body's parse and checks, the auth step, the CORS headers,
  the clock, key segment and answer dict; ``__main__`` lays them beside the
  handler and names what no part accounts for;
* the seed page's sample (``bench/seed_sample.py``);
* botocore's ``generate_presigned_post`` for the same S3 upload (client made
  once, outside the timing), and the usual boto3 Chalice app around it;
* a presigned part URL (multipart, ``UploadPart``): signpost's request
  signers beside botocore's ``generate_presigned_url`` (client made once);
* the floor: JSON, base64 and the five HMAC-SHA256 of a V4 ticket, nothing else.
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

from chalicelib import audit
from chalicelib.auth import authenticate
from chalicelib.checks import TicketRequest, check_ticket_request, parse_body
from chalicelib.cors import cors_headers
from chalicelib.credentials import Credentials
from chalicelib.handlers import audit_ticket, form_target, random_segment, utc_now
from chalicelib.request_signers import ObjectRequest, OssV4RequestSigner, S3SigV4RequestSigner
from chalicelib.settings import Settings, load_allowed_origins, load_callback_url, load_settings
from chalicelib.tickets import FormTarget, Ticket, issue_ticket

from .event import (
    BODY,
    CONTENT_TYPE,
    FILENAME,
    LAMBDA_CONTEXT,
    ORIGIN,
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


def ticket_settings(env: Mapping[str, str] = os.environ) -> tuple[Settings, FormTarget, str | None]:
    """The settings a V4 ticket reads from ``os.environ``: common, OSS, callback.
    (The auth step and CORS read their own, in their rows.)"""
    settings = load_settings(env)
    return settings, form_target(settings, env), load_callback_url(env)


def cors() -> dict[str, str]:
    """The edge's CORS step for a listed origin: ``CORS_ALLOW_ORIGIN`` read, headers made."""
    return cors_headers(ORIGIN, load_allowed_origins(os.environ), False)


def auth_step() -> str | None:
    """The auth step as the bench's settings set it (``AUTH_MODE`` unset: none)."""
    return authenticate(None, os.environ).user


def answer_dict(ticket: Ticket) -> Callable[[], dict[str, Any]]:
    """What ``upload_ticket`` does besides settings, checks and the core:
    read the clock, draw the key's random segment, make the answer dict."""
    return lambda: (utc_now(), random_segment(), ticket.to_dict())


def audit_line(env: Mapping[str, str], ticket: Ticket, metrics: bool) -> Callable[[], None]:
    """A ticket's audit line as a request writes it: the record opened (the
    edge), the ticket's facts noted (the core), the line written (the edge;
    to wherever ``sys.stdout`` goes, ``/dev/null`` under ``make bench``)."""
    settings, target, _ = ticket_settings(env)
    request = check_ticket_request(parse_body(BODY.encode()), settings)
    answer = ticket.to_dict()

    def write() -> None:
        audit.begin(None, "203.0.113.9", "Mozilla/5.0 (X11; Linux x86_64)")
        audit_ticket(request, settings, target, answer)
        audit.finish(200, None, metrics)

    return write


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
    client = botocore_client()
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


Step = Callable[[Any, Mapping[str, str], dict[str, Any]], object]


def bare_chalice(
    answer: dict[str, Any], *middleware: Callable[..., Any], steps: tuple[Step, ...] = ()
) -> Chalice:
    """A Chalice app with the same route, returning ``answer``: Chalice's cost
    (with ``middleware``: theirs on top; with ``steps``: the handler's first
    steps, run in place before the fixed answer)."""
    bare = Chalice(app_name="bare")
    for handler in middleware:
        bare.register_middleware(handler, "http")

    @bare.route("/upload-tickets", methods=["POST"], content_types=["application/json"])
    def route() -> dict[str, Any]:
        state: dict[str, Any] = {}
        for step in steps:
            step(bare.current_request, os.environ, state)
        return answer

    return bare


# The V4 handler's steps before the core, in its order, each as it runs in
# place (``state`` carries what a later step uses): the ladder's rungs add
# them one at a time, so the differences name every microsecond in place.
def auth_in_place(request: Any, env: Mapping[str, str], state: dict[str, Any]) -> None:
    authenticate(request.headers.get("authorization"), env)


def settings_in_place(request: Any, env: Mapping[str, str], state: dict[str, Any]) -> None:
    state["settings"] = ticket_settings(env)[0]


def checks_in_place(request: Any, env: Mapping[str, str], state: dict[str, Any]) -> None:
    check_ticket_request(parse_body(request.raw_body), state["settings"])


LADDER_STEPS: tuple[Step, ...] = (auth_in_place, settings_in_place, checks_in_place)


# One part of a multipart upload, as the part-URL route signs it.
PART_KEY = f"uploads/{SEGMENT}/{FILENAME}"
PART_QUERY = {"partNumber": "3", "uploadId": "0004B9895DBBB6EC9800000000000000"}


def part_url(
    signer: OssV4RequestSigner | S3SigV4RequestSigner, endpoint: str, bucket: str
) -> Callable[[], str]:
    """A presigned ``UploadPart`` URL from signpost's request signer, for 600 s."""
    request = ObjectRequest("PUT", endpoint, bucket, PART_KEY, PART_QUERY)
    return lambda: signer.presigned_url(request, NOW, 600)


def oss_part_url() -> Callable[[], str]:
    credentials = Credentials(OSS_V4["OSS_ACCESS_KEY_ID"], OSS_SECRET, None)
    bucket, region = OSS_V4["OSS_BUCKET"], OSS_V4["OSS_REGION"]
    endpoint = f"https://{bucket}.oss-{region}.aliyuncs.com"
    return part_url(OssV4RequestSigner(credentials, region), endpoint, bucket)


def s3_part_url() -> Callable[[], str]:
    credentials = Credentials(S3["AWS_ACCESS_KEY_ID"], S3["AWS_SECRET_ACCESS_KEY"], None)
    bucket, region = S3["S3_BUCKET"], S3["AWS_REGION"]
    endpoint = f"https://{bucket}.s3.amazonaws.com"
    return part_url(S3SigV4RequestSigner(credentials, region), endpoint, bucket)


def botocore_client() -> Any:
    """botocore's S3 client, SigV4, static credentials: made once, outside the timing."""
    import botocore.config
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3",
        region_name=S3["AWS_REGION"],
        config=botocore.config.Config(signature_version="s3v4"),
        aws_access_key_id=S3["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3["AWS_SECRET_ACCESS_KEY"],
    )


def botocore_part_url() -> Callable[[], str]:
    """botocore's ``generate_presigned_url("upload_part")`` for the same part."""
    client = botocore_client()
    params = {
        "Bucket": S3["S3_BUCKET"],
        "Key": PART_KEY,
        "UploadId": PART_QUERY["uploadId"],
        "PartNumber": int(PART_QUERY["partNumber"]),
    }
    return lambda: client.generate_presigned_url("upload_part", Params=params, ExpiresIn=600)


def lambda_call(app: Chalice) -> Callable[[], dict[str, Any]]:
    return lambda_event_call(app, proxy_event())


def lambda_event_call(app: Chalice, event: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """``app`` handling ``event`` as Lambda calls it."""
    return lambda: app(event, LAMBDA_CONTEXT)


def all_cases() -> list[Case]:
    from app import app, edge

    from . import seed_sample, usual_app
    from .multipart import multipart_cases

    v4_ticket, s3_ticket = core_ticket(OSS_V4)(), core_ticket(S3)()
    ticket_sized = v4_ticket.to_dict()
    v4 = use_env(OSS_V4)
    return [
        Case("floor", "floor: JSON + base64 + 5 HMAC", floor(v4_ticket)),
        Case("core_oss_v4", "core: issue_ticket, OSS V4", core_ticket(OSS_V4)),
        Case("core_oss_v1", "core: issue_ticket, OSS V1", core_ticket(OSS_V1)),
        Case("core_s3", "core: issue_ticket, S3 SigV4", core_ticket(S3)),
        Case("settings", "part: ticket settings read (os.environ)", ticket_settings, v4),
        Case("checks", "part: parse_body + checks", checks(OSS_V4)),
        Case("auth", "part: auth step (AUTH_MODE none)", auth_step, v4),
        Case("cors", "part: CORS headers (CORS_ALLOW_ORIGIN read)", cors, v4),
        Case("answer", "part: clock, key segment, answer dict", answer_dict(v4_ticket)),
        Case("audit", "part: the audit line (plain JSON)", audit_line(OSS_V4, v4_ticket, False)),
        Case("audit_emf", "part: the audit line with EMF", audit_line(OSS_V4, v4_ticket, True)),
        Case("handler_oss_v4", "handler: Lambda event, OSS V4", lambda_call(app), v4),
        Case("handler_s3", "handler: Lambda event, S3", lambda_call(app), use_env(S3)),
        Case("chalice_tiny", "bare Chalice route, {} answer", lambda_call(bare_chalice({}))),
        Case(
            "chalice_ticket",
            "bare Chalice route, ticket-sized answer",
            lambda_call(bare_chalice(ticket_sized)),
        ),
        Case(
            "chalice_edge",
            "bare Chalice route + signpost's edge middleware",
            lambda_call(bare_chalice(ticket_sized, edge)),
            v4,
        ),
        *(
            Case(
                f"rung_{rung}",
                f"bare route + edge + steps to {label}",
                lambda_call(bare_chalice(ticket_sized, edge, steps=LADDER_STEPS[:rung])),
                v4,
            )
            for rung, label in enumerate(("auth", "settings", "checks"), start=1)
        ),
        Case("seed_sample", "seed sample get_token (V1)", seed_sample.get_token),
        Case("botocore", "botocore generate_presigned_post", botocore_post(s3_ticket)),
        Case(
            "usual_handler",
            "boto3 Chalice app: Lambda event",
            lambda_call(usual_app.app),
            use_env(S3),
        ),
        Case("part_url_oss", "part URL: OssV4RequestSigner.presigned_url", oss_part_url()),
        Case("part_url_s3", "part URL: S3SigV4RequestSigner.presigned_url", s3_part_url()),
        Case("part_url_botocore", "part URL: botocore generate_presigned_url", botocore_part_url()),
        *multipart_cases(app, botocore_client(), use_env(S3)),
    ]
