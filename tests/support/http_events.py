"""The HTTP events Lambda hands a function: a function URL's (payload 2.0)
and API Gateway's REST proxy (1.0), built for one request."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


def url_event(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A function URL's event for ``method target``, shaped as AWS documents it
    ("Invoking Lambda function URLs", request payload): lower-case headers,
    ``rawPath`` and ``rawQueryString`` as sent, the query's values joined by
    commas in ``queryStringParameters`` (absent without a query)."""
    parts = urlsplit(target)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {
            "host": "abcdefgh.lambda-url.eu-central-1.on.aws",
            "x-forwarded-proto": "https",
            **{name.lower(): value for name, value in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.eu-central-1.on.aws",
            "domainPrefix": "abcdefgh",
            "http": {
                "method": method,
                "path": unquote(parts.path),
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "fn-url-request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795521600000,
        },
        "isBase64Encoded": base64_body,
    }
    if parts.query:
        joined: dict[str, list[str]] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            joined.setdefault(name, []).append(value)
        event["queryStringParameters"] = {name: ",".join(v) for name, v in joined.items()}
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    return event


def gateway_event(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> dict[str, Any]:
    """API Gateway's REST proxy event for one of the app's fixed routes
    (no path parameters), as Lambda receives it behind the ``/api`` stage."""
    parts = urlsplit(target)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    headers = headers or {}
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": "/api" + parts.path,
            "requestId": "gateway-request-1",
        },
        "body": body.decode() if body is not None else None,
        "isBase64Encoded": False,
    }
