"""Which changes restart the API under ``make run``: its code, and nothing else.

``chalice local``'s own reloader restarts the server on any file created or
changed anywhere under the project, so every object the dev bucket stores in
``.dev-bucket/`` restarted the API and dropped the requests in flight (tickets
refused with "connection reset", callbacks failed). ``make run`` therefore
runs ``chalice local --no-autoreload`` and watches only what ``chalice
package`` ships and ``chalice local`` reads: ``app.py``, ``chalicelib/`` and
``.chalice/config.json``. The dev bucket's objects, ``.venv``, ``.git``, test
caches and editors' swap files no longer restart anything.
"""

from __future__ import annotations

from pathlib import Path

Snapshot = dict[Path, int]


def code_files(project: Path) -> list[Path]:
    """The files whose change means the API must be restarted to serve it."""
    return [
        project / "app.py",
        project / ".chalice" / "config.json",
        *sorted((project / "chalicelib").rglob("*.py")),
    ]


def snapshot(project: Path) -> Snapshot:
    """Each code file's modification time; a file that went away is left out."""
    times: Snapshot = {}
    for path in code_files(project):
        try:
            times[path] = path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
    return times


class CodeWatcher:
    """Polled by ``make run`` about once a second: a few stat calls, whatever
    lies elsewhere in the project."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._last = snapshot(project)

    def changed(self) -> bool:
        """Whether a code file was added, edited or removed since the last call."""
        now = snapshot(self.project)
        changed, self._last = now != self._last, now
        return changed
