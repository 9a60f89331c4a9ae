"""2.0-style HTTP events for an app that reads API Gateway's (payload 1.0).

Lambda function URLs send payload format 2.0 ("Invoking Lambda function
URLs", request and response payloads:
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html):
``rawPath`` and ``rawQueryString`` as sent, ``queryStringParameters``
(a repeated name's values joined by commas), lower-case ``headers`` (the
app reads no cookies, which come apart), ``requestContext.http.method``,
``body`` and ``isBase64Encoded``. Function Compute 3.0's HTTP triggers send
the same shape as a JSON document, with ``queryParameters`` for the query.
Both take back ``statusCode``, ``headers``, ``body``, ``isBase64Encoded``.

Only API Gateway routes by the app's table, so the route is found here, by
``rawPath``: an encoded ``/`` (``%2F``) in an upload ID stays inside its
segment, and the parameter reaches the handlers percent-encoded, as API
Gateway passes it, to be decoded once there. A path the app does not serve
is a 404, and an event this module cannot read (not JSON, no
``requestContext``, a body flagged base64 that is not base64...) a 400, both
in the app's error shape: a platform's odd event is never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

from . import audit
from .environment import current_env
from .errors import InvalidRequest, NotFound, SignpostError
from .settings import on_lambda

Answer = dict[str, Any]


class RoutedApp(Protocol):
    """The Chalice app, as far as this module needs it: its route table, and
    the API Gateway (REST, proxy) handler it is."""

    @property
    def routes(self) -> Mapping[str, Any]: ...

    def __call__(self, event: dict[str, Any], context: Any) -> Answer: ...


def lambda_handler(app: RoutedApp) -> Callable[[Any, Any], Answer]:
    """Lambda's entry point: function URL events (``version`` ``2.0``)
    through :func:`answer_event`, API Gateway's straight to the app."""

    def handler(event: Any, context: Any) -> Answer:
        if isinstance(event, Mapping) and event.get("version") == "2.0":
            return answer_event(event, app, context)
        return app(event, context)

    return handler


def answer_event(event: Any, app: RoutedApp, context: Any) -> Answer:
    """The app's answer to one 2.0-style event (a mapping, or its JSON text),
    in the platform's response format. ``context`` reaches the app as is."""
    try:
        request = read_event(event)
        found = match_route(request["rawPath"], app.routes)
        if found is None:
            routes = ", ".join(sorted(app.routes))
            raise NotFound(f"There is nothing at this path. The API serves {routes}.")
    except SignpostError as error:
        return refusal(error, context)
    return platform_response(app(proxy_event(request, *found), context))


def match_route(path: str, routes: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The route for a path, and its ``{name}`` parameters, if any; routes are
    tried in the app's order (``.../batch`` before ``.../{partNumber}``)."""
    segments = path.split("/")
    for route in routes:
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


def read_event(event: Any) -> Mapping[str, Any]:
    """The event, checked for what :func:`proxy_event` reads."""
    if isinstance(event, (bytes, str)):
        try:
            event = json.loads(event)
        except ValueError:
            raise InvalidRequest("The HTTP event is not a JSON document.") from None
    if not isinstance(event, Mapping):
        raise InvalidRequest("The HTTP event is not a JSON object.")
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    if not isinstance(http, Mapping) or not isinstance(http.get("method"), str):
        raise InvalidRequest("The HTTP event has no requestContext.http.method.")
    raw_path = event.get("rawPath")
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        raise InvalidRequest("The HTTP event has no rawPath.")
    for field in ("headers", "queryStringParameters", "queryParameters"):
        if not string_map(event.get(field)):
            raise InvalidRequest(f"The HTTP event's {field} is not a map of strings.")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise InvalidRequest("The HTTP event's body is not a string.")
    if body and event.get("isBase64Encoded"):
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("The HTTP event's body is flagged base64 but is not.") from None
    return event


def string_map(value: Any) -> bool:
    """Absent, or a map of strings to strings."""
    if value is None:
        return True
    return isinstance(value, Mapping) and all(
        isinstance(name, str) and isinstance(item, str) for name, item in value.items()
    )


def proxy_event(event: Mapping[str, Any], route: str, params: dict[str, str]) -> dict[str, Any]:
    """The API Gateway (REST, proxy) event Chalice's ``Request`` reads."""
    context = event["requestContext"]
    http = context["http"]
    method = http["method"]
    path = http.get("path") if isinstance(http.get("path"), str) else event["rawPath"]
    headers = dict(event.get("headers") or {})
    query = query_values(event)
    return {
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route,
            "httpMethod": method,
            "path": path,
            "requestId": context.get("requestId"),
            "identity": {"sourceIp": http.get("sourceIp"), "userAgent": http.get("userAgent")},
        },
        "body": event.get("body"),
        "isBase64Encoded": bool(event.get("isBase64Encoded")),
    }


def query_values(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each query name's values, as API Gateway decodes them (``+`` is a space,
    as aws/aws-cdk#19827's logged event shows; Uppy sends spaces so).

    A function URL's ``rawQueryString`` is the query as sent; its
    ``queryStringParameters`` join a repeated name's values with commas, so
    the raw one is parsed. FC sends only ``queryParameters``, taken whole.
    """
    raw = event.get("rawQueryString")
    if isinstance(raw, str):
        query: dict[str, list[str]] = {}
        for name, item in parse_qsl(raw, keep_blank_values=True):
            query.setdefault(name, []).append(item)
        return query
    given = event.get("queryStringParameters") or event.get("queryParameters") or {}
    return {name: [item] for name, item in given.items()}


def platform_response(answer: Mapping[str, Any]) -> Answer:
    """The 2.0 response from Chalice's: repeated headers joined, JSON labelled.

    API Gateway labels a body without a type ``application/json``; a
    function URL or FC may not, so the label is added here.
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


def refusal(error: SignpostError, context: Any) -> Answer:
    """A refusal of the adapter's own, in the app's error shape, with its
    audit line (the app's edge never sees this request)."""
    audit.begin(context, None, None)
    audit.finish(error.status, (error.code, error.message), on_lambda(current_env()))
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(error.to_dict()),
        "isBase64Encoded": False,
    }
