"""CORS for the API: exact origins from ``CORS_ALLOW_ORIGIN``, echoed back.

Chalice's ``CORSConfig`` takes one fixed origin; a function shared by staging
and production needs a list, so the whole rule lives here, in one place.
"""

from __future__ import annotations

import re

from .errors import NotConfigured
from .settings import Env, per_environment

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"  # seconds a browser may cache a preflight

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")


@per_environment
def allowed_origins(env: Env) -> frozenset[str]:
    """The exact origins allowed to call the API; empty means CORS is off.

    Lower-cased: a browser sends the scheme and host lower-case, so a
    configured ``https://App.example.com`` must still match.
    """
    raw = env.get("CORS_ALLOW_ORIGIN", "")
    origins = frozenset(item.strip().lower() for item in raw.split(",") if item.strip())
    if not all(_ORIGIN.fullmatch(origin) for origin in origins):
        raise NotConfigured(
            "CORS_ALLOW_ORIGIN", "must be a comma list of origins like https://app.example.com"
        )
    return origins


def cors_headers(origin: str | None, allowed: frozenset[str], preflight: bool) -> dict[str, str]:
    """The CORS headers for one answer.

    Nothing when CORS is off. ``Vary: Origin`` whenever it is on, so a cache
    never serves one origin's answer to another. The origin is echoed only
    when listed: never ``*``, and no credentials mode (the API uses bearer
    tokens, not cookies).
    """
    if not allowed:
        return {}
    headers = {"Vary": "Origin"}
    if origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
        if preflight:
            headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            headers["Access-Control-Max-Age"] = MAX_AGE
    return headers
