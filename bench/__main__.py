"""``make bench``: the cost per ticket, the cold start and the package size, in one run.

Prints a table and writes the same figures as JSON (``bench/results/latest.json``
by default). Absolute times drift between machines and with load; the ratios
beside them are what to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import coldstart, lambda_coldstart, package
from .cases import all_cases
from .timing import Stats, run_cases

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def ratios(t: dict[str, Stats], cold: dict[str, Any]) -> dict[str, float]:
    """The ratios of the medians; import costs from the cached mode, the
    artifact's bytecode from the platform mode."""
    us = {name: stats.median for name, stats in t.items()}
    cached = cold["cached"]
    figures = {
        "core_v4_over_floor": us["core_oss_v4"] / us["floor"],
        "handler_v4_over_core_v4": us["handler_oss_v4"] / us["core_oss_v4"],
        "handler_v4_over_bare_chalice": us["handler_oss_v4"] / us["chalice_ticket"],
        "handler_v4_minus_bare_chalice_us": us["handler_oss_v4"] - us["chalice_ticket"],
        # What no V4 handler keeping the contract can go below: Chalice, the
        # floor's HMACs and JSON, the checks, and the settings read on every
        # request, each timed alone (the cheapest each can be); beside the
        # 2x target's limit.
        "handler_v4_lower_bound_us": us["chalice_ticket"]
        + us["floor"]
        + us["checks"]
        + us["settings"],
        "handler_v4_limit_us": 2 * us["chalice_ticket"],
        "botocore_over_core_s3": us["botocore"] / us["core_s3"],
        "botocore_over_handler_s3": us["botocore"] / us["handler_s3"],
        "usual_handler_over_handler_s3": us["usual_handler"] / us["handler_s3"],
        "core_v1_over_seed_sample": us["core_oss_v1"] / us["seed_sample"],
        "botocore_part_url_over_s3_part_url": us["part_url_botocore"] / us["part_url_s3"],
        "route_part_url_over_botocore_part_url": us["route_part_url"] / us["part_url_botocore"],
        "route_create_over_botocore_create": us["route_create"] / us["botocore_create"],
        "botocore_put_over_core_put": us["put_botocore"] / us["core_put"],
        "content_check_per_completion_us": us["route_complete_verified"] - us["route_complete"],
        "import_app_over_chalice_ms": coldstart.paired_difference(cached, "app", "chalice"),
        "import_app_over_chalice_cpu_ms": coldstart.paired_difference(
            cached, "app", "chalice", "cpu_ms"
        ),
        "import_app_over_chalice_mb": cached["app"]["peak_rss_mb"]
        - cached["chalice"]["peak_rss_mb"],
        "import_boto3_app_over_chalice_ms": coldstart.paired_difference(
            cached, "boto3_app", "chalice"
        ),
        "import_boto3_app_over_chalice_mb": cached["boto3_app"]["peak_rss_mb"]
        - cached["chalice"]["peak_rss_mb"],
        "first_ticket_boto3_over_app_ms": cached["boto3_app_first"]["wall_ms"]
        / cached["app_first"]["wall_ms"],
        "first_ticket_boto3_over_app_mb": cached["boto3_app_first"]["peak_rss_mb"]
        / cached["app_first"]["peak_rss_mb"],
    }
    platform = cold.get("platform")
    if platform:
        figures["platform_first_ticket_without_over_with_bytecode"] = (
            platform["app_first_source"]["wall_ms"] / platform["app_first"]["wall_ms"]
        )
        figures["platform_bytecode_saves_ms"] = coldstart.paired_difference(
            platform, "app_first_source", "app_first"
        )
        figures["platform_first_ticket_over_chalice_ms"] = coldstart.paired_difference(
            platform, "app_first", "chalice"
        )
    return figures


# Where the V4 handler's time goes, in place: a ladder of apps, each the one
# before with one more of the handler's steps (bench/cases.py), the real
# handler on top. Each step's cost is its rung less the rung below, so the
# steps add up to the handler; beside each, the same step timed alone.
LADDER = (
    ("bare Chalice route, ticket-sized (its JSON too)", "chalice_ticket", ()),
    ("+ edge middleware (CORS, error shape, no-store)", "chalice_edge", ("cors",)),
    ("+ auth step", "rung_1", ("auth",)),
    ("+ ticket settings read", "rung_2", ("settings",)),
    ("+ parse_body + checks", "rung_3", ("checks",)),
    ("+ core, clock, key segment, answer = handler", "handler_oss_v4", ("core_oss_v4", "answer")),
)


def breakdown(t: dict[str, Stats]) -> list[dict[str, Any]]:
    """Each step's cost in place (its rung less the one below) and alone.

    In place costs more than alone: timed alone, a step's code and data stay
    in the CPU's caches from one call to the next; in the handler every
    step runs once between all the others, as in production.
    """
    us = {name: stats.median for name, stats in t.items()}
    rows, below = [], 0.0
    for label, rung, alone in LADDER:
        rows.append(
            {
                "part": label,
                "us": us[rung] - below,
                "alone_us": sum(us[name] for name in alone) if alone else us[rung],
            }
        )
        below = us[rung]
    return rows


def targets(t: dict[str, Stats], r: dict[str, float]) -> list[dict[str, Any]]:
    """The issues' targets, each with the measured value and the limit.

    "2x faster than botocore" is checked twice: signing core against
    ``generate_presigned_post`` (like for like), and handler against the
    boto3 Chalice app's handler (what a client waits for)."""
    budget = r["handler_v4_limit_us"]
    return [
        {
            "target": "V4 handler <= 2 x bare Chalice route, ticket-sized (us)",
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


COLD_TITLES = {
    "cached": "cold start, in the checkout, .pyc cached",
    "platform": "cold start, as the platform loads it",
}


def render(report: dict[str, Any]) -> str:
    """The report as plain text tables."""
    lines = [f"signpost bench, {report['when']}, {report['machine']['summary']}", ""]
    lines.append(f"{'per call (us)':<50}{'median':>9}{'p10':>9}{'p90':>9}{'x floor':>9}")
    floor = report["per_ticket"]["floor"]["median_us"]
    for row in report["per_ticket"].values():
        lines.append(
            f"{row['label']:<50}{row['median_us']:>9.1f}{row['p10_us']:>9.1f}"
            f"{row['p90_us']:>9.1f}{row['median_us'] / floor:>9.2f}"
        )
    lines += [
        "",
        f"{'where the V4 handler goes (medians, us)':<50}{'in place':>9}{'share':>9}{'alone':>9}",
    ]
    handler = report["per_ticket"]["handler_oss_v4"]["median_us"]
    for row in report["breakdown"]:
        lines.append(
            f"{row['part']:<50}{row['us']:>9.1f}{row['us'] / handler:>9.0%}{row['alone_us']:>9.1f}"
        )
    lines.append(f"{'= handler: Lambda event, OSS V4':<50}{handler:>9.1f}")
    for mode, title in COLD_TITLES.items():
        if mode not in report["cold_start"]:
            continue
        section = report["cold_start"][mode]
        lines += [
            "",
            f"{title:<50}{'wall ms':>9}{'p10':>9}{'p90':>9}{'CPU ms':>9}{'peak MB':>9}",
        ]
        for name, label in section["labels"].items():
            row = section[name]
            lines.append(
                f"{label:<50}{row['wall_ms']:>9.1f}{row['wall_ms_p10']:>9.1f}"
                f"{row['wall_ms_p90']:>9.1f}{row['cpu_ms']:>9.1f}{row['peak_rss_mb']:>9.1f}"
            )
    if "lambda" in report["cold_start"]:
        lines += ["", *lambda_coldstart.render(report["cold_start"]["lambda"])]
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
    lines += [f"  {name:<50}{value:>9.2f}" for name, value in report["ratios"].items()]
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
    parser.add_argument(
        "--lambda-runs", type=int, default=10, help="cold starts per auth mode under awslambdaric"
    )
    parser.add_argument(
        "--no-package",
        action="store_true",
        help="skip the Lambda artifact (its size and the platform cold start)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()

    report: dict[str, Any] = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }
    cases = all_cases()
    # Every ticket the handlers issue writes its audit line to standard
    # output: timed, but sent nowhere rather than between the table's rows.
    with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
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
    report["breakdown"] = breakdown(timings)
    cached = coldstart.measure_cached(args.runs)
    report["cold_start"] = {
        "cached": {
            "labels": {variant.name: variant.label for variant in coldstart.VARIANTS},
            **cached,
        },
        "modules_app_adds_over_chalice": coldstart.modules_over_chalice(),
    }
    if not args.no_package:
        with tempfile.TemporaryDirectory(prefix="signpost-package-") as out:
            archive = package.build("dev", Path(out))
            report["package"] = package.summarize(archive)
            report["cold_start"]["platform"] = coldstart.measure_platform(args.runs, archive)
            report["cold_start"]["lambda"] = lambda_coldstart.measure(args.lambda_runs, archive)
    report["ratios"] = ratios(timings, report["cold_start"])
    report["targets"] = targets(timings, report["ratios"])
    if "lambda" in report["cold_start"]:
        report["targets"] += lambda_coldstart.targets(report["cold_start"]["lambda"])
    report["machine"]["loadavg_at_end"] = os.getloadavg()

    print(render(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
