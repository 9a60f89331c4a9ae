"""The pages' vendored browser code (``make vendor-uppy``): what it wrote is
still there unedited, it refuses a tarball that is not the pinned one, and
the Uppy 6 build's pins are exact and carry their integrity. No network: the
fetch itself is not run here."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from devtools import vendor_uppy
from devtools.vendor_uppy import AXE, BUILD, CHECKSUMS, TARBALLS, UPPY5, UPPY6

README = "README.md"
UPPY6_FILES = ["LICENSE", "uppy.min.css", "uppy.min.js"]


def recorded(folder: Path) -> dict[str, str]:
    lines = (folder / CHECKSUMS).read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


@pytest.mark.parametrize(
    ("folder", "names"),
    [
        (UPPY6, UPPY6_FILES),
        *((tarball.destination, list(tarball.files.values())) for tarball in TARBALLS),
    ],
    ids=["uppy6", "uppy5", "axe-core"],
)
def test_the_vendored_files_are_those_recorded_unedited(folder: Path, names: list[str]) -> None:
    digests = recorded(folder)
    assert sorted(digests) == sorted(names)
    for name, digest in digests.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert sorted(path.name for path in folder.iterdir()) == sorted([*names, CHECKSUMS, README])


@pytest.mark.parametrize("tarball", TARBALLS, ids=["uppy5", "axe-core"])
def test_each_readme_names_the_pinned_version_and_integrity(
    tarball: vendor_uppy.Tarball,
) -> None:
    readme = (tarball.destination / README).read_text()
    assert f"{tarball.package}@{tarball.version}" in readme
    assert tarball.integrity in readme


def test_the_uppy_6_build_pins_exact_versions_with_their_integrity_and_no_host() -> None:
    manifest = json.loads((BUILD / "package.json").read_text())
    lock = json.loads((BUILD / "package-lock.json").read_text())
    assert all(version[0].isdigit() for version in manifest["dependencies"].values())
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert packages
    for path, entry in packages.items():
        assert entry["integrity"].startswith("sha512-"), path
        assert "resolved" not in entry, path  # fetched by name, no registry host written down
    readme = (UPPY6 / README).read_text()
    for name, version in manifest["dependencies"].items():
        assert f"{name}@{version}" in readme


def tarball_bytes(contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in contents.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def test_a_tarball_other_than_the_pinned_one_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = tarball_bytes(dict.fromkeys(AXE.files, b"alert('not axe')"))
    monkeypatch.setattr(vendor_uppy, "fetch_tarball", lambda tarball, folder: impostor)
    destination = tmp_path / "vendor"
    with pytest.raises(vendor_uppy.Refused, match="integrity"):
        vendor_uppy.vendor(AXE, destination)
    assert list(destination.iterdir()) == []


def test_extracting_writes_the_members_and_checksums_sha256sum_can_check(tmp_path: Path) -> None:
    contents = {member: f"content of {member}".encode() for member in UPPY5.files}
    archive = tmp_path / "uppy.tgz"
    archive.write_bytes(tarball_bytes({**contents, "package/evil/../../x": b"ignored"}))
    destination = tmp_path / "vendor"
    destination.mkdir()
    digests = vendor_uppy.extract(archive, UPPY5.files, destination)
    assert sorted(path.name for path in destination.iterdir()) == sorted(UPPY5.files.values())
    for member, name in UPPY5.files.items():
        assert (destination / name).read_bytes() == contents[member]
        assert digests[name] == hashlib.sha256(contents[member]).hexdigest()
    assert vendor_uppy.checksums(digests).splitlines()[0] == f"{digests['LICENSE']}  LICENSE"
