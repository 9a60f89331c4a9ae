"""Cold start: a fresh interpreter importing an app, timed and weighed.

Each run is its own child process, which reports its own peak RSS (``VmHWM``
from ``/proc/self/status``) as it exits. Not ``ru_maxrss``: Linux carries a
process's high-water mark across ``exec``, so a child spawned from this
(much larger) process would report the parent's size. Variants are
interleaved run by run.

Two modes:

* ``cached``: in the checkout, against the boto3 app: bytecode written by
  one unmeasured run of each variant first (under a ``PYTHONPYCACHEPREFIX``
  of its own, so no ``__pycache__`` lands in ``chalicelib/``), then read by
  every measured run, for every module alike;
* ``platform``: as Lambda loads the deployment package. The standard
  library is the interpreter's own, compiled; the package is the Lambda
  artifact (``deploy/package-aws.sh``) unpacked read-only, with only the
  standard library and it importable (``-S``), ``PYTHONDONTWRITEBYTECODE=1``
  and no pycache prefix, so a module without its pyc is compiled on every
  start. Each variant runs on the artifact as built, with its bytecode, and
  on the same files with every ``__pycache__`` removed; bare Chalice is the
  artifact's own ``chalice`` package, loaded the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .event import OSS_V4, S3, proxy_event

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
    cwd: Path = ROOT  # first on sys.path (``-c``)
    flags: tuple[str, ...] = ()


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
        [sys.executable, *variant.flags, "-c", variant.code + REPORT],
        cwd=variant.cwd,
        env={**os.environ, **variant.env, **python_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    cpu_ms, peak_kib = done.stdout.split()[-2:]
    return Run(wall_ms=wall * 1000, cpu_ms=float(cpu_ms), peak_rss_mb=int(peak_kib) / 1024)


def measure_cached(runs: int) -> dict[str, dict[str, Any]]:
    """The cached mode, in the checkout."""
    with tempfile.TemporaryDirectory(prefix="signpost-pyc-") as cache:
        python_env = {"PYTHONPYCACHEPREFIX": cache, "PYTHONDONTWRITEBYTECODE": ""}
        for variant in VARIANTS:
            run_once(variant, python_env)
        return measure_mode(runs, VARIANTS, python_env)


def platform_variants(with_pyc: Path, without_pyc: Path) -> tuple[Variant, ...]:
    """The platform mode's rows: bare Chalice and the app's first ticket, each
    with the artifact's bytecode and without."""
    first_ticket = (
        "import app, json"
        f"\nassert app.app(json.loads({json.dumps(proxy_event())!r}), None)['statusCode'] == 200"
    )
    rows = [Variant("python", "python -S -c pass", "pass", cwd=with_pyc, flags=("-S",))]
    for name, label, code, env in (
        ("chalice", "import chalice.app", "import chalice.app", {}),
        ("app_first", "import app + first V4 ticket", first_ticket, OSS_V4),
    ):
        for suffix, where, how in (("", with_pyc, "with"), ("_source", without_pyc, "without")):
            rows.append(
                Variant(f"{name}{suffix}", f"{label}, {how} bytecode", code, env, where, ("-S",))
            )
    return tuple(rows)


def unpack(archive: Path, into: Path, *, bytecode: bool) -> Path:
    """The artifact as the platform sees it: unpacked, read-only, with or
    without its ``__pycache__`` folders."""
    zipfile.ZipFile(archive).extractall(into)
    tag = sys.implementation.cache_tag
    if not (into / "chalicelib" / "__pycache__" / f"handlers.{tag}.pyc").is_file():
        raise SystemExit(f"{archive}: no {tag} bytecode; the artifact is for another Python")
    if not bytecode:
        for folder in list(into.rglob("__pycache__")):
            shutil.rmtree(folder)
    set_writable(into, False)
    return into


def set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def measure_platform(runs: int, archive: Path) -> dict[str, Any]:
    """The platform mode, on the Lambda artifact ``archive``."""
    with tempfile.TemporaryDirectory(prefix="signpost-artifact-") as tmp:
        with_pyc = unpack(archive, Path(tmp) / "with", bytecode=True)
        without_pyc = unpack(archive, Path(tmp) / "without", bytecode=False)
        variants = platform_variants(with_pyc, without_pyc)
        # An empty PYTHONPYCACHEPREFIX is no prefix.
        python_env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": ""}
        try:
            summary = measure_mode(runs, variants, python_env)
        finally:
            set_writable(with_pyc, True)
            set_writable(without_pyc, True)
        return {"labels": {variant.name: variant.label for variant in variants}, **summary}


def measure_mode(
    runs: int, variants: Sequence[Variant], python_env: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Per variant, ``runs`` runs interleaved: median wall and CPU time and
    peak RSS, with the 10th/90th percentile of the wall time."""
    results: dict[str, list[Run]] = {variant.name: [] for variant in variants}
    for _ in range(runs):
        for variant in variants:
            results[variant.name].append(run_once(variant, python_env))
    summary: dict[str, dict[str, Any]] = {}
    for variant in variants:
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
