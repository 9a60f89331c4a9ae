"""Per-call timing: many loops per sample, many samples, cases interleaved.

The machine is shared, so one case must not get a quiet minute and another a
busy one: every round takes one sample of every case, in turn. Figures are
the median and the 10th/90th percentiles of the per-call time over samples.
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


def calibrate(case: Case, sample_ns: int) -> None:
    """Warm up, then pick the loop count that makes one sample ~``sample_ns``."""
    case.prepare()
    loops = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(loops):
            case.call()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= sample_ns / 4:
            break
        loops *= 2
    case.loops = max(1, round(loops * sample_ns / max(elapsed, 1)))


def run_cases(cases: list[Case], samples: int, sample_ns: int) -> dict[str, Stats]:
    """Per-call statistics in microseconds, by case name."""
    for case in cases:
        calibrate(case, sample_ns)
    for _ in range(samples):
        for case in cases:
            case.sample()
    return {case.name: Stats.of([ns / 1000 for ns in case.samples_ns]) for case in cases}
