"""The audit line: one JSON line on standard output for each decision (SPEC 14).

Who was given what, or refused why, is what an operator asks after the
fact ("who uploaded this key?"). The core names a decision and its facts as
it makes it (:func:`decided`, :func:`note`); the app's edge opens the
request's record (:func:`begin`) and writes it once every answer is made
(:func:`finish`), so every route, and every route added later, gets exactly
one line, refusals included. A decision made beside the request's own (the
content check of a completed upload) is written at once by :func:`record`.

Standard library only, one ``json.dumps`` and one write per line. The
counts ride on the same line in CloudWatch's Embedded Metric Format (the
``_aws`` member) on Lambda, so there is at most one metric document per
invocation; elsewhere (Function Compute, ``make run``) the line is the same
plain JSON without it. Only facts are noted: never a signature, a
credential, a token, a policy or a signed URL.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

NAMESPACE = "signpost"
MAX_TEXT = 256  # characters kept of text no check bounds, so a caller cannot make a line huge
# Counts per event: the metric, where its value comes from (1, or a field), its unit.
METRICS: Mapping[str, tuple[tuple[str, str | None, str], ...]] = {
    "ticket": (("Tickets", None, "Count"),),
    "refused": (("Refusals", None, "Count"),),
    "multipart.sign": (("PartsSigned", "parts", "Count"),),
    "multipart.complete": (
        ("UploadsCompleted", None, "Count"),
        ("BytesCompleted", "size", "Bytes"),
    ),
}
# Refusals by code, and all together (the alarm's rate): an empty set is no dimension.
_DIMENSIONS: Mapping[str, list[list[str]]] = {"refused": [["code"], []]}

_RECORD: ContextVar[dict[str, Any] | None] = ContextVar("signpost_audit", default=None)


def begin(context: object, source_ip: object, user_agent: object) -> None:
    """Open the request's record. ``context`` is the platform's: Lambda's
    names the invocation ``aws_request_id``, Function Compute's ``request_id``."""
    request_id = getattr(context, "aws_request_id", None) or getattr(context, "request_id", None)
    _RECORD.set(
        {
            "event": None,
            "request_id": request_id if isinstance(request_id, str) else None,
            "principal": None,
            "source_ip": _text(source_ip),
            "user_agent": _text(user_agent),
        }
    )


def note(**facts: Any) -> None:
    """Add facts to the request's record (ignored outside a request). The
    core notes what it has checked (a filename, a key): only text no check
    bounds (the user agent, a refusal's message) is cut here."""
    current = _RECORD.get()
    if current is not None:
        current.update(facts)


def decided(event: str, **facts: Any) -> None:
    """Name the request's decision (``ticket``, ``multipart.sign`` ...) and its facts."""
    note(event=event, **facts)


def principal_of_key(api_key: str) -> str:
    """A short id of an API key (``key:`` and 12 hex digits of its SHA-256): the same
    key gives the same id, and the id gives nothing of the key."""
    return "key:" + hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def policy_sha256(policy: str) -> str:
    """The id of a form ticket's policy: what the bucket received can be matched to it."""
    return hashlib.sha256(policy.encode("utf-8")).hexdigest()


def finish(status: int, refusal: tuple[str, str] | None, metrics: bool) -> None:
    """Write the request's line and close its record.

    ``refusal`` is the answer's error code and message, when it is one:
    then the event is ``refused`` whatever was decided before. A request
    that decided nothing and refused nothing (a preflight, the upload
    rules, a list of parts) writes no line. ``metrics``: add the line's
    counts for CloudWatch (on Lambda only: :func:`.settings.on_lambda`).
    """
    current = _RECORD.get()
    _RECORD.set(None)
    if current is None:
        return
    if refusal is not None:
        current.update(event="refused", status=status, code=refusal[0], message=_text(refusal[1]))
    if current["event"] is None:
        return
    _write(current, "ERROR" if status >= 500 else "INFO", metrics)


def record(event: str, level: str = "INFO", **facts: Any) -> None:
    """Write a decision made beside the request's own (``verify``) at once,
    with the request's who and where; it carries no metrics."""
    base = _RECORD.get() or {"request_id": None, "principal": None}
    who = {name: base.get(name) for name in ("request_id", "principal", "source_ip", "user_agent")}
    _write({**who, "event": event, **facts}, level, False)


def _write(facts: Mapping[str, Any], level: str, metrics: bool) -> None:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    line: dict[str, Any] = {"time": f"{stamp}.{int(now % 1 * 1000):03d}Z", "level": level}
    line.update(facts)
    if metrics:
        line.update(_emf(line, int(now * 1000)))
    sys.stdout.write(json.dumps(line) + "\n")


def _emf(line: Mapping[str, Any], timestamp_ms: int) -> dict[str, Any]:
    """The line's counts as an Embedded Metric Format document (root members)."""
    counts = METRICS.get(line["event"], ())
    if not counts:
        return {}
    values = {name: (1 if field is None else line.get(field) or 0) for name, field, _ in counts}
    directive = {
        "Namespace": NAMESPACE,
        "Dimensions": _DIMENSIONS.get(line["event"], [[]]),
        "Metrics": [{"Name": name, "Unit": unit} for name, _, unit in counts],
    }
    return {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive]}, **values}


def _text(value: Any) -> Any:
    """Text cut to ``MAX_TEXT`` characters; anything else as is."""
    return value[:MAX_TEXT] if isinstance(value, str) and len(value) > MAX_TEXT else value
