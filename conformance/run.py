"""Run the cases against buckets and print what each answered beside what the
documents lead us to expect. ``python -m conformance`` (``make conformance``).

Every case gets a fresh ticket from signpost's core (``handlers.upload_ticket``
with the target's settings), posts its forms as a browser would (the file
last, no redirect followed), and reads the answer: the status, and the error
``Code`` of a refusal. What it may have stored is deleted at once, signed by
the provider's own signer. Exit status: 0 when every documented answer
agrees and nothing is left behind, 1 otherwise, 2 when no bucket is named.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from xml.etree import ElementTree

import requests

from chalicelib.handlers import upload_ticket

from .cases import CASES, PNG, Answer, Case, Expected, Form, agrees
from .references import delete
from .targets import NoBucket, Target, targets

TIMEOUT = 30  # seconds, per request
AGREE = {True: "yes", False: "NO", None: "n/a"}


class Row(NamedTuple):
    target: str
    case: str
    expected: Expected
    answer: Answer

    @property
    def agrees(self) -> bool | None:
        return agrees(self.expected, self.answer)


class Leftover(NamedTuple):
    """An object the run stored and could not delete."""

    target: str
    key: str
    status: int


class Report(NamedTuple):
    rows: list[Row]
    leftovers: list[Leftover]

    @property
    def ok(self) -> bool:
        return all(row.agrees is not False for row in self.rows) and not self.leftovers


def issue(target: Target, case: Case) -> dict[str, object]:
    """A ticket for the case's PNG from signpost's own core, with the target's settings."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    when = now - timedelta(seconds=case.ticketing.backdate)
    settings = {**target.settings, **case.ticketing.settings}
    body = json.dumps({"filename": "cat.png", "content_type": "image/png", "size": len(PNG)})
    return upload_ticket(body, settings, clock=lambda: when)


def answer_of(response: requests.Response) -> Answer:
    """The status and, for a refusal, the ``Code`` of the service's XML error."""
    if response.status_code < 400:
        return Answer(response.status_code)
    try:
        code = ElementTree.fromstring(response.content).findtext("Code") or ""
    except ElementTree.ParseError:
        code = ""
    return Answer(response.status_code, code)


def post(url: str, form: Form) -> Answer:
    parts = [(name, (None, value)) for name, value in form.fields]
    file_part = ("cat.png", form.content, form.file_type)
    response = requests.post(
        url, files=[*parts, ("file", file_part)], allow_redirects=False, timeout=TIMEOUT
    )
    return answer_of(response)


def run_case(target: Target, case: Case) -> tuple[Row, list[Leftover]]:
    """Post the case's forms; the last answer counts. Then delete what it may have stored."""
    ticket = issue(target, case)
    answer = Answer(0)
    for form in case.forms(target.provider, ticket):
        answer = post(str(ticket["url"]), form)
    leftovers = []
    for key in (str(ticket["key"]), *case.other_keys(ticket)):
        response = delete(target.endpoint, key, target.delete_headers(key))
        if response.status_code != 204:
            leftovers.append(Leftover(target.label, key, response.status_code))
    return Row(target.label, case.name, case.expected[target.provider], answer), leftovers


def run(chosen: Iterable[Target], cases: Sequence[Case] = CASES) -> Report:
    rows: list[Row] = []
    leftovers: list[Leftover] = []
    for target in chosen:
        for case in cases:
            row, left = run_case(target, case)
            rows.append(row)
            leftovers += left
    return Report(rows, leftovers)


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table: target, case, expected, answered, agree."""
    lines = [("target", "case", "expected", "answered", "agree")]
    lines += [
        (row.target, row.case, str(row.expected), str(row.answer), AGREE[row.agrees])
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def summary(report: Report) -> str:
    disagree = [row for row in report.rows if row.agrees is False]
    silent = sum(row.agrees is None for row in report.rows)
    lines = [
        f"{len(report.rows)} answers: {len(disagree)} disagree with the documents, "
        f"{silent} where the documents are silent (see docs/conformance.md)."
    ]
    lines += [
        f"left behind: {leftover.target} {leftover.key} (DELETE answered {leftover.status})"
        for leftover in report.leftovers
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    argparse.ArgumentParser(
        prog="make conformance", description=(__doc__ or "").split("\n\n")[0]
    ).parse_args(argv)
    try:
        chosen = targets(env)
    except NoBucket as refusal:
        print(f"make conformance: {refusal}", file=sys.stderr)
        return 2
    labels = ", ".join(f"{target.label} at {target.endpoint}" for target in chosen)
    print(f"{len(CASES)} cases against {labels}\n", flush=True)
    report = run(chosen)
    print(table(report.rows))
    print(f"\n{summary(report)}")
    return 0 if report.ok else 1
