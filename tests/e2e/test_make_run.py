"""``make run`` (``python -m devtools.run``) as a developer uses it.

It starts, prints the page's address, the page gets tickets that upload to
the dev bucket, and Ctrl-C (SIGINT) stops everything; ``--provider s3`` does
the same with S3's rules. With real settings it signs for that bucket
instead, and says what is missing if one is.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from devtools.run import DEMO_MAX_UPLOAD_BYTES
from tests.support.devbucket import HOST, PNG, free_port, post_form
from tests.support.run import child_env

PROJECT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


@contextmanager
def make_run(
    tmp_path: Path, env: Mapping[str, str], *options: str
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m devtools.run`` on free ports, with ``options``; yields it and its
    output so far."""
    ports = {"--api-port": free_port(), "--page-port": free_port(), "--bucket-port": free_port()}
    arguments = [f"{option}={port}" for option, port in ports.items()]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.run",
            *arguments,
            "--bucket-dir",
            str(tmp_path / "dev-bucket"),
            *options,
        ],
        cwd=PROJECT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(START_SECONDS, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        yield process, lines
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(20)


def read_until(process: subprocess.Popen[str], lines: list[str], prefix: str) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError("devtools.run ended early:\n" + "".join(lines))


def addresses(process: subprocess.Popen[str], lines: list[str]) -> tuple[str, str]:
    """The API's address and the page's, as ``make run`` prints them."""
    api = read_until(process, lines, "API at ").split()[2]
    page = read_until(process, lines, "Open ").split()[1]
    return api, page


def test_make_run_serves_the_page_api_and_dev_bucket_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with make_run(tmp_path, child_env()) as (process, lines):
        api, address = addresses(process, lines)
        page_origin = re.fullmatch(r"(http://[^/]+)/", address).group(1)  # type: ignore[union-attr]

        for path in ("", "simple.html"):  # Uppy's Dashboard, and upload.js alone
            page = requests.get(address + path, timeout=5)
            assert page.status_code == 200
            assert 'src="upload.js"' in page.text
            assert f'<body data-api="{api}">' in page.text  # the page's one API address
        assert 'src="vendor/uppy/uppy.min.js"' in requests.get(address, timeout=5).text
        rules = requests.get(f"{api}/upload-rules", timeout=10).json()
        assert rules["max_size"] == DEMO_MAX_UPLOAD_BYTES  # large enough for parts
        assert "Uploads up to 200 MB for this demo" in "".join(lines)
        ticket = requests.post(
            f"{api}/upload-tickets",
            json={"filename": "cat.png", "content_type": "image/png", "size": len(PNG)},
            headers={"Origin": page_origin},
            timeout=10,
        )
        assert ticket.status_code == 200, ticket.text
        assert ticket.headers["Access-Control-Allow-Origin"] == page_origin
        body = ticket.json()
        preflight = requests.options(
            body["url"],
            headers={"Origin": page_origin, "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        assert preflight.headers["Access-Control-Allow-Origin"] == page_origin
        # The dev bucket called the API back; OSS hands the uploader the callback's answer.
        upload = post_form(body["url"], body["fields"], PNG, file_type="image/png")
        assert upload.status_code == 200, upload.text
        assert upload.json() == {"status": "ok", "key": body["key"]}
        stored = tmp_path / "dev-bucket" / "signpost-dev" / "objects" / body["key"]
        assert stored.read_bytes() == PNG

        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
        lines.extend(process.stdout or [])
    assert "Stopping." in "".join(lines)
    # The function's audit lines: the ticket, and what the dev bucket's callback reported.
    audit = [json.loads(line) for line in lines if line.startswith('{"time"')]
    assert [(line["event"], line["bucket"], line["key"]) for line in audit] == [
        ("ticket", "signpost-dev", body["key"]),
        ("callback", "signpost-dev", body["key"]),
    ]
    api_port = int(api.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex((HOST, api_port)) != 0, "chalice local outlived make run"


def test_the_shells_limits_win_over_the_demos_and_the_config_files(tmp_path: Path) -> None:
    """chalice local puts .chalice/config.json's variables over its own
    environment: none is set for the local stage, so the shell's apply."""
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    assert "environment_variables" not in config
    assert config["stages"]["local"]["environment_variables"] == {}
    shell = child_env(MAX_UPLOAD_BYTES="3000000", ALLOWED_CONTENT_TYPES="text/plain")
    with make_run(tmp_path, shell) as (process, lines):
        api, _ = addresses(process, lines)
        rules = requests.get(f"{api}/upload-rules", timeout=10).json()
    assert rules["max_size"] == 3000000
    assert list(rules["content_types"]) == ["text/plain"]
    assert "Uploads up to MAX_UPLOAD_BYTES=3000000 bytes, from your shell." in "".join(lines)


REAL_SETTINGS = {
    "oss": (
        {
            "OSS_BUCKET": "my-real-bucket",
            "OSS_REGION": "cn-shanghai",
            "OSS_ACCESS_KEY_ID": "LTAIrealkey",
            "OSS_ACCESS_KEY_SECRET": "real-secret",
        },
        "https://my-real-bucket.oss-cn-shanghai.aliyuncs.com",
    ),
    "s3": (
        {
            "S3_BUCKET": "my-real-bucket",
            "AWS_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "AKIAREALKEY000000000",
            "AWS_SECRET_ACCESS_KEY": "real-secret",
        },
        "https://my-real-bucket.s3.eu-central-1.amazonaws.com",
    ),
}


@pytest.mark.parametrize("provider", sorted(REAL_SETTINGS))
def test_real_settings_replace_the_dev_bucket(tmp_path: Path, provider: str) -> None:
    settings, url = REAL_SETTINGS[provider]
    with make_run(tmp_path, child_env(**settings), "--provider", provider) as (process, lines):
        api, _ = addresses(process, lines)
        ticket = requests.post(
            f"{api}/upload-tickets",
            json={"filename": "a.png", "content_type": "image/png"},
            timeout=10,
        ).json()
    output = "".join(lines)
    found = f"Real {provider.upper()} settings found: uploads go to the bucket my-real-bucket"
    assert found in output
    assert "Dev bucket" not in output
    assert ticket["url"] == url
    assert "real-secret" not in output


def test_incomplete_real_settings_are_named_before_anything_starts(tmp_path: Path) -> None:
    with make_run(tmp_path, child_env(OSS_BUCKET="my-real-bucket")) as (process, lines):
        assert process.wait(20) == 2
        lines.extend(process.stdout or [])
    output = "".join(lines)
    assert "Real OSS settings are incomplete" in output
    assert "OSS_REGION" in output
    assert "Open " not in output


def test_provider_s3_serves_an_s3_dev_bucket_and_signs_for_it(tmp_path: Path) -> None:
    """The shell's own AWS keys and token do not leak into the dev wiring."""
    shell = child_env(AWS_ACCESS_KEY_ID="AKIAMYOWNKEY00000000", AWS_SESSION_TOKEN="my-token")
    with make_run(tmp_path, shell, "--provider", "s3") as (process, lines):
        api, _ = addresses(process, lines)
        body = requests.post(
            f"{api}/upload-tickets",
            json={"filename": "cat.png", "content_type": "image/png", "size": len(PNG)},
            timeout=10,
        ).json()
        assert body["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
        assert "x-amz-security-token" not in body["fields"]
        response = post_form(body["url"], body["fields"], PNG, file_type="image/png")
        assert response.status_code == 201, response.text
        assert "x-amz-request-id" in response.headers
        stored = tmp_path / "dev-bucket" / "signpost-dev" / "objects" / body["key"]
        assert stored.read_bytes() == PNG
    assert "Dev bucket signpost-dev (S3 rules)" in "".join(lines)


def test_the_callback_is_wired_for_the_dev_bucket_unless_turned_off() -> None:
    from chalicelib.settings import load_callback_key_prefixes, load_callback_url
    from devtools.run import api_env, parse_args

    bucket, api = "http://127.0.0.1:9000", "http://127.0.0.1:8000"
    wired = api_env({}, ["http://127.0.0.1:8080"], bucket, api)
    assert load_callback_url(wired) == f"{api}/oss-callback"
    assert load_callback_key_prefixes(wired)[-1] == f"{bucket}/.well-known/"
    # --no-callback passes no API URL; real OSS has no dev bucket to trust.
    assert parse_args(["--no-callback"]).no_callback
    assert not parse_args([]).no_callback
    for env in (api_env({}, [], bucket), api_env({}, [], None, api)):
        assert "OSS_CALLBACK_URL" not in env
        assert "OSS_CALLBACK_PUBKEY_URL_PREFIX" not in env


def test_auth_mode_from_the_shell_is_kept_and_said_before_the_address(tmp_path: Path) -> None:
    """A shell's AUTH_MODE makes every request without credentials fail with
    "Send your credentials": the page asks for a key, the simple page cannot
    upload. make run keeps the setting (a developer may be trying auth with
    curl) and says so where the address is."""
    shell = child_env(AUTH_MODE="api-key", API_KEYS="my-secret-key-0123456789")
    with make_run(tmp_path, shell) as (process, lines):
        api, _ = addresses(process, lines)
        rules = requests.get(f"{api}/upload-rules", timeout=10)
    output = "".join(lines)
    warning = output[output.index("API at") : output.index("Open ")]
    assert "AUTH_MODE=api-key comes from your shell" in warning
    assert "the page asks you for an API key or token" in warning
    assert "env -u AUTH_MODE make run" in warning
    assert "my-secret-key" not in output
    assert rules.status_code == 401  # the setting was kept, as the warning says


def test_no_warning_without_auth_mode(tmp_path: Path) -> None:
    from devtools.run import auth_warning

    assert auth_warning({}) is None
    assert auth_warning({"AUTH_MODE": " None "}) is None
    assert "AUTH_MODE=jwt" in (auth_warning({"AUTH_MODE": "jwt"}) or "")


def test_a_busy_port_says_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with make_run(tmp_path, child_env(), f"--api-port={port}") as (process, lines):
            assert process.wait(20) == 2
            lines.extend(process.stdout or [])
    output = "".join(lines)
    assert f"Port {port} on {HOST} is in use" in output
    assert 'make run RUN_ARGS="--api-port PORT"' in output
