"""The providers' own SDKs, pointed at a running dev bucket: the oracles.

``alibabacloud-oss-v2`` (OSS) and botocore (S3) make every multipart call
and sign every part URL here, never signpost's code nor the dev bucket's:
a call the dev bucket accepts is one the SDK and the dev bucket agree on,
and the SDK parses the dev bucket's XML answers as it parses the service's.

Both SDKs address the bucket by its own host (``{endpoint}/{key}``, as the
dev bucket serves it): OSS as a CNAME endpoint (``localhost:PORT``, since
the SDK goes path-style for an IP address); S3 virtual-hosted
(``signpost-dev.localhost:PORT``, a name that does not resolve here), so
requests go to ``127.0.0.1:PORT`` with that ``Host``, which the signature
covers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests

from chalicelib.credentials import Credentials
from conformance import references
from devbucket.config import (
    DEV_ACCESS_KEY_ID,
    DEV_ACCESS_KEY_SECRET,
    DEV_BUCKET,
    DEV_REGION,
    DEV_S3_ACCESS_KEY_ID,
    DEV_S3_REGION,
    DEV_S3_SECRET_ACCESS_KEY,
)
from tests.support.devbucket import RunningBucket

TIMEOUT = 30  # seconds


class Refused(Exception):
    """A call the dev bucket refused, as the SDK reports it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ListedPart(NamedTuple):
    number: int
    etag: str
    size: int


class PartsPage(NamedTuple):
    parts: list[ListedPart]
    truncated: bool
    next_marker: int


def multipart_etag(parts: Iterable[bytes]) -> str:
    """The ETag both services give a multipart object: the MD5 of the parts'
    MD5s, ``-`` and their count (computed here, independently)."""
    chunks = list(parts)
    digest = hashlib.md5(b"".join(hashlib.md5(chunk).digest() for chunk in chunks))
    return f"{digest.hexdigest()}-{len(chunks)}"


def on_loopback(url: str, port: int) -> tuple[str, dict[str, str]]:
    """``url`` sent to ``127.0.0.1:port``, with its own host as ``Host``."""
    split = urlsplit(url)
    return urlunsplit(split._replace(netloc=f"127.0.0.1:{port}")), {"Host": split.netloc}


def oss_sign(request: Any, key: str, *, token: str | None = None, in_query: bool = False) -> None:
    """Sign ``request`` (the OSS SDK's ``HttpRequest``) for ``key`` with the dev
    bucket's OSS keys, by the SDK's own V4 signer: in its headers, or in its
    query string (a presigned URL)."""
    credentials = Credentials(DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET, token)
    references.oss_sign(request, DEV_BUCKET, DEV_REGION, key, credentials, in_query=in_query)


@dataclass
class Oracle:
    """One provider's SDK client for ``bucket``, with the calls the tests make."""

    bucket: RunningBucket

    @property
    def port(self) -> int:
        return int(self.bucket.server.server_address[1])

    def put_part(self, url: str, data: Any, headers: dict[str, str] | None = None) -> Any:
        """PUT ``data`` to a presigned part URL, as a browser would (no other header)."""
        target, host = on_loopback(url, self.port)
        return requests.put(target, data=data, headers={**host, **(headers or {})}, timeout=TIMEOUT)

    # Each provider's calls (below) ---------------------------------------

    def initiate(self, key: str, content_type: str, disposition: str | None = None) -> str:
        raise NotImplementedError

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """UploadPart signed in its headers, by the SDK's client; the ETag."""
        raise NotImplementedError

    def signed_post(self, key: str, query: str, body: bytes) -> Any:
        """``POST {endpoint}/{key}?{query}`` with ``body``, signed in its
        headers by the SDK's signer: a body the SDK would never write."""
        raise NotImplementedError

    def part_url(self, key: str, upload_id: str, number: int, expires: int = 600) -> str:
        raise NotImplementedError

    def list_parts(
        self, key: str, upload_id: str, max_parts: int | None = None, marker: int | None = None
    ) -> PartsPage:
        raise NotImplementedError

    def complete(
        self,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        *,
        forbid_overwrite: bool = False,
        size: int | None = None,
    ) -> dict[str, str]:
        """``{"etag", "location"}`` of the stored object."""
        raise NotImplementedError

    def abort(self, key: str, upload_id: str) -> None:
        raise NotImplementedError


class OssOracle(Oracle):
    def __init__(self, bucket: RunningBucket) -> None:
        super().__init__(bucket)
        import alibabacloud_oss_v2 as oss

        self.oss = oss
        config = oss.config.load_default()
        config.credentials_provider = oss.credentials.StaticCredentialsProvider(
            DEV_ACCESS_KEY_ID, DEV_ACCESS_KEY_SECRET
        )
        config.region = DEV_REGION
        config.endpoint = f"http://localhost:{self.port}"
        config.use_cname = True
        config.retry_max_attempts = 1
        self.client = oss.Client(config)

    def _call(self, operation: str, request: Any, **options: Any) -> Any:
        try:
            return getattr(self.client, operation)(request, **options)
        except self.oss.exceptions.OperationError as failure:
            error = failure.unwrap()
            raise Refused(error.status_code, error.code, error.message) from None

    def initiate(self, key: str, content_type: str, disposition: str | None = None) -> str:
        request = self.oss.InitiateMultipartUploadRequest(
            bucket=DEV_BUCKET,
            key=key,
            content_type=content_type,
            content_disposition=disposition,
            forbid_overwrite=True,
        )
        return str(self._call("initiate_multipart_upload", request).upload_id)

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        request = self.oss.UploadPartRequest(
            bucket=DEV_BUCKET, key=key, part_number=number, upload_id=upload_id, body=data
        )
        return str(self._call("upload_part", request).etag)

    def signed_post(self, key: str, query: str, body: bytes) -> Any:
        from alibabacloud_oss_v2.types import HttpRequest

        url = f"{references.object_url(f'http://127.0.0.1:{self.port}', key)}?{query}"
        request = HttpRequest("POST", url, headers={"Content-Type": "application/xml"})
        oss_sign(request, key)
        return requests.post(url, data=body, headers=dict(request.headers), timeout=TIMEOUT)

    def part_url(self, key: str, upload_id: str, number: int, expires: int = 600) -> str:
        request = self.oss.UploadPartRequest(
            bucket=DEV_BUCKET, key=key, part_number=number, upload_id=upload_id
        )
        result = self.client.presign(request, expires=timedelta(seconds=expires))
        assert result.signed_headers == {}  # a browser's PUT carries none
        return str(result.url)

    def list_parts(
        self, key: str, upload_id: str, max_parts: int | None = None, marker: int | None = None
    ) -> PartsPage:
        request = self.oss.ListPartsRequest(
            bucket=DEV_BUCKET,
            key=key,
            upload_id=upload_id,
            max_parts=max_parts,
            part_number_marker=marker,
        )
        result = self._call("list_parts", request)
        parts = [ListedPart(p.part_number, p.etag, p.size) for p in result.parts or []]
        return PartsPage(parts, bool(result.is_truncated), int(result.next_part_number_marker))

    def complete(
        self,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        *,
        forbid_overwrite: bool = False,
        size: int | None = None,
    ) -> dict[str, str]:
        assert size is None  # an S3 header
        request = self.oss.CompleteMultipartUploadRequest(
            bucket=DEV_BUCKET,
            key=key,
            upload_id=upload_id,
            complete_multipart_upload=self.oss.CompleteMultipartUpload(
                parts=[self.oss.UploadPart(part_number=n, etag=etag) for n, etag in parts]
            ),
            forbid_overwrite=forbid_overwrite or None,
        )
        result = self._call("complete_multipart_upload", request)
        return {"etag": result.etag, "location": result.location}

    def abort(self, key: str, upload_id: str) -> None:
        request = self.oss.AbortMultipartUploadRequest(
            bucket=DEV_BUCKET, key=key, upload_id=upload_id
        )
        self._call("abort_multipart_upload", request)


class S3Oracle(Oracle):
    def __init__(self, bucket: RunningBucket) -> None:
        super().__init__(bucket)
        import botocore.session
        from botocore.config import Config

        self.client = botocore.session.get_session().create_client(
            "s3",
            region_name=DEV_S3_REGION,
            endpoint_url=f"http://localhost:{self.port}",
            aws_access_key_id=DEV_S3_ACCESS_KEY_ID,
            aws_secret_access_key=DEV_S3_SECRET_ACCESS_KEY,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "virtual"},
                retries={"max_attempts": 1},
            ),
        )
        self.client.meta.events.register("before-send.s3", self._to_loopback)

    def _to_loopback(self, request: Any, **_: Any) -> None:
        request.url, host = on_loopback(request.url, self.port)
        request.headers.update(host)

    def _call(self, operation: str, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, operation)(Bucket=DEV_BUCKET, **params)
        except ClientError as failure:
            error = failure.response["Error"]
            status = failure.response["ResponseMetadata"]["HTTPStatusCode"]
            raise Refused(status, error.get("Code", ""), error.get("Message", "")) from None

    def initiate(self, key: str, content_type: str, disposition: str | None = None) -> str:
        extra = {"ContentDisposition": disposition} if disposition else {}
        result = self._call("create_multipart_upload", Key=key, ContentType=content_type, **extra)
        return str(result["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        result = self._call(
            "upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return str(result["ETag"])

    def signed_post(self, key: str, query: str, body: bytes) -> Any:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as AwsCredentials

        url = f"{references.object_url(f'http://127.0.0.1:{self.port}', key)}?{query}"
        request = AWSRequest(method="POST", url=url, data=body)
        credentials = AwsCredentials(DEV_S3_ACCESS_KEY_ID, DEV_S3_SECRET_ACCESS_KEY)
        S3SigV4Auth(credentials, "s3", DEV_S3_REGION).add_auth(request)
        return requests.post(url, data=body, headers=dict(request.headers), timeout=TIMEOUT)

    def part_url(self, key: str, upload_id: str, number: int, expires: int = 600) -> str:
        params = {"Bucket": DEV_BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": number}
        return str(
            self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires)
        )

    def list_parts(
        self, key: str, upload_id: str, max_parts: int | None = None, marker: int | None = None
    ) -> PartsPage:
        extra: dict[str, Any] = {}
        if max_parts is not None:
            extra["MaxParts"] = max_parts
        if marker is not None:
            extra["PartNumberMarker"] = marker
        result = self._call("list_parts", Key=key, UploadId=upload_id, **extra)
        parts = [ListedPart(p["PartNumber"], p["ETag"], p["Size"]) for p in result.get("Parts", [])]
        return PartsPage(parts, result["IsTruncated"], int(result.get("NextPartNumberMarker", 0)))

    def complete(
        self,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        *,
        forbid_overwrite: bool = False,
        size: int | None = None,
    ) -> dict[str, str]:
        extra: dict[str, Any] = {}
        if forbid_overwrite:
            extra["IfNoneMatch"] = "*"
        if size is not None:
            extra["MpuObjectSize"] = size
        result = self._call(
            "complete_multipart_upload",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            **extra,
        )
        return {"etag": result["ETag"], "location": result["Location"]}

    def abort(self, key: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", Key=key, UploadId=upload_id)


def oracle_for(bucket: RunningBucket) -> Oracle:
    """The SDK of the bucket's provider."""
    provider = bucket.server.config.provider
    return OssOracle(bucket) if provider == "oss" else S3Oracle(bucket)
