"""The dev bucket's HTTP server: ``POST /`` (PostObject), ``GET /<key>``,
``DELETE /<key>`` (signed, :mod:`devbucket.rest_auth`), CORS.

Standard library ``ThreadingHTTPServer``; one bucket per server, addressed
like a bucket's own host (``http://127.0.0.1:PORT/<key>``, as
``https://BUCKET.oss-REGION.aliyuncs.com/<key>``). Tests start it on port 0
in a thread; ``make run`` starts it beside the API and the page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import callback, conditions, oss, rest_auth, s3, service
from .conditions import Policy
from .forms import FilePart, FormFields, InvalidField, MalformedForm, Readable, read_form
from .service import Bucket, Provider, ServiceError
from .store import AlreadyExists, InvalidKey, ObjectStore, Upload

log = logging.getLogger("devbucket")

DEV_BUCKET = "signpost-dev"
DEV_REGION = "cn-hangzhou"
DEV_ACCESS_KEY_ID = "LTAIdevbucketkey"
DEV_ACCESS_KEY_SECRET = "devbucket-secret-for-local-use-only"
DEV_S3_REGION = "us-east-1"
DEV_S3_ACCESS_KEY_ID = "AKIADEVBUCKETLOCAL00"
DEV_S3_SECRET_ACCESS_KEY = "devbucket-s3-secret-for-local-use-only"
PROVIDERS: dict[str, Provider] = {"oss": oss, "s3": s3}
DEV_BUCKETS = {
    "oss": Bucket(DEV_BUCKET, DEV_REGION, {DEV_ACCESS_KEY_ID: DEV_ACCESS_KEY_SECRET}),
    "s3": Bucket(DEV_BUCKET, DEV_S3_REGION, {DEV_S3_ACCESS_KEY_ID: DEV_S3_SECRET_ACCESS_KEY}),
}
CORS_METHODS = ("GET", "HEAD", "POST")
DRAIN_LIMIT = (
    64 * 1024**2
)  # after a refusal, read at most this much more, so the client sees the answer
IDLE_TIMEOUT = 30.0  # seconds a connection may send nothing before it is dropped
MAX_CONNECTIONS = 32  # connections served at once; more are turned away with a 503
REST_BODY_LIMIT = 64 * 1024  # the largest body a REST call (not an upload) may carry


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class DevBucketConfig:
    """Where objects go, which service's rules (``provider``: ``oss`` or
    ``s3``; one bucket speaks one), which bucket this is (by default that
    provider's dev bucket, :data:`DEV_BUCKETS`), who may post and from where.

    Its key pair is public (it is in this repository), so any web page could
    sign a form for it: it takes form posts only from ``allowed_origins``
    (or with no ``Origin``, as tools send them), calls back only
    ``callback_urls``, and bounds connections (``idle_timeout`` seconds of
    silence, ``max_connections`` at once). ``clock`` is injectable so a test
    can move past a policy's expiration.
    """

    root: Path
    provider: str = "oss"
    bucket: Bucket | None = None
    allowed_origins: frozenset[str] = frozenset()
    callback_urls: frozenset[str] = frozenset()
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}")

    @property
    def rules(self) -> Provider:
        return PROVIDERS[self.provider]

    @property
    def served_bucket(self) -> Bucket:
        return self.bucket or DEV_BUCKETS[self.provider]


class _Body:
    """The request body, read no further than its ``Content-Length``."""

    def __init__(self, stream: Readable, length: int) -> None:
        self._stream = stream
        self.remaining = length
        self.stalled = False

    def read(self, size: int) -> bytes:
        try:
            data = self._stream.read(min(size, self.remaining))
        except TimeoutError:  # the socket's idle timeout, mid-body
            self.stalled = True
            raise ServiceError(
                400,
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to "
                "within the timeout period.",
            ) from None
        self.remaining -= len(data)
        return data

    def drain(self) -> bool:
        """Read and drop the rest, if it is small enough; whether it was."""
        if self.stalled or self.remaining > DRAIN_LIMIT:
            return False
        try:
            while self.remaining and self.read(64 * 1024):
                pass
        except ServiceError:  # it stalled while being drained
            return False
        return not self.remaining


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class DevBucketServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: DevBucketConfig) -> None:
        super().__init__(address, DevBucketHandler)
        self.config = config
        self.store = ObjectStore(config.root)
        self.callback_key = callback.CallbackKey()
        self._slots = threading.BoundedSemaphore(config.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to ``max_connections`` at once; past
        that, a ``503`` at once rather than a wait, so the accepting loop
        (and ``shutdown``) never blocks on connections someone holds idle."""
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        error = ServiceError(
            503,
            "ServiceUnavailable",
            f"The dev bucket serves {self.config.max_connections} connections at once; try again.",
        )
        body = service.error_document(error, secrets.token_hex(12).upper(), self.url)
        head = (
            f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode("ascii") + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (an upload cancelled in the page) is no
        failure of the bucket: one log line, not a traceback on the console."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.info("client %s went away mid-request", client_address[0])
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET address
        return f"http://{host}:{port}"

    def post_object(self, body: _Body, content_type: str, base_url: str) -> _Answer:
        """PostObject: check the form as the provider does, then store the file."""
        rules, bucket = self.config.rules, self.config.served_bucket
        post = _PostObject(rules, bucket, self.store, self.config.clock())
        try:
            read_form(body, body.remaining, content_type, post.accept)
            stored = post.finish()
        except (MalformedForm, InvalidField, InvalidKey, AlreadyExists) as error:
            raise rules.storage_refusal(error) from None
        finally:
            post.discard()
        key, etag = stored.key, f'"{stored.etag}"'
        fields = post.fields
        if post.callback is not None:  # OSS answers with the callback's answer
            key_url = self.url + callback.KEY_PATH
            answer = callback.perform(
                post.callback,
                stored,
                fields,
                self.callback_key,
                key_url,
                allowed=self.config.callback_urls,
            )
            return _Answer(200, answer, {"ETag": etag, "Content-Type": "application/json"})
        location = f"{base_url}/{quote(key)}"
        status, document = service.success(fields, bucket, key, location, etag)
        headers = {"ETag": etag, **({"Content-Type": "application/xml"} if document else {})}
        return _Answer(status, document, headers)

    def delete_object(self, request: rest_auth.Request) -> _Answer:
        """DeleteObject: a signed ``DELETE /<key>``; ``204`` whether or not the key was there."""
        rules, bucket = self.config.rules, self.config.served_bucket
        if not request.key:
            raise ServiceError(405, "MethodNotAllowed", "The dev bucket cannot delete itself.")
        rest_auth.verify(rules.REST, request, bucket, self.config.clock())
        self.store.delete(request.key)
        return _Answer(204)


class _PostObject:
    """One form upload: checked when the file part starts, stored when it ends."""

    def __init__(self, rules: Provider, bucket: Bucket, store: ObjectStore, now: datetime) -> None:
        self.rules = rules
        self.bucket = bucket
        self.store = store
        self.now = now
        self.policy: Policy | None = None
        self.fields: dict[str, str] = {}  # one value each, as the upload takes effect
        self.part: FilePart | None = None
        self.upload: Upload | None = None
        self.callback: callback.Callback | None = None

    def accept(self, form: FormFields, part: FilePart) -> Upload:
        """Everything but the size, before a byte of the file is kept."""
        admitted = self.rules.authorize(form, self.bucket, self.now)
        self.policy, self.fields = admitted.policy, admitted.fields
        fields = self.fields
        self.store.path_for(fields["key"])
        if fields["key"].startswith(callback.KEY_FOLDER):
            raise InvalidKey(f"The dev bucket keeps {callback.KEY_FOLDER} for its callback key.")
        self.callback = self.rules.upload_callback(fields)
        limit = self.policy.size_limit(service.POST_OBJECT_LIMIT)
        self.part = part
        self.upload = self.store.begin(limit, lambda: service.refusal(conditions.EntityTooLarge()))
        return self.upload

    def finish(self) -> callback.Stored:
        """The size, then the store; what was stored."""
        assert self.policy is not None
        assert self.part is not None
        assert self.upload is not None
        fields = self.fields
        service.check_size(self.policy, self.upload.size)
        key = fields["key"]
        content_type = self.rules.content_type(fields, self.part, key)
        self.store.commit(
            self.upload,
            key,
            content_type,
            self.rules.object_headers(fields),
            overwrite=not self.rules.forbids_overwrite(fields),
        )
        etag = self.upload.md5_hex.upper()
        return callback.Stored(self.bucket.name, key, etag, self.upload.size, content_type)

    def discard(self) -> None:
        if self.upload is not None:
            self.upload.discard()


class DevBucketHandler(BaseHTTPRequestHandler):
    server: DevBucketServer
    protocol_version = "HTTP/1.1"
    server_version = "devbucket"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.config.idle_timeout)  # reads and writes alike

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- answers ----------------------------------------------------------

    def _cors(self) -> dict[str, str]:
        origin = self.headers.get("Origin")
        if origin not in self.server.config.allowed_origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(CORS_METHODS),
            "Access-Control-Expose-Headers": f"ETag, {self.server.config.rules.REQUEST_ID_HEADER}",
            "Vary": "Origin",
        }

    def _send(self, answer: _Answer, request_id: str, *, head: bool = False) -> None:
        self.send_response(answer.status)
        headers = {
            self.server.config.rules.REQUEST_ID_HEADER: request_id,
            "Content-Length": str(len(answer.body)),
            **answer.headers,
            "X-Content-Type-Options": "nosniff",
            **self._cors(),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(answer.body)

    def _send_error(self, error: ServiceError, request_id: str, *, head: bool = False) -> None:
        host_id = f"{self.server.config.served_bucket.name}.{self.headers.get('Host', 'localhost')}"
        body = service.error_document(error, request_id, host_id)
        self._send(
            _Answer(error.status, body, {"Content-Type": "application/xml"}), request_id, head=head
        )

    # -- methods ----------------------------------------------------------

    def do_OPTIONS(self) -> None:
        """A CORS preflight, answered like a bucket with one CORS rule:
        the configured origins, GET/HEAD/POST, any header."""
        request_id = secrets.token_hex(12).upper()
        origin = self.headers.get("Origin")
        method = self.headers.get("Access-Control-Request-Method")
        if not origin or not method:
            missing = "Origin" if not origin else "Access-Control-Request-Method"
            error = ServiceError(
                400, "BadRequest", f"Insufficient information. {missing} request header needed."
            )
            return self._send_error(error, request_id)
        if origin not in self.server.config.allowed_origins or method not in CORS_METHODS:
            error = ServiceError(
                403,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed. The Origin or the "
                "Access-Control-Request-Method is not allowed by the bucket's CORS rule.",
            )
            return self._send_error(error, request_id)
        headers = {"Access-Control-Max-Age": "600"}
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        self._send(_Answer(200, b"", headers), request_id)

    def do_POST(self) -> None:
        request_id = secrets.token_hex(12).upper()
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            error = ServiceError(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
            return self._send_error(error, request_id)
        body = _Body(self.rfile, int(length))
        try:
            if urlsplit(self.path).path != "/":
                raise ServiceError(
                    405, "MethodNotAllowed", "PostObject posts to the bucket's root: POST /."
                )
            self._check_origin()
            host = self.headers.get("Host")
            base_url = f"http://{host}" if host else self.server.url
            answer = self.server.post_object(body, self.headers.get("Content-Type", ""), base_url)
        except ServiceError as error:
            log.info("refused %s %s: %s", error.status, error.code, error.message)
            return self._refuse(error, body, request_id)
        except Exception:  # a bug or a full disk: a clean 500, the details in the log
            log.exception("PostObject failed")
            failure = ServiceError(500, "InternalError", "The dev bucket failed; see its log.")
            return self._refuse(failure, body, request_id)
        self._send(answer, request_id)

    def _check_origin(self) -> None:
        """A browser names the page that posts: only the configured pages may.

        Stricter than OSS, which takes a form from anywhere: any page could
        sign one with this bucket's public key, store HTML here and make it
        call back where it likes. A post with no ``Origin`` (curl, tests) is
        not from a page, and goes through."""
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.config.allowed_origins:
            raise ServiceError(
                403,
                "AccessForbidden",
                "The dev bucket takes form posts only from the pages make run serves; "
                "this Origin is not one of them.",
            )

    def _refuse(self, error: ServiceError, body: _Body, request_id: str) -> None:
        """Answer a refused POST; keep the connection only if its body could be read to the end."""
        if not body.drain():
            self.close_connection = True
        self._send_error(error, request_id)

    def do_DELETE(self) -> None:
        request_id = secrets.token_hex(12).upper()
        length = self.headers.get("Content-Length", "0")
        body = _Body(self.rfile, int(length) if length.isdigit() else 0)
        try:
            if not length.isdigit() or body.remaining > REST_BODY_LIMIT:
                raise ServiceError(
                    400, "InvalidArgument", "A DELETE takes no body (or a small, measured one)."
                )
            request = self._rest_request(body.read(body.remaining))
            answer = self.server.delete_object(request)
        except ServiceError as error:
            log.info("refused %s %s: %s", error.status, error.code, error.message)
            return self._refuse(error, body, request_id)
        self._send(answer, request_id)

    def _rest_request(self, body: bytes) -> rest_auth.Request:
        """This request as :mod:`devbucket.rest_auth` verifies it."""
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        return rest_auth.Request(
            self.command, split.path, split.query, headers, hashlib.sha256(body).hexdigest()
        )

    def _get(self, *, head: bool) -> None:
        request_id = secrets.token_hex(12).upper()
        path = urlsplit(self.path).path
        if path == callback.KEY_PATH:
            pem = self.server.callback_key.public_pem()
            answer = _Answer(200, pem, {"Content-Type": "application/x-pem-file"})
            return self._send(answer, request_id, head=head)
        key = unquote(path[1:])
        stored = self.server.store.get(key) if key else None
        if stored is None:
            error = ServiceError(404, "NoSuchKey", "The specified key does not exist.")
            return self._send_error(error, request_id, head=head)
        size = stored.path.stat().st_size
        self.send_response(200)
        headers = {
            self.server.config.rules.REQUEST_ID_HEADER: request_id,
            "Content-Type": stored.content_type,
            "Content-Length": str(size),
            # Stored without a disposition (no ticket stores one so): downloaded,
            # never rendered on this origin, where stored HTML would run.
            "Content-Disposition": "attachment",
            **stored.headers,
            "X-Content-Type-Options": "nosniff",
            **self._cors(),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            with stored.path.open("rb") as source:
                shutil.copyfileobj(source, self.wfile)

    def do_GET(self) -> None:
        self._get(head=False)

    def do_HEAD(self) -> None:
        self._get(head=True)


def make_server(config: DevBucketConfig, host: str = "127.0.0.1", port: int = 0) -> DevBucketServer:
    """A dev bucket bound to ``host:port`` (port 0: any free one), not yet serving."""
    return DevBucketServer((host, port), config)


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve until ``server.shutdown()``; the thread is a daemon."""
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name=type(server).__name__, daemon=True
    )
    thread.start()
    return thread
