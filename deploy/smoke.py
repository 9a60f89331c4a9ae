"""After a deploy: ask the deployed URL for one ticket; fail unless signpost answers.

    python -m deploy.smoke URL --auth-mode MODE
    python -m deploy.smoke --s-info info.json --auth-mode MODE   # `s info -o json`'s output

Passes on a ``200`` ticket (``url`` and ``fields``), or, where ``AUTH_MODE``
is not ``none`` and no ``SMOKE_TOKEN`` is given, on a ``401``/``403`` in
signpost's error shape: that refusal came from the app, not from the
platform (a function URL whose permissions are missing answers ``403``
``{"Message": "Forbidden"}``, which fails here). With ``SMOKE_TOKEN`` set (a
JWT or API key for a test caller), only a ``200`` passes. Anything else is
retried for up to ``--wait`` seconds (a new function URL's permissions take a
few seconds to apply), then fails with the last answer's status and code,
never a token or signature. Standard library only: CI runs it with any
Python.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TICKET_REQUEST = {"filename": "smoke-test.png", "content_type": "image/png", "size": 1}


def url_from_s_info(info: dict[str, Any]) -> str:
    """The HTTP trigger's public URL in ``s info -o json`` (the fc3
    component's ``url.system_url``, under the resource's name)."""
    for resource in info.values():
        url = (resource.get("url") or {}).get("system_url") if isinstance(resource, dict) else None
        if url:
            return str(url)
    raise ValueError("no url.system_url in the `s info` output")


def ask_once(base_url: str, token: str | None, timeout: float) -> tuple[int, Any]:
    """One ``POST /upload-tickets``: the status and the parsed body (or None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base_url.rstrip("/") + "/upload-tickets",
        data=json.dumps(TICKET_REQUEST).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def verdict(status: int, body: Any, auth_on: bool) -> str | None:
    """``None`` when the answer is signpost's and what this deploy should
    give; else why not."""
    if status == 200:
        if isinstance(body, dict) and body.get("url") and isinstance(body.get("fields"), dict):
            return None
        return "200 without a ticket (url, fields)"
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if status in (401, 403) and auth_on and code:
        return None
    return f"{status} {code or 'without signpost error shape'}"


def smoke(base_url: str, auth_mode: str, token: str | None, wait: float) -> str | None:
    """Ask until the answer passes or ``wait`` seconds are up: ``None`` or why it failed."""
    auth_on = auth_mode != "none" and not token
    deadline = time.monotonic() + wait
    while True:
        try:
            status, body = ask_once(base_url, token, timeout=20)
            problem = verdict(status, body, auth_on)
        except (urllib.error.URLError, OSError) as error:
            problem = f"no answer ({type(error).__name__})"
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.smoke", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("url", nargs="?", help="the deployed base URL")
    where.add_argument("--s-info", type=Path, help="a file holding `s info -o json`'s output")
    parser.add_argument("--auth-mode", required=True, choices=["none", "api-key", "jwt"])
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to keep retrying")
    args = parser.parse_args(argv)
    base_url = args.url or url_from_s_info(json.loads(args.s_info.read_text()))
    problem = smoke(base_url, args.auth_mode, os.environ.get("SMOKE_TOKEN") or None, args.wait)
    if problem:
        print(f"smoke test failed: {base_url}/upload-tickets answered {problem}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {base_url}/upload-tickets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
