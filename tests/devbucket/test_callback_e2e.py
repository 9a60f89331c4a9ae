"""The OSS upload callback end to end: a ticket from the API, an upload to
the dev bucket, the dev bucket's signed call to ``POST /oss-callback``.

The API is the Chalice app served over loopback by ``chalice local``'s own
server (in a thread, so the test sets its environment and reads its log); the
dev bucket signs with a key pair of its own and serves the public half, and
imports nothing from ``chalicelib``. The function trusts that key only when
``OSS_CALLBACK_PUBKEY_URL_PREFIX`` names the dev bucket.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from chalicelib import callback as function_callback
from devbucket import callback as bucket_callback
from tests.support.devbucket import (
    HOST,
    PNG,
    RunningBucket,
    bucket,
    free_port,
    oss_error,
    post_form,
)
from tests.support.forms import post, refused, v1_form

__all__ = ["bucket"]

FILENAME = 'my "cat".png'  # quotes: the body is JSON the dev bucket must escape


@pytest.fixture
def local_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app over HTTP on a free loopback port, as ``chalice local`` serves it."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app

    # A fresh bucket, a fresh key: nothing remembered from another test's bucket.
    monkeypatch.setattr(function_callback, "PUBLIC_KEYS", function_callback.PublicKeys())
    server = LocalDevServer(app, Config.create(), HOST, 0)
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.server.server_address[1]}"
    server.shutdown()
    server.server.server_close()


def callback_settings(bucket: RunningBucket, api: str, *, trust_bucket: bool) -> dict[str, str]:
    """The API's settings for the dev bucket, with the callback to ``api``,
    which the bucket may call, as ``make run`` wires them."""
    prefix = f"{bucket.url}/{bucket_callback.KEY_FOLDER}" if trust_bucket else ""
    bucket.allow_callbacks(f"{api}/oss-callback")
    return bucket.env(OSS_CALLBACK_URL=f"{api}/oss-callback", OSS_CALLBACK_PUBKEY_URL_PREFIX=prefix)


def upload_png(api: str) -> tuple[dict[str, Any], Any]:
    """A ticket from ``POST /upload-tickets``, then the upload a browser makes with it."""
    request = {"filename": FILENAME, "content_type": "image/png", "size": len(PNG)}
    ticket = requests.post(f"{api}/upload-tickets", json=request, timeout=10).json()
    response = post_form(ticket["url"], ticket["fields"], PNG, filename=FILENAME)
    return ticket, response


def messages(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records]


def audit_lines(out: str) -> list[dict[str, Any]]:
    """The function's audit lines among what was written to standard output."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "event" in line]


def key_fetches(caplog: pytest.LogCaptureFixture) -> int:
    """How many times the dev bucket served its public key (its request log)."""
    return sum(f"GET {bucket_callback.KEY_PATH} " in line for line in messages(caplog.records))


def test_an_upload_calls_back_and_the_uploader_gets_the_verified_answer(
    env: Callable[..., None],
    bucket: RunningBucket,
    local_api: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    env(**callback_settings(bucket, local_api, trust_bucket=True))
    caplog.set_level(logging.INFO, logger="devbucket")

    ticket, response = upload_png(local_api)

    # The dev bucket's call reached the route and was verified; OSS passes the answer on.
    captured = capfd.readouterr()
    assert '"POST /oss-callback HTTP/1.1" 200' in captured.err
    assert key_fetches(caplog) == 1
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "key": ticket["key"]}
    assert bucket.stored(ticket["key"]) == PNG
    # The function's audit lines: the ticket, then what the dev bucket's body
    # reported, every variable filled in (the MD5 OSS computes among them).
    ticket_line, callback_line = audit_lines(captured.out)
    assert ticket_line["event"] == "ticket"
    reported = ("event", "bucket", "key", "etag", "size", "content_type", "filename", "content_md5")
    assert {name: callback_line[name] for name in reported} == {
        "event": "callback",
        "bucket": "signpost-dev",
        "key": ticket["key"],
        "etag": hashlib.md5(PNG).hexdigest().upper(),
        "size": len(PNG),
        "content_type": "image/png",
        "filename": FILENAME,
        "content_md5": base64.b64encode(hashlib.md5(PNG).digest()).decode(),
    }
    assert callback_line["expires_at"] == ticket["expires_at"]


def test_without_the_dev_prefix_the_function_refuses_and_the_uploader_hears_it(
    env: Callable[..., None],
    bucket: RunningBucket,
    local_api: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    env(**callback_settings(bucket, local_api, trust_bucket=False))
    caplog.set_level(logging.INFO, logger="devbucket")

    ticket, response = upload_png(local_api)

    # OSS's answer when the callback fails: 203, and the object is kept.
    captured = capfd.readouterr()
    assert '"POST /oss-callback HTTP/1.1" 403' in captured.err
    assert key_fetches(caplog) == 0  # an untrusted key URL is never fetched
    assert response.status_code == 203
    assert oss_error(response) == ("CallbackFailed", "Error status : 403.")
    assert bucket.stored(ticket["key"]) == PNG
    ticket_line, refused_line = audit_lines(captured.out)
    assert (refused_line["event"], refused_line["code"]) == ("refused", "AccessDenied")
    assert refused_line["reason"] == "public key URL is not on a trusted host"
    assert not any(line["event"] == "callback" for line in (ticket_line, refused_line))


MARKUP = b"<!DOCTYPE html><html><script>alert(document.domain)</script></html>"


@pytest.mark.parametrize(
    ("filename", "content_type"), [("cat.png", "image/png"), ("paper.pdf", "application/pdf")]
)
def test_with_verify_content_markup_is_refused_by_the_callback_203_and_gone(
    env: Callable[..., None],
    bucket: RunningBucket,
    local_api: str,
    capfd: pytest.CaptureFixture[str],
    filename: str,
    content_type: str,
) -> None:
    env(**callback_settings(bucket, local_api, trust_bucket=True), VERIFY_CONTENT="on")
    request = {"filename": filename, "content_type": content_type, "size": len(MARKUP)}
    ticket = requests.post(f"{local_api}/upload-tickets", json=request, timeout=10).json()
    response = post_form(ticket["url"], ticket["fields"], MARKUP, filename=filename)
    # The function deleted the object, then refused: OSS tells the uploader 203.
    assert response.status_code == 203
    assert oss_error(response) == ("CallbackFailed", "Error status : 422.")
    assert bucket.server.store.get(ticket["key"]) is None
    # The audit lines: the ticket, the callback, its check, and the refusal OSS heard.
    lines = audit_lines(capfd.readouterr().out)
    assert [line["event"] for line in lines] == ["ticket", "verify", "refused"]
    verdict = lines[1]
    assert {name: verdict[name] for name in ("where", "bucket", "key", "outcome")} == {
        "where": "callback",
        "bucket": "signpost-dev",
        "key": ticket["key"],
        "outcome": "deleted",
    }
    assert (verdict["content_type"], verdict["detected"]) == (content_type, "text/html")
    assert (lines[2]["code"], lines[2]["status"]) == ("ContentMismatch", 422)


def test_with_verify_content_a_true_png_passes_the_callback(
    env: Callable[..., None], bucket: RunningBucket, local_api: str
) -> None:
    env(**callback_settings(bucket, local_api, trust_bucket=True), VERIFY_CONTENT="on")
    ticket, response = upload_png(local_api)
    assert response.status_code == 200, response.text
    assert bucket.stored(ticket["key"]) == PNG


# -- the dev bucket's side, with forms the test signs itself ----------------


def callback_form(document: dict[str, Any], key: str = "uploads/cb/cat.png") -> dict[str, str]:
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    fields = {"key": key, "callback": encoded, "x:note": "a b&c"}
    return v1_form(fields, [{name: value} for name, value in fields.items()])


def test_a_callback_field_that_is_not_base64_json_is_refused_before_storing(
    bucket: RunningBucket,
) -> None:
    fields = {"key": "uploads/cb/cat.png", "callback": "not base64!"}
    response = post(bucket, v1_form(fields, [{name: value} for name, value in fields.items()]))
    refused(response, 400, "InvalidArgument")
    assert bucket.server.store.get("uploads/cb/cat.png") is None


def test_a_json_body_that_is_not_json_once_filled_is_refused(bucket: RunningBucket) -> None:
    document = {
        "callbackUrl": f"http://{HOST}:{free_port()}/cb",
        "callbackBody": '{"object":"${object}"}',  # quoted: the value's own quotes break it
        "callbackBodyType": "application/json",
    }
    refused(post(bucket, callback_form(document)), 400, "InvalidArgument")


def test_nobody_listening_is_a_203_and_the_object_is_kept(bucket: RunningBucket) -> None:
    document = {"callbackUrl": f"http://{HOST}:{free_port()}/cb", "callbackBody": "k=${object}"}
    bucket.allow_callbacks(document["callbackUrl"])
    response = post(bucket, callback_form(document))
    assert response.status_code == 203
    code, message = oss_error(response)
    assert code == "CallbackFailed"
    assert message.startswith("Error status : -1.")
    assert bucket.stored("uploads/cb/cat.png") == PNG


@dataclass
class Receiver:
    """A callback URL of the test's own: it records each call and answers ``answer``."""

    url: str
    calls: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answer: bytes = b'{"seen": true}'


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state = Receiver(f"http://{HOST}:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def test_an_answer_that_is_not_json_is_a_203(bucket: RunningBucket, receiver: Receiver) -> None:
    receiver.answer = b"OK"
    document = {"callbackUrl": receiver.url + "/cb", "callbackBody": "k=1"}
    bucket.allow_callbacks(document["callbackUrl"])
    response = post(bucket, callback_form(document))
    assert response.status_code == 203
    assert oss_error(response) == ("CallbackFailed", "Response body is not valid json format.")
    assert len(receiver.calls) == 1


def test_the_form_body_type_url_encodes_and_the_call_is_signed_as_oss_signs(
    bucket: RunningBucket, receiver: Receiver
) -> None:
    """The receiver checks the body and the signature with ``cryptography``
    directly: the dev bucket signs the decoded path, the query and the body."""
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import MD5
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    url = receiver.url + "/hook%20one?a=1&b=x%2By"
    document = {"callbackUrl": url, "callbackBody": "object=${object}&size=${size}&n=${x:note}"}
    bucket.allow_callbacks(url)
    response = post(bucket, callback_form(document, key="uploads/cb/a b.png"))

    assert response.status_code == 200
    assert response.json() == {"seen": True}
    [(path, headers, body)] = receiver.calls
    assert path == "/hook%20one?a=1&b=x%2By"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert body == f"object=uploads%2Fcb%2Fa%20b.png&size={len(PNG)}&n=a%20b%26c".encode()
    key_url = base64.b64decode(headers["x-oss-pub-key-url"]).decode()
    assert key_url == bucket.url + bucket_callback.KEY_PATH
    key: Any = load_pem_public_key(requests.get(key_url, timeout=5).content)
    signature = base64.b64decode(headers["authorization"])
    key.verify(signature, b"/hook one?a=1&b=x%2By\n" + body, PKCS1v15(), MD5())


def test_no_upload_can_take_the_keys_place(bucket: RunningBucket) -> None:
    key = bucket_callback.KEY_PATH[1:]
    fields = {"key": key}
    response = post(bucket, v1_form(fields, [{"key": key}]))
    refused(response, 400, "InvalidObjectName")
    assert requests.get(bucket.url + "/" + key, timeout=5).text.startswith("-----BEGIN PUBLIC KEY")
