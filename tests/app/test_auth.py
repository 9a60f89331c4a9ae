"""Who may ask (``AUTH_MODE``), through the app as a caller sees it.

The JWKS endpoint is the only fake, with ``responses``; keys are generated
here with ``cryptography``; the JWKS clock is a counter the tests move.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import responses
from chalice.test import Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from chalicelib import auth
from chalicelib.keys import user_segment
from tests.support.environment import FakeClock, chalice_client

JWKS_URL = "https://issuer.example.com/.well-known/jwks.json"
API_KEY = "first-key-0123"
SECRET = "s" * 64  # long enough for HS512 too, so refusing it is about the algorithm
BODY = json.dumps({"filename": "cat.png", "content_type": "image/png"})

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


def key_set(*jwks: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(jwks)}


def make_token(
    key: Any = RSA_KEY, algorithm: str = "RS256", kid: str | None = "k1", **claims: Any
) -> str:
    """A signed token for ``alice``, valid for five minutes, unless ``claims`` say otherwise."""
    now = int(time.time())
    payload = {"sub": "alice", "iat": now, "exp": now + 300, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


# Valid for a day, so that strategies built at import can hold it.
ALICE = make_token(exp=int(time.time()) + 86400)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    parts = [b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode())]
    return ".".join([*parts, b64url(signature)])


def hs256_with(secret: bytes, payload: dict[str, Any], kid: str = "k1") -> str:
    """An HS256 token signed by hand: PyJWT itself refuses a PEM as an HMAC secret."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(mac)}"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fresh JWKS cache per test, on a clock the test moves."""
    fake = FakeClock()
    monkeypatch.setattr(auth, "JWKS_CACHE", auth.JwksCache(clock=fake))
    return fake


@pytest.fixture
def environment(env: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The OSS test settings (conftest's ``env``), for tests to add to; the
    legacy route on, since tests ask it as well as ``/upload-tickets``."""
    env(LEGACY_ROUTE="on")
    return monkeypatch


@pytest.fixture
def jwks_mode(
    environment: pytest.MonkeyPatch, clock: FakeClock
) -> Iterator[responses.RequestsMock]:
    environment.setenv("AUTH_MODE", "jwt")
    environment.setenv("JWT_JWKS_URL", JWKS_URL)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=key_set(public_jwk(RSA_KEY, "k1"), public_jwk(EC_KEY, "e1")))
        yield mock


@pytest.fixture
def secret_mode(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("AUTH_MODE", "jwt")
    environment.setenv("JWT_SECRET", SECRET)


@pytest.fixture
def api_key_mode(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("AUTH_MODE", "api-key")
    environment.setenv("API_KEYS", f"{API_KEY}, second-key-4567")


@pytest.fixture
def client() -> Iterator[Client]:
    with chalice_client() as test_client:
        yield test_client


def ask(
    client: Client, token: str | None, body: bytes | str = BODY, *, scheme: str = "Bearer"
) -> Any:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"{scheme} {token}"
    return client.http.post("/upload-tickets", headers=headers, body=body)


def ask_legacy(client: Client, token: str | None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return client.http.get("/get_post_signature_for_oss_upload", headers=headers)


def error_of(response: Any) -> dict[str, str]:
    return json.loads(response.body)["error"]


def assert_refused(response: Any, status: int, code: str, words: str = "") -> None:
    assert response.status_code == status, response.body
    error = error_of(response)
    assert error["code"] == code
    assert words.lower() in error["message"].lower()
    assert_nothing_signed(response)


def assert_nothing_signed(response: Any) -> None:
    """A refusal is the error object alone: no policy, signature or field."""
    assert set(json.loads(response.body)) == {"error", "message"}
    assert set(error_of(response)) == {"code", "message"}


def policy_of(answer: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(answer["fields"]["policy"]))


def jwks_calls(mock: responses.RequestsMock) -> int:
    return sum(1 for call in mock.calls if call.request.url == JWKS_URL)


# --- JWKS (RS256) -------------------------------------------------------------


def test_good_rs256_token_gets_a_ticket_under_its_subject(jwks_mode: Any, client: Client) -> None:
    response = ask(client, make_token())
    assert response.status_code == 200, response.body
    answer = json.loads(response.body)
    assert re.fullmatch(r"uploads/alice/[0-9a-f]{32}/cat\.png", answer["key"])
    assert ["eq", "$key", answer["key"]] in policy_of(answer)["conditions"]
    assert jwks_calls(jwks_mode) == 1


def test_es256_token_is_refused_by_name(jwks_mode: Any, client: Client) -> None:
    """Only RS256 (SPEC 6): an ES256 token, even one whose EC key the set
    publishes, is refused, and the message names the algorithm to use."""
    response = ask(client, make_token(EC_KEY, "ES256", kid="e1", sub="bob"))
    assert_refused(response, 403, "AccessDenied", "signed with RS256")
    assert jwks_calls(jwks_mode) == 0


def test_keys_are_fetched_once_for_many_tokens(
    jwks_mode: Any, client: Client, clock: FakeClock
) -> None:
    for step in range(5):
        clock.now += 100
        assert ask(client, make_token(sub=f"user{step}")).status_code == 200
    assert jwks_calls(jwks_mode) == 1


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": int(time.time()) - 60}, "expired"),  # beyond the 30 s leeway
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"iat": int(time.time()) + 3600}, "not valid yet"),
        ({"exp": None}, "'exp'"),
        ({"sub": None}, "subject"),
        ({"sub": ""}, "subject"),
        ({"sub": 42}, ""),
    ],
    ids=[
        "expired",
        "expired-beyond-leeway",
        "nbf-future",
        "iat-future",
        "no-exp",
        "no-sub",
        "empty-sub",
        "number-sub",
    ],
)
def test_token_claims_refused(
    jwks_mode: Any, client: Client, claims: dict[str, Any], words: str
) -> None:
    assert_refused(ask(client, make_token(**claims)), 403, "AccessDenied", words)


def test_small_clock_skew_is_tolerated(jwks_mode: Any, client: Client) -> None:
    now = int(time.time())
    assert ask(client, make_token(exp=now - 10)).status_code == 200
    assert ask(client, make_token(nbf=now + 10)).status_code == 200


def test_audience_and_issuer_checked_when_set(
    jwks_mode: Any, environment: pytest.MonkeyPatch, client: Client
) -> None:
    environment.setenv("JWT_AUDIENCE", "signpost")
    environment.setenv("JWT_ISSUER", "https://issuer.example.com/")
    good = {"aud": "signpost", "iss": "https://issuer.example.com/"}
    assert ask(client, make_token(**good)).status_code == 200
    assert ask(client, make_token(**{**good, "aud": ["other", "signpost"]})).status_code == 200
    refusals = [
        ({**good, "aud": "other"}, "audience"),
        ({**good, "aud": None}, "'aud'"),
        ({**good, "iss": "https://evil.example.com/"}, "issuer"),
        ({**good, "iss": None}, "'iss'"),
    ]
    for claims, words in refusals:
        assert_refused(ask(client, make_token(**claims)), 403, "AccessDenied", words)


def issuer_warnings(records: list[Any]) -> list[str]:
    return [
        record.getMessage()
        for record in records
        if record.levelname == "WARNING" and "JWT_ISSUER" in record.getMessage()
    ]


def test_a_key_set_without_an_issuer_is_warned_about_once(
    jwks_mode: Any,
    environment: pytest.MonkeyPatch,
    client: Client,
    app_logs: list[Any],
) -> None:
    """A shared key set (one per region of a hosted identity provider) signs
    for many tenants: without JWT_ISSUER, the same ``sub`` from two of them
    is one folder. Allowed, but the log says so, once per warm container."""
    environment.setattr(auth, "_WARNED_WITHOUT_ISSUER", set())
    for _ in range(3):
        assert ask(client, make_token()).status_code == 200
    (warning,) = issuer_warnings(app_logs)
    assert JWKS_URL in warning
    assert "sub" in warning
    environment.setenv("JWT_ISSUER", "https://issuer.example.com/")
    app_logs.clear()
    assert ask(client, make_token(iss="https://issuer.example.com/")).status_code == 200
    assert issuer_warnings(app_logs) == []


def test_audience_not_checked_when_unset(jwks_mode: Any, client: Client) -> None:
    assert ask(client, make_token(aud="whatever")).status_code == 200


def test_bad_signatures_refused(jwks_mode: Any, client: Client) -> None:
    forged_key = make_token(OTHER_RSA_KEY)  # right kid, wrong private key
    header, _payload, signature = make_token().split(".")
    bob = b64url(json.dumps({"sub": "bob", "exp": int(time.time()) + 300}).encode())
    swapped = f"{header}.{bob}.{signature}"  # alice's signature on bob's claims
    signature_bytes = base64.urlsafe_b64decode(signature + "==")
    truncated = f"{header}.{_payload}.{b64url(signature_bytes[:-1])}"  # shorter than the modulus
    for token in (forged_key, swapped, truncated):
        assert_refused(ask(client, token), 403, "AccessDenied", "signature")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b.c",
        "a..",
        "\u00e9.\ud800.x",
        b64url(b"[" * 50_000) + ".e30.",
        unsigned_token({"alg": "RS256", "kid": ["k1"]}, {}),
    ],
    ids=["word", "three-words", "empty-parts", "lone-surrogate", "deep-header", "kid-list"],
)
def test_malformed_tokens_refused(jwks_mode: Any, client: Client, token: str) -> None:
    assert_refused(ask(client, token), 403, "AccessDenied", "well-formed")
    assert jwks_calls(jwks_mode) == 0


def test_alg_none_refused_without_fetching(jwks_mode: Any, client: Client) -> None:
    payload = {"sub": "alice", "exp": int(time.time()) + 300}
    for alg in ("none", "None", "NONE"):
        token = unsigned_token({"alg": alg, "kid": "k1"}, payload)
        assert_refused(ask(client, token), 403, "AccessDenied", "signed with RS256")
    assert jwks_calls(jwks_mode) == 0


def test_hs256_signed_with_the_rsa_public_key_is_refused(jwks_mode: Any, client: Client) -> None:
    """Algorithm confusion: the public PEM used as an HMAC secret."""
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256_with(pem, {"sub": "alice", "exp": int(time.time()) + 300})
    assert_refused(ask(client, token), 403, "AccessDenied", "signed with RS256")


def test_unknown_kid_refused_after_one_refetch(
    jwks_mode: Any, client: Client, clock: FakeClock
) -> None:
    assert ask(client, make_token()).status_code == 200
    clock.now += 61
    assert_refused(ask(client, make_token(kid="k9")), 403, "AccessDenied", "kid")
    assert jwks_calls(jwks_mode) == 2
    for kid in ("k9", "k10", "k11"):  # made-up kids within the minute: no fetch
        assert_refused(ask(client, make_token(kid=kid)), 403, "AccessDenied", "kid")
    assert jwks_calls(jwks_mode) == 2


def test_token_without_kid_refused(jwks_mode: Any, client: Client) -> None:
    assert_refused(ask(client, make_token(kid=None)), 403, "AccessDenied", "kid")


def test_rotation_picked_up_with_exactly_one_refetch(
    jwks_mode: responses.RequestsMock, client: Client, clock: FakeClock
) -> None:
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert ask(client, make_token()).status_code == 200
    jwks_mode.replace(
        responses.GET, JWKS_URL, json=key_set(public_jwk(RSA_KEY, "k1"), public_jwk(new_key, "k2"))
    )
    clock.now += 10  # within the minute: the new kid must wait
    assert_refused(ask(client, make_token(new_key, kid="k2")), 403, "AccessDenied", "kid")
    assert jwks_calls(jwks_mode) == 1
    clock.now += 51
    assert ask(client, make_token(new_key, kid="k2")).status_code == 200
    assert jwks_calls(jwks_mode) == 2
    assert ask(client, make_token(new_key, kid="k2", sub="bob")).status_code == 200
    assert ask(client, make_token()).status_code == 200
    assert jwks_calls(jwks_mode) == 2


@pytest.mark.parametrize(
    "failure",
    [
        # One of each way the bounded GET fails (tests/unit/test_fetch.py has them all).
        {"body": requests.exceptions.ConnectionError("refused")},
        {"body": "<html>gateway error</html>", "status": 502},
        {"body": "<html>not json</html>"},
        {"json": {"keys": "nope"}},
        {"json": ["not", "an", "object"]},
        {"json": {"keys": []}},
        {"json": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k1"}]}},  # HMAC key: never
        {"json": {"keys": [{"kty": "RSA", "kid": "k1", "n": "!!", "e": 5}]}},
        {"json": {"keys": [{**public_jwk(RSA_KEY, "k1"), "use": "enc"}]}},
        {"body": "[" * 100_000},
        {"body": json.dumps(key_set(public_jwk(RSA_KEY, "k1"))) + " " * auth.JWKS_MAX_BYTES},
        {"body": "", "status": 302, "headers": {"Location": "http://plain.example.com/jwks"}},
    ],
    ids=[
        "refused",
        "http-502",
        "html",
        "keys-not-list",
        "not-object",
        "no-keys",
        "oct-key",
        "broken-rsa",
        "encryption-key",
        "deep-json",
        "too-large",
        "redirect",
    ],
)
def test_unreadable_jwks_is_503_and_not_hammered(
    jwks_mode: responses.RequestsMock, client: Client, clock: FakeClock, failure: dict[str, Any]
) -> None:
    jwks_mode.replace(responses.GET, JWKS_URL, **failure)
    for _ in range(3):
        assert_refused(ask(client, make_token()), 503, "AuthUnavailable", "JWT_JWKS_URL")
        clock.now += 20
    assert jwks_calls(jwks_mode) == 1
    jwks_mode.replace(responses.GET, JWKS_URL, json=key_set(public_jwk(RSA_KEY, "k1")))
    clock.now += 1  # a minute after the failed fetch: one new try, which works
    assert ask(client, make_token()).status_code == 200
    assert jwks_calls(jwks_mode) == 2


def test_jwks_outage_keeps_the_keys_already_known(
    jwks_mode: responses.RequestsMock, client: Client, clock: FakeClock
) -> None:
    assert ask(client, make_token()).status_code == 200
    jwks_mode.replace(responses.GET, JWKS_URL, body=requests.exceptions.ConnectTimeout())
    clock.now += auth.JWKS_MAX_AGE  # the keys are old: re-read, but the read fails
    assert ask(client, make_token()).status_code == 200
    assert_refused(ask(client, make_token(kid="k2")), 503, "AuthUnavailable")
    assert jwks_calls(jwks_mode) == 2


def test_old_keys_are_reread_so_a_withdrawn_key_stops_working(
    jwks_mode: responses.RequestsMock, client: Client, clock: FakeClock
) -> None:
    assert ask(client, make_token()).status_code == 200
    jwks_mode.replace(responses.GET, JWKS_URL, json=key_set(public_jwk(OTHER_RSA_KEY, "k2")))
    clock.now += auth.JWKS_MAX_AGE
    assert_refused(ask(client, make_token()), 403, "AccessDenied", "kid")
    assert jwks_calls(jwks_mode) == 2


def test_jwks_request_is_short_and_capped() -> None:
    assert auth.JWKS_TIMEOUT[0] <= 3
    assert auth.JWKS_TIMEOUT[1] <= 5
    with responses.RequestsMock() as mock:
        mock.get(JWKS_URL, json=key_set(public_jwk(RSA_KEY, "k1")))
        assert set(auth.fetch_jwks(JWKS_URL)) == {"k1"}
        sent = mock.calls[0].request
        assert sent.req_kwargs["timeout"] == auth.JWKS_TIMEOUT


# --- HS256 with JWT_SECRET --------------------------------------------------


def test_secret_mode_accepts_hs256_only(secret_mode: None, client: Client) -> None:
    good = make_token(SECRET, "HS256", kid=None)
    assert json.loads(ask(client, good).body)["key"].startswith("uploads/alice/")
    refused = [
        make_token("t" * 40, "HS256", kid=None),  # another secret
        make_token(RSA_KEY, "RS256"),  # an algorithm the token must not pick
        make_token(SECRET, "HS512", kid=None),
        unsigned_token({"alg": "none"}, {"sub": "alice", "exp": int(time.time()) + 300}),
        make_token(SECRET, "HS256", kid=None, exp=int(time.time()) - 3600),
    ]
    for token in refused:
        assert_refused(ask(client, token), 403, "AccessDenied")


# --- Configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"AUTH_MODE": "api-key"}, "API_KEYS"),
        ({"AUTH_MODE": "api-key", "API_KEYS": " , ,"}, "API_KEYS"),
        ({"AUTH_MODE": "jwt"}, "JWT_SECRET"),
        ({"AUTH_MODE": "jwt", "JWT_SECRET": "short-secret"}, "JWT_SECRET"),
        ({"AUTH_MODE": "jwt", "JWT_SECRET": SECRET, "JWT_JWKS_URL": JWKS_URL}, "JWT_SECRET"),
        ({"AUTH_MODE": "jwt", "JWT_JWKS_URL": "http://issuer.example.com/jwks"}, "JWT_JWKS_URL"),
        ({"AUTH_MODE": "jwt", "JWT_JWKS_URL": "issuer.example.com"}, "JWT_JWKS_URL"),
        ({"AUTH_MODE": "kerberos"}, "AUTH_MODE"),
    ],
)
def test_missing_or_bad_auth_settings_are_503(
    environment: pytest.MonkeyPatch, client: Client, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    for response in (ask(client, make_token()), ask_legacy(client, make_token())):
        assert_refused(response, 503, "NotConfigured", named)
        assert "short-secret" not in response.body.decode()


# --- API keys -------------------------------------------------------------


def test_api_key_absent_is_401_with_www_authenticate(api_key_mode: None, client: Client) -> None:
    for response in (ask(client, None), ask(client, ""), ask_legacy(client, None)):
        assert_refused(response, 401, "MissingCredentials", "Bearer")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_api_key_in_another_scheme_is_401(api_key_mode: None, client: Client) -> None:
    response = ask(client, "first-key-0123", scheme="Basic")
    assert_refused(response, 401, "MissingCredentials")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_api_key_is_403(api_key_mode: None, client: Client) -> None:
    wrong = ("first-key-012", "first-key-01234", "FIRST-KEY-0123", "first-key-0123,second-key-4567")
    for key in wrong:
        response = ask(client, key)
        assert_refused(response, 403, "AccessDenied", "API key")
        assert "WWW-Authenticate" not in response.headers
    assert_refused(ask_legacy(client, "nope"), 403, "AccessDenied")


def test_right_api_key_is_200_without_user_prefix(api_key_mode: None, client: Client) -> None:
    for key in ("first-key-0123", "second-key-4567"):
        answer = json.loads(ask(client, key, scheme="bearer").body)
        assert re.fullmatch(r"uploads/[0-9a-f]{32}/cat\.png", answer["key"])
    legacy = ask_legacy(client, "second-key-4567")
    assert legacy.status_code == 200
    assert re.fullmatch(r"uploads/[0-9a-f]{32}/", json.loads(legacy.body)["dir"])


def test_auth_is_checked_before_the_body(api_key_mode: None, client: Client) -> None:
    assert_refused(ask(client, None, body=b"\xff not json"), 401, "MissingCredentials")
    assert_refused(ask(client, "wrong", body=b"[]"), 403, "AccessDenied")


def test_api_key_compared_over_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: each configured key is compared, whichever matches."""
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    keys = ("k-one", "k-two", "k-three")
    auth.check_api_key("k-one", keys)
    assert len(compared) == 3
    with pytest.raises(auth.AccessDenied):
        auth.check_api_key("k-four", keys)
    assert len(compared) == 6


# --- Two users ---------------------------------------------------------------


def test_each_user_writes_under_their_own_prefix(jwks_mode: Any, client: Client) -> None:
    alice = json.loads(ask(client, make_token(sub="alice")).body)
    bob = json.loads(ask(client, make_token(sub="bob")).body)
    assert alice["key"].startswith("uploads/alice/")
    assert bob["key"].startswith("uploads/bob/")
    legacy = json.loads(ask_legacy(client, make_token(sub="alice")).body)
    assert re.fullmatch(r"uploads/alice/[0-9a-f]{32}/", legacy["dir"])
    legacy_policy = json.loads(base64.b64decode(legacy["policy"]))
    assert ["starts-with", "$key", legacy["dir"]] in legacy_policy["conditions"]


@pytest.mark.parametrize(
    "subject", ["../bob", "bob/..", "alice/../bob", "bob/", ".", "..", "h-" + "0" * 32, "x" * 65]
)
def test_tricky_subjects_become_a_hash(jwks_mode: Any, client: Client, subject: str) -> None:
    answer = json.loads(ask(client, make_token(sub=subject)).body)
    segment = answer["key"].split("/")[1]
    assert re.fullmatch(r"h-[0-9a-f]{32}", segment)
    assert segment == user_segment(subject) != "bob"
    assert answer["key"].count("/") == 3


def test_no_subject_can_take_another_subjects_hashed_segment() -> None:
    hashed = user_segment("a/b")
    assert hashed.startswith("h-")
    assert user_segment(hashed) != hashed


@given(st.text(max_size=80), st.text(max_size=80))
def test_distinct_subjects_get_distinct_safe_segments(first: str, second: str) -> None:
    for subject in (first, second):
        segment = user_segment(subject) if subject else "x"
        assert re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", segment)
        assert segment not in (".", "..")
    if first and second and first != second:
        assert user_segment(first) != user_segment(second)


# The environment and the JWKS fake stay the same for every example.
FIXTURES_ARE_CONSTANT = [HealthCheck.function_scoped_fixture]
TRICKY_NAMES = ["../bob/x.png", "bob/x.png", "..", "uploads/bob/y.png", "\\bob\\x.png", "bob"]
ticket_requests = st.fixed_dictionaries(
    {
        "filename": st.one_of(
            st.sampled_from(TRICKY_NAMES),
            st.text(
                st.characters(exclude_categories=("Cc", "Cf", "Cs")), min_size=1, max_size=30
            ).map(lambda name: name.strip() + ".png"),
        ),
        "content_type": st.sampled_from(["image/png", "image/png", "application/pdf", "bob/x"]),
    },
    optional={"size": st.integers(-5, 2**34)},
)
ticket_bodies = st.one_of(
    st.binary(max_size=60),
    ticket_requests.map(json.dumps),
    ticket_requests.map(lambda request: json.dumps({**request, "key": "uploads/bob/z.png"})),
)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_ARE_CONSTANT)
@given(body=ticket_requests.map(json.dumps) | ticket_bodies)
def test_no_request_of_alice_reaches_bobs_prefix(
    jwks_mode: Any, client: Client, body: str | bytes
) -> None:
    response = ask(client, ALICE, body)
    assert response.status_code < 500
    if response.status_code == 200:
        answer = json.loads(response.body)
        assert answer["key"].startswith("uploads/alice/")
        assert answer["fields"]["key"] == answer["key"]
        policy = policy_of(answer)
        assert ["eq", "$key", answer["key"]] in policy["conditions"]
        assert "starts-with" not in json.dumps(policy)
        assert "uploads/bob" not in json.dumps(answer) + json.dumps(policy)


# --- Headers and bodies together -------------------------------------------------


def forged_tokens() -> st.SearchStrategy[str]:
    """Tokens that must all be refused: every one differs from ``ALICE``."""
    now = int(time.time())
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                make_token(OTHER_RSA_KEY),
                make_token(exp=now - 3600),
                make_token(kid="unknown"),
                unsigned_token({"alg": "none", "kid": "k1"}, {"sub": "alice", "exp": now + 300}),
                make_token(SECRET, "HS256"),
                API_KEY[:-1],
                API_KEY + "x",
                API_KEY.upper(),
            ]
        ),
        # One character of the header or payload changed: the signed text differs.
        st.builds(
            lambda i, c: ALICE[:i] + c + ALICE[i + 1 :],
            st.integers(0, 150),
            st.sampled_from("AQgw_-."),
        ).filter(lambda t: t != ALICE),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURES_ARE_CONSTANT)
@given(
    authorization=st.one_of(
        st.none(),
        st.text(max_size=40),
        st.builds("Bearer {}".format, forged_tokens()),
        st.builds(
            "{} {}".format,
            st.sampled_from(["Bearer", "bearer", "Basic", "Token", ""]),
            forged_tokens(),
        ),
        st.just("Bearer " + ALICE),
        st.just("Bearer " + API_KEY),
    ),
    body=ticket_bodies,
    legacy=st.booleans(),
)
@pytest.mark.parametrize("mode", ["jwt", "api-key"])
def test_no_5xx_and_no_signature_without_valid_auth(
    jwks_mode: Any,
    environment: pytest.MonkeyPatch,
    client: Client,
    mode: str,
    authorization: str | None,
    body: str | bytes,
    legacy: bool,
) -> None:
    environment.setenv("AUTH_MODE", mode)
    environment.setenv("API_KEYS", API_KEY)
    valid = authorization == "Bearer " + (ALICE if mode == "jwt" else API_KEY)
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    if legacy:
        response = client.http.get("/get_post_signature_for_oss_upload", headers=headers)
    else:
        response = client.http.post("/upload-tickets", headers=headers, body=body)
    assert response.status_code < 500, response.body
    if not valid:
        assert response.status_code in (401, 403), response.body
        assert_nothing_signed(response)


# --- Without cryptography, as deployed -----------------------------------------

WITHOUT_CRYPTOGRAPHY = """
import json, sys
sys.modules["cryptography"] = None  # as in the deployment zip: not installed
from chalicelib import auth
from chalicelib.settings import AuthSettings

hs256, rs256, forged, jwks = json.loads(sys.stdin.read())
auth.fetch_jwks = lambda url: auth.parse_jwks(jwks.encode())
secret = AuthSettings(mode="jwt", jwt_secret=%(secret)r)
keys = AuthSettings(mode="jwt", jwks_url=%(url)r)
subjects = [auth.jwt_subject(hs256, secret, auth.JwksCache()),
            auth.jwt_subject(rs256, keys, auth.JwksCache())]
try:
    auth.jwt_subject(forged, keys, auth.JwksCache())
except auth.AccessDenied as refusal:
    subjects.append(refusal.message)
heavy = ("cryptography", "urllib.request", "ssl", "http.client", "requests")
loaded = [name for name, module in sys.modules.items() if name.startswith(heavy) and module]
print(json.dumps([subjects, loaded]))
"""


def test_hs256_and_rs256_work_without_cryptography() -> None:
    """The deployment zip has no ``cryptography``: PyJWT still checks HS256
    with its own HMAC, and RS256 goes through our verifier. Neither loads
    PyJWT's JWKS client's urllib.request, http.client and ssl (the key set is
    handed over here, so requests is not needed either)."""
    program = WITHOUT_CRYPTOGRAPHY % {"secret": SECRET, "url": JWKS_URL}
    tokens = [
        make_token(SECRET, "HS256", kid=None, sub="hs"),
        make_token(sub="rs"),
        make_token(OTHER_RSA_KEY, sub="forged"),
        json.dumps(key_set(public_jwk(RSA_KEY, "k1"))),
    ]
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=json.dumps(tokens),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    subjects, loaded = json.loads(done.stdout)
    assert subjects == ["hs", "rs", "The token's signature, algorithm or claims are not valid."]
    assert loaded == []
