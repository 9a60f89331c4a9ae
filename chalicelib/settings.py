"""Settings from the environment (SPEC section 5), read per request.

Each loader takes a mapping (:func:`current_env` in production, a plain dict
in tests) and either returns an immutable record (a NamedTuple) or raises :class:`NotConfigured`
naming the variable at fault, never its value. Common settings and each
provider's are loaded apart, so a broken S3 variable does not take down OSS.
"""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, NamedTuple, TypeVar

from .content_types import MEDIA_RANGE
from .credentials import Credentials
from .errors import NotConfigured

Env = Mapping[str, str]
T = TypeVar("T")

_REQUEST_ENV: ContextVar[Env | None] = ContextVar("signpost_request_env", default=None)

PROVIDERS = ("oss", "s3")
AUTH_MODES = ("none", "api-key", "jwt")
OSS_SIGNATURE_VERSIONS = ("v4", "v1")
SWITCH = ("on", "off")
DEFAULT_ALLOWED_CONTENT_TYPES = "image/png,image/jpeg,image/gif,image/webp,application/pdf"
POST_OBJECT_LIMIT = 5 * 1024**3  # PostObject accepts at most 5 GiB

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_UPLOAD_DIR = re.compile(r"(?:[A-Za-z0-9!_.*'()-]+/)+")
# One percent-encoded http(s) URL, as OSS wants its callbackUrl: no ``;``
# (OSS's separator for several URLs), no fragment, no spaces or non-ASCII.
_URL_CHAR = r"(?:[A-Za-z0-9._~!$&'()*+,=:@/-]|%[0-9A-Fa-f]{2})"
_CALLBACK_URL = re.compile(
    rf"https?://[A-Za-z0-9.-]+(?::[0-9]{{1,5}})?(?:/{_URL_CHAR}*)?(?:\?(?:{_URL_CHAR}|\?)*)?"
)
# A key URL prefix ends right after a host (and port) or a path segment, so
# ``http://127.0.0.1:9000/`` can never match ``http://127.0.0.1:9000.evil/``.
_KEY_URL_PREFIX = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/(?:[A-Za-z0-9._~-]+/)*")
# Keys are fetched over TLS only: a plain-HTTP JWKS lets anyone on the path mint tokens.
_JWKS_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!-~]*)?")
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


class Settings(NamedTuple):
    """What every request needs, whatever the provider."""

    provider: str
    upload_dir: str
    expire_seconds: int
    max_upload_bytes: int
    allowed_content_types: tuple[str, ...]  # in the configured order, without repeats


class AuthSettings(NamedTuple):
    """How callers prove who they are (SPEC section 6); secrets stay out of ``repr``."""

    mode: str
    api_keys: tuple[str, ...] = ()
    jwt_secret: str | None = None
    jwks_url: str | None = None
    audience: str | None = None
    issuer: str | None = None

    def __repr__(self) -> str:
        return (
            f"AuthSettings(mode={self.mode!r}, api_keys=<{len(self.api_keys)} hidden>, "
            f"jwt_secret={'<hidden>' if self.jwt_secret else None}, "
            f"jwks_url={self.jwks_url!r}, audience={self.audience!r}, issuer={self.issuer!r})"
        )


class OssSettings(NamedTuple):
    bucket: str
    region: str | None
    url: str
    signature_version: str
    credentials: Credentials


class S3Settings(NamedTuple):
    bucket: str
    region: str
    url: str
    credentials: Credentials


def current_env() -> Env:
    """The variables this request sees: ``os.environ``, unless a platform
    adapter laid values of its own over it with :func:`request_env`."""
    env = _REQUEST_ENV.get()
    return os.environ if env is None else env


@contextmanager
def request_env(overrides: Env) -> Iterator[Env]:
    """Lay ``overrides`` over ``os.environ`` for the current request only.

    Function Compute hands each invocation its role's keys. Written into
    ``os.environ`` they would outlive the request and race between an
    instance's concurrent requests; a context variable is per thread.
    """
    env: Env = ChainMap(dict(overrides), os.environ)
    token = _REQUEST_ENV.set(env)
    try:
        yield env
    finally:
        _REQUEST_ENV.reset(token)


class _Recorder(Mapping[str, str]):
    """An environment that notes every variable looked up in it, and its value."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self.reads: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str:
        value = self.reads[name] = self._env.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def _unchanged(env: Env, reads: tuple[tuple[str, str | None], ...]) -> bool:
    get = env.get
    return all(get(name) == value for name, value in reads)


def per_environment(load: Callable[..., T]) -> Callable[..., T]:
    """Remember a loader's result by the values of the variables it read.

    Every call still reads the environment (SPEC section 5): it looks up each
    variable the remembered result came from, and loads afresh if any of
    them changed, so a changed variable takes effect on the next request.
    What is saved is the parsing and checking. Failures are not remembered.
    The few entries live in this closure only: no repr or log shows them.
    """
    entries: list[tuple[Any, tuple[tuple[str, str | None], ...], T]] = []

    @wraps(load)
    def cached(env: Env, *args: Any, **kwargs: Any) -> T:
        call = (args, kwargs)
        for key, reads, result in entries:
            if key == call and _unchanged(env, reads):
                return result
        recorder = _Recorder(env)
        result = load(recorder, *args, **kwargs)
        entries.insert(0, (call, tuple(recorder.reads.items()), result))
        del entries[4:]
        return result

    return cached


def _get(env: Env, name: str, default: str | None = None) -> str | None:
    """A variable's value, with empty strings treated as unset."""
    value = env.get(name, "").strip()
    return value or default


def _require(env: Env, name: str) -> str:
    value = _get(env, name)
    if value is None:
        raise NotConfigured(name)
    return value


def _choice(env: Env, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (_get(env, name) or default).lower()
    if value not in choices:
        raise NotConfigured(name, "must be one of " + ", ".join(choices))
    return value


def _integer(env: Env, name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise NotConfigured(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def _matching(env: Env, name: str, pattern: re.Pattern[str], default: str | None = None) -> str:
    value = _get(env, name, default)
    if value is None:
        raise NotConfigured(name)
    if not pattern.fullmatch(value):
        raise NotConfigured(name, "is malformed")
    return value


def _content_types(env: Env) -> tuple[str, ...]:
    """The allow-list in its configured order: pages list the types as written."""
    raw = _get(env, "ALLOWED_CONTENT_TYPES") or DEFAULT_ALLOWED_CONTENT_TYPES
    types = tuple(dict.fromkeys(item.strip().lower() for item in raw.split(",") if item.strip()))
    if not types or not all(MEDIA_RANGE.fullmatch(item) for item in types):
        raise NotConfigured(
            "ALLOWED_CONTENT_TYPES", "must be a comma list of type/subtype or type/*"
        )
    return types


@per_environment
def load_settings(env: Env) -> Settings:
    return Settings(
        provider=_choice(env, "STORAGE_PROVIDER", "oss", PROVIDERS),
        upload_dir=_matching(env, "UPLOAD_DIR", _UPLOAD_DIR, "uploads/"),
        expire_seconds=_integer(env, "EXPIRE_SECONDS", 600, 1, 3600),
        max_upload_bytes=_integer(env, "MAX_UPLOAD_BYTES", 10 * 1024**2, 1, POST_OBJECT_LIMIT),
        allowed_content_types=_content_types(env),
    )


def load_auth(env: Env) -> AuthSettings:
    """``AUTH_MODE`` and what it needs, checked before any request is.

    JWT takes exactly one key source: ``JWT_SECRET`` (HS256) or
    ``JWT_JWKS_URL`` (RS256/ES256). Both at once would leave the token to
    pick, which is how algorithm confusion starts.
    """
    mode = _choice(env, "AUTH_MODE", "none", AUTH_MODES)
    if mode == "api-key":
        keys = tuple(key.strip() for key in _require(env, "API_KEYS").split(",") if key.strip())
        if not keys:
            raise NotConfigured("API_KEYS", "holds no key")
        return AuthSettings(mode, api_keys=keys)
    if mode != "jwt":
        return AuthSettings(mode)
    secret, jwks_url = _get(env, "JWT_SECRET"), _get(env, "JWT_JWKS_URL")
    if secret and jwks_url:
        raise NotConfigured("JWT_SECRET", "and JWT_JWKS_URL cannot both be set")
    if jwks_url:
        jwks_url = _matching(env, "JWT_JWKS_URL", _JWKS_URL)
    elif secret is None:
        raise NotConfigured("JWT_SECRET", "or JWT_JWKS_URL must be set")
    elif len(secret.encode("utf-8", "surrogatepass")) < MIN_JWT_SECRET_BYTES:
        raise NotConfigured("JWT_SECRET", f"must be at least {MIN_JWT_SECRET_BYTES} bytes")
    return AuthSettings(
        mode,
        jwt_secret=secret,
        jwks_url=jwks_url,
        audience=_get(env, "JWT_AUDIENCE"),
        issuer=_get(env, "JWT_ISSUER"),
    )


def legacy_route_on(env: Env) -> bool:
    """``LEGACY_ROUTE``: whether the seed's ``GET /get_post_signature_for_oss_upload``
    is served. Off by default: its policy binds only a key prefix, so whoever
    may ask can store any type (``x.html`` as ``text/html``) with no
    ``Content-Disposition``."""
    return _choice(env, "LEGACY_ROUTE", "off", SWITCH) == "on"


def _credentials(env: Env, key_id: str, secret: str, token: str) -> Credentials:
    return Credentials(
        access_key_id=_require(env, key_id),
        secret=_require(env, secret),
        session_token=_get(env, token),
    )


def load_oss_credentials(env: Env) -> Credentials:
    """``OSS_*`` keys, else the ``ALIBABA_CLOUD_*`` ones Function Compute sets.

    A pair is taken whole: an ``OSS_ACCESS_KEY_ID`` without its secret is a
    mistake to report, not a reason to fall back to another identity.
    """
    if _get(env, "OSS_ACCESS_KEY_ID") or _get(env, "OSS_ACCESS_KEY_SECRET"):
        return _credentials(env, "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN")
    if _get(env, "ALIBABA_CLOUD_ACCESS_KEY_ID"):
        return _credentials(
            env,
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        )
    raise NotConfigured("OSS_ACCESS_KEY_ID")


@per_environment
def load_oss(env: Env, signature_version: str | None = None) -> OssSettings:
    """OSS settings; ``signature_version`` overrides ``OSS_SIGNATURE_VERSION``."""
    bucket = _matching(env, "OSS_BUCKET", _BUCKET_NAME)
    version = signature_version or _choice(
        env, "OSS_SIGNATURE_VERSION", "v4", OSS_SIGNATURE_VERSIONS
    )
    endpoint = _get(env, "OSS_ENDPOINT")
    # V4 signs with the region; the default endpoint is built from it.
    region = _matching(env, "OSS_REGION", _REGION) if version == "v4" or not endpoint else None
    url = _matching(env, "OSS_ENDPOINT", _ENDPOINT, f"https://{bucket}.oss-{region}.aliyuncs.com")
    return OssSettings(
        bucket=bucket,
        region=region,
        url=url.rstrip("/"),
        signature_version=version,
        credentials=load_oss_credentials(env),
    )


def default_s3_url(bucket: str, region: str) -> str:
    """The regional endpoint, virtual-hosted unless the name has a dot.

    ``*.s3.REGION.amazonaws.com``'s certificate covers one label, so a dotted
    bucket is addressed by path, as botocore does.
    """
    if "." in bucket:
        return f"https://s3.{region}.amazonaws.com/{bucket}"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


@per_environment
def load_s3(env: Env) -> S3Settings:
    """S3 settings; the keys are the ones Lambda sets from the function's role.

    ``S3_REGION`` names the bucket's region when it is not the function's:
    Lambda reserves ``AWS_REGION``, so a deployment cannot change it.
    """
    bucket = _matching(env, "S3_BUCKET", _BUCKET_NAME)
    region_variable = "S3_REGION" if _get(env, "S3_REGION") else "AWS_REGION"
    region = _matching(env, region_variable, _REGION)
    url = _matching(env, "S3_ENDPOINT", _ENDPOINT, default_s3_url(bucket, region))
    return S3Settings(
        bucket=bucket,
        region=region,
        url=url.rstrip("/"),
        credentials=_credentials(
            env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"
        ),
    )


def load_callback_url(env: Env) -> str | None:
    """``OSS_CALLBACK_URL``: where OSS calls back after an upload, or None (no callback)."""
    if _get(env, "OSS_CALLBACK_URL") is None:
        return None
    return _matching(env, "OSS_CALLBACK_URL", _CALLBACK_URL)


def load_callback_key_prefixes(env: Env) -> tuple[str, ...]:
    """URL prefixes a callback's public key may come from besides OSS's own.

    None, unless ``OSS_CALLBACK_PUBKEY_URL_PREFIX`` adds one: that is for
    ``make run`` and tests, whose dev bucket serves its own key. Where OSS's
    keys live is :mod:`chalicelib.callback`'s rule.
    """
    if _get(env, "OSS_CALLBACK_PUBKEY_URL_PREFIX") is None:
        return ()
    return (_matching(env, "OSS_CALLBACK_PUBKEY_URL_PREFIX", _KEY_URL_PREFIX),)
