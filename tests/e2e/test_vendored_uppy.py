"""The demo page's Uppy bundle, vendored in ``frontend/vendor/uppy/``: what
``make vendor-uppy`` wrote is still there unedited, and it refuses a tarball
that is not the pinned one. No network: the fetch itself is not run here."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from devtools import vendor_uppy
from devtools.vendor_uppy import CHECKSUMS, FILES, INTEGRITY, TARBALL_URL, VENDOR, VERSION

README = "README.md"


def recorded() -> dict[str, str]:
    lines = (VENDOR / CHECKSUMS).read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_the_vendored_files_are_those_recorded_unedited() -> None:
    digests = recorded()
    assert sorted(digests) == sorted(FILES.values())
    for name, digest in digests.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert sorted(path.name for path in VENDOR.iterdir()) == sorted(
        [*FILES.values(), CHECKSUMS, README]
    )


def test_the_readme_names_the_pinned_version_source_and_integrity() -> None:
    readme = (VENDOR / README).read_text()
    assert f"uppy@{VERSION}" in readme
    assert TARBALL_URL in readme
    assert INTEGRITY in readme


def tarball(contents: dict[str, bytes]) -> bytes:
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
    impostor = tarball(dict.fromkeys(FILES, b"alert('not uppy')"))
    monkeypatch.setattr(vendor_uppy, "fetch_tarball", lambda folder: impostor)
    destination = tmp_path / "vendor"
    with pytest.raises(vendor_uppy.Refused, match="integrity"):
        vendor_uppy.vendor(destination)
    assert list(destination.iterdir()) == []


def test_extracting_writes_the_members_and_checksums_sha256sum_can_check(tmp_path: Path) -> None:
    contents = {member: f"content of {member}".encode() for member in FILES}
    archive = tmp_path / "uppy.tgz"
    archive.write_bytes(tarball({**contents, "package/evil/../../x": b"ignored"}))
    destination = tmp_path / "vendor"
    destination.mkdir()
    digests = vendor_uppy.extract(archive, destination)
    assert sorted(path.name for path in destination.iterdir()) == sorted(FILES.values())
    for member, name in FILES.items():
        assert (destination / name).read_bytes() == contents[member]
        assert digests[name] == hashlib.sha256(contents[member]).hexdigest()
    assert vendor_uppy.checksums(digests).splitlines()[0] == f"{digests['LICENSE']}  LICENSE"
