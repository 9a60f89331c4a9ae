"""The S3 ``Object Created`` handler's own decisions, before any storage call:
which events it leaves alone. (What it does to an object in the dev bucket:
``tests/devbucket/test_verify_through_the_function.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
import responses

from chalicelib.errors import NotConfigured
from chalicelib.verify_handlers import object_created

S3_ENV = {
    "STORAGE_PROVIDER": "s3",
    "S3_BUCKET": "signpost-test",
    "AWS_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "VERIFY_CONTENT": "on",
}
KEY = f"uploads/{'9f0c' * 8}/cat.png"


def event(**changes: Any) -> dict[str, Any]:
    """The S3 user guide's "Object created" EventBridge example, for ``KEY``."""
    detail = {
        "version": "0",
        "bucket": {"name": "signpost-test"},
        "object": {"key": KEY, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184"},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "reason": "PostObject",
    }
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "region": "eu-central-1",
        "resources": ["arn:aws:s3:::signpost-test"],
        "detail": detail,
        **changes,
    }


@pytest.mark.parametrize(
    ("changed_event", "changed_env"),
    [
        (event(), {"VERIFY_CONTENT": "off"}),
        (event(), {"STORAGE_PROVIDER": "oss"}),
        (event(source="aws.ec2"), {}),
        (event(**{"detail-type": "Object Deleted"}), {}),
        (event(detail="not an object"), {}),
        (event(detail={"bucket": {"name": "another"}, "object": {"key": KEY}}), {}),
        (event(detail={"bucket": {"name": "signpost-test"}, "object": {"key": "logs/x"}}), {}),
        (event(detail={"bucket": {"name": "signpost-test"}, "object": {"key": 7}}), {}),
        (event(detail={"bucket": "signpost-test", "object": None}), {}),
    ],
)
def test_events_it_does_not_check_are_skipped_without_a_storage_call(
    changed_event: dict[str, Any], changed_env: dict[str, str]
) -> None:
    with responses.RequestsMock():  # any storage call would fail the test
        assert object_created(changed_event, {**S3_ENV, **changed_env}) == "skipped"


def test_a_bad_verify_content_is_raised_so_lambda_retries_and_logs_it() -> None:
    with pytest.raises(NotConfigured, match="VERIFY_CONTENT"):
        object_created(event(), {**S3_ENV, "VERIFY_CONTENT": "yes"})
