"""Signed DELETE requests made with the providers' own signers, not ours.

The conformance run removes what it stored with ``DELETE {endpoint}/{key}``,
signed by ``alibabacloud-oss-v2``'s V4 signer for OSS and botocore's
``S3SigV4Auth`` for S3 (development dependencies only). Neither shares code
with ``chalicelib`` or with the dev bucket, which verifies these requests
with its own code (:mod:`devbucket.signatures`): a dev bucket that accepts
them agrees with the SDKs.
"""

from __future__ import annotations

from urllib.parse import quote

import requests

from chalicelib.credentials import Credentials

TIMEOUT = 10  # seconds


def object_url(endpoint: str, key: str) -> str:
    """``{endpoint}/{key}``, the key percent-encoded but for ``/`` (as both services sign it)."""
    return f"{endpoint}/{quote(key, safe='/~')}"


def oss_delete_headers(
    endpoint: str, bucket: str, region: str, key: str, credentials: Credentials
) -> dict[str, str]:
    """The headers of an OSS V4 ``DELETE`` of ``key``, from the OSS SDK's signer."""
    from alibabacloud_oss_v2.signer.v4 import SignerV4
    from alibabacloud_oss_v2.types import Credentials as OssCredentials
    from alibabacloud_oss_v2.types import HttpRequest, SigningContext

    request = HttpRequest("DELETE", object_url(endpoint, key))
    context = SigningContext(
        product="oss",
        region=region,
        bucket=bucket,
        key=key,
        request=request,
        credentials=OssCredentials(
            credentials.access_key_id, credentials.secret, credentials.session_token
        ),
    )
    SignerV4().sign(context)
    return dict(request.headers.items())


def s3_delete_headers(
    endpoint: str, region: str, key: str, credentials: Credentials
) -> dict[str, str]:
    """The headers of an S3 SigV4 ``DELETE`` of ``key``, from botocore's signer."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as AwsCredentials

    request = AWSRequest(method="DELETE", url=object_url(endpoint, key))
    signer = S3SigV4Auth(
        AwsCredentials(credentials.access_key_id, credentials.secret, credentials.session_token),
        "s3",
        region,
    )
    signer.add_auth(request)
    return dict(request.headers.items())


def delete(endpoint: str, key: str, headers: dict[str, str]) -> requests.Response:
    return requests.delete(object_url(endpoint, key), headers=headers, timeout=TIMEOUT)
