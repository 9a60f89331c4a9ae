"""``make run``: the API, the upload page and a dev bucket, wired together.

* the API: ``chalice local`` from this virtualenv, in its own process group,
  restarted when its code changes (:mod:`devtools.reload`);
* the pages: ``frontend/`` over a static file server (a thread), its
  ``index.html`` (Uppy's Dashboard) and ``simple.html`` (``upload.js`` alone)
  served with the API's address in ``data-api``;
* the dev bucket (:mod:`devbucket`, a thread), with the API's storage
  settings pointing at it and its credentials, so the page works at once;
  for OSS, unless ``--no-callback``, it calls the API's ``/oss-callback``
  after each upload, and the API trusts the dev bucket's callback key.

``--provider`` picks the storage: ``oss`` (the default; the dev bucket checks
forms as OSS does, the API gets ``OSS_*``) or ``s3`` (S3's rules, the API gets
``STORAGE_PROVIDER=s3``, ``S3_*`` and ``AWS_*``). With real settings for that
provider in the environment (``OSS_BUCKET``, a key...; ``S3_BUCKET`` or
``S3_ENDPOINT``), no dev bucket is started and the API signs for that bucket
instead. Uploads may be up to :data:`DEMO_MAX_UPLOAD_BYTES` (a large file
goes in parts) unless the shell sets ``MAX_UPLOAD_BYTES``. Ctrl-C (or
SIGTERM) stops everything.
"""

from __future__ import annotations

import argparse
import functools
import html
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

from chalicelib.variables import OSS, S3, default, in_group
from devbucket.callback import KEY_FOLDER
from devbucket.config import (
    DEV_ACCESS_KEY_ID,
    DEV_ACCESS_KEY_SECRET,
    DEV_BUCKET,
    DEV_REGION,
    DEV_S3_ACCESS_KEY_ID,
    DEV_S3_REGION,
    DEV_S3_SECRET_ACCESS_KEY,
    PROVIDERS,
    DevBucketConfig,
)
from devbucket.server import make_server, serve_in_thread
from devtools.reload import CodeWatcher

PROJECT = Path(__file__).resolve().parents[1]
FRONTEND = PROJECT / "frontend"
# Any of the provider's variables (chalicelib.variables) in the environment means "use
# my real bucket", but these, which name no bucket alone: OSS_SIGNATURE_VERSION (the dev
# bucket checks V1 and V4 alike), S3's regions and the AWS_* keys (many shells carry them
# for other work), and Alibaba Cloud's secret and token without its key ID.
NOT_A_REAL_BUCKET = frozenset(
    {
        "OSS_SIGNATURE_VERSION",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "S3_REGION",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)
REAL_VARIABLES = {
    provider: tuple(name for name in in_group(group) if name not in NOT_A_REAL_BUCKET)
    for provider, group in (("oss", OSS), ("s3", S3))
}
API_START_SECONDS = 60
STOP_SECONDS = 5
RELOAD_POLL_SECONDS = 1.0
# URL path -> the page it serves, with the API's address filled in.
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/simple.html": "simple.html",
    "/uppy5.html": "uppy5.html",
}
API_ATTRIBUTE = 'data-api=""'
# The demo uploads files large enough to go in parts (over 16 MiB) and a 100 MB
# one; the API's own default (10 MiB) would refuse them.
DEMO_MAX_UPLOAD_BYTES = 200 * 1024**2


class Refusal(Exception):
    """Something missing or in the way; the message says what to do."""


def configured_page(page: str, api_url: str, name: str = "index.html") -> str:
    """The page with the API's address in its ``<body data-api="">``.

    The page uses no other address (a ``?api=`` in its URL would let a link
    send a victim's files to whoever wrote the link), so ``make run`` fills
    in this one, as a deployment does.
    """
    if page.count(API_ATTRIBUTE) != 1:
        raise Refusal(f"frontend/{name} must hold {API_ATTRIBUTE} exactly once.")
    return page.replace(API_ATTRIBUTE, f'data-api="{html.escape(api_url, quote=True)}"')


class QuietPageHandler(SimpleHTTPRequestHandler):
    """Serves ``frontend/``, the pages configured for ``api_url``; no caching,
    so an edited page shows on reload."""

    def __init__(self, *args: Any, api_url: str, **kwargs: Any) -> None:
        self.api_url = api_url  # before super().__init__, which handles the request
        super().__init__(*args, **kwargs)

    def send_head(self) -> Any:
        name = PAGES.get(urlsplit(self.path).path)
        if name is None:
            return super().send_head()
        page = Path(self.directory, name).read_text(encoding="utf-8")
        body = configured_page(page, self.api_url, name).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_page_server(
    host: str, port: int, api_url: str, directory: Path = FRONTEND
) -> ThreadingHTTPServer:
    for name in set(PAGES.values()):  # fail now, not when the page is asked for
        configured_page((directory / name).read_text(encoding="utf-8"), api_url, name)
    handler = functools.partial(QuietPageHandler, directory=str(directory), api_url=api_url)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def page_origins(host: str, port: int) -> list[str]:
    """The origins the page may be opened from (``localhost`` too, for loopback)."""
    origins = [f"http://{host}:{port}"]
    if host == "127.0.0.1":
        origins.append(f"http://localhost:{port}")
    return origins


def uses_real_bucket(provider: str, env: Mapping[str, str]) -> bool:
    return any(env.get(name, "").strip() for name in REAL_VARIABLES[provider])


def check_real_bucket(provider: str, env: Mapping[str, str]) -> str:
    """The real bucket's name, or a :class:`Refusal` naming what is missing."""
    from chalicelib.errors import NotConfigured
    from chalicelib.settings import load_oss, load_s3

    try:
        return load_s3(env).bucket if provider == "s3" else load_oss(env).bucket
    except NotConfigured as error:
        raise Refusal(f"Real {provider.upper()} settings are incomplete: {error.message}") from None


def dev_bucket_env(provider: str, bucket_url: str) -> dict[str, str]:
    """The API's settings for the dev bucket: its provider, address and dev key.

    For S3 a session token or region of the caller's shell is blanked: the
    dev key is a long-term one, in the dev bucket's region.
    """
    if provider == "s3":
        return {
            "STORAGE_PROVIDER": "s3",
            "S3_BUCKET": DEV_BUCKET,
            "AWS_REGION": DEV_S3_REGION,
            "S3_REGION": "",
            "S3_ENDPOINT": bucket_url,
            "AWS_ACCESS_KEY_ID": DEV_S3_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DEV_S3_SECRET_ACCESS_KEY,
            "AWS_SESSION_TOKEN": "",
        }
    return {
        "STORAGE_PROVIDER": "oss",
        "OSS_BUCKET": DEV_BUCKET,
        "OSS_REGION": DEV_REGION,
        "OSS_ENDPOINT": bucket_url,
        "OSS_ACCESS_KEY_ID": DEV_ACCESS_KEY_ID,
        "OSS_ACCESS_KEY_SECRET": DEV_ACCESS_KEY_SECRET,
    }


def api_callback_url(api_url: str) -> str:
    """The API's callback route: what its tickets name, and the one URL the
    dev bucket may call back."""
    return f"{api_url}/oss-callback"


def callback_env(api_url: str, bucket_url: str) -> dict[str, str]:
    """The upload callback, wired locally: the dev bucket calls the API's
    route, and the API trusts the key the dev bucket serves (dev only)."""
    return {
        "OSS_CALLBACK_URL": api_callback_url(api_url),
        "OSS_CALLBACK_PUBKEY_URL_PREFIX": f"{bucket_url}/{KEY_FOLDER}",
    }


def api_env(
    env: Mapping[str, str],
    origins: Sequence[str],
    bucket_url: str | None,
    callback_api_url: str | None = None,
    *,
    provider: str = "oss",
) -> dict[str, str]:
    """The API's environment: the caller's, the page's origins allowed by
    CORS, the provider, the dev bucket's settings when there is one, and the
    callback to ``callback_api_url`` (the API itself) when that is given too."""
    listed = [item.strip() for item in env.get("CORS_ALLOW_ORIGIN", "").split(",") if item.strip()]
    allowed = ",".join(dict.fromkeys([*listed, *origins]))
    wiring = dev_bucket_env(provider, bucket_url) if bucket_url else {"STORAGE_PROVIDER": provider}
    if bucket_url and callback_api_url:
        wiring.update(callback_env(callback_api_url, bucket_url))
    return {**env, **wiring, "CORS_ALLOW_ORIGIN": allowed}


def upload_limit_env(env: Mapping[str, str]) -> dict[str, str]:
    """:data:`DEMO_MAX_UPLOAD_BYTES`, unless the shell chose a limit."""
    if env.get("MAX_UPLOAD_BYTES", "").strip():
        return {}
    return {"MAX_UPLOAD_BYTES": str(DEMO_MAX_UPLOAD_BYTES)}


def upload_limit_note(env: Mapping[str, str]) -> str:
    if upload_limit_env(env):
        return (
            f"Uploads up to {DEMO_MAX_UPLOAD_BYTES // 1024**2} MB for this demo "
            f"(MAX_UPLOAD_BYTES={DEMO_MAX_UPLOAD_BYTES}; set it to choose another)."
        )
    return (
        f"Uploads up to MAX_UPLOAD_BYTES={env['MAX_UPLOAD_BYTES'].strip()} bytes, from your shell."
    )


def chalice_command(host: str, port: int) -> list[str]:
    chalice = Path(sys.executable).parent / "chalice"
    if not chalice.exists():
        raise Refusal(
            f"chalice is not installed beside {sys.executable}: run `make run`, which installs it."
        )
    # --no-autoreload: chalice's reloader restarts on any file under the
    # project, the dev bucket's uploads included; ApiServer reloads on code.
    return [
        str(chalice),
        "local",
        "--no-autoreload",
        "--host",
        host,
        "--port",
        str(port),
        "--stage",
        "local",
    ]


def start_api(env: Mapping[str, str], host: str, port: int) -> subprocess.Popen[bytes]:
    """``chalice local`` in its own process group, so it can be stopped whole."""
    return subprocess.Popen(
        chalice_command(host, port), cwd=PROJECT, env=dict(env), start_new_session=True
    )


def wait_until_listening(
    process: subprocess.Popen[bytes], host: str, port: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Refusal(
                f"chalice local exited with status {process.returncode} before it served."
            )
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise Refusal(f"chalice local did not listen on {host}:{port} within {timeout:.0f} s.")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to its group (chalice's own Ctrl-C), then SIGTERM, then SIGKILL."""
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, stop)
        except ProcessLookupError:
            return
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            continue


class ApiServer:
    """``chalice local``, restarted when the code it serves changes, and only then."""

    def __init__(self, env: Mapping[str, str], host: str, port: int) -> None:
        self.env, self.host, self.port = env, host, port
        self.process = start_api(env, host, port)

    def wait_until_listening(self) -> None:
        wait_until_listening(self.process, self.host, self.port, API_START_SECONDS)

    def serve(self, watcher: CodeWatcher) -> NoReturn:
        """Until interrupted. An API that exits (a syntax error saved, say)
        is started again at the next change."""
        reported = False
        while True:
            try:
                status: int | None = self.process.wait(RELOAD_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                status = None
            if watcher.changed():
                print("Code changed: restarting the API.", flush=True)
                stop_api(self.process)
                self.process = start_api(self.env, self.host, self.port)
                reported = False
            elif status is not None and not reported:
                print(
                    f"chalice local exited with status {status}: save a fix to app.py or "
                    "chalicelib/ to start it again, or press Ctrl-C.",
                    file=sys.stderr,
                    flush=True,
                )
                reported = True

    def stop(self) -> None:
        stop_api(self.process)


def check_free(host: str, port: int, option: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError:
            raise Refusal(
                f"Port {port} on {host} is in use: stop what uses it, "
                f'or choose another: make run RUN_ARGS="{option} PORT".'
            ) from None


def auth_warning(env: Mapping[str, str]) -> str | None:
    """What to say when the shell turns auth on: the page then asks for a key
    or token before anything else, and the simple page, which sends none,
    cannot upload."""
    mode = env.get("AUTH_MODE", "").strip()
    if mode.lower() in ("", default("AUTH_MODE")):
        return None
    return (
        f"Note: AUTH_MODE={mode} comes from your shell, so the API asks every caller "
        "for credentials: the page asks you for an API key or token (sent as "
        "Authorization: Bearer); simple.html sends none and cannot upload.\n"
        "To try the pages without: env -u AUTH_MODE make run"
    )


def shown_path(path: Path) -> str:
    """A path as a person would type it here: relative when under the current folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make run",
        description="The API, the upload page and a dev bucket, wired together. Ctrl-C stops all.",
        epilog='Pass options through make: make run RUN_ARGS="--provider s3 --api-port 8001"',
    )
    parser.add_argument(
        "--provider",
        choices=sorted(PROVIDERS),
        default="oss",
        help="whose rules the dev bucket follows and the API signs for (default: oss)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address all three listen on (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument("--api-port", type=int, default=8000, help="the API's port (8000)")
    parser.add_argument("--page-port", type=int, default=8080, help="the page's port (8080)")
    parser.add_argument(
        "--bucket-port", type=int, default=9000, help="the dev bucket's port (9000)"
    )
    parser.add_argument(
        "--bucket-dir",
        type=Path,
        default=PROJECT / ".dev-bucket",
        help="where the dev bucket keeps its objects (default: .dev-bucket/ here)",
    )
    parser.add_argument(
        "--no-callback",
        action="store_true",
        help="the dev bucket does not call the API back after an upload",
    )
    parser.add_argument(
        "--verify-content",
        action="store_true",
        help="VERIFY_CONTENT=on: the API checks each upload's bytes against its type",
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    host = args.host
    origins = page_origins(host, args.page_port)
    servers: list[ThreadingHTTPServer] = []
    api: ApiServer | None = None
    ports = [(args.api_port, "--api-port"), (args.page_port, "--page-port")]
    provider = args.provider
    real = uses_real_bucket(provider, env)
    if not real:
        ports.append((args.bucket_port, "--bucket-port"))
    api_url = f"http://{host}:{args.api_port}"
    # S3 has no upload callback: only an OSS dev bucket calls the API back.
    calls_back = not real and provider == "oss" and not args.no_callback
    try:
        for port, option in ports:
            check_free(host, port, option)
        if real:
            name = check_real_bucket(provider, env)
            print(
                f"Real {provider.upper()} settings found: "
                f"uploads go to the bucket {name}, not to a dev bucket."
            )
            print(
                f"Its CORS rule must allow the origin {origins[0]} (POST and PUT, any "
                "header) and expose ETag, without which Uppy never sees an upload finish."
            )
            bucket_url = None
        else:
            config = DevBucketConfig(
                root=args.bucket_dir / DEV_BUCKET,
                provider=provider,
                allowed_origins=frozenset(origins),
                callback_urls=frozenset({api_callback_url(api_url)} if calls_back else ()),
            )
            bucket = make_server(config, host, args.bucket_port)
            servers.append(bucket)
            serve_in_thread(bucket)
            bucket_url = bucket.url
            print(
                f"Dev bucket {DEV_BUCKET} ({provider.upper()} rules) at {bucket_url}, "
                f"objects in {shown_path(config.root)}"
            )
        page = make_page_server(host, args.page_port, api_url)
        servers.append(page)
        serve_in_thread(page)
        callback_api_url = api_url if calls_back else None
        if callback_api_url:
            print(f"After each upload the dev bucket calls {api_callback_url(api_url)}")
        api = ApiServer(
            {
                **api_env(env, origins, bucket_url, callback_api_url, provider=provider),
                **upload_limit_env(env),
                **({"VERIFY_CONTENT": "on"} if args.verify_content else {}),
            },
            host,
            args.api_port,
        )
        api.wait_until_listening()
        print(f"API at {api_url}")
        print(upload_limit_note(env))
        if args.verify_content or env.get("VERIFY_CONTENT", "").strip() == "on":
            print("VERIFY_CONTENT=on: an upload whose bytes are not its type is removed.")
        warning = auth_warning(env)
        if warning:
            print(warning)
        print(
            f"\nOpen {origins[0]}/\n(Without Uppy: {origins[0]}/simple.html. "
            "Ctrl-C stops everything.)",
            flush=True,
        )
        api.serve(CodeWatcher(PROJECT))
    except Refusal as refusal:
        print(f"make run: {refusal}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopping.")
        return 0
    finally:
        if api is not None:
            api.stop()
        for server in servers:
            server.shutdown()
            server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    for stop in (
        signal.SIGINT,
        signal.SIGTERM,
    ):  # SIGINT too: a background job may inherit it ignored
        signal.signal(stop, _interrupt)
    return run(parse_args(argv), os.environ)


if __name__ == "__main__":
    sys.exit(main())
