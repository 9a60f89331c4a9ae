"""Alibaba Function Compute 3.0 entry point: ``fc.handler`` beside ``app.py``.

An FC HTTP trigger calls a built-in-runtime function with the request as a
JSON document modelled on Lambda's payload format 2.0; the one adapter for
such events (:mod:`chalicelib.http_events`, which Lambda's function URL uses
too) runs the very app Lambda runs and turns its answer back.

The function's role keys (``context.credentials`` up to Python 3.10, the
``ALIBABA_CLOUD_*`` variables from 3.12) reach the OSS signer through a
per-request environment, never by writing to ``os.environ``. The context
reaches the app as ``app.lambda_context`` (FC's has ``request_id``).
"""

from __future__ import annotations

from typing import Any

import app as chalice_app
from chalicelib.environment import request_env
from chalicelib.http_events import answer_event

# context.credentials attribute -> the variable the OSS settings fall back to.
CONTEXT_CREDENTIALS = (
    ("access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ("access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ("security_token", "ALIBABA_CLOUD_SECURITY_TOKEN"),
)


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
    with request_env(role_credentials(context)):
        return answer_event(event, chalice_app.app, context)
