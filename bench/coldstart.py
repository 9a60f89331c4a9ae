"""Cold start: a fresh interpreter importing an app, timed and weighed.

Each run is its own child process, which reports its own peak RSS (``VmHWM``
from ``/proc/self/status``) as it exits. Not ``ru_maxrss``: Linux carries a
process's high-water mark across ``exec``, so a child spawned from this
(much larger) process would report the parent's size. Variants are
interleaved run by run.

Two modes, each with its own ``PYTHONPYCACHEPREFIX`` (so no ``__pycache__``
lands in ``chalicelib/``, where ``chalice package`` would ship it):

* ``cached``: bytecode written by one unmeasured run of each variant first,
  then read by every measured run, for every module alike;
* ``source``: nothing cached, every module compiled on import. This is a
  Lambda zip built by ``chalice package``: it holds no ``.pyc`` and the
  function's file system is read-only.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .event import OSS_V4, S3

ROOT = Path(__file__).resolve().parent.parent

# A first request, as Lambda makes it right after the import.
FIRST_TICKET = (
    "\nfrom bench.event import LAMBDA_CONTEXT, proxy_event"
    "\nassert {app}(proxy_event(), LAMBDA_CONTEXT)['statusCode'] == 200"
)


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    code: str
    env: Mapping[str, str] = field(default_factory=dict)


VARIANTS = (
    Variant("python", "python -c pass", "pass"),
    Variant("chalice", "import chalice.app", "import chalice.app"),
    Variant("app", "import app (signpost)", "import app"),
    Variant("boto3_app", "import usual_app (Chalice + boto3)", "import bench.usual_app"),
    Variant(
        "app_first",
        "import app + first V4 ticket",
        "import app" + FIRST_TICKET.format(app="app.app"),
        OSS_V4,
    ),
    Variant(
        "boto3_app_first",
        "import usual_app + first S3 ticket",
        "import bench.usual_app" + FIRST_TICKET.format(app="bench.usual_app.app"),
        S3,
    ),
)
# Appended to every variant's code: print the CPU time so far (ms), then the
# peak RSS (KiB). CPU time counts only this process's own work, so it is far
# steadier than wall time on a busy machine.
REPORT = (
    "\nimport time\nprint(time.process_time() * 1000)"
    "\nfor line in open('/proc/self/status'):\n"
    "    if line.startswith('VmHWM:'):\n"
    "        print(line.split()[1])\n"
)


@dataclass(frozen=True)
class Run:
    wall_ms: float
    cpu_ms: float
    peak_rss_mb: float


def run_once(variant: Variant, python_env: Mapping[str, str]) -> Run:
    """One fresh interpreter: wall time from spawn to exit, and its peak RSS."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", variant.code + REPORT],
        cwd=ROOT,
        env={**os.environ, **variant.env, **python_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    cpu_ms, peak_kib = done.stdout.split()[-2:]
    return Run(wall_ms=wall * 1000, cpu_ms=float(cpu_ms), peak_rss_mb=int(peak_kib) / 1024)


def measure(runs: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Per mode and variant: median wall time and peak RSS, with the
    10th/90th percentile of the wall time."""
    with tempfile.TemporaryDirectory(prefix="signpost-pyc-") as cache:
        modes = {
            "cached": {"PYTHONPYCACHEPREFIX": f"{cache}/cached", "PYTHONDONTWRITEBYTECODE": ""},
            "source": {"PYTHONPYCACHEPREFIX": f"{cache}/source", "PYTHONDONTWRITEBYTECODE": "1"},
        }
        for variant in VARIANTS:
            run_once(variant, modes["cached"])
        return {mode: measure_mode(runs, python_env) for mode, python_env in modes.items()}


def measure_mode(runs: int, python_env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    results: dict[str, list[Run]] = {variant.name: [] for variant in VARIANTS}
    for _ in range(runs):
        for variant in VARIANTS:
            results[variant.name].append(run_once(variant, python_env))
    summary: dict[str, dict[str, Any]] = {}
    for variant in VARIANTS:
        walls = [run.wall_ms for run in results[variant.name]]
        deciles = statistics.quantiles(walls, n=10, method="inclusive")
        summary[variant.name] = {
            "wall_ms": statistics.median(walls),
            "wall_ms_p10": deciles[0],
            "wall_ms_p90": deciles[-1],
            "cpu_ms": statistics.median(run.cpu_ms for run in results[variant.name]),
            "peak_rss_mb": statistics.median(run.peak_rss_mb for run in results[variant.name]),
            "runs": runs,
            "wall_ms_each": walls,
            "cpu_ms_each": [run.cpu_ms for run in results[variant.name]],
        }
    return summary


def paired_difference(
    cold: dict[str, dict[str, Any]], name: str, base: str, figure: str = "wall_ms"
) -> float:
    """Median over rounds of (``name``'s time - ``base``'s): both ran in the
    same round, one after the other, so load that drifts over the run falls
    on both; steadier than the difference of the two medians."""
    pairs = zip(cold[name][f"{figure}_each"], cold[base][f"{figure}_each"], strict=True)
    return statistics.median(mine - theirs for mine, theirs in pairs)


def modules_over_chalice() -> list[str]:
    """The modules ``import app`` loads that ``import chalice.app`` does not."""
    code = (
        "import sys, chalice.app; before = set(sys.modules); import app; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()
