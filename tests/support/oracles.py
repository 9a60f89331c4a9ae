"""The providers' own signers, checking requests signpost sent (as ``responses`` saw them).

A captured storage call is re-signed by ``alibabacloud-oss-v2``'s ``SignerV4``
or botocore's ``S3SigV4Auth`` at the instant its own date header names, with
the headers signpost meant to send; a part URL is re-made by the SDK's
signer or botocore's ``generate_presigned_url``. Equal signatures mean the
service would accept what signpost sent (or handed out).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from chalicelib.credentials import Credentials
from tests.support.environment import botocore_clock, botocore_s3_client

# What an HTTP client adds, and what a signature adds: not part of a request's own headers.
TRANSPORT = {"user-agent", "accept-encoding", "accept", "connection", "content-length"}
SIGNATURE = {
    "authorization",
    "date",
    "x-oss-date",
    "x-oss-content-sha256",
    "x-oss-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
}


def own_headers(sent: Any) -> dict[str, str]:
    """A sent request's headers, lower-cased, without the transport's and the signature's."""
    return {
        name.lower(): value
        for name, value in sent.headers.items()
        if name.lower() not in TRANSPORT | SIGNATURE
    }


def _instant(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def _body(sent: Any) -> bytes:
    body = sent.body or b""
    return body.encode() if isinstance(body, str) else body


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def oss_authorization(sent: Any, bucket: str, region: str, credentials: Credentials) -> str:
    """The ``Authorization`` the OSS SDK gives the request ``sent`` at its ``x-oss-date``."""
    from alibabacloud_oss_v2.signer.v4 import SignerV4
    from alibabacloud_oss_v2.types import Credentials as OssCredentials
    from alibabacloud_oss_v2.types import HttpRequest, SigningContext

    headers = own_headers(sent)
    request = HttpRequest(sent.method, sent.url, headers=dict(headers))
    context = SigningContext(
        product="oss",
        region=region,
        bucket=bucket,
        key=unquote(urlsplit(sent.url).path.lstrip("/")),
        request=request,
        credentials=OssCredentials(*credentials),
        signing_time=_instant(sent.headers["x-oss-date"]),
        additional_headers=set(headers),
    )
    SignerV4().sign(context)
    return str(request.headers["Authorization"])


def s3_authorization(sent: Any, region: str, credentials: Credentials) -> str:
    """The ``Authorization`` botocore gives the request ``sent`` at its ``X-Amz-Date``."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(
        method=sent.method, url=sent.url, headers=own_headers(sent), data=_body(sent)
    )
    with botocore_clock(_instant(sent.headers["x-amz-date"])):
        S3SigV4Auth(BotoCredentials(*credentials), "s3", region).add_auth(request)
    return str(request.headers["Authorization"])


def oss_part_url(url: str, bucket: str, region: str, credentials: Credentials) -> str:
    """The OSS SDK's presigned ``PUT`` for the same part, date and lifetime as ``url``."""
    from alibabacloud_oss_v2.signer.v4 import SignerV4
    from alibabacloud_oss_v2.types import Credentials as OssCredentials
    from alibabacloud_oss_v2.types import HttpRequest, SigningContext

    query = query_of(url)
    now = _instant(query["x-oss-date"])
    parts = urlsplit(url)
    request = HttpRequest(
        "PUT",
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        f"?partNumber={query['partNumber']}&uploadId={_quoted(query['uploadId'])}",
    )
    context = SigningContext(
        product="oss",
        region=region,
        bucket=bucket,
        key=unquote(parts.path.lstrip("/")),
        request=request,
        credentials=OssCredentials(*credentials),
        signing_time=now,
    )
    context.auth_method_query = True
    context.expiration_time = now + timedelta(seconds=int(query["x-oss-expires"]))
    SignerV4().sign(context)
    return str(request.url)


def s3_part_url(url: str, bucket: str, region: str, credentials: Credentials) -> str:
    """botocore's ``generate_presigned_url('upload_part')`` for the same part and date."""
    query = query_of(url)
    client = botocore_s3_client(credentials, region, addressing_style="virtual")
    with botocore_clock(_instant(query["X-Amz-Date"])):
        return str(
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": bucket,
                    "Key": unquote(urlsplit(url).path.lstrip("/")),
                    "UploadId": query["uploadId"],
                    "PartNumber": int(query["partNumber"]),
                },
                ExpiresIn=int(query["X-Amz-Expires"]),
            )
        )


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
