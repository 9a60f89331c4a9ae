"""Run a Lambda artifact locally as Lambda runs it: AWS's runtime interface
client in the runtime's own Python, fed by a fake of the Lambda Runtime API.

The fake serves the four endpoints AWS documents for API version 2018-06-01
("Using the Lambda runtime API for custom runtimes",
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) on 127.0.0.1:

* ``GET  /2018-06-01/runtime/invocation/next``: the next event (200), with
  ``Lambda-Runtime-Aws-Request-Id``, ``-Deadline-Ms``,
  ``-Invoked-Function-Arn`` and ``-Trace-Id``; it waits until there is one;
* ``POST /2018-06-01/runtime/invocation/{id}/response``: the answer (202);
* ``POST /2018-06-01/runtime/invocation/{id}/error``: a handler's error (202);
* ``POST /2018-06-01/runtime/init/error``: the handler could not load (202).

The client is ``awslambdaric`` (AWS's, the one the Python runtimes run), at
the version pinned in ``requirements-dev.txt``, installed for the runtime's
Python version into ``build/awslambdaric/pythonX.Y`` (its wheel has a C
extension; nothing goes into the artifact or the virtualenv). The artifact
(an unpacked ``deployment.zip``) is made read-only for the run, is the
working directory and comes first on ``sys.path``, as ``/var/task`` does;
the client's folder comes next, then the runtime's standard library alone
(Lambda's runtime also offers boto3: an artifact that needs it fails here,
and signpost ships what it imports)::

    with LambdaRuntime(artifact_dir, "python3.12", env, handler="app.handler") as rt:
        answer = rt.invoke(event)          # the handler's return value
        rt.first_response_seconds          # start of the process -> first answer
        rt.peak_rss_bytes                  # the child's peak resident memory

The cold-start bench reuses this: one ``LambdaRuntime`` is one cold start.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from deploy.bytecode import compile_tree, interpreter, version_of

ROOT = Path(__file__).resolve().parents[1]
API = "/2018-06-01/runtime"
NEXT = f"{API}/invocation/next"
INVOCATION = re.compile(rf"^{API}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
INIT_ERROR = f"{API}/init/error"
FUNCTION_NAME = "signpost-local"
# A read-only artifact: no write bits while the client runs.
WRITE_BITS = 0o222


class LambdaError(RuntimeError):
    """The function failed: the handler raised, or it could not be loaded."""

    def __init__(self, kind: str, error: Mapping[str, Any]) -> None:
        super().__init__(f"{kind}: {error.get('errorType')}: {error.get('errorMessage')}")
        self.error = dict(error)


def ric_pin() -> str:
    """``awslambdaric==X.Y.Z``, as ``requirements-dev.txt`` pins it (one place)."""
    text = (ROOT / "requirements-dev.txt").read_text()
    found = re.search(r"^awslambdaric==\S+", text, re.MULTILINE)
    if found is None:
        raise RuntimeError("requirements-dev.txt pins no awslambdaric")
    return found[0]


def install_ric(runtime: str, into: Path | None = None) -> Path:
    """A folder holding ``awslambdaric`` and its dependencies for ``runtime``
    (``python3.12``), installed once by this virtualenv's pip from wheels
    built for that version, with the runtime's own bytecode (as Lambda's
    runtime has it: a cold start measured here compiles none of it);
    returned as is when already there."""
    pin = ric_pin()
    folder = into or ROOT / "build" / "awslambdaric" / runtime
    stamp = folder / ".installed"
    done = f"{pin}, bytecode for {runtime}"
    if stamp.is_file() and stamp.read_text() == done:
        return folder
    version = version_of(runtime)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--upgrade",
            "--target",
            str(folder),
            "--no-compile",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            version,
            "--platform",
            f"manylinux2014_{os.uname().machine}",
            pin,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    compile_tree(folder, runtime)
    stamp.write_text(done)
    return folder


class _Invocation:
    """One event on its way through the fake API, and its answer."""

    def __init__(self, event: Any, deadline_ms: int) -> None:
        self.request_id = str(uuid.uuid4())
        self.body = json.dumps(event).encode()
        self.deadline_ms = deadline_ms
        self.done = threading.Event()
        self.kind = ""
        self.answer: Any = None


class _RuntimeAPI(ThreadingHTTPServer):
    """The fake Runtime API: a queue of events, the answers by request ID."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pending: queue.Queue[_Invocation | None] = queue.Queue()
        self.sent: dict[str, _Invocation] = {}
        self.init_error: dict[str, Any] | None = None
        self.init_failed = threading.Event()
        self.first_next_at: float | None = None
        self.first_answer_at: float | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when the client is gone (it is killed at the end of a run)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: _RuntimeAPI
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: with Nagle's algorithm and
    # the client's delayed ACKs, each answer would wait ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test or bench reports what matters."""

    def reply(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != NEXT:
            self.reply(404, b'{"errorType":"NotFound"}')
            return
        api = self.server
        if api.first_next_at is None:
            api.first_next_at = time.monotonic()
        invocation = api.pending.get()
        if invocation is None:  # shutting down: the client is being stopped
            self.close_connection = True
            return
        api.sent[invocation.request_id] = invocation
        self.reply(
            200,
            invocation.body,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": (
                    f"arn:aws:lambda:eu-central-1:000000000000:function:{FUNCTION_NAME}"
                ),
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        api = self.server
        if self.path == INIT_ERROR:
            api.init_error = json.loads(body or b"{}")
            api.init_failed.set()
            self.reply(202, b'{"status":"OK"}')
            return
        found = INVOCATION.match(self.path)
        invocation = api.sent.pop(found["id"], None) if found else None
        if found is None or invocation is None:
            self.reply(400, b'{"errorType":"InvalidRequestID"}')
            return
        if api.first_answer_at is None:
            api.first_answer_at = time.monotonic()
        invocation.kind = found["kind"]
        invocation.answer = json.loads(body) if body else None
        invocation.done.set()
        self.reply(202, b'{"status":"OK"}')


class LambdaRuntime:
    """One execution environment: the artifact under ``awslambdaric``.

    ``env`` is the function's environment (the stage's variables, fake AWS
    keys...); Lambda's own variables are added. Nothing else of this
    process's environment reaches the child.
    """

    def __init__(
        self,
        artifact: Path,
        runtime: str,
        env: Mapping[str, str],
        handler: str = "app.handler",
        timeout_seconds: float = 30.0,
    ) -> None:
        self.artifact = Path(artifact)
        self.runtime = runtime
        self.python = interpreter(runtime)
        self.env = dict(env)
        self.handler = handler
        self.timeout_seconds = timeout_seconds
        self.first_response_seconds: float | None = None
        # CPU time the child had used when the first answer was in: steadier
        # than wall time on a busy machine (the client idles while it waits).
        self.first_response_cpu_seconds: float | None = None
        self.init_seconds: float | None = None
        self._peak_rss_kb = 0
        self._modes: dict[Path, int] = {}
        self._api: _RuntimeAPI | None = None
        self._child: subprocess.Popen[bytes] | None = None
        # The child's output, kept off a pipe nobody reads; closed by close().
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._started_at = 0.0
        # What the function printed (its log lines), once closed.
        self.output = b""

    def __enter__(self) -> LambdaRuntime:
        ric = install_ric(self.runtime)
        self._make_read_only()
        self._api = _RuntimeAPI()
        threading.Thread(target=self._api.serve_forever, daemon=True).start()
        environment = {
            **self.env,
            "AWS_LAMBDA_RUNTIME_API": self._api.address,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
            "LAMBDA_TASK_ROOT": str(self.artifact),
            "_HANDLER": self.handler,
            "PYTHONPATH": os.pathsep.join([str(self.artifact), str(ric)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }
        self._started_at = time.monotonic()
        try:
            self._child = subprocess.Popen(
                # -S: no site module, so nothing of this machine's Python
                # (its site-packages, a sitecustomize) is importable or runs.
                [str(self.python), "-S", "-m", "awslambdaric", self.handler],
                cwd=self.artifact,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def invoke(self, event: Any) -> Any:
        """The handler's answer to ``event``; :class:`LambdaError` if it raised
        or could not load, ``TimeoutError`` past ``timeout_seconds``."""
        api, child = self._api, self._child
        if api is None or child is None:
            raise RuntimeError("LambdaRuntime.invoke outside its `with` block")
        deadline = time.monotonic() + self.timeout_seconds
        invocation = _Invocation(event, int((time.time() + self.timeout_seconds) * 1000))
        api.pending.put(invocation)
        while not invocation.done.wait(0.01):
            if api.init_failed.is_set():
                raise LambdaError("init error", api.init_error or {})
            if child.poll() is not None:
                raise LambdaError("exited", {"errorMessage": f"status {child.returncode}"})
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {self.timeout_seconds} s")
        self._sample_rss()
        if self.first_response_cpu_seconds is None:
            self.first_response_cpu_seconds = self._cpu_seconds()
        if self.first_response_seconds is None and api.first_answer_at is not None:
            self.first_response_seconds = api.first_answer_at - self._started_at
            if api.first_next_at is not None:
                self.init_seconds = api.first_next_at - self._started_at
        if invocation.kind == "error":
            raise LambdaError("invocation error", invocation.answer or {})
        return invocation.answer

    @property
    def peak_rss_bytes(self) -> int:
        """The child's peak resident set size (``VmHWM``) so far."""
        self._sample_rss()
        return self._peak_rss_kb * 1024

    def _cpu_seconds(self) -> float | None:
        """The child's CPU time so far, all its threads (``schedstat``: ns on CPU)."""
        if self._child is None:
            return None
        total = 0
        for stat in Path(f"/proc/{self._child.pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue  # a thread that ended meanwhile
        return total / 1e9

    def _sample_rss(self) -> None:
        if self._child is None or self._child.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self._child.pid}/status").read_text()
        except OSError:
            return
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if found:
            self._peak_rss_kb = max(self._peak_rss_kb, int(found[1]))

    def close(self) -> None:
        """Stop the client, then the fake API; give the artifact its modes back."""
        if self._child is not None:
            self._sample_rss()
            self._child.kill()
            self._child.wait(timeout=10)
            self._child = None
            self._log.seek(0)
            self.output = self._log.read()
            self._log.close()
        if self._api is not None:
            self._api.pending.put(None)
            self._api.shutdown()
            self._api.server_close()
            self._api = None
        for path, mode in self._modes.items():
            path.chmod(mode)
        self._modes = {}

    def _make_read_only(self) -> None:
        """As Lambda's ``/var/task``: no write bits (root ignores them; a
        test compares listings to be sure nothing was written)."""
        files = [item for item in self.artifact.rglob("*") if not item.is_symlink()]
        self._modes = {item: item.stat().st_mode for item in [self.artifact, *files]}
        for item, mode in self._modes.items():
            item.chmod(mode & ~WRITE_BITS)
