"""Running the project as a person does: a fresh copy of it, a shell's
environment, and long-running commands (``make run``) started, read while
they run, and stopped with Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from fnmatch import fnmatch
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# Every storage, CORS and auth setting a developer's shell may carry.
SETTING_PREFIXES = (
    "OSS_",
    "ALIBABA_CLOUD_",
    "CORS_",
    "STORAGE_",
    "S3_",
    "AWS_",
    "AUTH_",
    "API_KEYS",
    "JWT_",
)


def child_env(**settings: str) -> dict[str, str]:
    """This process's environment without any signpost setting, plus ``settings``."""
    kept = {
        name: value for name, value in os.environ.items() if not name.startswith(SETTING_PREFIXES)
    }
    return {**kept, "PYTHONUNBUFFERED": "1", **settings}


def copy_project(destination: Path) -> Path:
    """What a fresh clone holds: the project without what ``.gitignore``
    names (a virtualenv, caches, the dev bucket's objects) or ``.git``, and
    this checkout's virtualenv linked in as ``.venv``, so ``make`` finds it
    installed. Read from the working tree, so uncommitted work is tested too."""
    ignored = [".git"] + [
        line.strip().rstrip("/")
        for line in (PROJECT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(PROJECT)
        return {
            name
            for name in names
            if any(
                fnmatch(name, rule) or fnmatch((here / name).as_posix(), rule) for rule in ignored
            )
        }

    shutil.copytree(PROJECT, destination, ignore=ignore, symlinks=True)
    (destination / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return destination


class Session:
    """A command in its own process group, as a terminal runs it: its output
    (stdout and stderr) read as it comes, Ctrl-C sent to the whole group."""

    def __init__(self, command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, found: Callable[[list[str]], bool], timeout: float = 60) -> None:
        """Until ``found(lines)``; fails with the output if the command ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not found(self.lines):
            if self.process.poll() is not None:
                self._reader.join(5)
                if found(self.lines):
                    return
                raise AssertionError(f"ended with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:.0f} s:\n{self.output}")
            time.sleep(0.05)

    def line_starting(self, prefix: str, timeout: float = 60) -> str:
        self.wait_for(lambda lines: any(line.startswith(prefix) for line in lines), timeout)
        return next(line for line in self.lines if line.startswith(prefix))

    def finish(self, timeout: float) -> int:
        """The exit status of a command that ends by itself; one that does not is stopped."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.interrupt()
            raise AssertionError(f"still running after {timeout:.0f} s:\n{self.output}") from None
        self._reader.join(5)
        return status

    def interrupt(self, timeout: float = 20) -> int:
        """Ctrl-C; then SIGKILL to whatever of the group is left. The exit status."""
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return -1
        except ProcessLookupError:
            return self.process.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self._reader.join(5)
