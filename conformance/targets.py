"""The buckets a conformance run talks to, from the settings in the environment.

The same variables signpost reads (``OSS_*``, ``S3_*``, ``AWS_*``) name a
real bucket; the tickets, uploads and part URLs come from signpost's own
core with them, and what a case left is found and removed with the
providers' own signers (:mod:`conformance.references`). With no real bucket named, :func:`targets`
raises :class:`NoBucket` saying what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from chalicelib.errors import NotConfigured
from chalicelib.settings import load_oss, load_s3
from devtools.run import uses_real_bucket

from . import references

NEEDS = {
    "oss": (
        "OSS_BUCKET, OSS_REGION, OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET "
        "(optional: OSS_ENDPOINT, OSS_SESSION_TOKEN; OSS_SIGNATURE_VERSION runs one "
        "version, else both)"
    ),
    "s3": (
        "S3_BUCKET, AWS_REGION (or S3_REGION), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(optional: S3_ENDPOINT, AWS_SESSION_TOKEN)"
    ),
}
# Laid over the environment for every ticket and upload: image/png allowed, no
# callback (the matrix is about form rules; an OSS_CALLBACK_URL would make the
# bucket call it), no auth (the function's core is called, not its routes over HTTP).
TICKET_SETTINGS = {
    "ALLOWED_CONTENT_TYPES": "image/png",
    "OSS_CALLBACK_URL": "",
    "AUTH_MODE": "none",
}


class NoBucket(Exception):
    """No real bucket is named, or its settings are incomplete; ``str()`` says what to set."""


Sign = Callable[[str, str, str], dict[str, str]]  # (method, url, key) -> the signed headers


class Target(NamedTuple):
    """One bucket and signature scheme to run the cases against.

    ``multipart``: whether the multipart cases run here. The function signs
    OSS multipart requests with V4 whatever ``OSS_SIGNATURE_VERSION`` says
    of forms, so they run on the OSS V4 target and not again on V1.
    """

    label: str  # "OSS V4", "OSS V1", "S3"
    provider: str  # "oss" or "s3"
    settings: Mapping[str, str]  # the environment the function's core is called with
    endpoint: str  # the form's url; objects are at {endpoint}/{key}
    sign: Sign  # a request's headers, signed by the provider's own SDK
    multipart: bool


def _oss_targets(env: Mapping[str, str]) -> list[Target]:
    settings = load_oss(env, "v4")  # the cleanup signs V4, so the region is needed
    region = settings.region or ""
    versions = (
        [env["OSS_SIGNATURE_VERSION"].lower()] if env.get("OSS_SIGNATURE_VERSION") else ["v4", "v1"]
    )

    def sign(method: str, url: str, key: str) -> dict[str, str]:
        return references.oss_headers(
            method, url, settings.bucket, region, key, settings.credentials
        )

    return [
        Target(
            f"OSS {version.upper()}",
            "oss",
            {**env, **TICKET_SETTINGS, "STORAGE_PROVIDER": "oss", "OSS_SIGNATURE_VERSION": version},
            load_oss(env, version).url,
            sign,
            multipart=version == "v4",
        )
        for version in versions
    ]


def _s3_targets(env: Mapping[str, str]) -> list[Target]:
    settings = load_s3(env)

    def sign(method: str, url: str, key: str) -> dict[str, str]:
        return references.s3_headers(method, url, settings.region, settings.credentials)

    ticket_settings = {**env, **TICKET_SETTINGS, "STORAGE_PROVIDER": "s3"}
    return [Target("S3", "s3", ticket_settings, settings.url, sign, multipart=True)]


LOADERS = {"oss": _oss_targets, "s3": _s3_targets}


def targets(env: Mapping[str, str]) -> list[Target]:
    """Every real bucket the environment names; :class:`NoBucket` if none or one is incomplete."""
    named = [provider for provider in LOADERS if uses_real_bucket(provider, env)]
    if not named:
        raise NoBucket(
            "no real bucket in the environment.\n"
            "It runs the tamper matrix against the bucket your settings name, with tickets\n"
            "signed as signpost signs them, and deletes what it stores. It needs, for\n"
            f"  OSS: {NEEDS['oss']}\n"
            f"  S3:  {NEEDS['s3']}\n"
            "See docs/conformance.md."
        )
    found: list[Target] = []
    for provider in named:
        try:
            found += LOADERS[provider](env)
        except NotConfigured as error:
            raise NoBucket(
                f"the {provider.upper()} settings are incomplete: {error.message} "
                f"It needs {NEEDS[provider]}."
            ) from None
    return found
