"""S3 tickets really upload to a bucket that checks S3's POST rules, and every
tampering is refused with S3's code.

The dev bucket in S3 mode (:mod:`devbucket.s3`) verifies the SigV4 policy
signature, session tokens and the policy's conditions as AWS documents
them, sharing no code with chalicelib; the forms go over loopback with
``requests``. The last tests hold the dev bucket's S3 rules to botocore's
``generate_presigned_post``, independently of chalicelib.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from devbucket.bucket import Bucket
from devbucket.config import (
    DEV_BUCKET,
    DEV_S3_ACCESS_KEY_ID,
    DEV_S3_REGION,
    DEV_S3_SECRET_ACCESS_KEY,
)
from tests.support.devbucket import (
    PNG,
    RunningBucket,
    assert_refused,
    issue_ticket,
    oss_error,
    post_form,
    start_bucket,
    upload,
    widened_policy,
)

TEMPORARY_KEY_ID = "ASIADEVBUCKETTEMP000"
TEMPORARY_SECRET = "temporary-secret-for-the-dev-bucket"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEDEVBUCKET//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    """The S3 dev bucket as ``make run --provider s3`` starts it."""
    running = start_bucket(tmp_path / "bucket", provider="s3")
    yield running
    running.stop()


@pytest.fixture
def sts_bucket(tmp_path: Path) -> Iterator[RunningBucket]:
    """An S3 dev bucket that also trusts a temporary key, with its session token."""
    trusted = Bucket(
        DEV_BUCKET,
        DEV_S3_REGION,
        {DEV_S3_ACCESS_KEY_ID: DEV_S3_SECRET_ACCESS_KEY, TEMPORARY_KEY_ID: TEMPORARY_SECRET},
        {TEMPORARY_KEY_ID: SESSION_TOKEN},
    )
    running = start_bucket(tmp_path / "bucket", provider="s3", trusted=trusted)
    yield running
    running.stop()


def png_ticket(bucket: RunningBucket, **env: str) -> dict[str, Any]:
    return issue_ticket(bucket.env(**env), "cat.png", "image/png", len(PNG))


def test_an_s3_ticket_uploads_and_the_object_is_what_was_sent(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    assert ticket["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    response = upload(ticket)

    assert response.status_code == 201, response.text
    answer = ElementTree.fromstring(response.content)
    assert answer.tag == "PostResponse"
    assert answer.findtext("Key") == ticket["key"]
    assert answer.findtext("Bucket") == DEV_BUCKET
    assert answer.findtext("ETag") == response.headers["ETag"]
    assert response.headers["ETag"] == f'"{hashlib.md5(PNG).hexdigest()}"'  # S3: lower-case
    assert answer.findtext("Location", "").startswith(bucket.url)
    served = requests.get(f"{bucket.url}/{ticket['key']}", timeout=5)
    assert served.content == PNG == bucket.stored(ticket["key"])
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == ticket["fields"]["Content-Disposition"]


def test_the_stored_type_is_the_content_type_field_whatever_the_file_part_says(
    bucket: RunningBucket,
) -> None:
    """S3 takes the object's type from the bound ``Content-Type`` field, not
    from the file part's header, which the policy cannot bind."""
    ticket = png_ticket(bucket)
    response = upload(ticket, file_type="text/html")
    assert response.status_code == 201, response.text
    stored = bucket.server.store.get(ticket["key"])
    assert stored is not None
    assert stored.content_type == "image/png"


def test_another_key_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    other = ticket["key"].replace("cat.png", "dog.png")
    message = assert_refused(bucket, ticket, upload(ticket, key=other), 403, "AccessDenied")
    assert message.startswith("Invalid according to Policy: Policy Condition failed")
    assert "$key" in message
    assert bucket.server.store.get(other) is None


def test_another_content_type_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    response = upload(ticket, file_type="text/html", **{"Content-Type": "text/html"})
    message = assert_refused(bucket, ticket, response, 403, "AccessDenied")
    assert "Policy Condition failed" in message
    assert "$content-type" in message


def test_a_file_one_byte_over_the_bound_size_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    assert_refused(bucket, ticket, upload(ticket, PNG + b"\0"), 400, "EntityTooLarge")


def test_an_expired_policy_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    bucket.clock.advance(600 + 1)  # EXPIRE_SECONDS defaults to 600
    message = assert_refused(bucket, ticket, upload(ticket), 403, "AccessDenied")
    assert message == "Invalid according to Policy: Policy expired."


def test_a_flipped_signature_character_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    signature = ticket["fields"]["x-amz-signature"]
    flipped = signature[:7] + ("0" if signature[7] != "0" else "1") + signature[8:]
    response = upload(ticket, **{"x-amz-signature": flipped})
    message = assert_refused(bucket, ticket, response, 403, "SignatureDoesNotMatch")
    assert "signature we calculated does not match" in message


def test_a_policy_edited_after_signing_is_refused(bucket: RunningBucket) -> None:
    """Widen the size range and send a bigger file: the signature no longer
    matches the policy."""
    ticket = png_ticket(bucket)
    response = upload(ticket, PNG * 3, policy=widened_policy(ticket))
    assert_refused(bucket, ticket, response, 403, "SignatureDoesNotMatch")


def test_an_extra_form_field_the_policy_does_not_bind_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket)
    response = upload(ticket, **{"x-amz-meta-owner": "mallory"})
    message = assert_refused(bucket, ticket, response, 403, "AccessDenied")
    assert message == "Invalid according to Policy: Extra input fields: x-amz-meta-owner"


def test_a_field_named_x_ignore_needs_no_condition(bucket: RunningBucket) -> None:
    """S3's one exception to "every field is bound": ``x-ignore-*``."""
    ticket = png_ticket(bucket)
    response = upload(ticket, **{"x-ignore-note": "anything"})
    assert response.status_code == 201, response.text


def test_a_key_the_bucket_does_not_trust_is_refused(bucket: RunningBucket) -> None:
    ticket = png_ticket(bucket, AWS_ACCESS_KEY_ID="AKIASOMEONEELSE00000")
    message = assert_refused(bucket, ticket, upload(ticket), 403, "InvalidAccessKeyId")
    assert "AWS Access Key Id" in message


def test_a_session_token_ticket_uploads(sts_bucket: RunningBucket) -> None:
    ticket = png_ticket(sts_bucket, **sts_env())
    assert ticket["fields"]["x-amz-security-token"] == SESSION_TOKEN
    response = upload(ticket)
    assert response.status_code == 201, response.text
    assert sts_bucket.stored(ticket["key"]) == PNG


def test_a_session_token_ticket_without_its_token_is_refused(sts_bucket: RunningBucket) -> None:
    ticket = png_ticket(sts_bucket, **sts_env())
    response = upload(ticket, **{"x-amz-security-token": None})
    assert_refused(sts_bucket, ticket, response, 403, "InvalidAccessKeyId")


def test_a_session_token_ticket_with_another_token_is_refused(sts_bucket: RunningBucket) -> None:
    ticket = png_ticket(sts_bucket, **sts_env())
    forged = SESSION_TOKEN.replace("DEVBUCKET", "MALLORY00")
    response = upload(ticket, **{"x-amz-security-token": forged})
    assert_refused(sts_bucket, ticket, response, 400, "InvalidToken")


def sts_env() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": TEMPORARY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEMPORARY_SECRET,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
    }


# -- the dev bucket's S3 rules against botocore, independent of chalicelib ------


def botocore_post(
    bucket: RunningBucket,
    key: str,
    fields: dict[str, str],
    conditions: list[Any],
    *,
    region: str = DEV_S3_REGION,
) -> dict[str, str]:
    """``generate_presigned_post``'s form for the dev bucket, with its dev key."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        region_name=region,
        endpoint_url=bucket.url,
        aws_access_key_id=DEV_S3_ACCESS_KEY_ID,
        aws_secret_access_key=DEV_S3_SECRET_ACCESS_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    post = client.generate_presigned_post(
        DEV_BUCKET, key, Fields=fields, Conditions=conditions, ExpiresIn=300
    )
    return dict(post["fields"])


@pytest.mark.parametrize(("status", "expected"), [("200", 200), ("201", 201), ("204", 204)])
def test_a_form_signed_by_botocore_is_accepted(
    bucket: RunningBucket, status: str, expected: int
) -> None:
    key = f"botocore/{status}/cat.png"
    fields = {"Content-Type": "image/png", "success_action_status": status}
    conditions = [{name: value} for name, value in fields.items()]
    form = botocore_post(bucket, key, fields, [*conditions, ["content-length-range", 1, 1000]])
    # The dev bucket is addressed by its root, not botocore's path-style URL.
    response = post_form(bucket.url, form, PNG, file_type="image/png")
    assert response.status_code == expected, response.text
    assert bucket.stored(key) == PNG


def test_a_botocore_form_with_an_unbound_field_or_an_oss_only_operator_is_refused(
    bucket: RunningBucket,
) -> None:
    key = "botocore/refused/cat.png"
    unbound = botocore_post(bucket, key, {"Content-Type": "image/png"}, [])
    response = post_form(bucket.url, unbound, PNG)
    assert response.status_code == 403
    assert oss_error(response) == (
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: content-type",
    )
    listed = botocore_post(
        bucket, key, {"Content-Type": "image/png"}, [["in", "$Content-Type", ["image/png"]]]
    )
    response = post_form(bucket.url, listed, PNG)
    assert response.status_code == 400
    assert oss_error(response)[0] == "InvalidPolicyDocument"
    assert bucket.server.store.get(key) is None


def test_a_botocore_form_for_another_region_or_unsigned_is_refused(bucket: RunningBucket) -> None:
    key = "botocore/elsewhere/cat.png"
    form = botocore_post(bucket, key, {}, [], region="eu-west-1")
    response = post_form(bucket.url, form, PNG)
    assert response.status_code == 400
    assert oss_error(response) == (
        "InvalidArgument",
        f"The region in x-amz-credential must be {DEV_S3_REGION}.",
    )
    anonymous = post_form(bucket.url, {"key": key}, PNG)
    assert anonymous.status_code == 403
    assert oss_error(anonymous)[0] == "AccessDenied"
    assert bucket.server.store.get(key) is None
