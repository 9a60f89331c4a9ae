"""Tickets from the app really upload, and every tampering is refused.

Over loopback with ``requests``, against the dev bucket, which verifies forms
as OSS documents it and shares no code with chalicelib.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.devbucket import (
    PNG,
    RunningBucket,
    assert_refused,
    bucket,
    issue_ticket,
    oss_error,
    post_form,
    start_bucket,
    upload,
    widened_policy,
)
from tests.support.environment import api_client

__all__ = ["bucket"]  # the fixture, imported for pytest

SIGNATURE_FIELD = {"v4": "x-oss-signature", "v1": "Signature"}
VERSIONS = pytest.mark.parametrize("version", ["v4", "v1"])


def png_ticket(
    bucket: RunningBucket, version: str = "v4", size: int | None = len(PNG)
) -> dict[str, Any]:
    return issue_ticket(bucket.env(OSS_SIGNATURE_VERSION=version), "cat.png", "image/png", size)


@VERSIONS
def test_a_ticket_uploads_and_the_object_is_what_was_sent(
    bucket: RunningBucket, version: str
) -> None:
    ticket = png_ticket(bucket, version)
    response = upload(ticket)

    assert response.status_code == 201, response.text
    assert f"<Key>{ticket['key']}</Key>" in response.text
    assert bucket.stored(ticket["key"]) == PNG
    served = requests.get(f"{bucket.url}/{ticket['key']}", timeout=5)
    assert served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == ticket["fields"]["Content-Disposition"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_ticket_without_a_size_uploads_anything_from_one_byte_to_the_limit(
    bucket: RunningBucket,
) -> None:
    ticket = png_ticket(bucket, size=None)
    assert upload(ticket).status_code == 201
    assert bucket.stored(ticket["key"]) == PNG


def test_a_non_ascii_name_keeps_its_key_and_disposition(bucket: RunningBucket) -> None:
    ticket = issue_ticket(bucket.env(), "résumé 2026.pdf", "application/pdf", 9)
    response = post_form(
        ticket["url"],
        ticket["fields"],
        b"%PDF-1.7\n",
        filename="résumé 2026.pdf",
        file_type="application/pdf",
    )
    assert response.status_code == 201, response.text
    assert ticket["key"].endswith("/résumé 2026.pdf")
    served = requests.get(f"{bucket.url}/{requests.utils.quote(ticket['key'])}", timeout=5)
    assert served.content == b"%PDF-1.7\n"
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202026.pdf" in served.headers["Content-Disposition"]


@VERSIONS
def test_another_key_is_refused(bucket: RunningBucket, version: str) -> None:
    ticket = png_ticket(bucket, version)
    other = ticket["key"].replace("cat.png", "dog.png")
    message = assert_refused(bucket, ticket, upload(ticket, key=other), 403, "AccessDenied")
    assert "Policy Condition failed" in message
    assert "$key" in message
    assert bucket.server.store.get(other) is None


@VERSIONS
def test_another_content_type_is_refused(bucket: RunningBucket, version: str) -> None:
    ticket = png_ticket(bucket, version)
    response = upload(ticket, file_type="text/html", **{"Content-Type": "text/html"})
    message = assert_refused(bucket, ticket, response, 403, "AccessDenied")
    assert "$content-type" in message


@VERSIONS
def test_a_file_one_byte_over_the_bound_size_is_refused(
    bucket: RunningBucket, version: str
) -> None:
    ticket = png_ticket(bucket, version)
    assert_refused(bucket, ticket, upload(ticket, PNG + b"\0"), 400, "EntityTooLarge")


def test_a_file_one_byte_under_the_bound_size_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    assert_refused(bucket, ticket, upload(ticket, PNG[:-1]), 400, "EntityTooSmall")


@VERSIONS
def test_an_expired_policy_is_refused(bucket: RunningBucket, version: str) -> None:
    ticket = png_ticket(bucket, version)
    bucket.clock.advance(600 + 1)  # EXPIRE_SECONDS defaults to 600
    message = assert_refused(bucket, ticket, upload(ticket), 403, "AccessDenied")
    assert message == "Invalid according to Policy: Policy expired."


@VERSIONS
def test_a_flipped_signature_character_is_refused(bucket: RunningBucket, version: str) -> None:
    ticket = png_ticket(bucket, version)
    name = SIGNATURE_FIELD[version]
    signature = ticket["fields"][name]
    flipped = ("1" if signature[5] != "1" else "2").join((signature[:5], signature[6:]))
    message = assert_refused(bucket, ticket, upload(ticket, **{name: flipped}), 403, "AccessDenied")
    assert "signature we calculated does not match" in message


@VERSIONS
def test_a_policy_edited_after_signing_is_refused(bucket: RunningBucket, version: str) -> None:
    """Widen the size range in the policy and send a bigger file: the
    signature no longer matches the policy."""
    ticket = png_ticket(bucket, version)
    edited = widened_policy(ticket)
    message = assert_refused(
        bucket, ticket, upload(ticket, PNG * 3, policy=edited), 403, "AccessDenied"
    )
    assert "signature we calculated does not match" in message


@VERSIONS
def test_an_extra_form_field_the_policy_does_not_bind_is_accepted_and_takes_effect(
    bucket: RunningBucket, version: str
) -> None:
    """OSS checks only the fields its policy names (S3 refuses the others):
    an uploader may add fields a ticket does not send, and they take effect."""
    ticket = png_ticket(bucket, version)
    response = upload(ticket, **{"x-oss-meta-note": "added", "x-oss-storage-class": "IA"})
    assert response.status_code == 201, response.text
    served = requests.get(f"{bucket.url}/{ticket['key']}", timeout=5)
    assert served.headers["x-oss-meta-note"] == "added"
    assert served.headers["x-oss-storage-class"] == "IA"


@pytest.mark.parametrize(("provider", "status"), [("oss", 201), ("s3", 403)])
def test_an_added_unbound_field_is_accepted_by_oss_and_refused_by_s3(
    tmp_path: Path, provider: str, status: int
) -> None:
    running = start_bucket(tmp_path / provider, provider=provider)
    try:
        ticket = issue_ticket(running.env(), "cat.png", "image/png", len(PNG))
        response = upload(ticket, **{"x-oss-meta-note": "added"})
        assert response.status_code == status, response.text
        if status == 403:
            assert oss_error(response) == (
                "AccessDenied",
                "Invalid according to Policy: Extra input fields: x-oss-meta-note",
            )
        assert (running.server.store.get(ticket["key"]) is not None) == (status == 201)
    finally:
        running.stop()


@VERSIONS
def test_a_second_upload_to_the_same_key_is_refused(bucket: RunningBucket, version: str) -> None:
    ticket = png_ticket(bucket, version)
    assert upload(ticket).status_code == 201
    response = upload(ticket, bytes(reversed(PNG)))  # other bytes, the same size
    assert response.status_code == 409
    assert oss_error(response)[0] == "FileAlreadyExists"
    assert bucket.stored(ticket["key"]) == PNG  # the first upload is untouched


def test_a_key_the_bucket_does_not_trust_is_refused(bucket: RunningBucket) -> None:
    ticket = issue_ticket(
        bucket.env(OSS_ACCESS_KEY_ID="LTAIsomeoneelse"), "cat.png", "image/png", len(PNG)
    )
    assert_refused(bucket, ticket, upload(ticket), 403, "InvalidAccessKeyId")


def test_a_ticket_signed_with_another_secret_is_refused(bucket: RunningBucket) -> None:
    ticket = issue_ticket(
        bucket.env(OSS_ACCESS_KEY_SECRET="not-the-secret"), "cat.png", "image/png", len(PNG)
    )
    message = assert_refused(bucket, ticket, upload(ticket), 403, "AccessDenied")
    assert "signature we calculated does not match" in message


def test_the_stored_type_is_the_ticket_type_whatever_the_file_part_says(
    bucket: RunningBucket,
) -> None:
    """OSS stores x-oss-content-type before the file part's own Content-Type
    header, so the ticket binds it: a file part sent as text/html lands as the
    type the ticket was issued for."""
    ticket = png_ticket(bucket)
    assert ticket["fields"]["x-oss-content-type"] == "image/png"
    response = upload(ticket, file_type="text/html")
    assert response.status_code == 201, response.text
    assert bucket.server.store.get(ticket["key"]).content_type == "image/png"  # type: ignore[union-attr]


def test_a_changed_x_oss_content_type_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    response = upload(ticket, **{"x-oss-content-type": "text/html"})
    assert_refused(bucket, ticket, response, 403, "AccessDenied")


def test_the_legacy_routes_own_flow_uploads(
    bucket: RunningBucket, env: Callable[..., None]
) -> None:
    """The OSS sample page: GET the legacy route, key = dir + filename, the
    fields in its order, ``signature`` sent as ``Signature``, the file last."""
    env(**bucket.env(), LEGACY_ROUTE="on")
    answer = api_client().get("/get_post_signature_for_oss_upload")
    assert answer.status_code == 200, answer.body
    legacy = json.loads(answer.body)
    key = legacy["dir"] + "holiday.png"
    fields = {
        "key": key,
        "policy": legacy["policy"],
        "OSSAccessKeyId": legacy["ossAccessKeyId"],
        "success_action_status": "200",
        "Signature": legacy["signature"],
    }
    response = post_form(legacy["host"], fields, PNG, filename="holiday.png", file_type="image/png")

    assert response.status_code == 200, response.text
    assert response.content == b""
    assert bucket.stored(key) == PNG
    assert bucket.server.store.get(key).content_type == "image/png"  # type: ignore[union-attr]

    outside = post_form(
        legacy["host"], {**fields, "key": "elsewhere/holiday.png"}, PNG, file_type="image/png"
    )
    assert outside.status_code == 403
    assert "starts-with" in oss_error(outside)[1]
