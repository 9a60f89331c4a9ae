"""Forms the tests sign themselves, to hold the dev bucket to the documents.

V1 is signed with HMAC-SHA1 here, V4 with the OSS SDK's own derivation: no
code of chalicelib's, so the dev bucket is judged independently of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from alibabacloud_oss_v2.signer.v4 import SignerV4

from devbucket.config import DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, DEV_REGION
from tests.support.devbucket import PNG, RunningBucket, oss_error, post_form


def encode(document: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def later(seconds: int = 600) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )


def v1_form(
    fields: dict[str, str], conditions_: list[Any], secret: str = DEV_ACCESS_KEY_SECRET
) -> dict[str, str]:
    policy = encode({"expiration": later(), "conditions": conditions_})
    signature = base64.b64encode(
        hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    ).decode()
    return {**fields, "OSSAccessKeyId": DEV_ACCESS_KEY_ID, "policy": policy, "Signature": signature}


def v4_form(
    fields: dict[str, str],
    conditions_: list[Any],
    *,
    region: str = DEV_REGION,
    when: datetime | None = None,
) -> dict[str, str]:
    when = when or datetime.now(timezone.utc)
    day = when.strftime("%Y%m%d")
    auth = {
        "x-oss-signature-version": "OSS4-HMAC-SHA256",
        "x-oss-credential": f"{DEV_ACCESS_KEY_ID}/{day}/{region}/oss/aliyun_v4_request",
        "x-oss-date": when.strftime("%Y%m%dT%H%M%SZ"),
    }
    policy = encode(
        {"expiration": later(), "conditions": [*conditions_, *({k: v} for k, v in auth.items())]}
    )
    signature = SignerV4()._calc_signature(DEV_ACCESS_KEY_SECRET, day, region, "oss", policy)
    return {**fields, **auth, "policy": policy, "x-oss-signature": signature}


def post(bucket: RunningBucket, form: dict[str, str], content: bytes = PNG, **options: Any) -> Any:
    return post_form(bucket.url, form, content, **options)


def refused(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    got, message = oss_error(response)
    assert got == code, message
    return message
