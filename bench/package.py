"""The deployment package: what ``deploy/package-aws.sh`` builds (``chalice
package`` and the bytecode for its runtime), and what fills it.

Sizes are grouped by distribution, using each ``*.dist-info/RECORD`` in the
zip (so ``_cffi_backend.so`` counts for cffi and ``jwt/`` for PyJWT); files no
RECORD claims (``app.py``, ``chalicelib/``, Chalice's own runtime) are grouped
by their top-level name. A ``.pyc`` counts with its source.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from .coldstart import ROOT


def build(stage: str, out_dir: Path) -> Path:
    """Build the Lambda artifact for ``stage``; the path of its deployment.zip."""
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "CHALICE": str(Path(sys.executable).with_name("chalice")),
        "PYTHON": sys.executable,
    }
    subprocess.run(
        [str(ROOT / "deploy" / "package-aws.sh"), stage, str(out_dir)],
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


PYC = re.compile(r"(^|/)__pycache__/([^/.]+)\.[^/]+\.pyc$")


def source_of(name: str) -> str:
    """``pkg/__pycache__/mod.cpython-311.pyc`` -> ``pkg/mod.py``; other names as they are."""
    return PYC.sub(r"\1\2.py", name)


def summarize(path: Path, top: int = 10) -> dict[str, object]:
    """Compressed and uncompressed totals, and the largest groups."""
    with zipfile.ZipFile(path) as archive:
        owner = owners(archive)
        size: Counter[str] = Counter()
        packed: Counter[str] = Counter()
        for info in archive.infolist():
            source = source_of(info.filename)
            group = owner.get(source) or source.split("/")[0]
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
