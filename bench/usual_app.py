"""The usual way, for comparison: a Chalice app that imports boto3 at the top
and asks ``generate_presigned_post`` for each upload.

Cold start imports this module (boto3 included); the client itself is made on
the first request, so the import alone is a lower bound for this approach and
"import + first ticket" the fair comparison.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from chalice import Chalice

app = Chalice(app_name="usual")


@cache
def s3_client() -> Any:
    # SigV4, as signpost signs; botocore would pick the older V2 in us-east-1.
    config = Config(signature_version="s3v4")
    return boto3.client("s3", region_name=os.environ["AWS_REGION"], config=config)


@app.route("/upload-tickets", methods=["POST"], content_types=["application/json"])
def upload_ticket() -> dict[str, Any]:
    body = app.current_request.json_body
    key = f"uploads/{os.urandom(16).hex()}/{body['filename']}"
    return s3_client().generate_presigned_post(
        Bucket=os.environ["S3_BUCKET"],
        Key=key,
        Fields={"Content-Type": body["content_type"]},
        Conditions=[
            {"Content-Type": body["content_type"]},
            ["content-length-range", 1, body["size"]],
        ],
        ExpiresIn=600,
    )
