"""Run the cases against buckets and print what each answered beside what the
documents lead us to expect. ``python -m conformance`` (``make conformance``).

Every case is tried afresh (:class:`~conformance.attempts.Attempt`): a form
case posts forms for a ticket from signpost's core, a multipart case starts
an upload through the function's own code and puts parts to the URLs it
signs. The answer that counts is the status and the error ``Code`` of a
refusal. What a case may have left (objects, uploads still open) is removed
at once, signed by the provider's own signer. Exit status: 0 when every
documented answer agrees and nothing is left behind, 1 otherwise, 2 when no
bucket is named.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .attempts import Attempt, Leftover
from .cases import CASES, Answer, Case, Expected, agrees
from .targets import NoBucket, Target, targets

AGREE = {True: "yes", False: "NO", None: "n/a"}


class Row(NamedTuple):
    target: str
    case: str
    expected: Expected
    answer: Answer

    @property
    def agrees(self) -> bool | None:
        return agrees(self.expected, self.answer)


class Report(NamedTuple):
    rows: list[Row]
    leftovers: list[Leftover]

    @property
    def ok(self) -> bool:
        return all(row.agrees is not False for row in self.rows) and not self.leftovers


def cases_for(target: Target, cases: Sequence[Case] = CASES) -> list[Case]:
    """The cases that run on ``target``: its provider's, the multipart ones where it signs them."""
    return [case for case in cases if case.runs_on(target.provider, target.multipart)]


def run_case(target: Target, case: Case) -> tuple[Row, list[Leftover]]:
    """Try the case; then abort and delete what it may have left, whatever happened."""
    attempt = Attempt(target, case)
    try:
        answer = case.tries(attempt)
    finally:
        leftovers = attempt.clean_up()
    return Row(target.label, case.name, case.expected[target.provider], answer), leftovers


def run(chosen: Iterable[Target], cases: Sequence[Case] = CASES) -> Report:
    rows: list[Row] = []
    leftovers: list[Leftover] = []
    for target in chosen:
        for case in cases_for(target, cases):
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
        f"left open: {leftover.target} upload {leftover.upload_id} of {leftover.key} "
        f"(the abort answered {leftover.status})"
        if leftover.upload_id
        else f"left behind: {leftover.target} {leftover.key} (DELETE answered {leftover.status})"
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
