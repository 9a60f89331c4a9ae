"""The deployment package: what ``chalice package`` builds, and what fills it.

Sizes are grouped by distribution, using each ``*.dist-info/RECORD`` in the
zip (so ``_cffi_backend.so`` counts for cffi and ``jwt/`` for PyJWT); files no
RECORD claims (``app.py``, ``chalicelib/``, Chalice's own runtime) are grouped
by their top-level name.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from .coldstart import ROOT


def build(stage: str, out_dir: Path) -> Path:
    """Run ``chalice package`` for ``stage``; the path of its deployment.zip."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--stage", stage, str(out_dir)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return out_dir / "deployment.zip"


def owners(archive: zipfile.ZipFile) -> dict[str, str]:
    """File name -> the distribution whose RECORD lists it."""
    owner: dict[str, str] = {}
    for name in archive.namelist():
        if name.endswith(".dist-info/RECORD"):
            project, _, version = name.split("/")[0].removesuffix(".dist-info").rpartition("-")
            distribution = f"{project} {version}"
            rows = csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8"))
            for row in rows:
                if row:
                    owner[row[0]] = distribution
    return owner


def summarize(path: Path, top: int = 10) -> dict[str, object]:
    """Compressed and uncompressed totals, and the largest groups."""
    with zipfile.ZipFile(path) as archive:
        owner = owners(archive)
        size: Counter[str] = Counter()
        packed: Counter[str] = Counter()
        for info in archive.infolist():
            group = owner.get(info.filename) or info.filename.split("/")[0]
            size[group] += info.file_size
            packed[group] += info.compress_size
    return {
        "zip_bytes": path.stat().st_size,
        "uncompressed_bytes": sum(size.values()),
        "groups": [
            {"name": name, "bytes": total, "compressed_bytes": packed[name]}
            for name, total in size.most_common(top)
        ],
    }


def measure(stage: str = "dev") -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="signpost-package-") as out:
        return summarize(build(stage, Path(out)))
