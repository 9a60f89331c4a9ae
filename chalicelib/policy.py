"""POST policies: the JSON document the storage service checks a form against.

OSS ``PostObject`` and S3 ``POST Object`` share the format: an ``expiration``
and a list of conditions, serialised as JSON and sent base64-encoded in the
``policy`` field. The signature is computed over that base64 text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime

Condition = dict[str, str] | list[str | int]

# One encoder for every policy: ``json.dumps`` with separators makes a new one per call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def iso8601(moment: datetime) -> str:
    """``moment`` (UTC) as a policy's ``expiration`` and a ticket's
    ``expires_at``: ``2026-11-24T12:10:00Z``, whole seconds.

    Formatted field by field, as :func:`.signers.amz_date`, rather than by ``strftime``.
    """
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{day}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


def exact(field: str, value: str) -> list[str | int]:
    """``["eq", "$field", value]``: the form must carry exactly this value."""
    return ["eq", f"${field}", value]


def starts_with(field: str, prefix: str) -> list[str | int]:
    return ["starts-with", f"${field}", prefix]


def length_range(low: int, high: int) -> list[str | int]:
    return ["content-length-range", low, high]


def binding(fields: Mapping[str, str]) -> list[Condition]:
    """One exact condition per form field, in the fields' order."""
    return [exact(name, value) for name, value in fields.items()]


def encode_policy(expiration: datetime, conditions: list[Condition]) -> str:
    """The base64 policy: compact JSON, ASCII-only, so every byte is predictable."""
    document = {"expiration": iso8601(expiration), "conditions": conditions}
    text = _COMPACT_JSON.encode(document)
    return base64.b64encode(text.encode("ascii")).decode("ascii")
