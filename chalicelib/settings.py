"""Settings: immutable records, and the loaders that read them from the environment.

Each loader takes a mapping (:func:`~chalicelib.environment.current_env` in
production, a plain dict in tests) and either returns an immutable record (a
NamedTuple) or raises :class:`NotConfigured` naming the variable at fault,
never its value. Defaults and meanings are in :mod:`chalicelib.variables`
(and ``docs/settings.md``). Common settings and each provider's are loaded
apart, so a broken S3 variable does not take down OSS.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .content_types import MEDIA_RANGE
from .credentials import Credentials
from .environment import Env, choice, get, integer, matching, per_environment, require, value
from .errors import NotConfigured
from .variables import default

PROVIDERS = ("oss", "s3")
AUTH_MODES = ("none", "api-key", "jwt")
OSS_SIGNATURE_VERSIONS = ("v4", "v1")
SWITCH = ("on", "off")
UPLOAD_METHODS = ("post", "put")
POST_OBJECT_LIMIT = 5 * 1024**3  # PostObject accepts at most 5 GiB
# The largest multipart object signpost allows: S3's documented limit when it was
# 5 TiB (now 48.8 TiB); OSS's is 48.8 TB (10,000 parts of 5 GB).
MULTIPART_OBJECT_LIMIT = 5 * 1024**4

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
# An origin as a browser sends it in ``Origin``: scheme, host, and a port if any.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


class Settings(NamedTuple):
    """What every request needs, whatever the provider."""

    provider: str
    upload_dir: str
    expire_seconds: int
    max_upload_bytes: int
    allowed_content_types: tuple[str, ...]  # in the configured order, without repeats
    upload_method: str = "post"  # "put": presigned PUT tickets (S3 only)


class AuthSettings(NamedTuple):
    """How callers prove who they are (``AUTH_MODE``); secrets stay out of ``repr``."""

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


def _content_types(env: Env) -> tuple[str, ...]:
    """The allow-list in its configured order: pages list the types as written."""
    raw = value(env, "ALLOWED_CONTENT_TYPES")
    types = tuple(dict.fromkeys(item.strip().lower() for item in raw.split(",") if item.strip()))
    if not types or not all(MEDIA_RANGE.fullmatch(item) for item in types):
        raise NotConfigured(
            "ALLOWED_CONTENT_TYPES", "must be a comma list of type/subtype or type/*"
        )
    return types


@per_environment
def load_settings(env: Env) -> Settings:
    return Settings(
        provider=choice(env, "STORAGE_PROVIDER", PROVIDERS),
        upload_dir=matching(env, "UPLOAD_DIR", _UPLOAD_DIR),
        expire_seconds=integer(env, "EXPIRE_SECONDS", 1, 3600),
        max_upload_bytes=integer(env, "MAX_UPLOAD_BYTES", 1, MULTIPART_OBJECT_LIMIT),
        allowed_content_types=_content_types(env),
        upload_method=choice(env, "UPLOAD_METHOD", UPLOAD_METHODS),
    )


@per_environment
def load_auth(env: Env) -> AuthSettings:
    """``AUTH_MODE`` and what it needs, checked before any request is.

    JWT takes exactly one key source: ``JWT_SECRET`` (HS256) or
    ``JWT_JWKS_URL`` (RS256). Both at once would leave the token to
    pick, which is how algorithm confusion starts.
    """
    mode = choice(env, "AUTH_MODE", AUTH_MODES)
    if mode == "api-key":
        keys = tuple(key.strip() for key in require(env, "API_KEYS").split(",") if key.strip())
        if not keys:
            raise NotConfigured("API_KEYS", "holds no key")
        return AuthSettings(mode, api_keys=keys)
    if mode != "jwt":
        return AuthSettings(mode)
    secret, jwks_url = get(env, "JWT_SECRET"), get(env, "JWT_JWKS_URL")
    if secret and jwks_url:
        raise NotConfigured("JWT_SECRET", "and JWT_JWKS_URL cannot both be set")
    if jwks_url:
        jwks_url = matching(env, "JWT_JWKS_URL", _JWKS_URL)
    elif secret is None:
        raise NotConfigured("JWT_SECRET", "or JWT_JWKS_URL must be set")
    elif len(secret.encode("utf-8", "surrogatepass")) < MIN_JWT_SECRET_BYTES:
        raise NotConfigured("JWT_SECRET", f"must be at least {MIN_JWT_SECRET_BYTES} bytes")
    return AuthSettings(
        mode,
        jwt_secret=secret,
        jwks_url=jwks_url,
        audience=get(env, "JWT_AUDIENCE"),
        issuer=get(env, "JWT_ISSUER"),
    )


def legacy_route_on(env: Env) -> bool:
    """``LEGACY_ROUTE``: whether the legacy V1 route ``GET
    /get_post_signature_for_oss_upload`` is served. Off by default: its policy
    binds only a key prefix, so whoever may ask can store any type (``x.html``
    as ``text/html``) with no ``Content-Disposition``."""
    return choice(env, "LEGACY_ROUTE", SWITCH) == "on"


def verify_content_on(env: Env) -> bool:
    """``VERIFY_CONTENT``: whether the function checks an upload's stored bytes
    against its declared type (:mod:`chalicelib.content_check`). Off by
    default: it needs GetObject and DeleteObject on the upload prefix."""
    return choice(env, "VERIFY_CONTENT", SWITCH) == "on"


def on_lambda(env: Env) -> bool:
    """Whether the function runs on Lambda, which sets ``AWS_LAMBDA_FUNCTION_NAME``
    for every function: there its logs reach CloudWatch, which reads the
    audit lines' metrics. Function Compute and a local run do not set it."""
    return get(env, "AWS_LAMBDA_FUNCTION_NAME") is not None


def _credentials(env: Env, key_id: str, secret: str, session_token: str) -> Credentials:
    return Credentials(
        access_key_id=require(env, key_id),
        secret=require(env, secret),
        session_token=get(env, session_token),
    )


def load_oss_credentials(env: Env) -> Credentials:
    """``OSS_*`` keys, else the ``ALIBABA_CLOUD_*`` ones Function Compute sets.

    A pair is taken whole: an ``OSS_ACCESS_KEY_ID`` without its secret is a
    mistake to report, not a reason to fall back to another identity.
    """
    if get(env, "OSS_ACCESS_KEY_ID") or get(env, "OSS_ACCESS_KEY_SECRET"):
        return _credentials(env, "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN")
    if get(env, "ALIBABA_CLOUD_ACCESS_KEY_ID"):
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
    bucket = matching(env, "OSS_BUCKET", _BUCKET_NAME)
    version = signature_version or choice(env, "OSS_SIGNATURE_VERSION", OSS_SIGNATURE_VERSIONS)
    endpoint = get(env, "OSS_ENDPOINT")
    # V4 signs with the region; the default endpoint is built from it.
    region = matching(env, "OSS_REGION", _REGION) if version == "v4" or not endpoint else None
    url = matching(env, "OSS_ENDPOINT", _ENDPOINT, default_url("OSS_ENDPOINT", bucket, region))
    return OssSettings(
        bucket=bucket,
        region=region,
        url=url.rstrip("/"),
        signature_version=version,
        credentials=load_oss_credentials(env),
    )


def default_url(variable: str, bucket: str, region: str | None) -> str:
    """An endpoint variable's default: its template, filled in."""
    return (default(variable) or "").format(bucket=bucket, region=region)


def default_s3_url(bucket: str, region: str) -> str:
    """The regional endpoint, virtual-hosted unless the name has a dot.

    ``*.s3.REGION.amazonaws.com``'s certificate covers one label, so a dotted
    bucket is addressed by path, as botocore does.
    """
    if "." in bucket:
        return f"https://s3.{region}.amazonaws.com/{bucket}"
    return default_url("S3_ENDPOINT", bucket, region)


@per_environment
def load_s3(env: Env) -> S3Settings:
    """S3 settings; the keys are the ones Lambda sets from the function's role.

    ``S3_REGION`` names the bucket's region when it is not the function's:
    Lambda reserves ``AWS_REGION``, so a deployment cannot change it.
    """
    bucket = matching(env, "S3_BUCKET", _BUCKET_NAME)
    region_variable = "S3_REGION" if get(env, "S3_REGION") else "AWS_REGION"
    region = matching(env, region_variable, _REGION)
    url = matching(env, "S3_ENDPOINT", _ENDPOINT, default_s3_url(bucket, region))
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
    if get(env, "OSS_CALLBACK_URL") is None:
        return None
    return matching(env, "OSS_CALLBACK_URL", _CALLBACK_URL)


def load_callback_key_prefixes(env: Env) -> tuple[str, ...]:
    """URL prefixes a callback's public key may come from besides OSS's own.

    None, unless ``OSS_CALLBACK_PUBKEY_URL_PREFIX`` adds one: that is for
    ``make run`` and tests, whose dev bucket serves its own key. Where OSS's
    keys live is :mod:`chalicelib.callback`'s rule.
    """
    if get(env, "OSS_CALLBACK_PUBKEY_URL_PREFIX") is None:
        return ()
    return (matching(env, "OSS_CALLBACK_PUBKEY_URL_PREFIX", _KEY_URL_PREFIX),)


@per_environment
def load_allowed_origins(env: Env) -> frozenset[str]:
    """``CORS_ALLOW_ORIGIN``: the exact origins allowed to call the API; empty, CORS is off.

    Lower-cased: a browser sends the scheme and host lower-case, so a
    configured ``https://App.example.com`` must still match.
    """
    raw = value(env, "CORS_ALLOW_ORIGIN")
    origins = frozenset(item.strip().lower() for item in raw.split(",") if item.strip())
    if not all(_ORIGIN.fullmatch(origin) for origin in origins):
        raise NotConfigured(
            "CORS_ALLOW_ORIGIN", "must be a comma list of origins like https://app.example.com"
        )
    return origins
