"""The dev bucket's own OSS rules, with forms the test signs itself.

V1 is signed here with HMAC-SHA1, V4 with the OSS SDK's own derivation, so
these tests hold the dev bucket to OSS's documentation, not to chalicelib.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from alibabacloud_oss_v2.signer.v4 import SignerV4

from devbucket import conditions
from devbucket.config import DEV_ACCESS_KEY_SECRET, DEV_BUCKET, DEV_REGION
from tests.support.devbucket import PNG, RunningBucket, bucket
from tests.support.forms import encode, later, post, refused, v1_form, v4_form

__all__ = ["bucket"]

KEY = "uploads/rules/cat.png"
ORIGIN = "http://127.0.0.1:8080"


# -- conditions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "value", "accepted"),
    [
        (["eq", "$x-oss-meta-tag", "a"], "a", True),
        (["eq", "$x-oss-meta-tag", "a"], "A", False),
        ({"x-oss-meta-tag": "a"}, "a", True),
        ({"x-oss-meta-tag": "a"}, "b", False),
        (["starts-with", "$x-oss-meta-tag", "pre"], "prefix", True),
        (["starts-with", "$x-oss-meta-tag", "pre"], "xpre", False),
        (["in", "$x-oss-meta-tag", ["a", "b"]], "b", True),
        (["in", "$x-oss-meta-tag", ["a", "b"]], "c", False),
        (["not-in", "$x-oss-meta-tag", ["a", "b"]], "c", True),
        (["not-in", "$x-oss-meta-tag", ["a", "b"]], "a", False),
    ],
)
def test_each_condition_kind(
    bucket: RunningBucket, condition: Any, value: str, accepted: bool
) -> None:
    form = v1_form({"key": KEY, "x-oss-meta-tag": value}, [{"key": KEY}, condition])
    response = post(bucket, form)
    if accepted:
        assert response.status_code == 204, response.text  # no success_action_status: 204
        assert requests.get(f"{bucket.url}/{KEY}", timeout=5).headers["x-oss-meta-tag"] == value
    else:
        assert "Policy Condition failed" in refused(response, 403, "AccessDenied")


def test_field_names_are_case_insensitive(bucket: RunningBucket) -> None:
    form = v1_form(
        {"KEY": KEY, "content-TYPE": "image/png"},
        [["eq", "$Key", KEY], ["eq", "$Content-Type", "image/png"]],
    )
    assert post(bucket, form).status_code == 204
    assert bucket.stored(KEY) == PNG


def test_the_bucket_condition_names_this_bucket(bucket: RunningBucket) -> None:
    assert (
        post(bucket, v1_form({"key": KEY}, [{"bucket": DEV_BUCKET}, {"key": KEY}])).status_code
        == 204
    )
    other = v1_form({"key": KEY + "2"}, [{"bucket": "another-bucket"}, {"key": KEY + "2"}])
    assert "bucket" in refused(post(bucket, other), 403, "AccessDenied")


def test_a_condition_on_a_field_the_form_lacks_fails(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [{"key": KEY}, ["eq", "$success_action_status", "201"]])
    assert "success_action_status" in refused(post(bucket, form), 403, "AccessDenied")


@pytest.mark.parametrize(
    "document",
    [
        {"expiration": "soon", "conditions": [{"key": KEY}]},
        {"expiration": later(), "conditions": 123},
        {"expiration": later()},
        {"expiration": later(), "conditions": [{"key": KEY}], "extra": 1},
        {"expiration": later(), "conditions": [{"key": KEY, "bucket": DEV_BUCKET}]},
        {"expiration": later(), "conditions": [["not-in", "$key", "a"]]},
        {"expiration": later(), "conditions": [["matches", "$key", ".*"]]},
        {"expiration": later(), "conditions": [["content-length-range", 10, 1]]},
        {"expiration": later(), "conditions": [["content-length-range", True, 10]]},
    ],
)
def test_a_malformed_policy_document_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(conditions.MalformedPolicy):
        conditions.decode_policy(encode(document))


def test_a_malformed_policy_is_answered_invalid_policy_document(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [123])  # a condition that is neither an object nor a list
    assert refused(post(bucket, form), 400, "InvalidPolicyDocument").startswith("Invalid Policy")


def test_a_policy_with_no_conditions_admits_the_form(bucket: RunningBucket) -> None:
    """Neither service says a policy needs a condition: an empty list binds nothing."""
    assert post(bucket, v1_form({"key": KEY}, [])).status_code == 204


def test_a_policy_expires_at_its_expiration() -> None:
    policy = conditions.decode_policy(
        encode({"expiration": "2026-01-01T00:00:00Z", "conditions": [{"key": "k"}]})
    )
    fields = {"key": ["k"]}
    conditions.check_fields(
        policy, fields, now=datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    )
    with pytest.raises(conditions.PolicyExpired):
        conditions.check_fields(policy, fields, now=datetime(2026, 1, 1, tzinfo=timezone.utc))


# -- signatures -----------------------------------------------------------


def test_a_v4_form_signed_by_the_oss_sdk_derivation_is_accepted(bucket: RunningBucket) -> None:
    assert post(bucket, v4_form({"key": KEY}, [{"key": KEY}])).status_code == 204
    assert bucket.stored(KEY) == PNG


def test_v4_refuses_another_region(bucket: RunningBucket) -> None:
    form = v4_form({"key": KEY}, [{"key": KEY}], region="cn-beijing")
    assert "region" in refused(post(bucket, form), 400, "InvalidArgument")


def test_v4_refuses_a_date_from_the_future_or_a_week_ago(bucket: RunningBucket) -> None:
    future = v4_form(
        {"key": KEY}, [{"key": KEY}], when=datetime.now(timezone.utc) + timedelta(minutes=20)
    )
    refused(post(bucket, future), 403, "RequestTimeTooSkewed")
    old = v4_form({"key": KEY}, [{"key": KEY}], when=datetime.now(timezone.utc) - timedelta(days=8))
    refused(post(bucket, old), 403, "AccessDenied")


def test_v4_auth_fields_need_no_condition(bucket: RunningBucket) -> None:
    """OSS checks only the fields its policy names: a V4 policy that binds the
    key alone still admits the form's V4 fields (SDK samples bind them; no
    page we found says a policy without them is refused)."""
    form = v4_form({"key": KEY}, [{"key": KEY}])
    document = json.loads(base64.b64decode(form["policy"]))
    document["conditions"] = [{"key": KEY}]  # drop the bindings of the V4 fields, re-sign
    policy = encode(document)
    day = form["x-oss-date"][:8]
    form.update(
        policy=policy,
        **{
            "x-oss-signature": SignerV4()._calc_signature(
                DEV_ACCESS_KEY_SECRET, day, DEV_REGION, "oss", policy
            )
        },
    )
    assert post(bucket, form).status_code == 204
    assert bucket.stored(KEY) == PNG


def test_an_unsigned_form_is_anonymous_and_refused(bucket: RunningBucket) -> None:
    refused(post(bucket, {"key": KEY}), 403, "AccessDenied")


# -- the form itself ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"), [("200", 200), ("201", 201), ("204", 204), ("302", 204)]
)
def test_success_action_status(bucket: RunningBucket, value: str, status: int) -> None:
    form = v1_form(
        {"key": KEY, "success_action_status": value},
        [{"key": KEY}, {"success_action_status": value}],
    )
    response = post(bucket, form)
    assert response.status_code == status
    assert (b"<PostResponse>" in response.content) == (status == 201)
    assert response.headers["ETag"] == f'"{hashlib.md5(PNG).hexdigest().upper()}"'


def test_the_file_must_be_the_last_part(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY, "x-oss-meta-a": "1"}, [{"key": KEY}, {"x-oss-meta-a": "1"}])
    parts = [(name, (None, value)) for name, value in form.items()]
    response = requests.post(
        bucket.url, files=[*parts[:1], ("file", ("a.png", PNG)), *parts[1:]], timeout=5
    )
    assert "last" in refused(response, 400, "MalformedPOSTRequest")


def test_a_form_without_a_file_is_malformed(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [{"key": KEY}])
    response = requests.post(bucket.url, files=[(n, (None, v)) for n, v in form.items()], timeout=5)
    refused(response, 400, "MalformedPOSTRequest")


def post_parts(bucket: RunningBucket, parts: list[tuple[str, str]]) -> Any:
    """Post ``parts`` as they are, repeats included, then the file."""
    files = [(name, (None, value)) for name, value in parts]
    return requests.post(bucket.url, files=[*files, ("file", ("a.png", PNG))], timeout=5)


@pytest.mark.parametrize("name", ["key", "KEY"])
def test_a_repeated_field_is_checked_on_one_value_and_takes_effect_with_another(
    bucket: RunningBucket, name: str
) -> None:
    """Neither service says what a repeated field means: the dev bucket takes
    the reading worst for the bucket owner. The condition holds for the
    ticket's key, the object lands at the uploader's (names are case-insensitive,
    so ``KEY`` repeats ``key``)."""
    form = v1_form({"key": KEY}, [{"key": KEY}])
    response = post_parts(bucket, [*form.items(), (name, "uploads/elsewhere.png")])
    assert response.status_code == 204, response.text
    assert bucket.stored("uploads/elsewhere.png") == PNG
    assert bucket.server.store.get(KEY) is None


def test_a_signing_field_repeated_with_another_value_is_refused(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [{"key": KEY}])
    other = v1_form({"key": KEY}, [{"key": KEY}, ["content-length-range", 1, 10**9]])
    response = post_parts(bucket, [*form.items(), ("policy", other["policy"])])
    assert "policy" in refused(response, 400, "InvalidArgument")
    same = post_parts(bucket, [*form.items(), ("policy", form["policy"])])
    assert same.status_code == 204, same.text


def test_a_body_that_is_not_a_form_is_malformed(bucket: RunningBucket) -> None:
    refused(requests.post(bucket.url, data=b"key=a", timeout=5), 400, "MalformedPOSTRequest")


def test_overwriting_is_allowed_unless_forbidden(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [{"key": KEY}])
    assert post(bucket, form).status_code == 204
    assert post(bucket, form, b"second").status_code == 204
    assert bucket.stored(KEY) == b"second"


@pytest.mark.parametrize("value", ["abc", "1", "yes", ""])
def test_a_forbid_overwrite_other_than_true_or_false_is_refused(
    bucket: RunningBucket, value: str
) -> None:
    """OSS 0006-00000117: the PostObject field takes true or false, nothing else."""
    form = v1_form({"key": KEY, "x-oss-forbid-overwrite": value}, [{"key": KEY}])
    refused(post(bucket, form), 400, "InvalidArgument")
    assert bucket.server.store.get(KEY) is None


@pytest.mark.parametrize("value", ["true", "false", "TRUE", "False"])
def test_true_and_false_in_any_case_are_taken(bucket: RunningBucket, value: str) -> None:
    form = v1_form({"key": KEY, "x-oss-forbid-overwrite": value}, [{"key": KEY}])
    assert post(bucket, form).status_code == 204


def test_a_file_part_named_in_any_script_is_read(bucket: RunningBucket) -> None:
    form = v1_form({"key": KEY}, [{"key": KEY}])
    assert post(bucket, form, filename="报告 2026.png", file_type="image/png").status_code == 204
    assert bucket.stored(KEY) == PNG


def test_an_unknown_key_is_not_found(bucket: RunningBucket) -> None:
    refused(requests.get(f"{bucket.url}/uploads/nothing.png", timeout=5), 404, "NoSuchKey")
    head = requests.head(f"{bucket.url}/uploads/nothing.png", timeout=5)
    assert head.status_code == 404
    assert head.content == b""


# -- CORS ---------------------------------------------------------------------


def test_cors_preflight_and_answers_for_the_pages_origin(tmp_path: Any) -> None:
    from tests.support.devbucket import start_bucket

    running = start_bucket(tmp_path / "b", frozenset({ORIGIN}))
    try:
        preflight = requests.options(
            running.url,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=5,
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"

        stranger = requests.options(
            running.url,
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        refused(stranger, 403, "AccessForbidden")

        answer = requests.get(f"{running.url}/missing", headers={"Origin": ORIGIN}, timeout=5)
        assert (
            answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        )  # the page can read the XML error
        assert "x-oss-request-id" in answer.headers["Access-Control-Expose-Headers"]
        assert (
            "Access-Control-Allow-Origin"
            not in requests.get(
                f"{running.url}/missing", headers={"Origin": "http://evil.example"}, timeout=5
            ).headers
        )
    finally:
        running.server.shutdown()
        running.server.server_close()
