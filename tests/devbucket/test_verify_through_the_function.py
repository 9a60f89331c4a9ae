"""``VERIFY_CONTENT=on`` through the function, judged by the dev bucket.

Multipart uploads through the app's routes (as
``test_multipart_through_the_function``), and S3's ``Object Created`` event
fed to the app's own handler in AWS's documented shape: the function reads
each object with its own signed ranged GET, which the dev bucket verifies,
and deletes a mismatch with its own signed DELETE.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devbucket.config import PROVIDERS
from tests.devbucket.test_multipart_through_the_function import Function, upload_parts
from tests.support.devbucket import PNG, RunningBucket, issue_ticket, post_form, start_bucket
from tests.support.environment import chalice_client

HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(params=tuple(PROVIDERS))
def running(request: Any, tmp_path: Path, env: Callable[..., None]) -> Iterator[RunningBucket]:
    bucket = start_bucket(tmp_path / request.param, provider=request.param)
    env(**bucket.env(), AUTH_MODE="none", VERIFY_CONTENT="on")
    yield bucket
    bucket.stop()


def multipart(function: Function, filename: str, content_type: str, data: bytes) -> Any:
    """One upload of ``data`` in one part, through the function; the completion's answer."""
    created = function.create(filename, content_type)
    key, upload_id = created["key"], created["uploadId"]
    parts = upload_parts(function, key, upload_id, [data])
    return key, function.complete(key, upload_id, parts)


@pytest.mark.parametrize("content_type", ["image/png", "application/pdf"])
@pytest.mark.parametrize("markup", [HTML, SVG], ids=["html", "svg"])
def test_markup_declared_as_png_or_pdf_is_refused_422_and_gone(
    running: RunningBucket, content_type: str, markup: bytes
) -> None:
    function = Function()
    filename = "cat.png" if content_type == "image/png" else "paper.pdf"
    key, answer = multipart(function, filename, content_type, markup)
    assert answer.status_code == 422, answer.body
    body = json.loads(answer.body)
    assert body["error"]["code"] == "ContentMismatch"
    detected = "text/html" if markup == HTML else "image/svg+xml"
    assert f"declared {content_type}" in body["message"]
    assert detected in body["message"]
    assert running.server.store.get(key) is None
    assert requests.get(f"{running.url}/{key}", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [("cat.png", "image/png", PNG), ("paper.pdf", "application/pdf", PDF)],
)
def test_true_png_and_pdf_pass_and_are_stored_byte_equal(
    running: RunningBucket, filename: str, content_type: str, data: bytes
) -> None:
    key, answer = multipart(Function(), filename, content_type, data)
    assert answer.status_code == 200, answer.body
    assert running.stored(key) == data


def aws_object_created(bucket: str, key: str, size: int) -> dict[str, Any]:
    """The "Object created" example of the S3 user guide's "EventBridge event
    message structure" page, naming this bucket and key."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2021-11-12T00:00:00Z",
        "region": "ca-central-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": size,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "617f08299329d189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PostObject",
        },
    }


@pytest.fixture
def s3_bucket(tmp_path: Path, env: Callable[..., None]) -> Iterator[RunningBucket]:
    bucket = start_bucket(tmp_path / "s3", provider="s3")
    env(**bucket.env(), AUTH_MODE="none", VERIFY_CONTENT="on")
    yield bucket
    bucket.stop()


def form_upload(bucket: RunningBucket, filename: str, content_type: str, data: bytes) -> str:
    """A form upload with a ticket of the app's: the key now stored."""
    ticket = issue_ticket(dict(os.environ), filename, content_type, len(data))
    response = post_form(ticket["url"], ticket["fields"], data, filename=filename)
    assert response.status_code in (200, 201, 204), response.text
    assert bucket.stored(ticket["key"]) == data
    return str(ticket["key"])


def invoke_object_created(event: dict[str, Any]) -> Any:
    """The app's EventBridge handler, invoked as Lambda invokes it."""
    return chalice_client().lambda_.invoke("object_created", event)


def test_the_s3_event_handler_deletes_markup_stored_as_png(s3_bucket: RunningBucket) -> None:
    key = form_upload(s3_bucket, "cat.png", "image/png", HTML)
    result = invoke_object_created(aws_object_created("signpost-dev", key, len(HTML)))
    assert result.payload is None
    assert s3_bucket.server.store.get(key) is None


def test_the_s3_event_handler_keeps_a_true_png_and_skips_other_buckets(
    s3_bucket: RunningBucket,
) -> None:
    png = form_upload(s3_bucket, "cat.png", "image/png", PNG)
    invoke_object_created(aws_object_created("signpost-dev", png, len(PNG)))
    assert s3_bucket.stored(png) == PNG
    fake = form_upload(s3_bucket, "dog.png", "image/png", HTML)
    invoke_object_created(aws_object_created("another-bucket", fake, len(HTML)))
    assert s3_bucket.stored(fake) == HTML  # not this deployment's bucket: not touched
