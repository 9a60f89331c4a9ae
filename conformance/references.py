"""Signed requests made with the providers' own signers, not ours.

The conformance run looks at what a case left and removes it with requests
to ``{endpoint}/{key}``: ``DELETE`` (the object), ``DELETE ?uploadId=``
(AbortMultipartUpload), ``GET ?uploadId=`` (ListParts) and ``HEAD`` (is the
object there?), signed by ``alibabacloud-oss-v2``'s V4 signer for OSS and
botocore's ``S3SigV4Auth`` for S3 (development dependencies only). Neither
shares code with ``chalicelib`` or with the dev bucket, which verifies these
requests with its own code (:mod:`devbucket.signatures`): a dev bucket that
accepts them agrees with the SDKs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import requests

from chalicelib.credentials import Credentials

TIMEOUT = 10  # seconds
_NONE: Mapping[str, str] = MappingProxyType({})


def object_url(endpoint: str, key: str, query: Mapping[str, str] = _NONE) -> str:
    """``{endpoint}/{key}?{query}``, the key percent-encoded but for ``/`` (as both
    services sign it), the query's names and values in full (as both sign them)."""
    url = f"{endpoint}/{quote(key, safe='/~')}"
    encoded = "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in query.items()
    )
    return f"{url}?{encoded}" if encoded else url


def oss_sign(
    request: Any,
    bucket: str,
    region: str,
    key: str,
    credentials: Credentials,
    *,
    in_query: bool = False,
) -> None:
    """Sign ``request`` (the OSS SDK's ``HttpRequest``) for ``key`` with the SDK's
    own V4 signer: in its headers, or in its query string (a presigned URL)."""
    from alibabacloud_oss_v2.signer.v4 import SignerV4
    from alibabacloud_oss_v2.types import Credentials as OssCredentials
    from alibabacloud_oss_v2.types import SigningContext

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
    context.auth_method_query = in_query
    SignerV4().sign(context)


def oss_headers(
    method: str, url: str, bucket: str, region: str, key: str, credentials: Credentials
) -> dict[str, str]:
    """The headers of an OSS V4 request for ``key`` at ``url``, from the OSS SDK's signer."""
    from alibabacloud_oss_v2.types import HttpRequest

    request = HttpRequest(method, url)
    oss_sign(request, bucket, region, key, credentials)
    return dict(request.headers.items())


def s3_headers(method: str, url: str, region: str, credentials: Credentials) -> dict[str, str]:
    """The headers of an S3 SigV4 request to ``url``, from botocore's signer."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as AwsCredentials

    request = AWSRequest(method=method, url=url)
    signer = S3SigV4Auth(
        AwsCredentials(credentials.access_key_id, credentials.secret, credentials.session_token),
        "s3",
        region,
    )
    signer.add_auth(request)
    return dict(request.headers.items())


def send(method: str, url: str, headers: Mapping[str, str]) -> requests.Response:
    return requests.request(method, url, headers=dict(headers), timeout=TIMEOUT)
