"""Cold start as Lambda runs it, per auth mode: the artifact under AWS's
runtime interface client, fed by a local fake of the Runtime API.

Each run is one execution environment (:class:`devtools.lambda_runtime.LambdaRuntime`):
the artifact from ``deploy/package-aws.sh``, unpacked and read-only, in the
Python its template declares, answering its first request, a V4 ticket.
The figures are the time from the process's start to that first answer,
and the process's peak RSS. Beside them, a bare Chalice app with one route,
packaged the same way (``chalice package``, the pure-Python and bytecode
steps). Modes are interleaved run by run, so load that drifts falls on all.

JWT RS256 fetches its key set on that first request, as a new container
does: from a local HTTPS server on 127.0.0.1 with a self-signed certificate
the function is told to trust (``REQUESTS_CA_BUNDLE``, which requests
honours), since signpost reads key sets over https only.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deploy.bytecode import declared_runtime
from deploy.purepython import native_files
from devtools.lambda_runtime import LambdaRuntime

from .coldstart import ROOT
from .event import OSS_V4, proxy_event

API_KEY = "bench-api-key-0123456789"
JWT_SECRET = "bench-jwt-secret-" + "k" * 32
BARE_APP = """from chalice import Chalice

app = Chalice(app_name="bare")


@app.route("/upload-tickets", methods=["POST"], content_types=["application/json"])
def ticket():
    return {"url": "https://bucket.example.com", "fields": {"key": "uploads/x/cat.png"}}
"""
# The targets of the cold-start issue, against the bare artifact.
FIRST_RESPONSE_LIMIT_MS = 15.0
PEAK_RSS_LIMIT_MB = 6.0
ZIP_LIMIT_BYTES = 2_500_000


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    env: Mapping[str, str]
    bearer: str | None = None
    user: str | None = None  # the key's user segment the ticket must carry


def build_bare(out: Path) -> Path:
    """A bare Chalice app, packaged as signpost is; the path of its zip."""
    project = out / "project"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(BARE_APP)
    (project / "requirements.txt").write_text("")
    config = {"version": "2.0", "app_name": "bare", "stages": {"dev": {}}}
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    package = str(out / "package")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = str(Path(sys.executable).with_name("chalice"))
    for command, where in (
        ([chalice, "package", "--stage", "dev", package], project),
        ([sys.executable, "-m", "deploy.purepython", package], ROOT),
        ([sys.executable, "-m", "deploy.bytecode", "chalice", package], ROOT),
    ):
        subprocess.run(command, cwd=where, env=env, check=True, capture_output=True)
    return out / "package" / "deployment.zip"


class _KeySet(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A function that closes its connection early is not news."""


@contextmanager
def jwks_server(folder: Path) -> Iterator[tuple[str, str, Path]]:
    """An HTTPS key set on 127.0.0.1: (its URL, an RS256 token it verifies,
    the certificate to trust)."""
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(tls.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(tls, hashes.SHA256())
    )
    cert_file, key_file = folder / "jwks-cert.pem", folder / "jwks-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        tls.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key(), as_dict=True)
    body = json.dumps({"keys": [{**jwk, "kid": "b1"}]}).encode()
    handler = type("KeySet", (_KeySet,), {"body": body})
    server = _QuietServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = jwt.encode(
        {"sub": "rs", "exp": int(time.time()) + 86400},
        signing,
        algorithm="RS256",
        headers={"kid": "b1"},
    )
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/jwks.json", token, cert_file
    finally:
        server.shutdown()
        server.server_close()


def modes(jwks_url: str, rs256_token: str, ca_bundle: Path) -> tuple[Mode, ...]:
    import jwt

    hs256 = jwt.encode({"sub": "hs", "exp": int(time.time()) + 86400}, JWT_SECRET, "HS256")
    return (
        Mode("bare", "bare Chalice, packaged the same way", {}),
        Mode("none", "signpost, AUTH_MODE=none", {**OSS_V4, "AUTH_MODE": "none"}),
        Mode(
            "api_key",
            "signpost, AUTH_MODE=api-key",
            {**OSS_V4, "AUTH_MODE": "api-key", "API_KEYS": API_KEY},
            API_KEY,
        ),
        Mode(
            "jwt_hs256",
            "signpost, AUTH_MODE=jwt HS256",
            {**OSS_V4, "AUTH_MODE": "jwt", "JWT_SECRET": JWT_SECRET},
            hs256,
            "hs",
        ),
        Mode(
            "jwt_rs256",
            "signpost, AUTH_MODE=jwt RS256 (local JWKS)",
            {
                **OSS_V4,
                "AUTH_MODE": "jwt",
                "JWT_JWKS_URL": jwks_url,
                "JWT_ISSUER": "",
                "REQUESTS_CA_BUNDLE": str(ca_bundle),
            },
            rs256_token,
            "rs",
        ),
    )


def event_for(mode: Mode) -> dict[str, Any]:
    event = proxy_event()
    if mode.bearer:
        event["headers"]["authorization"] = f"Bearer {mode.bearer}"
        event["multiValueHeaders"]["authorization"] = [f"Bearer {mode.bearer}"]
    return event


def check(mode: Mode, answer: Mapping[str, Any]) -> None:
    """The first answer is a ticket, under the token's user for JWT."""
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"{mode.name}: {answer.get('statusCode')} {answer.get('body')}")
    if mode.user and f"/{mode.user}/" not in json.loads(answer["body"])["key"]:
        raise RuntimeError(f"{mode.name}: the ticket is not under {mode.user}/")


def unpacked(archive: Path, into: Path) -> tuple[Path, str]:
    """The artifact's folder and the runtime its template declares."""
    zipfile.ZipFile(archive).extractall(into / "task")
    return into / "task", declared_runtime(archive.parent)


def measure(runs: int, archive: Path) -> dict[str, Any]:
    """First response (ms) and peak RSS (MB) per mode, over ``runs`` cold starts each."""
    with tempfile.TemporaryDirectory(prefix="signpost-lambda-") as tmp:
        folder = Path(tmp)
        bare_zip = build_bare(folder / "bare")
        artifacts = {
            "bare": (*unpacked(bare_zip, folder / "bare"), "app.app"),
            "signpost": (*unpacked(archive, folder / "signpost"), "app.handler"),
        }
        with jwks_server(folder) as (url, token, certificate):
            chosen = modes(url, token, certificate)
            first: dict[str, list[float]] = {mode.name: [] for mode in chosen}
            cpu: dict[str, list[float]] = {mode.name: [] for mode in chosen}
            rss: dict[str, list[float]] = {mode.name: [] for mode in chosen}
            for _ in range(runs):
                for mode in chosen:
                    task, runtime, handler = artifacts[
                        "bare" if mode.name == "bare" else "signpost"
                    ]
                    with LambdaRuntime(task, runtime, mode.env, handler=handler) as rt:
                        check(mode, rt.invoke(event_for(mode)))
                        assert rt.first_response_seconds is not None
                        assert rt.first_response_cpu_seconds is not None
                        first[mode.name].append(rt.first_response_seconds * 1000)
                        cpu[mode.name].append(rt.first_response_cpu_seconds * 1000)
                        rss[mode.name].append(rt.peak_rss_bytes / 2**20)
        with zipfile.ZipFile(archive) as shipped:
            native = native_files(shipped)
    rows = {}
    for mode in chosen:
        deciles = statistics.quantiles(first[mode.name], n=10, method="inclusive")
        rows[mode.name] = {
            "label": mode.label,
            "first_response_ms": statistics.median(first[mode.name]),
            "first_response_ms_p10": deciles[0],
            "first_response_ms_p90": deciles[-1],
            "cpu_ms": statistics.median(cpu[mode.name]),
            "peak_rss_mb": statistics.median(rss[mode.name]),
            # Median over runs of (this mode - bare, same run): steadier than
            # the difference of the medians.
            "over_bare_ms": statistics.median(
                mine - bare for mine, bare in zip(first[mode.name], first["bare"], strict=True)
            ),
            "over_bare_cpu_ms": statistics.median(
                mine - bare for mine, bare in zip(cpu[mode.name], cpu["bare"], strict=True)
            ),
            "over_bare_mb": statistics.median(
                mine - bare for mine, bare in zip(rss[mode.name], rss["bare"], strict=True)
            ),
        }
    return {
        "runtime": artifacts["signpost"][1],
        "runs": runs,
        "rows": rows,
        "zip_bytes": archive.stat().st_size,
        "native_files": native,
    }


def targets(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for this section, each with value, limit and verdict."""
    rows = {name: row for name, row in result["rows"].items() if name != "bare"}
    found: list[dict[str, Any]] = []
    for name, row in rows.items():
        found.append(
            {
                "target": f"Lambda first response, {name} - bare (ms)",
                "value": row["over_bare_ms"],
                "limit": FIRST_RESPONSE_LIMIT_MS,
                "met": row["over_bare_ms"] <= FIRST_RESPONSE_LIMIT_MS,
            }
        )
        found.append(
            {
                "target": f"Lambda first response CPU, {name} - bare (ms)",
                "value": row["over_bare_cpu_ms"],
                "limit": FIRST_RESPONSE_LIMIT_MS,
                "met": row["over_bare_cpu_ms"] <= FIRST_RESPONSE_LIMIT_MS,
            }
        )
        found.append(
            {
                "target": f"Lambda peak RSS, {name} - bare (MB)",
                "value": row["over_bare_mb"],
                "limit": PEAK_RSS_LIMIT_MB,
                "met": row["over_bare_mb"] <= PEAK_RSS_LIMIT_MB,
            }
        )
    found.append(
        {
            "target": "deployment.zip (MB)",
            "value": result["zip_bytes"] / 1e6,
            "limit": ZIP_LIMIT_BYTES / 1e6,
            "met": result["zip_bytes"] <= ZIP_LIMIT_BYTES,
        }
    )
    found.append(
        {
            "target": "native files (.so) in deployment.zip",
            "value": float(len(result["native_files"])),
            "limit": 0.0,
            "met": not result["native_files"],
        }
    )
    return found


def render(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"{'cold start under awslambdaric, ' + result['runtime']:<50}"
        f"{'first ms':>9}{'p10':>9}{'p90':>9}{'- bare':>9}{'CPU ms':>9}{'- bare':>9}"
        f"{'peak MB':>9}{'- bare':>9}"
    ]
    for row in result["rows"].values():
        lines.append(
            f"{row['label']:<50}{row['first_response_ms']:>9.1f}"
            f"{row['first_response_ms_p10']:>9.1f}{row['first_response_ms_p90']:>9.1f}"
            f"{row['over_bare_ms']:>9.1f}{row['cpu_ms']:>9.1f}{row['over_bare_cpu_ms']:>9.1f}"
            f"{row['peak_rss_mb']:>9.1f}{row['over_bare_mb']:>9.1f}"
        )
    return lines
