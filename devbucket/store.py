"""Objects and their metadata in a folder, so a developer can look at them.

Layout under the root: ``objects/<key>`` holds the bytes (the key's ``/``
are folders), ``meta/<sha256 of key>.json`` the content type and headers,
``tmp/`` the objects being received (and ``uploads/`` the multipart uploads
in progress, :mod:`devbucket.uploads`). A file is claimed atomically: with no
overwrite, ``os.link`` fails if the key exists, so two racing uploads of the
same key cannot both win.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_OBJECT_KEY_BYTES = 1023
MAX_SEGMENT_BYTES = 255  # a file name on the developer's disk


class InvalidKey(Exception):
    """A key the store cannot hold (the message says why)."""


class AlreadyExists(Exception):
    """The key is taken and the upload may not replace it."""


@dataclass(frozen=True)
class StoredObject:
    path: Path
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class IncomingObject:
    """An object being received: bytes go to a temporary file, counted and hashed."""

    def __init__(self, directory: Path, limit: int, too_large: Callable[[], Exception]) -> None:
        # Open across many writes, closed by close() or discard(): no ``with``.
        self._file = tempfile.NamedTemporaryFile(dir=directory, delete=False)  # noqa: SIM115
        self.path = Path(self._file.name)
        self.size = 0
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256()
        self._limit = limit
        self._too_large = too_large

    def write(self, data: bytes) -> None:
        """Keep ``data``; past the limit, stop with the ``too_large`` error."""
        self.size += len(data)
        if self.size > self._limit:
            raise self._too_large()
        self._file.write(data)
        self._md5.update(data)
        self._sha256.update(data)

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()

    def close(self) -> None:
        self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("objects", "meta", "tmp"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Where ``key``'s bytes live; :class:`InvalidKey` if no file can hold it."""
        raw = key.encode("utf-8", "surrogatepass")
        if not 1 <= len(raw) <= MAX_OBJECT_KEY_BYTES:
            raise InvalidKey(f"The object key must be 1 to {MAX_OBJECT_KEY_BYTES} bytes of UTF-8.")
        if key[0] in "/\\" or "\0" in key:
            raise InvalidKey("The object key may not start with / or \\ nor hold NUL.")
        segments = key.split("/")
        if any(
            part in ("", ".", "..")
            or len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES
            for part in segments
        ):
            raise InvalidKey(
                "The dev bucket keeps keys as folders: no empty, '.' or '..' segment, "
                f"none over {MAX_SEGMENT_BYTES} bytes."
            )
        return self.root.joinpath("objects", *segments)

    def _meta_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / "meta" / f"{digest}.json"

    def receive(self, limit: int, too_large: Callable[[], Exception]) -> IncomingObject:
        """A temporary file for an object's bytes, up to ``limit`` of them."""
        return IncomingObject(self.root / "tmp", limit, too_large)

    def commit(
        self,
        incoming: IncomingObject,
        key: str,
        content_type: str,
        headers: Mapping[str, str],
        *,
        overwrite: bool,
    ) -> None:
        """Make ``incoming`` the object at ``key``, with its metadata."""
        incoming.close()
        target = self.path_for(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if overwrite:
                os.replace(incoming.path, target)
            else:
                os.link(incoming.path, target)
        except FileExistsError:
            raise AlreadyExists() from None
        except (NotADirectoryError, IsADirectoryError, FileNotFoundError):
            raise InvalidKey(
                "The dev bucket cannot hold both a key and another key under it as a folder."
            ) from None
        finally:
            incoming.discard()
        meta: dict[str, Any] = {"key": key, "content_type": content_type, "headers": dict(headers)}
        temporary = self._meta_path(key).with_suffix(".tmp")
        temporary.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._meta_path(key))

    def delete(self, key: str) -> None:
        """Remove ``key`` and its metadata, if there; folders it leaves empty go too,
        so a later key may use their names."""
        try:
            path = self.path_for(key)
        except InvalidKey:
            return
        if not path.is_file():
            return
        path.unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)
        objects = self.root / "objects"
        for folder in path.parents:
            if folder == objects:
                break
            try:
                folder.rmdir()
            except OSError:  # not empty, or already gone
                break

    def get(self, key: str) -> StoredObject | None:
        try:
            path = self.path_for(key)
        except InvalidKey:
            return None
        if not path.is_file():
            return None
        try:
            meta = json.loads(self._meta_path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:  # a moment between claiming the key and its metadata
            meta = {}
        return StoredObject(
            path=path,
            content_type=meta.get("content_type", "application/octet-stream"),
            headers=meta.get("headers", {}),
        )
