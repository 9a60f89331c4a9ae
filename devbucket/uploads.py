"""Multipart uploads in progress, on disk beside the objects, so a developer
can look at them and a restarted dev bucket still has them.

Layout under the store's root: ``uploads/<sha256 of upload id>/upload.json``
(the key, the type and headers the object will have, when it started) and
``parts/<number>`` each part's bytes with ``parts/<number>.json`` (its MD5,
size, time). A part arrives in ``tmp/`` (:class:`~devbucket.store.IncomingObject`)
and is moved into place whole, so a part is there entirely or not at all;
the same number again replaces it. Aborting or completing removes the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .store import IncomingObject


@dataclass(frozen=True)
class Part:
    number: int
    md5_hex: str
    size: int
    modified: str  # ISO 8601, as ListParts shows it
    path: Path


@dataclass(frozen=True)
class Upload:
    upload_id: str
    key: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    folder: Path = Path()


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


class Uploads:
    """The multipart uploads of one bucket, kept under ``root/uploads``."""

    def __init__(self, root: Path) -> None:
        self.root = root / "uploads"
        self.root.mkdir(parents=True, exist_ok=True)

    def _folder(self, upload_id: str) -> Path:
        digest = hashlib.sha256(upload_id.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / digest

    def start(
        self, upload_id: str, key: str, content_type: str, headers: Mapping[str, str]
    ) -> Upload:
        folder = self._folder(upload_id)
        (folder / "parts").mkdir(parents=True)
        document = {
            "upload_id": upload_id,
            "key": key,
            "content_type": content_type,
            "headers": dict(headers),
        }
        _write_json(folder / "upload.json", document)
        return Upload(upload_id, key, content_type, dict(headers), folder)

    def get(self, upload_id: str) -> Upload | None:
        folder = self._folder(upload_id)
        try:
            document = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Upload(
            document["upload_id"],
            document["key"],
            document["content_type"],
            document["headers"],
            folder,
        )

    def put_part(
        self, upload: Upload, number: int, incoming: IncomingObject, now: datetime
    ) -> Part:
        """Make ``incoming`` part ``number`` of ``upload``, replacing one there."""
        incoming.close()
        path = upload.folder / "parts" / f"{number:05d}"
        try:
            os.replace(incoming.path, path)
        except FileNotFoundError:  # aborted or completed while the part arrived
            incoming.discard()
            raise
        modified = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        document = {"md5": incoming.md5_hex, "size": incoming.size, "modified": modified}
        _write_json(path.with_suffix(".json"), document)
        return Part(number, incoming.md5_hex, incoming.size, modified, path)

    def parts(self, upload: Upload) -> list[Part]:
        """The parts stored so far, by number."""
        found = []
        for meta in sorted((upload.folder / "parts").glob("*.json")):
            document = json.loads(meta.read_text(encoding="utf-8"))
            path = meta.with_suffix("")
            found.append(
                Part(int(path.name), document["md5"], document["size"], document["modified"], path)
            )
        return found

    def remove(self, upload: Upload) -> None:
        """The upload and its parts, gone (aborted, or completed)."""
        shutil.rmtree(upload.folder, ignore_errors=True)
