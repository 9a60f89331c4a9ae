"""``make run``: the API, the upload page and a dev bucket, wired together.

* the API: ``chalice local`` from this virtualenv, in its own process group;
* the page: ``frontend/`` over a static file server (a thread);
* the dev bucket (:mod:`devbucket`, a thread), with the API's storage
  settings pointing at it and its credentials, so the page works at once;
  for OSS, unless ``--no-callback``, it calls the API's ``/oss-callback``
  after each upload, and the API trusts the dev bucket's callback key.

``--provider`` picks the storage: ``oss`` (the default; the dev bucket checks
forms as OSS does, the API gets ``OSS_*``) or ``s3`` (S3's rules, the API gets
``STORAGE_PROVIDER=s3``, ``S3_*`` and ``AWS_*``). With real settings for that
provider in the environment (``OSS_BUCKET``, a key...; ``S3_BUCKET`` or
``S3_ENDPOINT``), no dev bucket is started and the API signs for that bucket
instead. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import argparse
import functools
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
from typing import Any

from devbucket.callback import KEY_FOLDER
from devbucket.server import (
    DEV_ACCESS_KEY_ID,
    DEV_ACCESS_KEY_SECRET,
    DEV_BUCKET,
    DEV_REGION,
    DEV_S3_ACCESS_KEY_ID,
    DEV_S3_REGION,
    DEV_S3_SECRET_ACCESS_KEY,
    PROVIDERS,
    DevBucketConfig,
    make_server,
    serve_in_thread,
)

PROJECT = Path(__file__).resolve().parents[1]
FRONTEND = PROJECT / "frontend"
# Any of these in the environment means "use my real bucket" (OSS_SIGNATURE_VERSION
# alone does not: the dev bucket checks V1 and V4 alike; nor do AWS_* keys alone, which
# many shells carry for other work).
REAL_VARIABLES = {
    "oss": (
        "OSS_BUCKET",
        "OSS_REGION",
        "OSS_ENDPOINT",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
    ),
    "s3": ("S3_BUCKET", "S3_ENDPOINT"),
}
API_START_SECONDS = 60
STOP_SECONDS = 5


class Refusal(Exception):
    """Something missing or in the way; the message says what to do."""


class QuietPageHandler(SimpleHTTPRequestHandler):
    """Serves ``frontend/``; no caching, so an edited page shows on reload."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_page_server(host: str, port: int, directory: Path = FRONTEND) -> ThreadingHTTPServer:
    handler = functools.partial(QuietPageHandler, directory=str(directory))
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
        raise Refusal(
            f"Real {provider.upper()} settings are incomplete: {error.message}"
        ) from None


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


def chalice_command(host: str, port: int) -> list[str]:
    chalice = Path(sys.executable).parent / "chalice"
    if not chalice.exists():
        raise Refusal(
            f"chalice is not installed beside {sys.executable}: run `make run`, which installs it."
        )
    return [str(chalice), "local", "--host", host, "--port", str(port), "--stage", "local"]


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


def check_free(host: str, port: int, option: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError:
            raise Refusal(
                f"Port {port} on {host} is in use: stop what uses it, or pass {option} PORT."
            ) from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", choices=sorted(PROVIDERS), default="oss")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--page-port", type=int, default=8080)
    parser.add_argument("--bucket-port", type=int, default=9000)
    parser.add_argument("--bucket-dir", type=Path, default=PROJECT / ".dev-bucket")
    parser.add_argument(
        "--no-callback",
        action="store_true",
        help="the dev bucket does not call the API back after an upload",
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    host = args.host
    origins = page_origins(host, args.page_port)
    servers: list[ThreadingHTTPServer] = []
    api: subprocess.Popen[bytes] | None = None
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
            print(f"Its CORS rule must allow the origin {origins[0]} (POST, any header).")
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
                f"objects in {config.root}"
            )
        page = make_page_server(host, args.page_port)
        servers.append(page)
        serve_in_thread(page)
        callback_api_url = api_url if calls_back else None
        if callback_api_url:
            print(f"After each upload the dev bucket calls {api_callback_url(api_url)}")
        api = start_api(
            api_env(env, origins, bucket_url, callback_api_url, provider=provider),
            host,
            args.api_port,
        )
        wait_until_listening(api, host, args.api_port, API_START_SECONDS)
        print(f"API at {api_url}")
        print(f"\nOpen {origins[0]}/?api={api_url}\n(Ctrl-C stops everything.)", flush=True)
        status = api.wait()
        print(f"chalice local exited with status {status}; stopping.", file=sys.stderr)
        return 1
    except Refusal as refusal:
        print(f"make run: {refusal}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopping.")
        return 0
    finally:
        if api is not None:
            stop_api(api)
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
