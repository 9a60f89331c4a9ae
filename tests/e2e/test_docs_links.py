"""The docs lead somewhere in a fresh clone, and nothing in the project points outside it.

Every relative link and image in ``README.md`` and ``docs/*.md`` must name a
file or folder a clone holds, and its ``#anchor``, if any, a heading of that
Markdown file, made into an anchor as GitHub does. Every test the docs cite
by path (``tests/app/test_app.py::test_...``) must exist. No file of the
project may send a reader to material the repository does not hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

import pytest

from tests.support.run import copy_project

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target), with an optional "title"; <img src="...">.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HTML_SOURCE = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...
CITED_TEST = re.compile(r"\btests/[\w/]*?test_\w+\.py(?:::\w+)?")
# Where the project's own contract came from, which no clone holds; spelled in
# two parts so that this file does not name them itself.
OUTSIDE = ("../" + "shared", "SPEC" + ".md")


class Link(NamedTuple):
    where: str  # "docs/api.md:12"
    target: str


def prose(text: str) -> Iterator[tuple[int, str]]:
    """Each line outside fenced code blocks, with its number."""
    fence = ""
    for number, line in enumerate(text.splitlines(), 1):
        opening = FENCE.match(line)
        if fence:
            if opening and opening.group(1).startswith(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        yield number, line


def links(document: Path, root: Path) -> Iterator[Link]:
    name = document.relative_to(root).as_posix()
    for number, line in prose(document.read_text(encoding="utf-8")):
        line = CODE_SPAN.sub("", line)
        for pattern in (INLINE_LINK, REFERENCE, HTML_SOURCE):
            for match in pattern.finditer(line):
                yield Link(f"{name}:{number}", match.group(1))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped
    (letters, digits, ``_`` and ``-`` kept), each space a ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").lower()
    return "".join(char for char in text if char.isalnum() or char in "_- ").replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """The anchors of a Markdown file's headings; a repeated one gets ``-1``, ``-2``, ..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose(document.read_text(encoding="utf-8")):
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def problem(link: Link, document: Path, root: Path) -> str | None:
    """What is wrong with a relative link, or None."""
    path, _, anchor = link.target.partition("#")
    if path.startswith("/"):
        target = (root / unquote(path).lstrip("/")).resolve()
    else:
        target = (document.parent / unquote(path)).resolve() if path else document
    if not target.is_relative_to(root.resolve()):
        return "points outside the repository"
    if not target.exists():
        return "names no file of the repository"
    if anchor and (target.suffix != ".md" or anchor not in anchors(target)):
        return f"names no heading #{anchor} of {target.relative_to(root.resolve()).as_posix()}"
    return None


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a fresh clone holds (``.gitignore``'s patterns left out)."""
    return copy_project(tmp_path_factory.mktemp("clone") / "signpost")


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def project_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):  # does not follow the .venv link
        subfolders[:] = [name for name in subfolders if name != ".venv"]
        for name in files:
            yield Path(folder, name)


def test_the_docs_hold_links_of_every_kind(clone: Path) -> None:
    """The extraction works: the other tests would pass vacuously on no links."""
    found = [link.target for document in documents(clone) for link in links(document, clone)]
    assert "docs/screenshot.png" in found  # an image
    assert any(target.startswith("docs/") and "#" in target for target in found)
    assert any(target.startswith("../") for target in found)  # from docs/ to the root
    assert any(EXTERNAL.match(target) for target in found)


def test_every_relative_link_and_image_resolves_in_a_clone(clone: Path) -> None:
    broken = [
        f"{link.where}: ({link.target}) {reason}"
        for document in documents(clone)
        for link in links(document, clone)
        if not EXTERNAL.match(link.target)
        and (reason := problem(link, document, clone)) is not None
    ]
    assert not broken, "\n".join(broken)


def test_every_test_the_docs_cite_exists(clone: Path) -> None:
    missing = []
    for document in documents(clone):
        for cited in sorted(set(CITED_TEST.findall(document.read_text(encoding="utf-8")))):
            path, _, name = cited.partition("::")
            source = clone / path
            if not source.is_file() or (name and f"def {name}(" not in source.read_text()):
                missing.append(f"{document.relative_to(clone)}: {cited}")
    assert not missing, "\n".join(missing)


def test_the_docs_restate_the_contract_rather_than_cite_it(clone: Path) -> None:
    citing = [
        f"{document.relative_to(clone)}:{number}: {line.strip()}"
        for document in documents(clone)
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bSPEC\b", line)
    ]
    assert not citing, "\n".join(citing)


def test_no_file_of_the_project_points_outside_it(clone: Path) -> None:
    pointing = sorted(
        f"{path.relative_to(clone)}: {needle}"
        for path in project_files(clone)
        for needle in OUTSIDE
        if needle.encode() in path.read_bytes()
    )
    assert not pointing, "\n".join(pointing)
