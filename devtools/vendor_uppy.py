"""``make vendor-uppy``: fetch Uppy's prebuilt bundle into ``frontend/vendor/uppy/``.

The demo page uses Uppy's own browser bundle as published on npm, unchanged,
so nobody needs Node or a build step to run it. This fetches the pinned
tarball (``npm pack``; a plain HTTPS download from the registry when npm is
absent), refuses it unless its SHA-512 is the one pinned here (npm's
``dist.integrity``), and copies out the bundle, its stylesheet and its
licence. ``SHA256SUMS`` records what was copied, so an edit to a vendored file
is noticed (``sha256sum -c SHA256SUMS``, and a test).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
VENDOR = PROJECT / "frontend" / "vendor" / "uppy"
PACKAGE = "uppy"
VERSION = "5.2.4"
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
INTEGRITY = (  # npm view uppy@5.2.4 dist.integrity
    "sha512-1btgAGUb7Tu7GympmA9XkyGcXBSM93d1FA36J6pY4lr6a0jMXfvFUg66Dbnm/Xaq6sFvm8KwSPJF46d8Ng0E8Q=="
)
# tarball member -> vendored file name
FILES = {
    "package/dist/uppy.min.js": "uppy.min.js",
    "package/dist/uppy.min.css": "uppy.min.css",
    "package/LICENSE": "LICENSE",
}
CHECKSUMS = "SHA256SUMS"
DOWNLOAD_SECONDS = 120


class Refused(Exception):
    """The tarball could not be fetched, or is not the one pinned."""


def integrity(data: bytes) -> str:
    """npm's ``dist.integrity`` form: ``sha512-`` and the base64 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch_tarball(folder: Path) -> bytes:
    """The pinned tarball's bytes, by ``npm pack`` when npm is here."""
    npm = shutil.which("npm")
    if npm:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=DOWNLOAD_SECONDS,
        )
        return (folder / f"{PACKAGE}-{VERSION}.tgz").read_bytes()
    with urllib.request.urlopen(TARBALL_URL, timeout=DOWNLOAD_SECONDS) as answer:
        return bytes(answer.read())


def checked(data: bytes) -> bytes:
    found = integrity(data)
    if found != INTEGRITY:
        raise Refused(f"{PACKAGE}@{VERSION}: the tarball's integrity is {found}, not {INTEGRITY}.")
    return data


def extract(tarball: Path, destination: Path) -> dict[str, str]:
    """Copy :data:`FILES` out of ``tarball``, reading only those members as
    bytes (nothing else of the archive touches the disk). Their SHA-256s."""
    digests = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member, name in FILES.items():
            source = archive.extractfile(member)
            if source is None:
                raise Refused(f"{member} is not a regular file in the tarball.")
            content = source.read()
            (destination / name).write_bytes(content)
            digests[name] = hashlib.sha256(content).hexdigest()
    return digests


def checksums(digests: dict[str, str]) -> str:
    """``sha256sum``'s format, so ``sha256sum -c`` checks it too."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


def vendor(destination: Path = VENDOR) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        tarball = folder / "uppy.tgz"
        tarball.write_bytes(checked(fetch_tarball(folder)))
        digests = extract(tarball, destination)
    (destination / CHECKSUMS).write_text(checksums(digests))


def main() -> int:
    try:
        vendor()
    except (Refused, OSError, subprocess.SubprocessError) as error:
        print(f"make vendor-uppy: {error}", file=sys.stderr)
        return 1
    print(f"{PACKAGE}@{VERSION} ({INTEGRITY}) vendored in {VENDOR.relative_to(PROJECT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
