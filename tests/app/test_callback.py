"""The OSS upload callback (``OSS_CALLBACK_URL``), through the app as OSS sees it.

A key pair is made here and its public half served with ``responses`` at the
URL OSS would name; the calls are signed the way OSS documents: RSA PKCS#1
v1.5 over MD5 of the URL-decoded path, ``?query`` if any, ``\\n`` and the body.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.hashes import MD5

from chalicelib import callback, handlers
from chalicelib.errors import NotConfigured
from tests.support.environment import FakeClock, api_client

KEY_URL = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"
# Deployed behind API Gateway's stage `api`: OSS calls, and signs, this path.
CALLBACK_URL = "https://abc123.execute-api.cn-hangzhou.example.com/api/oss-callback"
SIGNED_PATH = b"/api/oss-callback"


def fresh_expiry() -> int:
    """A ticket expiry as a callback right after an upload carries it."""
    return int(time.time()) + 600


def body_for(
    filename: str = "cat.png", user: str = "alice", size: Any = 1234, expires: Any = None
) -> bytes:
    """A body as OSS builds it from the ticket's template (values as JSON)."""
    return json.dumps(
        {
            "bucket": "signpost-test",
            "object": f"uploads/{user}/0123456789abcdef0123456789abcdef/{filename}",
            "etag": '"D41D8CD98F00B204E9800998ECF8427E"',
            "size": size,
            "mimeType": "image/png",
            "contentMd5": "1B2M2Y8AsgTpgAmY7PhCfg==",
            "filename": filename,
            "user": user,
            "expires": fresh_expiry() if expires is None else expires,
        },
        ensure_ascii=False,
    ).encode("utf-8")


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), MD5())).decode("ascii")


def headers_for(
    key: rsa.RSAPrivateKey, body: bytes, target: bytes = SIGNED_PATH, key_url: str = KEY_URL
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-oss-pub-key-url": base64.b64encode(key_url.encode("ascii")).decode("ascii"),
        "authorization": sign(key, target + b"\n" + body),
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def callback_env(
    env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """The callback URL set, and a fresh key cache on a clock the test moves."""
    env(OSS_CALLBACK_URL=CALLBACK_URL)
    monkeypatch.setattr(callback, "PUBLIC_KEYS", callback.PublicKeys(clock=clock))


@pytest.fixture
def key_server(private_key: rsa.RSAPrivateKey) -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(KEY_URL, body=pem(private_key))
        yield rsps


class AuditLog:
    """The audit lines the app wrote to standard output during the test."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._out = ""

    @property
    def text(self) -> str:
        self._out += self._capsys.readouterr().out
        return self._out

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> AuditLog:
    return AuditLog(capsys)


REPORTED = (
    "event",
    "provider",
    "bucket",
    "key",
    "etag",
    "size",
    "content_type",
    "filename",
    "content_md5",
)


def post(body: bytes, headers: dict[str, str]) -> Any:
    return api_client().post("/oss-callback", headers=headers, body=body)


def refused(response: Any) -> bool:
    return response.status_code == 403 and json.loads(response.body) == {
        "error": {"code": "AccessDenied", "message": "The callback could not be verified."},
        "message": "The callback could not be verified.",
    }


# --- a real call passes ---------------------------------------------------------


def test_signed_call_is_answered_with_json_and_logged(private_key, key_server, logs):
    body = body_for(filename='my "cat" ${object} 猫.png')
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 200
    key = 'uploads/alice/0123456789abcdef0123456789abcdef/my "cat" ${object} 猫.png'
    assert json.loads(response.body) == {"status": "ok", "key": key}
    # One line: a filename cannot start a forged log line.
    (upload,) = logs.lines()
    assert {name: upload[name] for name in REPORTED} == {
        "event": "callback",
        "provider": "oss",
        "bucket": "signpost-test",
        "key": key,
        "etag": '"D41D8CD98F00B204E9800998ECF8427E"',
        "size": 1234,
        "content_type": "image/png",
        "filename": 'my "cat" ${object} 猫.png',
        "content_md5": "1B2M2Y8AsgTpgAmY7PhCfg==",  # what OSS computed, recorded
    }
    expires_at = datetime.strptime(upload["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(expires_at.replace(tzinfo=timezone.utc).timestamp() - fresh_expiry()) <= 5


def test_size_sent_as_a_string_is_logged_as_a_number(private_key, key_server, logs):
    body = body_for(size="1234")
    assert post(body, headers_for(private_key, body)).status_code == 200
    assert [line["size"] for line in logs.lines()] == [1234]


def test_query_string_of_the_callback_url_is_signed(private_key, key_server, monkeypatch):
    url = "https://api.example.com/api/oss-callback?from=oss&v=%E4%B8%80"
    monkeypatch.setenv("OSS_CALLBACK_URL", url)
    body = body_for()
    good = headers_for(private_key, body, target=b"/api/oss-callback?from=oss&v=%E4%B8%80")
    assert post(body, good).status_code == 200
    without_query = headers_for(private_key, body, target=b"/api/oss-callback")
    assert refused(post(body, without_query))


def test_path_is_url_decoded_before_signing(private_key, key_server, monkeypatch):
    monkeypatch.setenv("OSS_CALLBACK_URL", "https://api.example.com/api/oss%2Dcallback")
    body = body_for()
    decoded = headers_for(private_key, body, target=b"/api/oss-callback")
    assert post(body, decoded).status_code == 200
    assert refused(post(body, headers_for(private_key, body, target=b"/api/oss%2Dcallback")))


def test_the_key_is_fetched_once_for_many_calls(private_key, key_server):
    for user in ("alice", "bob", "carol"):
        body = body_for(user=user)
        assert post(body, headers_for(private_key, body)).status_code == 200
    assert len(key_server.calls) == 1


# --- forgeries are refused ----------------------------------------------------


def test_changed_body_is_refused(private_key, key_server):
    headers = headers_for(private_key, body_for(user="alice"))
    assert refused(post(body_for(user="mallory"), headers))


@pytest.mark.parametrize(
    "target",
    [b"/oss-callback", b"/api/other", b"/api/oss-callback?x=1", b"/api/oss-callback/"],
    ids=["no-stage", "other-path", "added-query", "trailing-slash"],
)
def test_signature_for_another_path_or_query_is_refused(private_key, key_server, target):
    body = body_for()
    assert refused(post(body, headers_for(private_key, body, target=target)))


def test_signature_over_md5_of_something_else_is_refused(private_key, key_server):
    body = body_for()
    headers = headers_for(private_key, body)
    headers["authorization"] = sign(private_key, b"something else")
    assert refused(post(body, headers))


def test_signature_by_another_key_is_refused(key_server):
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    body = body_for()
    assert refused(post(body, headers_for(other, body)))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: base64.b64encode(base64.b64decode(sig)[:-1]).decode(),
        lambda sig: sig[:-4],
        lambda sig: sig + "!",
        lambda sig: "",
        lambda sig: "A" * 10000,
    ],
    ids=["truncated-bytes", "truncated-base64", "not-base64", "empty", "huge"],
)
def test_malformed_signature_is_refused(private_key, key_server, mangle):
    body = body_for()
    headers = headers_for(private_key, body)
    headers["authorization"] = mangle(headers["authorization"])
    assert refused(post(body, headers))


@pytest.mark.parametrize("missing", ["x-oss-pub-key-url", "authorization"])
def test_missing_header_is_refused_without_fetching(private_key, key_server, missing):
    body = body_for()
    headers = headers_for(private_key, body)
    del headers[missing]
    assert refused(post(body, headers))
    assert len(key_server.calls) == 0


@pytest.mark.parametrize(
    "key_url",
    [
        "https://evil.example.com/callback_pub_key_v1.pem",
        "https://gosspublic.alicdn.com.evil.example.com/callback_pub_key_v1.pem",
        "https://gosspublic.alicdn.com@evil.example.com/callback_pub_key_v1.pem",
        "https://gosspublic.alicdn.com:8443/callback_pub_key_v1.pem",
        "http://127.0.0.1:9000/callback_pub_key_v1.pem",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://gosspublic.alicdn.com/callback_pub_key_v1.pem",
        "https://gosspublic.alicdn.com/ key.pem",
        # On OSS's host, but not one of its callback keys: nothing else there is fetched.
        "https://gosspublic.alicdn.com/callback_pub_key_v1.pem?1",
        "https://gosspublic.alicdn.com/callback_pub_key_v1.pem#1",
        "https://gosspublic.alicdn.com/other.pem",
        "https://gosspublic.alicdn.com/callback_pub_key_v1.pem/x",
        "https://gosspublic.alicdn.com/callback_pub_key_v12345.pem",
    ],
)
def test_key_url_off_oss_is_refused_and_never_fetched(private_key, key_url):
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # The attacker's key really is served there: only the host check stops it.
        rsps.get(re.compile(r".*"), body=pem(private_key))
        assert refused(post(body, headers_for(private_key, body, key_url=key_url)))
        assert len(rsps.calls) == 0


def test_key_url_header_not_base64_is_refused(private_key, key_server):
    body = body_for()
    headers = headers_for(private_key, body)
    headers["x-oss-pub-key-url"] = KEY_URL  # sent in the clear, not base64
    assert refused(post(body, headers))
    assert len(key_server.calls) == 0


BAD_PEM = b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize(
    "answer",
    [
        lambda key: {"status": 200, "body": b"junk, not a key"},
        lambda key: {"status": 200, "body": BAD_PEM},
        # One of each way the bounded GET fails (tests/unit/test_fetch.py has
        # them all): a status, the right key past the size cap, no answer.
        lambda key: {"status": 404, "body": b"<Error>NoSuchKey</Error>"},
        lambda key: {"status": 200, "body": key + b"#" * callback.MAX_PUBLIC_KEY_BYTES},
        lambda key: {"body": requests.ConnectionError("no route")},
        lambda key: {"status": 302, "headers": {"Location": "https://evil.example.com/key.pem"}},
    ],
    ids=["junk", "bad-pem", "404", "too-large", "unreachable", "redirect"],
)
def test_key_url_answering_something_else_is_refused(private_key, answer):
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(KEY_URL, **answer(pem(private_key)))
        evil = rsps.get("https://evil.example.com/key.pem", body=pem(private_key))
        assert refused(post(body, headers_for(private_key, body)))
        assert refused(post(body, headers_for(private_key, body)))
        assert evil.call_count == 0
        assert len(rsps.calls) == 1  # the failure is remembered: no second fetch


def test_key_that_is_not_rsa_is_refused(private_key):
    body = body_for()
    with responses.RequestsMock() as rsps:
        rsps.get(KEY_URL, body=pem(ec.generate_private_key(ec.SECP256R1())))
        assert refused(post(body, headers_for(private_key, body)))


def test_signed_body_that_is_not_an_upload_is_refused(private_key, key_server):
    for body in (b"not json", b"[1, 2]", b'{"bucket": "signpost-test"}'):
        assert refused(post(body, headers_for(private_key, body)))


def test_refusal_logs_a_reason_and_no_signature_material(private_key, key_server, logs):
    body = body_for()
    headers = headers_for(private_key, body)
    headers["authorization"] = sign(private_key, b"something else")
    assert refused(post(body, headers))
    (line,) = logs.lines()
    assert (line["event"], line["code"]) == ("refused", "AccessDenied")
    assert line["reason"] == "signature does not match"
    for secret in (headers["authorization"], headers["x-oss-pub-key-url"], KEY_URL):
        assert secret not in logs.text


# --- the local key URL setting (make run, tests) --------------------------------


def test_local_key_url_is_trusted_only_when_configured(private_key, monkeypatch):
    local = "http://127.0.0.1:9000/keys/callback.pem"
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(local, body=pem(private_key))
        assert refused(post(body, headers_for(private_key, body, key_url=local)))
        assert len(rsps.calls) == 0
        monkeypatch.setenv("OSS_CALLBACK_PUBKEY_URL_PREFIX", "http://127.0.0.1:9000/keys/")
        assert post(body, headers_for(private_key, body, key_url=local)).status_code == 200
        assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OSS_CALLBACK_PUBKEY_URL_PREFIX", "http://127.0.0.1:9000"),  # would match :90001
        ("OSS_CALLBACK_PUBKEY_URL_PREFIX", "file:///etc/"),
        ("OSS_CALLBACK_URL", "ftp://example.com/oss-callback"),
        ("OSS_CALLBACK_URL", "https://a.example.com/cb;https://b.example.com/cb"),
        ("OSS_CALLBACK_URL", "https://example.com/oss callback"),
        ("OSS_CALLBACK_URL", "https://example.com/cb#fragment"),
        ("OSS_CALLBACK_URL", "https://example.com/%zz"),
    ],
)
def test_bad_setting_is_not_configured_naming_it(
    private_key, key_server, monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)
    body = body_for()
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 503
    error = json.loads(response.body)["error"]
    assert error["code"] == "NotConfigured"
    assert variable in error["message"]
    assert value not in error["message"]


def test_callback_route_without_callback_url_is_not_configured(
    private_key, key_server, monkeypatch
):
    monkeypatch.delenv("OSS_CALLBACK_URL")
    body = body_for()
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 503
    assert "OSS_CALLBACK_URL" in json.loads(response.body)["error"]["message"]
    assert len(key_server.calls) == 0


# --- tickets carry the callback -----------------------------------------------------

DOCUMENTED_BODY = (
    '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
    '"mimeType":${mimeType},"contentMd5":${contentMd5},"filename":${x:filename},'
    '"user":${x:user},"expires":${x:expires}}'
)


def ticket(filename: str = "cat.png", user: str | None = None) -> dict[str, Any]:
    request = json.dumps({"filename": filename, "content_type": "image/png", "size": 1234})
    return handlers.upload_ticket(request.encode(), dict(os.environ), user=user)


def conditions(fields: dict[str, str]) -> list[Any]:
    return json.loads(base64.b64decode(fields["policy"]))["conditions"]


def test_ticket_carries_the_documented_callback_bound_in_the_policy():
    filename = 'my "cat" $object {x:user} 猫.png'
    fields = ticket(filename, user="alice")["fields"]
    assert json.loads(base64.b64decode(fields["callback"])) == {
        "callbackUrl": CALLBACK_URL,
        "callbackBody": DOCUMENTED_BODY,
        "callbackBodyType": "application/json",
    }
    assert fields["x:filename"] == filename
    assert fields["x:user"] == "alice"
    bound = conditions(fields)
    assert abs(int(fields["x:expires"]) - (time.time() + 600)) <= 5
    for name in ("callback", "x:filename", "x:user", "x:expires"):
        assert ["eq", f"${name}", fields[name]] in bound
    names = list(fields)
    assert names.index("key") < names.index("callback") < names.index("success_action_status")


def test_ticket_without_a_user_sends_an_empty_user():
    fields = ticket()["fields"]
    assert fields["x:user"] == ""
    assert ["eq", "$x:user", ""] in conditions(fields)


def test_ticket_through_the_route_carries_the_callback():
    response = api_client().post(
        "/upload-tickets",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"filename": "cat.png", "content_type": "image/png"}).encode(),
    )
    assert response.status_code == 200
    fields = json.loads(response.body)["fields"]
    assert {"callback", "x:filename", "x:user"} <= set(fields)
    assert ["eq", "$callback", fields["callback"]] in conditions(fields)


def test_no_callback_without_the_setting_or_on_s3(monkeypatch):
    monkeypatch.delenv("OSS_CALLBACK_URL")
    assert not {"callback", "x:filename", "x:user"} & set(ticket()["fields"])
    monkeypatch.setenv("OSS_CALLBACK_URL", CALLBACK_URL)
    s3 = {
        "STORAGE_PROVIDER": "s3",
        "S3_BUCKET": "signpost-test",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "s3-secret",
    }
    for name, value in s3.items():
        monkeypatch.setenv(name, value)
    assert not {"callback", "x:filename", "x:user"} & set(ticket()["fields"])


def test_what_oss_posts_from_the_template_is_accepted(private_key, key_server, logs):
    """OSS fills the template with JSON values (the docs' callbackBodyType
    rule); do the same with an awkward filename and post it back."""
    filename = 'a "b" $x:user c\u00e9 猫.png'
    fields = ticket(filename, user="alice")["fields"]
    template = json.loads(base64.b64decode(fields["callback"]))["callbackBody"]
    values = {
        "bucket": "signpost-test",
        "object": "uploads/alice/x/" + filename,
        "etag": '"ETAG"',
        "size": "1234",
        "mimeType": "image/png",
        "contentMd5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "x:filename": fields["x:filename"],
        "x:user": fields["x:user"],
        "x:expires": fields["x:expires"],
    }
    body = re.sub(r"\$\{([^}]+)\}", lambda m: json.dumps(values[m.group(1)]), template).encode()
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 200
    assert json.loads(response.body)["key"] == "uploads/alice/x/" + filename
    assert [line["filename"] for line in logs.lines()] == [filename]  # escaped: one line


def test_ticket_with_a_bad_callback_url_is_not_configured(monkeypatch):
    monkeypatch.setenv("OSS_CALLBACK_URL", "https://a.example.com/cb;https://b.example.com/cb")
    with pytest.raises(NotConfigured, match="OSS_CALLBACK_URL"):
        ticket()
    # The key URL prefix is the callback route's business, not the ticket's.
    monkeypatch.setenv("OSS_CALLBACK_URL", CALLBACK_URL)
    monkeypatch.setenv("OSS_CALLBACK_PUBKEY_URL_PREFIX", "not a url")
    assert "callback" in ticket()["fields"]


# --- stale calls and a bounded key cache ------------------------------------------


@pytest.mark.parametrize(
    ("expires", "accepted"),
    [
        (lambda: fresh_expiry(), True),
        (lambda: int(time.time()) - 3000, True),  # expired, within the hour's grace
        (lambda: int(time.time()) - 3700, False),  # a replay long after its ticket
        (lambda: str(int(time.time()) - 7200), False),
        (lambda: "soon", False),
        (lambda: None, False),
    ],
)
def test_a_callback_long_after_its_ticket_expired_is_stale(
    private_key, key_server, logs, expires, accepted
):
    body = json.loads(body_for())
    body["expires"] = expires()
    if body["expires"] is None:
        del body["expires"]
    raw = json.dumps(body).encode()
    response = post(raw, headers_for(private_key, raw))
    assert (response.status_code == 200) is accepted
    if not accepted:
        assert refused(response)
        (line,) = logs.lines()
        assert "stale" in line["reason"] or "no ticket expiry" in line["reason"]


def test_the_key_cache_keeps_a_few_keys_at_most(private_key, monkeypatch, clock):
    monkeypatch.setenv("OSS_CALLBACK_PUBKEY_URL_PREFIX", "http://127.0.0.1:9000/keys/")
    body = body_for()
    urls = [
        f"http://127.0.0.1:9000/keys/{number}.pem" for number in range(3 * callback.MAX_CACHED_KEYS)
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r"http://127\.0\.0\.1:9000/keys/.*"), body=pem(private_key))
        for url in urls:
            clock.now += callback.KEY_FETCH_INTERVAL  # past the fetch limit, each time
            assert post(body, headers_for(private_key, body, key_url=url)).status_code == 200
        assert len(rsps.calls) == len(urls)
        for url in urls[-callback.MAX_CACHED_KEYS :]:  # the newest are kept
            assert post(body, headers_for(private_key, body, key_url=url)).status_code == 200
        assert len(rsps.calls) == len(urls)
        clock.now += callback.KEY_FETCH_INTERVAL
        assert post(body, headers_for(private_key, body, key_url=urls[0])).status_code == 200
        assert len(rsps.calls) == len(urls) + 1  # the oldest was dropped: fetched again


# --- key fetches are bounded (security review) ----------------------------------

OSS_KEY_FOLDER = "https://gosspublic.alicdn.com/"


def test_calls_naming_keys_oss_does_not_publish_fetch_nothing(private_key):
    """OSS's Callback page names one key, callback_pub_key_v1.pem: forged calls
    naming v0 ... v999 on its host must not each cost an outbound fetch."""
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r".*"), body=pem(private_key))
        for number in [0, *range(2, 50), 999]:
            url = f"{OSS_KEY_FOLDER}callback_pub_key_v{number}.pem"
            assert refused(post(body, headers_for(private_key, body, key_url=url)))
        assert len(rsps.calls) == 0


def test_a_failed_key_fetch_is_remembered(private_key, clock, logs):
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(KEY_URL, body=requests.ConnectTimeout("slow"))
        for _ in range(50):
            assert refused(post(body, headers_for(private_key, body)))
        assert len(rsps.calls) == 1
        clock.now += callback.KEY_FETCH_INTERVAL - 1
        assert refused(post(body, headers_for(private_key, body)))
        assert len(rsps.calls) == 1
        clock.now += 1  # a minute on, the key is tried again, and now it answers
        rsps.replace(responses.GET, KEY_URL, body=pem(private_key))
        assert post(body, headers_for(private_key, body)).status_code == 200
        assert len(rsps.calls) == 2
    assert "not tried again" in logs.text


def test_key_fetches_are_limited_per_interval_whatever_the_url(private_key, monkeypatch, clock):
    """A dev prefix admits many URLs: all of them together get a few fetches a minute."""
    monkeypatch.setenv("OSS_CALLBACK_PUBKEY_URL_PREFIX", "http://127.0.0.1:9000/keys/")
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r"http://127\.0\.0\.1:9000/keys/.*"), status=404)
        for number in range(50):
            url = f"http://127.0.0.1:9000/keys/{number}.pem"
            assert refused(post(body, headers_for(private_key, body, key_url=url)))
        assert len(rsps.calls) == callback.KEY_FETCHES_PER_INTERVAL
        clock.now += callback.KEY_FETCH_INTERVAL
        assert refused(post(body, headers_for(private_key, body, key_url=url + "x")))
        assert len(rsps.calls) == callback.KEY_FETCHES_PER_INTERVAL + 1


def test_an_http_key_url_is_fetched_over_https(private_key):
    """OSS's Callback page shows x-oss-pub-key-url decoding to
    http://gosspublic.alicdn.com/callback_pub_key_v1.pem: accepted, but the key
    is read over TLS, so no one on the path can serve a key of their own."""
    plain = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem"
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tls = rsps.get(KEY_URL, body=pem(private_key))
        clear = rsps.get(plain, body=pem(attacker))
        assert refused(post(body, headers_for(attacker, body, key_url=plain)))
        assert post(body, headers_for(private_key, body, key_url=plain)).status_code == 200
        assert post(body, headers_for(private_key, body)).status_code == 200
        assert (tls.call_count, clear.call_count) == (1, 0)  # one key, one fetch


DEV_KEYS = "http://127.0.0.1:9000/.well-known/"


@pytest.mark.parametrize(
    "tail",
    [
        "../uploads/0123/avatar.png",
        "./../uploads/avatar.png",
        "keys/../../uploads/avatar.png",
        "..",
        "%2e%2e/uploads/avatar.png",
        "%2E%2e/uploads/avatar.png",
        ".%2E/uploads/avatar.png",
        "%2e./uploads/avatar.png",
        "..%2fuploads/avatar.png",
        "..%2Fuploads%2Favatar.png",
        "%2e%2e%5cuploads/avatar.png",
        "..\\uploads\\avatar.png",
        "%252e%252e/uploads/avatar.png",
    ],
)
def test_dot_segments_cannot_leave_the_dev_key_prefix(private_key, monkeypatch, tail):
    """requests resolves ``..`` before it fetches: under a dev prefix such a URL
    would read an object an uploader stored, and trust it as the key."""
    monkeypatch.setenv("OSS_CALLBACK_PUBKEY_URL_PREFIX", DEV_KEYS)
    body = body_for()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(re.compile(r".*"), body=pem(private_key))  # the uploader's "key"
        assert refused(post(body, headers_for(private_key, body, key_url=DEV_KEYS + tail)))
        assert len(rsps.calls) == 0


# --- VERIFY_CONTENT: the verified call is checked --------------------------------------

STORED_URL = (
    "https://signpost-test.oss-cn-hangzhou.aliyuncs.com/"
    "uploads/alice/0123456789abcdef0123456789abcdef/cat.png"
)


def test_with_verify_content_markup_is_deleted_and_the_callback_refused_422(
    env, private_key, key_server, logs
):
    env(VERIFY_CONTENT="on")
    key_server.get(STORED_URL, body=b"<html><script>x</script>", content_type="image/png")
    key_server.delete(STORED_URL, status=204)
    body = body_for()
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 422
    assert json.loads(response.body)["error"]["code"] == "ContentMismatch"
    sent = [(call.request.method, call.request.url) for call in key_server.calls]
    assert sent[-2:] == [("GET", STORED_URL), ("DELETE", STORED_URL)]
    assert key_server.calls[-2].request.headers["Range"] == "bytes=0-8191"
    verdict, refusal = logs.lines()
    assert (verdict["event"], verdict["outcome"], verdict["detected"]) == (
        "verify",
        "deleted",
        "text/html",
    )
    assert (refusal["event"], refusal["code"]) == ("refused", "ContentMismatch")


def test_with_verify_content_a_verified_call_for_a_key_signpost_did_not_name_is_refused(
    env, private_key, key_server
):
    """OSS signs every customer's callbacks: a verified call may name any key;
    the function reads none but its own (no storage call is registered)."""
    env(VERIFY_CONTENT="on")
    body = body_for(user="mallory").replace(b"uploads/mallory/", b"uploads/alice/")
    response = post(body, headers_for(private_key, body))
    assert response.status_code == 403
    assert [call.request.url for call in key_server.calls] == [KEY_URL]
