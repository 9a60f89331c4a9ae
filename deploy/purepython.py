"""Keep native code out of the Lambda zip, so that one artifact runs on x86_64
and arm64 Lambda and on Function Compute alike.

``chalice package`` downloads, for each requirement, the wheel pip prefers for
the function's CPU: where a project publishes a compiled wheel beside its
pure-Python one, that is the compiled one. charset-normalizer (a dependency of
requests) ships mypyc-compiled wheels, whose ``.so`` files are for one CPU.
This step swaps every such project for its pure-Python wheel (``py3-none-any``)
of the same version, fetched by pip by name, and stops the build, naming the
file, if native code remains.

    python -m deploy.purepython OUT_DIR    # a `chalice package` output
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .bytecode import ZIP_DATE, declared_runtime, version_of

NATIVE_SUFFIXES = (".so", ".pyd", ".dylib")


class NativeCode(RuntimeError):
    """Native code the build could not replace with pure Python."""


def is_native(name: str) -> bool:
    return name.endswith(NATIVE_SUFFIXES) or ".so." in name.rsplit("/", 1)[-1]


def native_files(archive: zipfile.ZipFile) -> list[str]:
    return [name for name in archive.namelist() if is_native(name)]


def distributions(archive: zipfile.ZipFile) -> dict[str, tuple[str, list[str]]]:
    """``dist-info`` folder -> (``project==version``, the files its RECORD lists)."""
    found = {}
    for name in archive.namelist():
        if name.endswith(".dist-info/RECORD"):
            folder = name.split("/")[0]
            project, _, version = folder.removesuffix(".dist-info").rpartition("-")
            rows = csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8"))
            found[folder] = (f"{project}=={version}", [row[0] for row in rows if row])
    return found


def pure_wheel(requirement: str, python_version: str, into: Path) -> Path:
    """Download the ``py3-none-any`` wheel of ``requirement`` with pip."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--implementation", "py", "--abi", "none",
        "--platform", "any", "--python-version", python_version, "--dest", str(into),
        requirement,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = list(into.glob("*-none-any.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise NativeCode(f"{requirement} has native code and no pure-Python wheel to swap in")
    return wheels[0]


def make_pure(archive_path: Path, python_version: str) -> list[str]:
    """Swap each distribution with native code for its pure wheel, in place;
    the requirements swapped. Raises :class:`NativeCode` if any remains."""
    with zipfile.ZipFile(archive_path) as archive:
        native = set(native_files(archive))
        swaps = {
            requirement: files
            for requirement, files in distributions(archive).values()
            if native & set(files)
        }
        unclaimed = native - {name for files in swaps.values() for name in files}
        if unclaimed:  # no distribution's RECORD names it: nothing to swap it for
            raise NativeCode("native code in the zip: " + ", ".join(sorted(unclaimed)))
        if not swaps:
            return []
        dropped = {name for files in swaps.values() for name in files}
        with tempfile.TemporaryDirectory(prefix="signpost-pure-") as tmp:
            rebuilt = Path(tmp) / archive_path.name
            with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as out:
                for info in archive.infolist():
                    if info.filename not in dropped:
                        out.writestr(info, archive.read(info))
                for number, requirement in enumerate(sorted(swaps)):
                    wheel = pure_wheel(requirement, python_version, Path(tmp) / str(number))
                    with zipfile.ZipFile(wheel) as pure:
                        for name in pure.namelist():
                            entry = zipfile.ZipInfo(name, ZIP_DATE)
                            entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                            entry.compress_type = zipfile.ZIP_DEFLATED
                            out.writestr(entry, pure.read(name))
            with zipfile.ZipFile(rebuilt) as result:
                left = native_files(result)
            if left:
                raise NativeCode("native code left in the zip: " + ", ".join(left))
            shutil.move(rebuilt, archive_path)
    return sorted(swaps)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.purepython", description=__doc__)
    parser.add_argument("package_dir", type=Path, help="a `chalice package` output directory")
    args = parser.parse_args()
    version = version_of(declared_runtime(args.package_dir))
    try:
        swapped = make_pure(args.package_dir / "deployment.zip", version)
    except NativeCode as error:
        sys.exit(f"deploy.purepython: {error}")
    for requirement in swapped:
        print(f"deploy.purepython: {requirement}: the pure-Python wheel, not the compiled one")


if __name__ == "__main__":
    main()
