"""Who may ask (``AUTH_MODE``): an API key or a JWT in ``Authorization: Bearer``.

:func:`authenticate` runs before a request's body is read: it returns the
caller (its key segment, ``None`` when the mode has no per-user prefix, and
who it is for the audit line), or raises the refusal. PyJWT and requests
are imported inside the functions that use them, so importing the app
stays cheap. RS256 is verified in pure
Python (:mod:`chalicelib.rsa_verify`, plugged into PyJWT by
:mod:`chalicelib.pyjwt`), so no native code and no ``cryptography``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .audit import principal_of_key
from .environment import Env
from .errors import AccessDenied, AuthUnavailable, MissingCredentials
from .fetch import TooLarge, UnexpectedStatus, Unreachable, bounded_get
from .keys import user_segment
from .settings import AuthSettings, load_auth

if TYPE_CHECKING:  # the verifier is imported by the key-set route only
    from .rsa_verify import RsaPublicKey

log = logging.getLogger("signpost.auth")  # under the app's logger and its handler

# Fixed per key source, never taken from the token: a header that names
# another algorithm is refused before any key is looked at.
SECRET_ALGORITHMS = ("HS256",)  # JWT_SECRET
JWKS_ALGORITHMS = ("RS256",)  # JWT_JWKS_URL
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
JWKS_TIMEOUT = (2.0, 3.0)  # seconds to connect, and between two reads
JWKS_MAX_BYTES = 64 * 1024
JWKS_MIN_INTERVAL = 60.0  # seconds between two fetches, whatever their outcome
JWKS_MAX_AGE = 3600.0  # keys are re-read after this, so a withdrawn key stops working


class Caller(NamedTuple):
    """Who asks: the ``user/`` segment of their keys (``None`` for ``none`` and
    ``api-key``), and the audit line's ``principal`` (the JWT's ``sub``, the
    API key's short id, ``None`` for ``none``)."""

    user: str | None
    principal: str | None


ANONYMOUS = Caller(None, None)


def authenticate(authorization: str | None, env: Env) -> Caller:
    """The caller that ``AUTH_MODE`` lets in.

    Raises ``MissingCredentials`` (no bearer credential), ``AccessDenied`` (a
    wrong one), ``NotConfigured`` or ``AuthUnavailable``.
    """
    auth = load_auth(env)
    if auth.mode == "none":
        return ANONYMOUS
    bearer = bearer_credential(authorization)
    if auth.mode == "api-key":
        check_api_key(bearer, auth.api_keys)
        return Caller(None, principal_of_key(bearer))
    warn_without_issuer(auth)
    subject = jwt_subject(bearer, auth, JWKS_CACHE)
    return Caller(user_segment(subject), subject)


_WARNED_WITHOUT_ISSUER: set[str] = set()  # JWKS URLs already warned about


def warn_without_issuer(auth: AuthSettings) -> None:
    """Log, once per JWKS URL in a warm container, that no issuer is checked.

    A hosted identity provider often signs for many tenants with one key set:
    without ``JWT_ISSUER``, any tenant's token is good, and the same ``sub``
    from two tenants is the same folder. Allowed (one's own issuer may be the
    only one using the keys), but it should be a choice, not an oversight.
    """
    if auth.jwks_url and auth.issuer is None and auth.jwks_url not in _WARNED_WITHOUT_ISSUER:
        _WARNED_WITHOUT_ISSUER.add(auth.jwks_url)
        log.warning(
            "JWT_JWKS_URL %s is set without JWT_ISSUER: tokens from any issuer that signs "
            "with these keys are accepted, and the same sub from two of them writes under "
            "the same folder. Set JWT_ISSUER (and JWT_AUDIENCE).",
            auth.jwks_url,
        )


def bearer_credential(authorization: str | None) -> str:
    """What follows ``Bearer`` (in any case) in ``Authorization``: an API key or a JWT."""
    scheme, _, bearer = (authorization or "").strip().partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        raise MissingCredentials("Send your credentials as 'Authorization: Bearer <token>'.")
    return bearer


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def check_api_key(bearer: str, keys: tuple[str, ...]) -> None:
    """Refuse a key not in ``keys``.

    Every key is compared, without an early exit, and over SHA-256 digests:
    the time taken tells neither which key matched nor how long the keys are.
    """
    offered = _digest(bearer)
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(offered, _digest(key))
    if not matched:
        raise AccessDenied("The API key is not valid.")


def jwt_subject(bearer: str, auth: AuthSettings, jwks: JwksCache) -> str:
    """The ``sub`` of a JWT that passes every check ``auth`` asks for."""
    from .pyjwt import DECODER, jwt

    key: Any  # PyJWT's annotation names only cryptography's key types, not ours
    algorithms: tuple[str, ...]
    if auth.jwks_url:
        key, algorithms = jwks.key(jwks_kid(bearer), auth.jwks_url), JWKS_ALGORITHMS
    else:
        key, algorithms = auth.jwt_secret, SECRET_ALGORITHMS
    try:
        claims = DECODER.decode(
            bearer,
            key,
            algorithms=list(algorithms),
            audience=auth.audience,
            issuer=auth.issuer,
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["exp"],
                "verify_aud": auth.audience is not None,
                "enforce_minimum_key_length": True,
            },
        )
    except (jwt.PyJWTError, ValueError, RecursionError) as error:
        raise AccessDenied(_jwt_refusal(error)) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AccessDenied("The token has no subject (sub).")
    return subject


def jwks_kid(bearer: str) -> str:
    """The ``kid`` of a JWT meant for the JWKS keys, checked before any fetch."""
    from .pyjwt import jwt

    try:
        header = jwt.get_unverified_header(bearer)
    except (jwt.PyJWTError, ValueError, RecursionError):
        # ValueError: text that is not UTF-8; RecursionError: deeply nested JSON.
        raise AccessDenied("The token is not a well-formed JWT.") from None
    if header.get("alg") not in JWKS_ALGORITHMS:
        raise AccessDenied("The token must be signed with " + " or ".join(JWKS_ALGORITHMS) + ".")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise AccessDenied("The token names no key (kid).")
    return kid


def _jwt_refusal(error: Exception) -> str:
    """What a person should know about a refused token; never its content."""
    from .pyjwt import jwt

    if isinstance(error, jwt.ExpiredSignatureError):
        return "The token has expired."
    if isinstance(error, jwt.ImmatureSignatureError):
        return "The token is not valid yet."
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The token lacks the '{error.claim}' claim."
    if isinstance(error, jwt.InvalidAudienceError):
        return "The token is meant for another audience (aud)."
    if isinstance(error, jwt.InvalidIssuerError):
        return "The token comes from another issuer (iss)."
    return "The token's signature, algorithm or claims are not valid."


class JwksCache:
    """The signing keys at ``JWT_JWKS_URL``, by ``kid``, for one warm container.

    Fetched when first needed, again when a token names an unknown ``kid``
    (key rotation) or the keys are older than ``JWKS_MAX_AGE``; but never
    twice within ``JWKS_MIN_INTERVAL``, whether the last fetch worked or not,
    so tokens with made-up kids or an outage of the issuer cannot turn into
    a flood of requests. ``clock`` is monotonic seconds (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._forget(None)

    def _forget(self, url: str | None) -> None:
        self.url = url
        self.keys: dict[str, RsaPublicKey] = {}
        self.fetched_at: float | None = None  # last successful fetch
        self.tried_at: float | None = None  # last fetch, successful or not
        self.failure: str | None = None  # why the last fetch failed

    def key(self, kid: str, url: str) -> RsaPublicKey:
        """The key named ``kid``, fetching the set first if allowed and needed."""
        with self._lock:
            if url != self.url:  # a new setting: nothing known about it yet
                self._forget(url)
            now = self.clock()
            stale = self.fetched_at is None or now - self.fetched_at >= JWKS_MAX_AGE
            may_fetch = self.tried_at is None or now - self.tried_at >= JWKS_MIN_INTERVAL
            if (stale or kid not in self.keys) and may_fetch:
                self._fetch(url, now)
            if kid in self.keys:
                return self.keys[kid]
            if self.failure is not None:
                raise AuthUnavailable(self.failure)
            raise AccessDenied("The token names a key (kid) that its issuer does not publish.")

    def _fetch(self, url: str, now: float) -> None:
        self.tried_at = now
        try:
            self.keys = fetch_jwks(url)
        except AuthUnavailable as error:
            log.error("JWT_JWKS_URL: %s", error.message)  # old keys, if any, are kept
            self.failure = error.message
        else:
            self.fetched_at, self.failure = now, None


def _unavailable(reason: str) -> AuthUnavailable:
    return AuthUnavailable(
        f"Tokens cannot be checked right now: the key set at JWT_JWKS_URL {reason}. "
        f"Try again in a minute."
    )


def fetch_jwks(url: str) -> dict[str, RsaPublicKey]:
    """GET the key set: a short timeout, no redirects, at most ``JWKS_MAX_BYTES``."""
    accept = {"Accept": "application/json"}
    try:
        body = bounded_get(url, timeout=JWKS_TIMEOUT, max_bytes=JWKS_MAX_BYTES, headers=accept)
    except UnexpectedStatus as failure:
        raise _unavailable(f"answered HTTP {failure.status}") from None
    except TooLarge:
        raise _unavailable(f"is larger than {JWKS_MAX_BYTES} bytes") from None
    except Unreachable as failure:
        raise _unavailable(f"could not be read ({failure.error})") from None
    return parse_jwks(body)


def parse_jwks(body: bytes) -> dict[str, RsaPublicKey]:
    """The RS256 signing keys of a JWKS document, by ``kid``.

    Entries without a string ``kid``, meant for encryption, of another
    algorithm or key type (``oct`` and ``EC`` keys included), malformed or
    carrying private members are skipped (:func:`rsa_verify.from_jwk`); a
    document with none left is refused, like one that is not a key set at all.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise _unavailable("is not a JSON Web Key Set")
    from .rsa_verify import InvalidKey, from_jwk  # only JWKS deployments pay for it

    keys: dict[str, RsaPublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") not in JWKS_ALGORITHMS:
            continue
        try:
            keys[entry["kid"]] = from_jwk(entry)
        except InvalidKey:
            continue
    if not keys:
        raise _unavailable("holds no " + " or ".join(JWKS_ALGORITHMS) + " signing key")
    return keys


JWKS_CACHE = JwksCache()
