"""CORS for the API: the exact origins of ``CORS_ALLOW_ORIGIN``, echoed back.

Chalice's ``CORSConfig`` takes one fixed origin; a function shared by staging
and production needs a list, so the header rule lives here, in one place
(the list is loaded with the other settings, in :mod:`chalicelib.settings`).
"""

from __future__ import annotations

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"  # DELETE: aborting a multipart upload
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"  # seconds a browser may cache a preflight


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
