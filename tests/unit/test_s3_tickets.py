"""S3 tickets against botocore's ``generate_presigned_post``, the oracle.

botocore (dev-only) is given the same bucket, key, fields, conditions,
credentials and a frozen clock. The policies are compared by meaning (the
same set of conditions, ``{"name": v}`` being ``["eq", "$name", v]``, and the
same expiration); the signatures by signing each side's exact policy text
with the other side's signer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.auth import S3SigV4PostAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from chalicelib.credentials import Credentials
from chalicelib.errors import NotConfigured
from chalicelib.handlers import upload_ticket
from chalicelib.signers import S3SigV4Signer
from tests.support.environment import botocore_clock, botocore_s3_client

NOW = datetime(2026, 11, 24, 23, 59, 30, tzinfo=timezone.utc)
RANDOM = "5d1e" * 8
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="
REGION = "eu-central-1"
BUCKET = "signpost-uploads"
S3_ENV = {
    "STORAGE_PROVIDER": "s3",
    "S3_BUCKET": BUCKET,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
}
AUTH_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token")


def s3_ticket(env: dict[str, str], **body: Any) -> dict[str, Any]:
    return upload_ticket(json.dumps(body), env, clock=lambda: NOW, segment=lambda: RANDOM)


@pytest.fixture
def frozen_botocore() -> Iterator[None]:
    with botocore_clock(NOW):
        yield


def botocore_client(token: str | None = None, region: str = REGION, **s3: str) -> Any:
    return botocore_s3_client(Credentials(KEY_ID, SECRET, token), region, **s3)


def policy_of(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def condition_set(policy: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The conditions as comparable tuples; the object form is an ``eq``."""
    normal = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            normal.add(("eq", f"${name}", value))
        else:
            normal.add(tuple(condition))
    return normal


def botocore_signature(policy: str, token: str | None = None, region: str = REGION) -> str:
    """botocore's SigV4 POST signature over exactly this base64 policy."""
    request = AWSRequest(method="POST", url=f"https://{BUCKET}.s3.{region}.amazonaws.com")
    request.context["timestamp"] = NOW.strftime("%Y%m%dT%H%M%SZ")
    auth = S3SigV4PostAuth(BotoCredentials(KEY_ID, SECRET, token), "s3", region)
    return auth.signature(policy, request)


CASES = [
    # filename, content type, size, the Content-Disposition every ticket carries
    ("cat.png", "image/png", 2048, "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png"),
    (
        "猫 photo.JPG",
        "image/jpeg",
        None,
        "attachment; filename=\"_ photo.JPG\"; filename*=UTF-8''%E7%8C%AB%20photo.JPG",
    ),
]


@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["keys", "session"])
@pytest.mark.parametrize(
    ("filename", "content_type", "size", "disposition"), CASES, ids=["ascii", "utf8"]
)
def test_ticket_matches_botocore(
    frozen_botocore: None,
    token: str | None,
    filename: str,
    content_type: str,
    size: int | None,
    disposition: str,
) -> None:
    env = {**S3_ENV, "AWS_SESSION_TOKEN": token or ""}
    body = {"filename": filename, "content_type": content_type}
    if size is not None:
        body["size"] = size
    ours = s3_ticket(env, **body)["fields"]

    low, high = (size, size) if size else (1, 10 * 1024**2)
    bound = {
        "Content-Type": content_type,
        "Content-Disposition": disposition,
        "success_action_status": "201",
    }
    theirs = botocore_client(token).generate_presigned_post(
        BUCKET,
        f"uploads/{RANDOM}/{filename}",
        Fields=bound,
        Conditions=[
            *({name: value} for name, value in bound.items()),
            ["content-length-range", low, high],
        ],
        ExpiresIn=600,
    )["fields"]

    # The same form, field for field, apart from the policy's text and its signature.
    assert set(ours) == set(theirs)
    unsigned = {name for name in ours if name not in ("policy", "x-amz-signature")}
    assert {name: ours[name] for name in unsigned} == {name: theirs[name] for name in unsigned}
    assert ("x-amz-security-token" in ours) == (token is not None)
    # The same policy, by meaning.
    assert (
        policy_of(ours)["expiration"] == policy_of(theirs)["expiration"] == "2026-11-25T00:09:30Z"
    )
    assert condition_set(policy_of(ours)) == condition_set(policy_of(theirs))
    # The same signature over the same text, whichever side signs it.
    assert ours["x-amz-signature"] == botocore_signature(ours["policy"], token)
    signer = S3SigV4Signer(Credentials(KEY_ID, SECRET, token), REGION)
    assert signer.signature_fields(theirs["policy"], NOW) == {
        "x-amz-signature": theirs["x-amz-signature"]
    }


def test_every_field_but_policy_and_signature_is_bound(frozen_botocore: None) -> None:
    """S3 refuses a form field the policy does not name, and a ticket binds
    each exactly: no ``starts-with`` anywhere in an S3 ticket."""
    fields = s3_ticket(
        {**S3_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN},
        filename="a.pdf",
        content_type="application/pdf",
    )["fields"]
    conditions = condition_set(policy_of(fields))
    for name, value in fields.items():
        if name not in ("policy", "x-amz-signature"):
            assert ("eq", f"${name}", value) in conditions, name
    assert ("eq", "$bucket", BUCKET) in conditions
    assert {condition[0] for condition in conditions} == {"eq", "content-length-range"}
    assert list(fields)[-2:] == ["policy", "x-amz-signature"]


def test_session_token_is_bound_to_the_signature() -> None:
    """A token swapped for another (or dropped) no longer matches the policy,
    and the policy cannot be edited without breaking the signature."""
    env = {**S3_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN}
    fields = s3_ticket(env, filename="a.png", content_type="image/png")["fields"]
    assert {"x-amz-security-token": SESSION_TOKEN} in policy_of(fields)["conditions"]
    other = s3_ticket(
        {**env, "AWS_SESSION_TOKEN": "another-token"}, filename="a.png", content_type="image/png"
    )["fields"]
    assert other["x-amz-signature"] != fields["x-amz-signature"]
    assert botocore_signature(other["policy"], "another-token") == other["x-amz-signature"]


@pytest.mark.parametrize(
    ("bucket", "s3_config"),
    [
        # botocore's default is the global endpoint; "virtual" asks for the regional one, ours.
        ("signpost-uploads", {"addressing_style": "virtual"}),
        # A dotted name breaks the wildcard certificate: botocore goes path-style.
        ("uploads.example.com", {}),
    ],
)
def test_url_is_botocores_regional_endpoint(
    frozen_botocore: None, bucket: str, s3_config: dict[str, str]
) -> None:
    ticket = s3_ticket({**S3_ENV, "S3_BUCKET": bucket}, filename="a.png", content_type="image/png")
    theirs = botocore_client(**s3_config).generate_presigned_post(bucket, "k")["url"]
    assert ticket["url"] == theirs.rstrip("/")


def test_s3_region_names_the_buckets_region(frozen_botocore: None) -> None:
    """Lambda reserves ``AWS_REGION``; ``S3_REGION`` signs for a bucket elsewhere."""
    env = {**S3_ENV, "S3_REGION": "ap-southeast-2"}
    ticket = s3_ticket(env, filename="a.png", content_type="image/png")
    assert ticket["url"] == f"https://{BUCKET}.s3.ap-southeast-2.amazonaws.com"
    assert (
        ticket["fields"]["x-amz-credential"] == f"{KEY_ID}/20261124/ap-southeast-2/s3/aws4_request"
    )
    policy = ticket["fields"]["policy"]
    assert ticket["fields"]["x-amz-signature"] == botocore_signature(
        policy, region="ap-southeast-2"
    )


@pytest.mark.parametrize(
    "missing", ["S3_BUCKET", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
)
def test_missing_setting_is_named_never_valued(missing: str) -> None:
    env = {**S3_ENV, missing: ""}
    with pytest.raises(NotConfigured) as caught:
        s3_ticket(env, filename="a.png", content_type="image/png")
    assert caught.value.variable == missing
    assert SECRET not in caught.value.message
    assert KEY_ID not in caught.value.message
