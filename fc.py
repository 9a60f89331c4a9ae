"""Alibaba Function Compute 3.0 entry point: ``fc.handler`` beside ``app.py``.

An FC HTTP trigger calls a built-in-runtime function with the request as a
JSON document (``rawPath``, ``headers``, ``body``, ``isBase64Encoded``,
``requestContext.http.method`` ...) and expects ``statusCode``, ``headers``,
``body`` and ``isBase64Encoded`` back. This module turns that request into the
API Gateway proxy event the Chalice app reads, runs the very app Lambda runs,
and turns its answer back. Only API Gateway routes by the app's table, so the
route is found here; a path the app does not serve is a 404 in the app's own
error shape.

The function's role keys (``context.credentials`` up to Python 3.10, the
``ALIBABA_CLOUD_*`` variables from 3.12) reach the OSS signer through a
per-request environment, never by writing to ``os.environ``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import app as chalice_app
from chalicelib.environment import request_env
from chalicelib.errors import NotFound

# context.credentials attribute -> the variable the OSS settings fall back to.
CONTEXT_CREDENTIALS = (
    ("access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ("access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ("security_token", "ALIBABA_CLOUD_SECURITY_TOKEN"),
)


def match_route(path: str) -> tuple[str, dict[str, str]] | None:
    """The app's route for a path, and its ``{name}`` parameters, if any."""
    segments = path.split("/")
    for route in chalice_app.app.routes:
        pattern = route.split("/")
        if len(pattern) != len(segments):
            continue
        captured: dict[str, str] = {}
        for expected, actual in zip(pattern, segments, strict=True):
            if expected.startswith("{") and expected.endswith("}") and actual:
                captured[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            return route, captured
    return None


def proxy_event(fc_event: Mapping[str, Any], route: str, params: dict[str, str]) -> dict[str, Any]:
    """The API Gateway (REST, proxy) event Chalice's ``Request`` reads."""
    http = fc_event["requestContext"]["http"]
    headers = dict(fc_event.get("headers") or {})
    # FC joins repeated query parameters with commas; the app reads none, so
    # each value is passed whole rather than guessed apart.
    query = dict(fc_event.get("queryParameters") or {})
    return {
        "resource": route,
        "path": http["path"],
        "httpMethod": http["method"],
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route,
            "httpMethod": http["method"],
            "path": http["path"],
            "requestId": fc_event["requestContext"].get("requestId"),
            "identity": {"sourceIp": http.get("sourceIp"), "userAgent": http.get("userAgent")},
        },
        "body": fc_event.get("body"),
        "isBase64Encoded": bool(fc_event.get("isBase64Encoded")),
    }


def fc_response(answer: Mapping[str, Any]) -> dict[str, Any]:
    """FC's response from Chalice's: repeated headers joined, JSON by default.

    API Gateway labels a body without a type ``application/json``; FC does
    not, so the label is added here.
    """
    headers = dict(answer.get("headers") or {})
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    body = answer.get("body") or ""
    if body and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return {
        "statusCode": answer["statusCode"],
        "headers": headers,
        "body": body,
        "isBase64Encoded": bool(answer.get("isBase64Encoded")),
    }


def not_found() -> dict[str, Any]:
    routes = ", ".join(sorted(chalice_app.app.routes))
    error = NotFound(f"There is nothing at this path. The API serves {routes}.")
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(error.to_dict()),
        "isBase64Encoded": False,
    }


def role_credentials(context: Any) -> dict[str, str]:
    """The invocation's role keys as ``ALIBABA_CLOUD_*`` variables, if FC gave any.

    When given, all three are set (a missing token as empty, which settings
    read as unset), so a stale token from the process environment is never
    paired with fresh keys.
    """
    credentials = getattr(context, "credentials", None)
    if not getattr(credentials, "access_key_id", None):
        return {}
    return {
        variable: getattr(credentials, attribute, None) or ""
        for attribute, variable in CONTEXT_CREDENTIALS
    }


def handler(event: bytes | str, context: Any) -> dict[str, Any]:
    """FC's HTTP-trigger handler: run the Chalice app for one request."""
    fc_event = json.loads(event)
    # Routed by ``rawPath``, as sent (FC's ``requestContext.http.path`` is
    # decoded): an encoded ``/`` (``%2F``) in an upload ID stays inside its
    # segment, and the parameter reaches the handlers percent-encoded, as
    # API Gateway passes it, to be decoded once there.
    found = match_route(fc_event["rawPath"])
    if found is None:
        return not_found()
    with request_env(role_credentials(context)):
        answer = chalice_app.app(proxy_event(fc_event, *found), context)
    return fc_response(answer)
