"""signpost: upload tickets for direct-to-storage browser uploads.

A table of routes over :mod:`chalicelib.handlers`; the one middleware is the
edge every answer passes through (error shape, ``Cache-Control``, CORS).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib import audit, handlers
from chalicelib.auth import authenticate
from chalicelib.cors import cors_headers
from chalicelib.environment import current_env
from chalicelib.errors import NotConfigured, SignpostError, error_body
from chalicelib.http_events import lambda_handler
from chalicelib.settings import load_allowed_origins, on_lambda

app = Chalice(app_name="signpost")
app.log.setLevel(logging.INFO)
# JSON in, JSON out: no binary media types, so Chalice matches no request or
# answer against its default list (lower-casing each name, several times a
# request) and API Gateway base64-encodes no body.
app.api.binary_types = []

JSON_BODIES = ["application/json", "text/plain"]
# Lambda's handler: API Gateway's events (payload 1.0) and the function URL's (2.0).
handler = lambda_handler(app)


def refusal(error: SignpostError) -> Response:
    """A refusal in the documented error shape (the edge writes its audit line)."""
    # RFC 9110: a 401 names the scheme that would be accepted.
    headers: dict[str, str | list[str]] = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(body=error.to_dict(), status_code=error.status, headers=headers)


def current_request() -> Request:
    """The request a route is answering (Chalice sets it before it calls one)."""
    request = app.current_request
    assert request is not None
    return request


def caller() -> str | None:
    """The caller's ``user/`` segment (``AUTH_MODE``), or the refusal; the
    audit line names the caller."""
    who = authenticate(current_request().headers.get("authorization"), current_env())
    audit.note(principal=who.principal)
    return who.user


def multipart() -> ModuleType:
    """The multipart routes' handlers, imported by those routes only: they
    bring the request signers and the storage calls."""
    from chalicelib import multipart_handlers

    return multipart_handlers


def query() -> dict[str, str]:
    return dict(current_request().query_params or {})


def answer(produce: Callable[[], dict[str, Any] | list[Any]]) -> Response:
    """Run a handler; turn a refusal into its status and the error shape."""
    try:
        return Response(body=produce(), status_code=200)
    except SignpostError as error:
        return refusal(error)


@app.middleware("http")
def edge(request: Any, get_response: Callable[[Any], Response]) -> Response:
    """What every answer gets, Chalice's own errors (405, 415, 500) included:
    the documented error shape, ``Cache-Control: no-store``, CORS, and its
    audit line. A CORS preflight is answered here; routes list ``OPTIONS``
    only so that API Gateway forwards it."""
    identity = request.context.get("identity") or {}
    audit.begin(app.lambda_context, identity.get("sourceIp"), request.headers.get("user-agent"))
    try:
        origins = load_allowed_origins(current_env())
    except NotConfigured as error:
        response = refusal(error)
    else:
        preflight = request.method == "OPTIONS"
        response = Response(body="", status_code=204) if preflight else get_response(request)
        response.headers.update(cors_headers(request.headers.get("origin"), origins, preflight))
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        response.body = error_body(body["Code"], body["Message"])
    if isinstance(response.body, (dict, list)):
        response.headers["Content-Type"] = "application/json"
    response.headers["Cache-Control"] = "no-store"  # a ticket is a credential
    shape = response.body.get("error") if isinstance(response.body, dict) else None
    refused = (shape["code"], shape["message"]) if response.status_code >= 400 and shape else None
    audit.finish(response.status_code, refused, on_lambda(current_env()))
    return response


@app.route("/upload-tickets", methods=["POST", "OPTIONS"], content_types=JSON_BODIES)
def upload_tickets() -> Response:
    # caller() runs before upload_ticket reads the body: auth comes first.
    return answer(
        lambda: handlers.upload_ticket(current_request().raw_body, current_env(), user=caller())
    )


@app.route("/upload-rules", methods=["GET", "OPTIONS"])
def upload_rules() -> Response:
    def rules() -> dict[str, Any]:
        caller()  # the same callers as tickets: the rules say what they may upload
        return handlers.upload_rules(current_env())

    return answer(rules)


@app.route("/get_post_signature_for_oss_upload", methods=["GET", "OPTIONS"])
def legacy_policy() -> Response:
    # The handler checks LEGACY_ROUTE before it calls caller(): off is a 404, not a 401.
    return answer(lambda: handlers.legacy_policy(current_env(), caller=caller))


@app.route("/oss-callback", methods=["POST"])
def oss_callback() -> Response:
    request = current_request()
    return answer(lambda: handlers.oss_callback(request.headers, request.raw_body, current_env()))


# Large files, on the routes @uppy/aws-s3 calls when given an `endpoint`. Chalice
# passes `{uploadId}` as sent, percent-encoded: the handlers decode it.
@app.route("/s3/params", methods=["GET", "OPTIONS"])
def uppy_params() -> Response:
    return answer(lambda: handlers.uppy_params(query(), current_env(), user=caller()))


@app.route("/s3/multipart", methods=["POST", "OPTIONS"], content_types=JSON_BODIES)
def create_multipart() -> Response:
    return answer(
        lambda: multipart().create(current_request().raw_body, current_env(), user=caller())
    )


# batch and complete before {partNumber}: chalicelib.http_events matches routes in this order.
@app.route("/s3/multipart/{uploadId}/batch", methods=["GET", "OPTIONS"])
def sign_parts(uploadId: str) -> Response:
    return answer(lambda: multipart().sign_batch(uploadId, query(), current_env(), user=caller()))


@app.route(
    "/s3/multipart/{uploadId}/complete", methods=["POST", "OPTIONS"], content_types=JSON_BODIES
)
def complete_multipart(uploadId: str) -> Response:
    return answer(
        lambda: multipart().complete(
            uploadId, query(), current_request().raw_body, current_env(), user=caller()
        )
    )


@app.route("/s3/multipart/{uploadId}/{partNumber}", methods=["GET", "OPTIONS"])
def sign_part(uploadId: str, partNumber: str) -> Response:
    return answer(
        lambda: multipart().sign_part(uploadId, partNumber, query(), current_env(), user=caller())
    )


@app.route("/s3/multipart/{uploadId}", methods=["GET", "OPTIONS"])
def list_parts(uploadId: str) -> Response:
    return answer(lambda: multipart().list_parts(uploadId, query(), current_env(), user=caller()))


@app.route("/s3/multipart/{uploadId}", methods=["DELETE"])
def abort_multipart(uploadId: str) -> Response:
    return answer(lambda: multipart().abort(uploadId, query(), current_env(), user=caller()))


# VERIFY_CONTENT for S3 form uploads: S3 calls nobody back, so its "Object Created"
# event, through EventBridge (a rule `chalice package` builds), reaches this handler.
@app.on_cw_event({"source": ["aws.s3"], "detail-type": ["Object Created"]})
def object_created(event: Any) -> None:
    from chalicelib.verify_handlers import object_created as check  # its storage calls

    check(event.to_dict(), current_env())
