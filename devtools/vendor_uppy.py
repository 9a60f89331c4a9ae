"""``make vendor-uppy``: fetch the pages' browser code into ``frontend/vendor/``
and ``tests/vendor/``, pinned, so nobody needs Node or a build step to run them.

- Uppy 6 (the demo page, ``frontend/vendor/uppy/``): Uppy publishes no 6.x
  bundle holding ``@uppy/aws-s3`` 6.3 (the ``uppy`` 6.0.1 bundle has 6.1.0,
  whose ``signRequest`` takes no ``fields`` or ``headers``), so this installs
  the packages that ``devtools/uppy6/package-lock.json`` pins, each with its
  integrity (``npm ci``, no install scripts), and bundles ``entry.js`` with
  the pinned esbuild into one script exposing ``window.Uppy``.
- Uppy 5.2.4 (``frontend/vendor/uppy5/``, the Uppy 5 example page): its own
  prebuilt bundle, unchanged, from the tarball whose SHA-512 is pinned here.
- axe-core (``tests/vendor/axe-core/``, the accessibility tests only): its
  published ``axe.min.js``, unchanged, from the pinned tarball.

Packages are fetched by name with npm. ``SHA256SUMS`` in each folder records
what was written, so an edit to a vendored file is noticed (``sha256sum -c
SHA256SUMS``, and a test).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CHECKSUMS = "SHA256SUMS"
NPM_SECONDS = 300


@dataclass(frozen=True)
class Tarball:
    """A published npm tarball whose files are vendored unchanged."""

    package: str
    version: str
    integrity: str  # npm view PACKAGE@VERSION dist.integrity
    files: dict[str, str]  # tarball member -> vendored file name
    destination: Path


UPPY5 = Tarball(
    "uppy",
    "5.2.4",
    "sha512-1btgAGUb7Tu7GympmA9XkyGcXBSM93d1FA36J6pY4lr6a0jMXfvFUg66Dbnm/Xaq6sFvm8KwSPJF46d8Ng0E8Q==",
    {
        "package/dist/uppy.min.js": "uppy.min.js",
        "package/dist/uppy.min.css": "uppy.min.css",
        "package/LICENSE": "LICENSE",
    },
    PROJECT / "frontend" / "vendor" / "uppy5",
)
AXE = Tarball(
    "axe-core",
    "4.14.1",
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
    {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE"},
    PROJECT / "tests" / "vendor" / "axe-core",
)
TARBALLS = (UPPY5, AXE)

# Uppy 6: built from the pins in BUILD (package-lock.json holds every package's integrity).
BUILD = PROJECT / "devtools" / "uppy6"
UPPY6 = PROJECT / "frontend" / "vendor" / "uppy"
UPPY6_CSS = ("@uppy/core/dist/style.min.css", "@uppy/dashboard/dist/style.min.css")
UPPY6_LICENSES = ("@uppy/core", "@uppy/dashboard", "@uppy/aws-s3", "preact")


class Refused(Exception):
    """A tarball could not be fetched, is not the one pinned, or the build failed."""


def integrity(data: bytes) -> str:
    """npm's ``dist.integrity`` form: ``sha512-`` and the base64 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def npm() -> str:
    found = shutil.which("npm")
    if not found:
        raise Refused("npm is needed: install Node.js and npm (Debian: apt-get install npm).")
    return found


def fetch_tarball(tarball: Tarball, folder: Path) -> bytes:
    """The pinned tarball's bytes, by ``npm pack`` (by name)."""
    spec = f"{tarball.package}@{tarball.version}"
    subprocess.run(
        [npm(), "pack", spec, "--silent", "--pack-destination", str(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=NPM_SECONDS,
    )
    return (folder / f"{tarball.package}-{tarball.version}.tgz").read_bytes()


def checked(tarball: Tarball, data: bytes) -> bytes:
    found = integrity(data)
    if found != tarball.integrity:
        raise Refused(
            f"{tarball.package}@{tarball.version}: the tarball's integrity is {found}, "
            f"not {tarball.integrity}."
        )
    return data


def extract(archive: Path, files: dict[str, str], destination: Path) -> dict[str, str]:
    """Copy ``files`` out of ``archive``, reading only those members as bytes
    (nothing else of the archive touches the disk). Their SHA-256s."""
    digests = {}
    with tarfile.open(archive, "r:gz") as opened:
        for member, name in files.items():
            source = opened.extractfile(member)
            if source is None:
                raise Refused(f"{member} is not a regular file in the tarball.")
            content = source.read()
            (destination / name).write_bytes(content)
            digests[name] = hashlib.sha256(content).hexdigest()
    return digests


def checksums(digests: dict[str, str]) -> str:
    """``sha256sum``'s format, so ``sha256sum -c`` checks it too."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


def vendor(tarball: Tarball, destination: Path | None = None) -> None:
    """The tarball's files in ``destination``, if its integrity is the pinned one."""
    destination = destination or tarball.destination
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        archive = folder / "package.tgz"
        archive.write_bytes(checked(tarball, fetch_tarball(tarball, folder)))
        digests = extract(archive, tarball.files, destination)
    (destination / CHECKSUMS).write_text(checksums(digests))


def write(destination: Path, name: str, content: bytes, digests: dict[str, str]) -> None:
    (destination / name).write_bytes(content)
    digests[name] = hashlib.sha256(content).hexdigest()


def quiet(folder: Path, *command: str) -> None:
    """Run ``command`` in ``folder``; its chatter is not ours to show, its failure is."""
    subprocess.run(
        command,
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=NPM_SECONDS,
    )


def build_uppy6(destination: Path = UPPY6) -> None:
    """``npm ci`` the pins (no install scripts), bundle ``entry.js`` into an
    IIFE ``window.Uppy``, join the stylesheets and the licences."""
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        for name in ("package.json", "package-lock.json", "entry.js"):
            shutil.copy(BUILD / name, work / name)
        quiet(work, npm(), "ci", "--ignore-scripts", "--no-audit", "--no-fund")
        modules = work / "node_modules"
        esbuild = modules / "esbuild" / "bin" / "esbuild"
        if not esbuild.exists():
            raise Refused("esbuild was not installed by npm ci.")
        bundle = work / "uppy.min.js"
        quiet(
            work,
            str(esbuild),
            "entry.js",
            "--bundle",
            "--minify",
            "--format=iife",
            "--global-name=window.Uppy",
            "--target=es2020",
            "--legal-comments=eof",
            f"--outfile={bundle}",
        )
        digests: dict[str, str] = {}
        write(destination, "uppy.min.js", bundle.read_bytes(), digests)
        css = b"\n".join((modules / path).read_bytes() for path in UPPY6_CSS)
        write(destination, "uppy.min.css", css, digests)
        licences = b"".join(
            f"--- {package} ---\n".encode() + (modules / package / "LICENSE").read_bytes() + b"\n"
            for package in UPPY6_LICENSES
        )
        write(destination, "LICENSE", licences, digests)
    (destination / CHECKSUMS).write_text(checksums(digests))


def main() -> int:
    try:
        build_uppy6()
        for tarball in TARBALLS:
            vendor(tarball)
    except (Refused, OSError, subprocess.SubprocessError) as error:
        print(f"make vendor-uppy: {error}", file=sys.stderr)
        return 1
    print("Uppy 6 built in frontend/vendor/uppy/; uppy 5.2.4 and axe-core 4.14.1 vendored.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
