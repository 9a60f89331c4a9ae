"""Per-call timing: many loops per sample, many samples, cases interleaved.

The machine is shared, so one case must not get a quiet minute and another a
busy one: every round takes one sample of every case, in turn. Switching
cases evicts the last one's code and data from the CPU caches, which costs a
large code path like botocore's far more than a small one; so each sample
starts with one untimed call, and lasts long enough (~2 ms) for many calls.
Figures are the median and the 10th/90th percentiles of the per-call time
over samples. The garbage collector stays on: it is part of the cost.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    """One thing to time: ``call`` is invoked with no arguments.

    ``prepare`` runs before every sample, outside the timing (it sets the
    process environment a handler reads).
    """

    name: str
    label: str
    call: Callable[[], object]
    prepare: Callable[[], None] = lambda: None
    loops: int = 1
    samples_ns: list[float] = field(default_factory=list)

    def sample(self) -> None:
        """Time ``loops`` calls; keep the mean per call, in nanoseconds."""
        self.prepare()
        call, loops = self.call, range(self.loops)
        call()
        start = time.perf_counter_ns()
        for _ in loops:
            call()
        self.samples_ns.append((time.perf_counter_ns() - start) / self.loops)


@dataclass(frozen=True)
class Stats:
    median: float
    p10: float
    p90: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        return cls(statistics.median(values), deciles[0], deciles[-1], len(values))


def calibrate(case: Case, sample_ns: int, warmup_ns: int = 50_000_000) -> None:
    """Warm up for ``warmup_ns`` (first calls fill caches and build lazy
    state), then pick the loop count that makes one sample ~``sample_ns``."""
    case.prepare()
    calls, start = 0, time.perf_counter_ns()
    while calls < 10 or time.perf_counter_ns() - start < warmup_ns:
        case.call()
        calls += 1
    start = time.perf_counter_ns()
    for _ in range(calls):
        case.call()
    per_call = (time.perf_counter_ns() - start) / calls
    case.loops = max(1, round(sample_ns / per_call))


def run_cases(cases: list[Case], samples: int, sample_ns: int) -> dict[str, Stats]:
    """Per-call statistics in microseconds, by case name."""
    for case in cases:
        calibrate(case, sample_ns)
    for _ in range(samples):
        for case in cases:
            case.sample()
    return {case.name: Stats.of([ns / 1000 for ns in case.samples_ns]) for case in cases}
