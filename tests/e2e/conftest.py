"""The deployment packages, built once per test session: packaging is slow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.artifacts import PACKAGE_AWS, run


@pytest.fixture(scope="session")
def sam_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``deploy/package-aws.sh STAGE OUT`` (SAM), built at the first ask for
    that stage and shared: the folder with ``sam.json`` and ``deployment.zip``.
    Tests read it; one that changes files works on a copy."""
    built: dict[str, Path] = {}

    def build(stage: str) -> Path:
        if stage not in built:
            out = tmp_path_factory.mktemp(f"sam-{stage}") / "sam"
            run([str(PACKAGE_AWS), stage, str(out)])
            built[stage] = out
        return built[stage]

    return build
