"""deploy/smoke.py against a local function URL: an HTTP server on 127.0.0.1
that hands each request to ``app.handler`` as a payload 2.0 event, as Lambda
does, and one that answers as a function URL without its permissions."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

import app
from deploy.smoke import url_from_s_info
from tests.support.http_events import url_event

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "smoke-key-Hq02"


class FunctionUrl(BaseHTTPRequestHandler):
    """The app behind a local function URL (or a canned answer, if set)."""

    canned: tuple[int, bytes] | None = None

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.canned is not None:
            status, raw = self.canned
            headers = {"Content-Type": "application/json"}
        else:
            event = url_event("POST", self.path, dict(self.headers.items()), body)
            answer = app.handler(event, SimpleNamespace(aws_request_id="smoke-1"))
            status, raw, headers = answer["statusCode"], answer["body"].encode(), answer["headers"]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def serve(env: Callable[..., None]) -> Iterator[Callable[..., str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(canned: tuple[int, bytes] | None = None) -> str:
        handler = type("Handler", (FunctionUrl,), {"canned": canned})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def smoke(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.smoke", *args, "--wait", "0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SMOKE_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_ticket_passes(serve: Callable[..., str], env: Callable[..., None]) -> None:
    env(AUTH_MODE="none")
    result = smoke(serve(), "--auth-mode", "none")
    assert result.returncode == 0, result.stderr
    assert "smoke test passed" in result.stdout


def test_with_auth_on_signposts_refusal_passes_and_a_token_must_get_a_ticket(
    serve: Callable[..., str], env: Callable[..., None]
) -> None:
    env(AUTH_MODE="api-key", API_KEYS=API_KEY)
    url = serve()
    assert smoke(url, "--auth-mode", "api-key").returncode == 0  # a 401 from signpost
    assert smoke(url, "--auth-mode", "api-key", token=API_KEY).returncode == 0
    refused = smoke(url, "--auth-mode", "api-key", token="a-wrong-key")
    assert refused.returncode == 1
    assert "answered 403 AccessDenied" in refused.stderr
    assert "a-wrong-key" not in refused.stderr + refused.stdout


def test_a_refusal_fails_where_auth_is_off(
    serve: Callable[..., str], env: Callable[..., None]
) -> None:
    env(AUTH_MODE="api-key", API_KEYS=API_KEY)
    result = smoke(serve(), "--auth-mode", "none")
    assert result.returncode == 1
    assert "answered 401 MissingCredentials" in result.stderr


@pytest.mark.parametrize(
    ("canned", "reported"),
    [
        ((403, b'{"Message":"Forbidden"}'), "403 without signpost error shape"),
        ((500, b"Internal Server Error"), "500 without signpost error shape"),
        ((200, b"{}"), "200 without a ticket"),
    ],
)
def test_the_platforms_own_answers_fail(
    serve: Callable[..., str], canned: tuple[int, bytes], reported: str
) -> None:
    result = smoke(serve(canned), "--auth-mode", "jwt")
    assert result.returncode == 1
    assert reported in result.stderr


def test_nothing_listening_fails() -> None:
    result = smoke("http://127.0.0.1:9", "--auth-mode", "none")
    assert result.returncode == 1
    assert "no answer" in result.stderr


def test_the_fc_url_comes_from_s_info(
    serve: Callable[..., str], env: Callable[..., None], tmp_path: Path
) -> None:
    env(AUTH_MODE="none")
    info = {"signpost": {"functionName": "signpost-dev", "url": {"system_url": serve()}}}
    (tmp_path / "info.json").write_text(json.dumps(info))
    assert smoke("--s-info", str(tmp_path / "info.json"), "--auth-mode", "none").returncode == 0
    with pytest.raises(ValueError, match="system_url"):
        url_from_s_info({"signpost": {"functionName": "signpost-dev"}})
