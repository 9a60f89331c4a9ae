"""Every environment variable signpost reads: one table, the single source.

The loaders in :mod:`chalicelib.settings` take their defaults from it, the
tests clear exactly these names, ``make run`` reads its lists from it, and
``docs/settings.md`` restates it row for row (a test keeps the two equal).
A default holding ``{bucket}`` and ``{region}`` is a template the loader
fills in. A secret is read from the environment only: it never belongs in
``.chalice/config.json``, and no answer, log line or repr shows it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

# Groups, in the order docs/settings.md lists them.
STORAGE = "storage"
OSS = "oss"
S3 = "s3"
LIMITS = "limits"
AUTH = "auth"
CORS = "cors"
CALLBACK = "callback"
VERIFY = "verify"
LEGACY = "legacy"
PLATFORM = "platform"
GROUPS = (STORAGE, OSS, S3, LIMITS, AUTH, CORS, CALLBACK, VERIFY, LEGACY, PLATFORM)


class Variable(NamedTuple):
    """One variable: its name, group, default (``None``: none), and meaning."""

    name: str
    group: str
    default: str | None
    meaning: str
    secret: bool = False


VARIABLES = (
    Variable(
        "STORAGE_PROVIDER",
        STORAGE,
        "oss",
        "where uploads go: `oss` (Alibaba Cloud OSS) or `s3` (Amazon S3)",
    ),
    Variable(
        "UPLOAD_DIR",
        STORAGE,
        "uploads/",
        "the prefix of every object key; ends with `/`",
    ),
    Variable(
        "UPLOAD_METHOD",
        STORAGE,
        "post",
        (
            "how a browser sends one file: `post` (a signed form) or `put` (a presigned PUT "
            "URL with signed headers, for stores without form uploads; S3 only)"
        ),
    ),
    Variable("OSS_BUCKET", OSS, None, "the OSS bucket's name"),
    Variable(
        "OSS_REGION",
        OSS,
        None,
        "the bucket's region, such as `cn-hangzhou`: V4 signs with it",
    ),
    Variable(
        "OSS_ENDPOINT",
        OSS,
        "https://{bucket}.oss-{region}.aliyuncs.com",
        "the form's `url`: a custom domain, transfer acceleration or a local dev bucket",
    ),
    Variable(
        "OSS_SIGNATURE_VERSION",
        OSS,
        "v4",
        "`v4` (OSS4-HMAC-SHA256) or `v1` (HMAC-SHA1, the older scheme)",
    ),
    Variable("OSS_ACCESS_KEY_ID", OSS, None, "the AccessKey ID that signs OSS tickets"),
    Variable("OSS_ACCESS_KEY_SECRET", OSS, None, "that key's secret", secret=True),
    Variable(
        "OSS_SESSION_TOKEN",
        OSS,
        None,
        "the STS security token of a temporary key; sent and bound as `x-oss-security-token`",
        secret=True,
    ),
    Variable(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        OSS,
        None,
        "used when no `OSS_ACCESS_KEY_*` is set: the key Function Compute gives a function's role",
    ),
    Variable("ALIBABA_CLOUD_ACCESS_KEY_SECRET", OSS, None, "that key's secret", secret=True),
    Variable(
        "ALIBABA_CLOUD_SECURITY_TOKEN", OSS, None, "that key's STS security token", secret=True
    ),
    Variable("S3_BUCKET", S3, None, "the S3 bucket's name"),
    Variable(
        "S3_REGION",
        S3,
        None,
        "the bucket's region, when it is not the function's own `AWS_REGION`",
    ),
    Variable(
        "AWS_REGION",
        S3,
        None,
        "the function's region, set by Lambda: the bucket's unless `S3_REGION` is set",
    ),
    Variable(
        "S3_ENDPOINT",
        S3,
        "https://{bucket}.s3.{region}.amazonaws.com",
        "the form's `url` for S3; a bucket name with a dot is addressed by path instead",
    ),
    Variable(
        "AWS_ACCESS_KEY_ID",
        S3,
        None,
        "the key that signs S3 tickets: Lambda sets it from the function's role",
    ),
    Variable("AWS_SECRET_ACCESS_KEY", S3, None, "that key's secret", secret=True),
    Variable("AWS_SESSION_TOKEN", S3, None, "that key's session token", secret=True),
    Variable(
        "EXPIRE_SECONDS",
        LIMITS,
        "600",
        "how long a ticket works, in seconds: 1 to 3600",
    ),
    Variable(
        "MAX_UPLOAD_BYTES",
        LIMITS,
        "10485760",
        (
            "the largest upload, in bytes: at most 5 TiB (5497558138880); one form upload "
            "carries at most 5 GiB, larger files go in parts (multipart)"
        ),
    ),
    Variable(
        "ALLOWED_CONTENT_TYPES",
        LIMITS,
        "image/png,image/jpeg,image/gif,image/webp,application/pdf",
        "comma list of the content types accepted; `image/*` accepts every image type",
    ),
    Variable(
        "AUTH_MODE",
        AUTH,
        "none",
        "who may ask for a ticket: `none` (anyone), `api-key` or `jwt`",
    ),
    Variable(
        "API_KEYS",
        AUTH,
        None,
        "with `api-key`: comma list of the keys accepted as `Authorization: Bearer`",
        secret=True,
    ),
    Variable(
        "JWT_SECRET",
        AUTH,
        None,
        "with `jwt`: the HS256 key tokens are signed with, at least 32 bytes",
        secret=True,
    ),
    Variable(
        "JWT_JWKS_URL",
        AUTH,
        None,
        "with `jwt`, instead of `JWT_SECRET`: the https URL of the issuer's RS256 keys",
    ),
    Variable(
        "JWT_AUDIENCE",
        AUTH,
        None,
        "with `jwt`: the `aud` every token must name; unset, not checked",
    ),
    Variable(
        "JWT_ISSUER",
        AUTH,
        None,
        "with `jwt`: the `iss` every token must name; unset, not checked",
    ),
    Variable(
        "CORS_ALLOW_ORIGIN",
        CORS,
        None,
        "comma list of the exact origins whose pages may call the API; unset, no CORS headers",
    ),
    Variable(
        "OSS_CALLBACK_URL",
        CALLBACK,
        None,
        "the API's `/oss-callback` URL, which OSS calls after each upload; unset, no callback",
    ),
    Variable(
        "OSS_CALLBACK_PUBKEY_URL_PREFIX",
        CALLBACK,
        None,
        "development only: one more URL prefix a callback's public key may come from",
    ),
    Variable(
        "VERIFY_CONTENT",
        VERIFY,
        "off",
        "`on`: after an upload, the function reads the object's first bytes and deletes "
        "it when they are not the declared type (`422 ContentMismatch`)",
    ),
    Variable(
        "LEGACY_ROUTE",
        LEGACY,
        "off",
        "`on` serves `GET /get_post_signature_for_oss_upload`; `off` answers it 404",
    ),
    Variable(
        "AWS_LAMBDA_FUNCTION_NAME",
        PLATFORM,
        None,
        "set by Lambda, not by you: where set, the audit lines carry CloudWatch metrics (EMF)",
    ),
)

BY_NAME = MappingProxyType({variable.name: variable for variable in VARIABLES})
NAMES = tuple(BY_NAME)


def default(name: str) -> str | None:
    """The documented default of ``name``; a name missing from the table is a bug."""
    return BY_NAME[name].default


def in_group(group: str) -> tuple[str, ...]:
    """The names of one group's variables, in the table's order."""
    return tuple(variable.name for variable in VARIABLES if variable.group == group)
