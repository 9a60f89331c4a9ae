"""``make bench``: the cost per ticket, the cold start and the package size, in one run.

Prints a table and writes the same figures as JSON (``bench/results/latest.json``
by default). Absolute times drift between machines and with load; the ratios
beside them are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import coldstart, package
from .cases import all_cases
from .timing import Stats, run_cases

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def ratios(t: dict[str, Stats], cold: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The ratios of the medians; cold start from the bytecode-cached mode."""
    us = {name: stats.median for name, stats in t.items()}
    return {
        "core_v4_over_floor": us["core_oss_v4"] / us["floor"],
        "handler_v4_over_floor": us["handler_oss_v4"] / us["floor"],
        "handler_v4_over_core_v4": us["handler_oss_v4"] / us["core_oss_v4"],
        "handler_v4_minus_bare_chalice_us": us["handler_oss_v4"] - us["chalice_ticket"],
        "botocore_over_core_s3": us["botocore"] / us["core_s3"],
        "botocore_over_handler_s3": us["botocore"] / us["handler_s3"],
        "usual_handler_over_handler_s3": us["usual_handler"] / us["handler_s3"],
        "core_v1_over_seed_sample": us["core_oss_v1"] / us["seed_sample"],
        "import_app_over_chalice_ms": coldstart.paired_difference(cold, "app", "chalice"),
        "import_app_over_chalice_cpu_ms": coldstart.paired_difference(
            cold, "app", "chalice", "cpu_ms"
        ),
        "import_app_over_chalice_mb": cold["app"]["peak_rss_mb"] - cold["chalice"]["peak_rss_mb"],
        "import_boto3_app_over_chalice_ms": coldstart.paired_difference(
            cold, "boto3_app", "chalice"
        ),
        "import_boto3_app_over_chalice_mb": cold["boto3_app"]["peak_rss_mb"]
        - cold["chalice"]["peak_rss_mb"],
        "first_ticket_boto3_over_app_ms": cold["boto3_app_first"]["wall_ms"]
        / cold["app_first"]["wall_ms"],
        "first_ticket_boto3_over_app_mb": cold["boto3_app_first"]["peak_rss_mb"]
        / cold["app_first"]["peak_rss_mb"],
    }


def targets(t: dict[str, Stats], r: dict[str, float]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and the limit.

    "2x faster than botocore" is checked twice: signing core against
    ``generate_presigned_post`` (like for like), and handler against the
    boto3 Chalice app's handler (what a client waits for)."""
    budget = 3 * t["floor"].median + t["chalice_ticket"].median
    return [
        {
            "target": "V4 handler <= 3 x floor + bare Chalice route (us)",
            "value": t["handler_oss_v4"].median,
            "limit": budget,
            "met": t["handler_oss_v4"].median <= budget,
        },
        {
            "target": "S3 core >= 2x faster than generate_presigned_post (x)",
            "value": r["botocore_over_core_s3"],
            "limit": 2.0,
            "met": r["botocore_over_core_s3"] >= 2,
        },
        {
            "target": "S3 handler >= 2x faster than the boto3 app's handler (x)",
            "value": r["usual_handler_over_handler_s3"],
            "limit": 2.0,
            "met": r["usual_handler_over_handler_s3"] >= 2,
        },
        {
            "target": "import app - import chalice.app <= 15 ms, wall",
            "value": r["import_app_over_chalice_ms"],
            "limit": 15.0,
            "met": r["import_app_over_chalice_ms"] <= 15,
        },
        {
            "target": "import app - import chalice.app <= 15 ms, CPU",
            "value": r["import_app_over_chalice_cpu_ms"],
            "limit": 15.0,
            "met": r["import_app_over_chalice_cpu_ms"] <= 15,
        },
        {
            "target": "import app - import chalice.app <= 5 MB peak RSS",
            "value": r["import_app_over_chalice_mb"],
            "limit": 5.0,
            "met": r["import_app_over_chalice_mb"] <= 5,
        },
    ]


def render(report: dict[str, Any]) -> str:
    """The report as plain text tables."""
    lines = [f"signpost bench, {report['when']}, {report['machine']['summary']}", ""]
    lines.append(f"{'per ticket (us)':<46}{'median':>9}{'p10':>9}{'p90':>9}{'x floor':>9}")
    floor = report["per_ticket"]["floor"]["median_us"]
    for row in report["per_ticket"].values():
        lines.append(
            f"{row['label']:<46}{row['median_us']:>9.1f}{row['p10_us']:>9.1f}"
            f"{row['p90_us']:>9.1f}{row['median_us'] / floor:>9.2f}"
        )
    for mode, title in (("cached", ".pyc cached"), ("source", "no .pyc, as a Lambda zip")):
        lines += [
            "",
            f"{'cold start, ' + title:<46}{'wall ms':>9}{'p10':>9}{'p90':>9}{'CPU ms':>9}"
            f"{'peak MB':>9}",
        ]
        for name, label in report["cold_start"]["labels"].items():
            row = report["cold_start"][mode][name]
            lines.append(
                f"{label:<46}{row['wall_ms']:>9.1f}{row['wall_ms_p10']:>9.1f}"
                f"{row['wall_ms_p90']:>9.1f}{row['cpu_ms']:>9.1f}{row['peak_rss_mb']:>9.1f}"
            )
    pkg = report.get("package")
    if pkg:
        lines += [
            "",
            f"deployment.zip: {pkg['zip_bytes'] / 1e6:.2f} MB compressed, "
            f"{pkg['uncompressed_bytes'] / 1e6:.2f} MB uncompressed; largest:",
        ]
        for group in pkg["groups"]:
            lines.append(
                f"  {group['name']:<40}{group['bytes'] / 1e6:>7.2f} MB"
                f"{group['compressed_bytes'] / 1e6:>7.2f} MB zipped"
            )
    lines += ["", "ratios (medians)"]
    lines += [f"  {name:<46}{value:>9.2f}" for name, value in report["ratios"].items()]
    lines += ["", "targets"]
    for target in report["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        figure = f"{target['value']:>8.1f} (limit {target['limit']:.1f})"
        lines.append(f"  {target['target']:<64}{figure} {verdict}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": load,
        "summary": f"Python {sys.version.split()[0]}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {load[0]:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="samples per case")
    parser.add_argument("--sample-ms", type=float, default=2.0, help="length of one sample")
    parser.add_argument("--runs", type=int, default=20, help="cold-start runs per variant")
    parser.add_argument("--no-package", action="store_true", help="skip chalice package")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()

    report: dict[str, Any] = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }
    cases = all_cases()
    timings = run_cases(cases, args.samples, int(args.sample_ms * 1e6))
    report["per_ticket"] = {
        case.name: {
            "label": case.label,
            "median_us": timings[case.name].median,
            "p10_us": timings[case.name].p10,
            "p90_us": timings[case.name].p90,
            "samples": timings[case.name].n,
            "loops_per_sample": case.loops,
        }
        for case in cases
    }
    cold = coldstart.measure(args.runs)
    report["cold_start"] = {
        "labels": {variant.name: variant.label for variant in coldstart.VARIANTS},
        **cold,
        "modules_app_adds_over_chalice": coldstart.modules_over_chalice(),
    }
    if not args.no_package:
        report["package"] = package.measure()
    report["ratios"] = ratios(timings, cold["cached"])
    report["targets"] = targets(timings, report["ratios"])
    report["machine"]["loadavg_at_end"] = os.getloadavg()

    print(render(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
