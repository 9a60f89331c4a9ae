"""The dev bucket's HTTP server: HTTP and nothing else. It reads requests
(bodies no further than their ``Content-Length``, connections bounded in
number and idle time), routes them, and answers with CORS:

* ``POST /``: PostObject (:mod:`devbucket.postobject`);
* the signed REST API (:mod:`devbucket.rest`): ``DELETE /<key>``, and the
  multipart upload's ``POST /<key>?uploads``, ``PUT /<key>?partNumber=&uploadId=``
  (its body streamed, never held whole), ``GET /<key>?uploadId=``,
  ``POST /<key>?uploadId=``, ``DELETE /<key>?uploadId=``;
* ``GET``/``HEAD /<key>``: the stored object, one ``Range`` of it as the
  provider serves ranges (:mod:`devbucket.ranges`), its signature verified
  when it carries one; and the callback key (:data:`devbucket.callback.KEY_PATH`);
* ``OPTIONS``: CORS preflights.

Standard library ``ThreadingHTTPServer``; one bucket per server, addressed
like a bucket's own host (``http://127.0.0.1:PORT/<key>``, as
``https://BUCKET.oss-REGION.aliyuncs.com/<key>``). Tests start it on port 0
in a thread; ``make run`` starts it beside the API and the page.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import shutil
import socket
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import callback, postobject, ranges, rest
from .answers import XML, Answer, error_document
from .config import DevBucketConfig
from .errors import ServiceError
from .forms import Readable
from .signatures import Request, verify_request
from .store import ObjectStore
from .uploads import Uploads

log = logging.getLogger("devbucket")

CORS_METHODS = ("GET", "HEAD", "POST", "PUT")
# After a refusal, read at most this much more of the body, so the client sees the answer.
DRAIN_LIMIT = 64 * 1024**2
# The largest body a REST call other than a part may carry: a completion list
# of 10,000 parts is about 1 MiB.
REST_BODY_LIMIT = 4 * 1024**2
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()  # a GET's body


def new_request_id() -> str:
    """A request id as the services give one: 24 upper-case hex digits."""
    return secrets.token_hex(12).upper()


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

    def read_all(self) -> bytes:
        """The rest of the body; ``IncompleteBody`` if the client sends less."""
        chunks = []
        while self.remaining and (chunk := self.read(64 * 1024)):
            chunks.append(chunk)
        if self.remaining:
            raise ServiceError(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header.",
            )
        return b"".join(chunks)

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


class _Limited:
    """A file read no further than ``length`` bytes from where it stands (a range)."""

    def __init__(self, source: io.BufferedReader, length: int) -> None:
        self._source = source
        self._remaining = length

    def read(self, size: int = -1) -> bytes:
        wanted = self._remaining if size < 0 else min(size, self._remaining)
        data = self._source.read(wanted)
        self._remaining -= len(data)
        return data


class DevBucketServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: DevBucketConfig) -> None:
        super().__init__(address, DevBucketHandler)
        self.config = config
        self.store = ObjectStore(config.root)
        self.uploads = Uploads(config.root)
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
        body = error_document(error, new_request_id(), self.url)
        head = (
            f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: {XML}\r\n"
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
        config = self.server.config
        exposed = (*config.expose_headers, config.rules.REQUEST_ID_HEADER)
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(CORS_METHODS),
            "Access-Control-Expose-Headers": ", ".join(exposed),
            "Vary": "Origin",
        }

    def _send_head(
        self, status: int, length: int, headers: Mapping[str, str], request_id: str
    ) -> None:
        """The status line and headers: the answer's, and those of every answer."""
        self.send_response(status)
        every = {
            self.server.config.rules.REQUEST_ID_HEADER: request_id,
            "Content-Length": str(length),
            **headers,
            "X-Content-Type-Options": "nosniff",
            **self._cors(),
        }
        for name, value in every.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, answer: Answer, request_id: str, *, head: bool = False) -> None:
        self._send_head(answer.status, len(answer.body), answer.headers, request_id)
        if not head:
            self.wfile.write(answer.body)

    def _send_error(self, error: ServiceError, request_id: str, *, head: bool = False) -> None:
        host_id = f"{self.server.config.served_bucket.name}.{self.headers.get('Host', 'localhost')}"
        body = error_document(error, request_id, host_id)
        self._send(Answer(error.status, body, {"Content-Type": XML}), request_id, head=head)

    # -- methods ----------------------------------------------------------

    def do_OPTIONS(self) -> None:
        """A CORS preflight, answered like a bucket with one CORS rule:
        the configured origins, GET/HEAD/POST/PUT, any header."""
        request_id = new_request_id()
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
        self._send(Answer(200, b"", headers), request_id)

    def _measured_body(self, request_id: str) -> _Body | None:
        """The body, by its ``Content-Length``; None (and a ``411`` sent) without one."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit():
            return _Body(self.rfile, int(length))
        self.close_connection = True
        error = ServiceError(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
        self._send_error(error, request_id)
        return None

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/":
            return self._rest()
        request_id = new_request_id()
        body = self._measured_body(request_id)
        if body is None:
            return
        try:
            self._check_origin()
            base_url = self._base_url()
            answer = postobject.post_object(
                body,
                body.remaining,
                self.headers.get("Content-Type", ""),
                config=self.server.config,
                store=self.server.store,
                callback_key=self.server.callback_key,
                key_url=self.server.url + callback.KEY_PATH,
                base_url=base_url,
            )
        except ServiceError as error:
            log.info("refused %s %s: %s", error.status, error.code, error.message)
            return self._refuse(error, body, request_id)
        except Exception:  # a bug or a full disk: a clean 500, the details in the log
            log.exception("PostObject failed")
            failure = ServiceError(500, "InternalError", "The dev bucket failed; see its log.")
            return self._refuse(failure, body, request_id)
        self._send(answer, request_id)

    def _check_origin(self) -> None:
        """A browser names the page that sends: only the configured pages may.

        Stricter than the services, which take a signed request from
        anywhere: any page could sign one with this bucket's public key,
        store HTML here and make it call back where it likes. A request with
        no ``Origin`` (curl, tests) is not from a page, and goes through."""
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.config.allowed_origins:
            raise ServiceError(
                403,
                "AccessForbidden",
                "The dev bucket takes uploads only from the pages make run serves; "
                "this Origin is not one of them.",
            )

    def _refuse(self, error: ServiceError, body: _Body, request_id: str) -> None:
        """Answer a refused POST; keep the connection only if its body could be read to the end."""
        if not body.drain():
            self.close_connection = True
        self._send_error(error, request_id)

    def do_DELETE(self) -> None:
        self._rest()

    def do_PUT(self) -> None:
        self._rest(stream=True)

    def _rest(self, *, stream: bool = False) -> None:
        """A call of the signed REST API. A part's body (``stream``) must be
        measured and goes to its operation unread; any other body is read
        first (a small one: :data:`REST_BODY_LIMIT`), its hash signed over."""
        request_id = new_request_id()
        if stream or "Content-Length" in self.headers or self.command == "POST":
            body = self._measured_body(request_id)
            if body is None:
                return
        else:
            body = _Body(self.rfile, 0)
        try:
            self._check_origin()
            data: Readable
            if stream:
                request, data = self._rest_request(None), body
            else:
                if body.remaining > REST_BODY_LIMIT:
                    raise ServiceError(
                        400,
                        "InvalidArgument",
                        f"The dev bucket takes REST bodies up to {REST_BODY_LIMIT} bytes.",
                    )
                content = body.read_all()
                request = self._rest_request(hashlib.sha256(content).hexdigest())
                data = io.BytesIO(content)
            call = rest.Call(
                self.server.config,
                self.server.store,
                self.server.uploads,
                request,
                data,
                self._base_url(),
            )
            answer = rest.handle(call)
        except ServiceError as error:
            log.info("refused %s %s: %s", error.status, error.code, error.message)
            return self._refuse(error, body, request_id)
        except Exception:  # a bug or a full disk: a clean 500, the details in the log
            log.exception("%s %s failed", self.command, urlsplit(self.path).path)
            failure = ServiceError(500, "InternalError", "The dev bucket failed; see its log.")
            return self._refuse(failure, body, request_id)
        self._send(answer, request_id)

    def _base_url(self) -> str:
        """The bucket's address as the caller named it."""
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.url

    def _rest_request(self, body_sha256: str | None) -> Request:
        """This request as :mod:`devbucket.signatures` verifies it."""
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        return Request(self.command, split.path, split.query, headers, body_sha256)

    def _get(self, *, head: bool) -> None:
        split = urlsplit(self.path)
        params = parse_qs(split.query, keep_blank_values=True)
        if not head and "uploadId" in params:
            return self._rest()  # ListParts
        request_id = new_request_id()
        path = split.path
        if path == callback.KEY_PATH:
            pem = self.server.callback_key.public_pem()
            answer = Answer(200, pem, {"Content-Type": "application/x-pem-file"})
            return self._send(answer, request_id, head=head)
        key = unquote(path[1:])
        rules = self.server.config.rules
        try:
            # The bucket is public-read, but a signed GET (the function's own
            # read of an upload) is verified, as the services verify any
            # signature a request carries.
            if "Authorization" in self.headers or any("signature" in n.lower() for n in params):
                verify_request(
                    rules.REST,
                    self._rest_request(EMPTY_SHA256),
                    self.server.config.served_bucket,
                    self.server.config.clock(),
                )
            stored = self.server.store.get(key) if key else None
            if stored is None:
                raise ServiceError(404, "NoSuchKey", "The specified key does not exist.")
            size = stored.path.stat().st_size
            lowered = {name.lower(): value for name, value in self.headers.items()}
            wanted = ranges.requested(
                lowered.get("range"), size, strict=rules.strict_ranges(lowered)
            )
        except ranges.Unsatisfiable:
            error = ServiceError(416, "InvalidRange", "The requested range cannot be satisfied.")
            return self._send_error(error, request_id, head=head)
        except ServiceError as error:
            return self._send_error(error, request_id, head=head)
        headers = {
            "Content-Type": stored.content_type,
            # Stored without a disposition (no ticket stores one so): downloaded,
            # never rendered on this origin, where stored HTML would run.
            "Content-Disposition": "attachment",
            "Accept-Ranges": "bytes",
            **stored.headers,
        }
        first, length, status = 0, size, 200
        if wanted is not None:
            first, length, status = wanted.first, wanted.length, 206
            headers["Content-Range"] = wanted.content_range
        self._send_head(status, length, headers, request_id)
        if not head:
            with stored.path.open("rb") as source:
                source.seek(first)
                shutil.copyfileobj(_Limited(source, length), self.wfile)

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
