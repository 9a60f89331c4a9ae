"""The request every case makes: one upload, its settings, and the Lambda event.

Imports nothing of signpost's, so a cold-start child can use it with either app.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

FILENAME, CONTENT_TYPE, SIZE = "cat.png", "image/png", 48213
BODY = json.dumps({"filename": FILENAME, "content_type": CONTENT_TYPE, "size": SIZE})
ORIGIN = "https://app.example.com"
OSS_SECRET = "bench-oss-secret-Zq8vY2pL0xN4wB7k"

# Every variable the cases need; ``STORAGE_PROVIDER``, ``OSS_SIGNATURE_VERSION``
# and ``UPLOAD_METHOD`` are set per case (a case's settings replace the last one's).
ENV = {
    "OSS_ACCESS_KEY_ID": "LTAIbenchkeyid",
    "OSS_ACCESS_KEY_SECRET": OSS_SECRET,
    "OSS_BUCKET": "signpost-bench",
    "OSS_REGION": "cn-hangzhou",
    "S3_BUCKET": "signpost-bench",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIABENCHKEYID000000",
    "AWS_SECRET_ACCESS_KEY": "bench-aws-secret-Zq8vY2pL0xN4wB7k",
    "CORS_ALLOW_ORIGIN": ORIGIN,
    "UPLOAD_METHOD": "post",
}
OSS_V4 = {**ENV, "STORAGE_PROVIDER": "oss", "OSS_SIGNATURE_VERSION": "v4"}
OSS_V1 = {**ENV, "STORAGE_PROVIDER": "oss", "OSS_SIGNATURE_VERSION": "v1"}
S3 = {**ENV, "STORAGE_PROVIDER": "s3", "OSS_SIGNATURE_VERSION": "v4"}


def proxy_event(
    path: str = "/upload-tickets",
    body: str | None = BODY,
    *,
    method: str = "POST",
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, as Lambda hands it to Chalice.

    ``resource`` is the route's pattern (``/s3/multipart/{uploadId}``) when
    it has parameters; by default the path."""
    resource = resource or path
    headers = {
        "accept": "*/*",
        "content-type": "application/json",
        "Host": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "origin": ORIGIN,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
        "X-Amzn-Trace-Id": "Root=1-6743a1b2-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "x1y2z3",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "BxK3aFbKIAMEdLA=",
            "requestTime": "24/Nov/2026:12:00:00 +0000",
            "path": f"/api{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "api",
            "domainPrefix": "abc123defg",
            "requestTimeEpoch": 1795521600000,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers["User-Agent"]},
            "domainName": headers["Host"],
            "apiId": "abc123defg",
        },
        "body": body,
        "isBase64Encoded": False,
    }


LAMBDA_CONTEXT = SimpleNamespace(
    function_name="signpost-dev",
    function_version="$LATEST",
    memory_limit_in_mb=128,
    aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    get_remaining_time_in_millis=lambda: 30000,
)
