"""Building the deployment artifacts as CI does, for the ``slow`` tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_AWS = ROOT / "deploy" / "package-aws.sh"


def run(command: list[str], **env: str) -> None:
    """A build script, with this virtualenv's chalice and Python and a region
    (Chalice needs one even to package)."""
    environment = {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-central-1",
        "CHALICE": str(Path(sys.executable).with_name("chalice")),
        "PYTHON": sys.executable,
        **env,
    }
    subprocess.run(command, cwd=ROOT, env=environment, check=True, capture_output=True, timeout=300)
