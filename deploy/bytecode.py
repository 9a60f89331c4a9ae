"""Compile a deployment artifact's Python to bytecode for the runtime it declares.

Lambda and Function Compute run the code from a read-only file system, so a
package without bytecode is compiled again, module by module, on every cold
start. Its bytecode must come from the runtime's own minor version (any other
Python's magic number is refused and the module compiled from source again),
and be an *unchecked* hash pyc: a zip's entries unpack with the zip's dates
(``chalice package`` writes 1980-01-01), so a timestamp pyc would not match
its source and a checked one would hash the source on every import.

    python -m deploy.bytecode chalice OUT_DIR    # `chalice package` output:
                                                 # the runtime its template declares
    python -m deploy.bytecode tree python3.12 DIR

Any Python runs this; the compiling is done by the runtime's own interpreter,
found on ``PATH`` or under pyenv. Without it this fails, naming the version:
better no deployment than one whose bytecode every cold start throws away.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Unchecked hash-based pycs: the flags word of the header (PEP 552).
UNCHECKED_HASH = "unchecked-hash"
# The date every added entry carries, as ``chalice package`` dates its own.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class NoInterpreter(RuntimeError):
    """The runtime's Python is not on this machine."""


def version_of(runtime: str) -> str:
    """``python3.12`` -> ``3.12``."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if match is None:
        raise ValueError(f"not a Python runtime: {runtime!r}")
    return match[1]


def interpreter(runtime: str) -> Path:
    """The runtime's Python on this machine: ``python3.X`` on ``PATH``, else
    pyenv's; checked by asking it its version."""
    version = version_of(runtime)
    found = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += sorted(map(str, pyenv_root.glob(f"versions/{version}.*/bin/python{version}")))
    for candidate in filter(None, found):
        answer = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return Path(candidate)
    raise NoInterpreter(
        f"{runtime}: no python{version} on this machine (PATH, {pyenv_root}/versions); "
        f"install Python {version} to build this artifact: bytecode from another "
        "version would be thrown away on every cold start"
    )


def compile_tree(root: Path, runtime: str) -> None:
    """Write ``__pycache__/*.cpython-3X.pyc`` beside every ``.py`` under ``root``."""
    subprocess.run(
        [
            str(interpreter(runtime)),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            UNCHECKED_HASH,
            "-s",
            str(root),  # recorded paths relative to the artifact, not this machine
            str(root),
        ],
        check=True,
        # Beside the sources, wherever the caller's shell caches its own bytecode.
        env={name: value for name, value in os.environ.items() if name != "PYTHONPYCACHEPREFIX"},
    )


def compile_zip(archive: Path, runtime: str) -> None:
    """Replace the bytecode in ``archive`` with the runtime's, in place.

    ``chalice package`` copies ``chalicelib/`` whole, so a checkout's own
    ``__pycache__`` (another Python's, or timestamp pycs that the zip's 1980
    dates make stale) would ship too: every ``.pyc`` in the archive is
    dropped, and one compiled here is written for every module.
    """
    with tempfile.TemporaryDirectory(prefix="signpost-bytecode-") as tmp:
        root = Path(tmp) / "tree"
        rebuilt = Path(tmp) / archive.name
        with zipfile.ZipFile(archive) as existing:
            kept = [info for info in existing.infolist() if not info.filename.endswith(".pyc")]
            for info in kept:
                existing.extract(info, root)
            compile_tree(root, runtime)
            with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as out:
                for info in kept:
                    out.writestr(info, existing.read(info))
                for pyc in sorted(root.rglob("__pycache__/*.pyc")):
                    entry = zipfile.ZipInfo(pyc.relative_to(root).as_posix(), ZIP_DATE)
                    entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(entry, pyc.read_bytes())
        shutil.move(rebuilt, archive)


def declared_runtime(package_dir: Path) -> str:
    """The runtime ``chalice package``'s template gives the function (SAM or Terraform)."""
    sam = package_dir / "sam.json"
    if sam.is_file():
        resources = json.loads(sam.read_text())["Resources"]
        runtimes = {
            resource["Properties"]["Runtime"]
            for resource in resources.values()
            if resource["Type"] == "AWS::Serverless::Function"
        }
    else:
        functions = json.loads((package_dir / "chalice.tf.json").read_text())["resource"]
        runtimes = {function["runtime"] for function in functions["aws_lambda_function"].values()}
    (runtime,) = runtimes
    return str(runtime)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.bytecode", description=__doc__)
    kinds = parser.add_subparsers(dest="kind", required=True)
    chalice = kinds.add_parser("chalice", help="a `chalice package` output directory")
    chalice.add_argument("package_dir", type=Path)
    tree = kinds.add_parser("tree", help="a directory of code, for a runtime you name")
    tree.add_argument("runtime", help="e.g. python3.12")
    tree.add_argument("root", type=Path)
    args = parser.parse_args()
    try:
        if args.kind == "chalice":
            compile_zip(args.package_dir / "deployment.zip", declared_runtime(args.package_dir))
        else:
            compile_tree(args.root, args.runtime)
    except NoInterpreter as error:
        sys.exit(f"deploy.bytecode: {error}")


if __name__ == "__main__":
    main()
