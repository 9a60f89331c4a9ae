"""The conformance matrix: every case against the dev bucket (OSS V4, OSS V1,
S3; the multipart cases on OSS V4 and S3), and ``make conformance``'s
real-bucket path run against a dev bucket started as if it were real.

The dev bucket must give the documented answer, or, where the documents are
silent, the one most permissive to an uploader (stored): a ticket that holds
there holds on the service.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import references, run
from conformance.cases import (
    CASES,
    EITHER,
    OVER_THE_LIMIT,
    REFUSED,
    STORED,
    Answer,
    Case,
    Expected,
    Ticketing,
    agrees,
    dev_bucket_answer,
)
from conformance.targets import Target, targets
from tests.support.devbucket import RunningBucket, start_bucket

PROJECT = Path(__file__).resolve().parents[2]
TARGETS = {"OSS V4": "oss", "OSS V1": "oss", "S3": "s3"}
# Multipart requests are signed V4 whatever the forms' version: not run again on V1.
MULTIPART_TARGETS = ("OSS V4", "S3")
PAIRS = [
    pytest.param(label, case, id=f"{label}-{case.name}")
    for label in TARGETS
    for case in CASES
    if case.runs_on(TARGETS[label], label in MULTIPART_TARGETS)
]


@pytest.fixture(scope="module")
def buckets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningBucket]]:
    running = {
        provider: start_bucket(tmp_path_factory.mktemp(provider), provider=provider)
        for provider in ("oss", "s3")
    }
    yield running
    for bucket in running.values():
        bucket.stop()


def target(buckets: dict[str, RunningBucket], label: str) -> Target:
    bucket = buckets[TARGETS[label]]
    (chosen,) = [each for each in targets(bucket.env()) if each.label == label]
    return chosen


def objects_left(bucket: RunningBucket) -> list[Path]:
    """Files left in the bucket: objects, and the parts of uploads still open."""
    return [
        path
        for folder in ("objects", "uploads")
        for path in (bucket.root / folder).rglob("*")
        if path.is_file()
    ]


@pytest.mark.parametrize(("label", "case"), PAIRS)
def test_the_dev_bucket_answers_each_case_as_the_documents_say(
    buckets: dict[str, RunningBucket], label: str, case: Case
) -> None:
    chosen = target(buckets, label)
    assert case in run.cases_for(chosen)
    row, leftovers = run.run_case(chosen, case)
    expected = row.expected
    assert row.answer.outcome == dev_bucket_answer(expected), (label, case.name, row.answer)
    if expected.outcome == REFUSED and expected.codes:
        assert row.answer.code in expected.codes
    assert leftovers == []
    assert objects_left(buckets[TARGETS[label]]) == []


def test_the_matrix_covers_the_brief_and_both_providers() -> None:
    names = {case.name for case in CASES}
    assert {
        "good upload",
        "other key",
        "other type",
        "one byte more",
        "expired",
        "flipped signature",
        "edited policy",
        "no policy",
        "overwrite",
        "part URL for another key",
        "part after abort",
        "completion over the limit",
        "PUT: good",
        "PUT: other type",
        "PUT: other length",
        "PUT: flipped MD5",
        "PUT: overwrite",
        "PUT: expired",
        "PUT: tampered URL",
        "PUT: other key",
        "PUT: + unsigned x-amz-acl",
        "content_md5 form",
        "content_md5 form, other bytes",
    } <= names
    # PUT tickets and content_md5 forms are S3's alone (OSS: 503 and 400 from signpost).
    s3_only = {case.name for case in CASES if set(case.expected) == {"s3"}}
    assert s3_only == {name for name in names if name.startswith(("PUT: ", "content_md5"))}
    assert all(set(case.expected) == {"oss", "s3"} for case in CASES if case.name not in s3_only)
    added = [case for case in CASES if case.name.startswith("+ ")]
    # OSS checks only what its policy names; S3 refuses every field no condition names.
    assert all(case.expected["s3"].outcome == REFUSED for case in added)
    assert all(case.expected["oss"].outcome != REFUSED for case in added)


@pytest.mark.parametrize(
    ("expected", "answer", "agree"),
    [
        (Expected(STORED), Answer(201), True),
        (Expected(STORED), Answer(303), True),  # success_action_redirect
        (Expected(STORED), Answer(403, "AccessDenied"), False),
        (Expected(REFUSED, ("AccessDenied",)), Answer(403, "AccessDenied"), True),
        (Expected(REFUSED, ("AccessDenied",)), Answer(403, "SignatureDoesNotMatch"), False),
        (Expected(REFUSED, ("AccessDenied",)), Answer(201), False),
        (Expected(REFUSED), Answer(400, "InvalidArgument"), True),
        (Expected(EITHER), Answer(201), None),
        (Expected(EITHER), Answer(403, "AccessDenied"), None),
    ],
)
def test_an_answer_agrees_with_what_the_documents_say(
    expected: Expected, answer: Answer, agree: bool | None
) -> None:
    assert agrees(expected, answer) is agree


def test_a_disagreement_and_an_object_left_behind_fail_the_run(
    buckets: dict[str, RunningBucket],
) -> None:
    """A case expecting a refusal the bucket does not give, and a DELETE the
    bucket refuses (unsigned), are both reported, and the run fails."""
    good = CASES[0]
    wrong = good._replace(name="wrongly expected", expected={"oss": Expected(REFUSED)})
    signed = target(buckets, "OSS V4")
    report = run.run([signed._replace(sign=lambda method, url, key: {})], [wrong])
    assert not report.ok
    assert [row.agrees for row in report.rows] == [False]
    assert report.leftovers[0].status == 403
    assert "NO" in run.table(report.rows)
    assert "left behind: OSS V4 uploads/" in run.summary(report)
    tidy_up(signed, report.leftovers)
    assert objects_left(buckets["oss"]) == []


def tidy_up(signed: Target, leftovers: list[run.Leftover]) -> None:
    """What a run could not remove, removed with signed requests."""
    for leftover in leftovers:
        query = {"uploadId": leftover.upload_id} if leftover.upload_id else {}
        url = references.object_url(signed.endpoint, leftover.key, query)
        references.send("DELETE", url, signed.sign("DELETE", url, leftover.key))


def case_named(name: str) -> Case:
    (case,) = [case for case in CASES if case.name == name]
    return case


@pytest.mark.parametrize("label", MULTIPART_TARGETS)
def test_an_upload_left_open_fails_the_run(buckets: dict[str, RunningBucket], label: str) -> None:
    """A part case whose upload the storage will not abort (the requests
    unsigned): the run names the upload left open, and fails."""
    signed = target(buckets, label)
    case = case_named("part URL for another key")
    report = run.run([signed._replace(sign=lambda method, url, key: {})], [case])
    assert [row.agrees for row in report.rows] == [True]
    assert not report.ok
    (upload,) = [leftover for leftover in report.leftovers if leftover.upload_id]
    assert upload.status == 403
    assert f"left open: {label} upload {upload.upload_id} of uploads/" in run.summary(report)
    assert objects_left(buckets[TARGETS[label]]) != []  # its part folder
    tidy_up(signed, report.leftovers)
    assert objects_left(buckets[TARGETS[label]]) == []


@pytest.mark.parametrize("label", MULTIPART_TARGETS)
def test_a_completion_the_function_lets_through_shows_the_object_stored(
    buckets: dict[str, RunningBucket], label: str
) -> None:
    """The completion case with a limit its parts fit under: the function
    completes, the storage keeps the object, the row says so and disagrees;
    the run still deletes the object."""
    roomy = Ticketing({"MAX_UPLOAD_BYTES": str(sum(OVER_THE_LIMIT))})
    case = case_named("completion over the limit")._replace(ticketing=roomy)
    row, leftovers = run.run_case(target(buckets, label), case)
    assert row.answer == Answer(200, "object stored")
    assert row.agrees is False
    assert leftovers == []
    assert objects_left(buckets[TARGETS[label]]) == []


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, ["OSS_BUCKET", "OSS_REGION", "S3_BUCKET", "AWS_SECRET_ACCESS_KEY"]),
        ({"OSS_BUCKET": "my-bucket"}, ["OSS_REGION"]),
        ({"S3_BUCKET": "my-bucket", "AWS_REGION": "eu-west-1"}, ["AWS_ACCESS_KEY_ID"]),
    ],
)
def test_without_a_real_bucket_it_says_what_it_needs(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], names: list[str]
) -> None:
    assert run.main([], env) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("make conformance: ")
    for name in names:
        assert name in captured.err


def run_as_make_conformance(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m conformance`` in a fresh interpreter, with only ``env`` (and
    PATH; no bytecode written into the checkout, which ``chalice package`` ships)."""
    settings = {name: value for name, value in env.items() if value}
    return subprocess.run(
        [sys.executable, "-m", "conformance"],
        cwd=PROJECT,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("provider", "labels"), [("oss", ["OSS V4", "OSS V1"]), ("s3", ["S3"])])
def test_make_conformance_against_a_dev_bucket_started_as_if_real(
    tmp_path: Path, provider: str, labels: list[str]
) -> None:
    """The real-bucket path end to end: settings name the bucket, tickets come
    from the core, the forms go over HTTP, the objects are deleted with the
    SDK-signed DELETEs, and the table says every documented answer agrees."""
    bucket = start_bucket(tmp_path / provider, provider=provider)
    try:
        result = run_as_make_conformance(bucket.env())
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        header = next(line for line in lines if line.startswith("target"))
        assert header.split() == ["target", "case", "expected", "answered", "agree"]
        rows = [line for line in lines if line.startswith(tuple(labels))]
        chosen = targets(bucket.env())
        assert [each.label for each in chosen] == labels
        assert len(rows) == sum(len(run.cases_for(each)) for each in chosen)
        assert not [row for row in rows if row.rstrip().endswith("NO")]
        assert f"{len(rows)} answers: 0 disagree" in result.stdout
        assert objects_left(bucket) == []
    finally:
        bucket.stop()


def test_every_case_is_in_the_documented_table() -> None:
    doc = (PROJECT / "docs" / "conformance.md").read_text()
    rows = {line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")}
    assert {case.name for case in CASES} <= rows
