"""Every shell command in ``README.md`` and ``docs/*.md``, run as a reader runs it.

A fenced block whose language is ``sh``, ``bash``, ``shell`` or ``console``
is commands. Each runs in a fresh copy of the project, from a shell like a
reader's: no signpost setting inherited, the project's virtualenv not on
``PATH``, ``API`` set to the API of a running ``make run``, and ``RUN_ARGS``
giving ``make run`` free ports (a sample's 8000, 8080 and 9000 are read as
those). In a ``console`` block, lines starting with ``$ `` are commands and
the others their output, which must appear in that order (``...`` matches
anything within a line; blank lines are ignored).

A word after the language (```` ```sh cloud ````) says how else to check a block:

* none: it runs and must exit 0;
* ``cloud``: it needs a cloud account, its credentials, an identity provider
  or a deployed API: parsed only (``bash -n``);
* ``server``: it runs until Ctrl-C (``make run``): started, its sample output
  awaited, then Ctrl-C;
* ``skip``: its commands run elsewhere: each must be a command of another
  block that runs, or ``make test`` (this very suite).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.devbucket import HOST, free_port
from tests.support.run import PROJECT, Session, child_env, copy_project

SHELLS = {"sh", "bash", "shell", "console"}
TAGS = {"cloud", "server", "skip"}
SUITE = "make test"
DEFAULT_PORTS = ("8000", "8080", "9000")  # make run's API, page and dev bucket
BLOCK_SECONDS = 60
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*?)\s*$")


class Block(NamedTuple):
    where: str  # "README.md:152"
    language: str
    tags: frozenset[str]
    text: str

    @property
    def commands(self) -> list[str]:
        """Its commands, continuation lines joined; comments dropped."""
        lines = self.text.splitlines()
        if self.language == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        commands: list[str] = []
        pending = ""
        for line in lines:
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending += line.rstrip("\\") + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                commands.append(re.sub(r"\s+#.*$", "", pending).strip())
                pending = ""
        return commands

    @property
    def script(self) -> str:
        if self.language != "console":
            return self.text
        return "\n".join(line[2:] for line in self.text.splitlines() if line.startswith("$ "))

    @property
    def expected(self) -> list[str]:
        if self.language != "console":
            return []
        return [
            line for line in self.text.splitlines() if line.strip() and not line.startswith("$ ")
        ]


def shell_blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    name = path.relative_to(PROJECT).as_posix()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        indent, fence, language, info = opening.groups()
        start, body = index, []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index].removeprefix(indent))
            index += 1
        index += 1  # the closing fence
        if language in SHELLS:
            yield Block(
                f"{name}:{start}", language, frozenset(info.split()), "\n".join(body) + "\n"
            )


DOCUMENTS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
BLOCKS = [block for document in DOCUMENTS for block in shell_blocks(document)]
RUN = [block for block in BLOCKS if not block.tags & {"cloud", "skip"}]


def shows(expected: list[str], lines: list[str]) -> bool:
    """Whether each expected line matches a line of ``lines``, in order."""
    position = 0
    for want in expected:
        pattern = re.compile(".*".join(re.escape(part) for part in want.rstrip().split("...")))
        while position < len(lines) and not pattern.fullmatch(lines[position].rstrip()):
            position += 1
        if position == len(lines):
            return False
        position += 1
    return True


class Ports(NamedTuple):
    api: int
    page: int
    bucket: int

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port())

    @property
    def run_args(self) -> str:
        return f"--api-port {self.api} --page-port {self.page} --bucket-port {self.bucket}"

    def read(self, sample: str) -> str:
        """A sample line with make run's default ports read as these."""
        for default, port in zip(DEFAULT_PORTS, self, strict=True):
            sample = sample.replace(f"{HOST}:{default}", f"{HOST}:{port}")
        return sample


def reader_env(api: str, ports: Ports) -> dict[str, str]:
    """A reader's shell: no signpost settings, no virtualenv on PATH."""
    venv_bin = Path(sys.prefix, "bin").resolve()
    env = child_env(API=api, RUN_ARGS=ports.run_args, COLUMNS="80")
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and Path(entry).resolve() != venv_bin
    )
    return env


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``make run`` for the examples that call ``$API``."""
    project = copy_project(tmp_path_factory.mktemp("api") / "signpost")
    command = ["make", "-o", ".venv/.installed", "run", f"RUN_ARGS={Ports.free().run_args}"]
    server = Session(command, project, child_env())
    try:
        yield server.line_starting("API at ").split()[2]
    finally:
        server.interrupt()


def test_the_docs_hold_commands_of_every_kind() -> None:
    """The extraction works: this test would pass vacuously on zero blocks."""
    assert {tag for block in BLOCKS for tag in block.tags} <= TAGS, [
        (block.where, sorted(block.tags - TAGS)) for block in BLOCKS if block.tags - TAGS
    ]
    kinds = {next(iter(block.tags), "run") for block in BLOCKS}
    assert kinds == {"run", *TAGS}
    assert any(block.commands == ["make run"] for block in BLOCKS if "server" in block.tags)


@pytest.mark.parametrize("block", [b for b in BLOCKS if "skip" in b.tags], ids=lambda b: b.where)
def test_a_skipped_command_runs_in_another_block(block: Block) -> None:
    elsewhere = {command for other in RUN for command in other.commands}
    assert set(block.commands) <= elsewhere | {SUITE}, block.commands


@pytest.mark.parametrize("block", [b for b in BLOCKS if "cloud" in b.tags], ids=lambda b: b.where)
def test_a_cloud_command_is_at_least_valid_shell(block: Block) -> None:
    check = subprocess.run(
        ["bash", "-n"], input=block.script, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, f"{block.where}: {check.stderr}"


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.where)
def test_a_command_runs_as_written(block: Block, api: str, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "signpost")
    ports = Ports.free()
    env = reader_env(api, ports)
    expected = [ports.read(line) for line in block.expected]
    if "server" in block.tags:
        assert expected, f"{block.where}: a server block shows the output it waits for"
        session = Session(["bash", "-c", block.script], project, env)
        try:
            session.wait_for(lambda lines: shows(expected, lines), BLOCK_SECONDS)
        finally:
            assert session.interrupt() != -1, f"{block.where} did not stop on Ctrl-C"
        return
    ran = Session(["bash", "-e", "-o", "pipefail", "-c", block.script], project, env)
    status = ran.finish(BLOCK_SECONDS)
    assert status == 0, f"{block.where} exited {status}:\n{ran.output}"
    assert shows(expected, ran.lines), f"{block.where} printed:\n{ran.output}"


def test_the_readme_says_what_to_install_before_its_two_commands() -> None:
    from importlib.metadata import metadata

    head = (PROJECT / "README.md").read_text(encoding="utf-8").splitlines()[:40]
    first_block = next(index for index, line in enumerate(head) if FENCE.match(line))
    before, block = "\n".join(head[:first_block]), "\n".join(head[first_block:])
    assert "make run" in block
    assert "make test" in block
    # The Python it names is the oldest that Chalice, and so signpost, installs on.
    oldest = metadata("chalice")["Requires-Python"].removeprefix(">=")
    assert f"Python {oldest} or newer" in before
    assert "`make`" in before
    assert "sudo apt-get install chromium" in before
