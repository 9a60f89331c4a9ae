"""One case tried against one target: the :class:`~conformance.cases.Uploader`
a case drives.

The function's part comes from signpost's own core with the target's
settings (the code the deployed function runs): tickets from
``handlers.upload_ticket``, uploads, part URLs, completion and abort from
``multipart_handlers``. The browser's part goes over HTTP as a browser
sends it: forms posted (the file last, no redirect followed), parts put.
What the storage holds afterwards is read, and what the case left removed,
with requests signed by the providers' own SDKs (:mod:`.references`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import quote
from xml.etree import ElementTree

import requests

from chalicelib import multipart_handlers
from chalicelib.errors import SignpostError
from chalicelib.handlers import upload_ticket

from .cases import PNG, STORED, Answer, Case, Form, Ticket, Upload
from .references import object_url, send
from .targets import Target

TIMEOUT = 30  # seconds, per request
FILENAME = "cat.png"


class Leftover(NamedTuple):
    """An object the run stored and could not delete, or an upload it could not abort."""

    target: str
    key: str
    status: int  # what the DELETE (or the abort) answered
    upload_id: str = ""


def answer_of(response: requests.Response) -> Answer:
    """The status and, for a refusal, the ``Code`` of the service's XML error."""
    if response.status_code < 400:
        return Answer(response.status_code)
    try:
        code = ElementTree.fromstring(response.content).findtext("Code") or ""
    except ElementTree.ParseError:
        code = ""
    return Answer(response.status_code, code)


class Attempt:
    """A case's uploader against ``target``; it remembers every key and upload
    it was given, so that :meth:`clean_up` can remove what is left."""

    def __init__(self, target: Target, case: Case) -> None:
        self._target = target
        self._case = case
        self._settings = {**target.settings, **case.ticketing.settings}
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self._when = now - timedelta(seconds=case.ticketing.backdate)
        self.keys: list[str] = []
        self.uploads: list[Upload] = []

    @property
    def provider(self) -> str:
        return self._target.provider

    def _clock(self) -> datetime:
        return self._when

    # -- forms

    def ticket(self, content_md5: str | None = None) -> Ticket:
        return self._ticket(self._settings, content_md5)

    def put_ticket(self, content_md5: str | None) -> Ticket:
        return self._ticket({**self._settings, "UPLOAD_METHOD": "put"}, content_md5)

    def _ticket(self, settings: Mapping[str, str], content_md5: str | None) -> Ticket:
        body: dict[str, object] = {
            "filename": FILENAME,
            "content_type": "image/png",
            "size": len(PNG),
        }
        if content_md5 is not None:
            body["content_md5"] = content_md5
        ticket = upload_ticket(json.dumps(body), settings, clock=self._clock)
        self.keys.append(str(ticket["key"]))
        return ticket

    def post(self, url: str, form: Form) -> Answer:
        parts = [(name, (None, value)) for name, value in form.fields]
        file_part = (FILENAME, form.content, form.file_type)
        response = requests.post(
            url, files=[*parts, ("file", file_part)], allow_redirects=False, timeout=TIMEOUT
        )
        return answer_of(response)

    # -- uploads in parts: the function's routes, as Uppy calls them

    def create(self) -> Upload:
        body = json.dumps({"filename": FILENAME, "type": "image/png"})
        created = multipart_handlers.create(body, self._settings, clock=self._clock)
        upload = Upload(created["key"], created["uploadId"])
        self.keys.append(upload.key)
        self.uploads.append(upload)
        return upload

    def _route(self, upload: Upload) -> tuple[str, dict[str, str]]:
        """The ``{uploadId}`` path segment as a browser encodes it, and the query."""
        return quote(upload.upload_id, safe=""), {"key": upload.key}

    def part_url(self, upload: Upload, number: int) -> str:
        segment, query = self._route(upload)
        signed = multipart_handlers.sign_part(
            segment, str(number), query, self._settings, clock=self._clock
        )
        return str(signed["url"])

    def put(
        self, url: str, content: bytes, headers: Mapping[str, str] = MappingProxyType({})
    ) -> Answer:
        sent = dict(headers)
        return answer_of(requests.put(url, data=content, headers=sent, timeout=TIMEOUT))

    def put_part(self, upload: Upload, number: int, content: bytes) -> tuple[int, str]:
        response = requests.put(self.part_url(upload, number), data=content, timeout=TIMEOUT)
        return number, response.headers.get("ETag", "")

    def complete(self, upload: Upload, parts: Sequence[tuple[int, str]]) -> Answer:
        body = json.dumps({"parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]})
        return self._called(multipart_handlers.complete, *self._route(upload), body)

    def abort(self, upload: Upload) -> Answer:
        return self._called(multipart_handlers.abort, *self._route(upload))

    def _called(self, route: Callable[..., object], *args: object) -> Answer:
        """A multipart route's core with the case's settings: ``200``, or its refusal."""
        try:
            route(*args, self._settings, clock=self._clock)
        except SignpostError as refusal:
            return Answer(refusal.status, refusal.code)
        return Answer(200)

    # -- what the storage holds, asked with the provider's own signer

    def _storage(
        self, method: str, key: str, query: Mapping[str, str] = MappingProxyType({})
    ) -> requests.Response:
        url = object_url(self._target.endpoint, key, query)
        return send(method, url, self._target.sign(method, url, key))

    def left_of(self, upload: Upload) -> Answer:
        head = self._storage("HEAD", upload.key)
        if head.status_code == 200:
            return Answer(200, "object stored")
        if head.status_code != 404:
            return answer_of(head)
        listed = answer_of(self._storage("GET", upload.key, {"uploadId": upload.upload_id}))
        return listed._replace(code="upload open") if listed.outcome == STORED else listed

    def clean_up(self) -> list[Leftover]:
        """Abort every upload the case started and delete every key it may have
        written (its own and the case's ``other_keys``); what the storage would
        not remove, as :class:`Leftover`."""
        label = self._target.label
        leftovers = []
        for upload in self.uploads:
            aborted = answer_of(self._storage("DELETE", upload.key, {"uploadId": upload.upload_id}))
            if aborted.status != 204 and aborted.code != "NoSuchUpload":
                leftovers.append(Leftover(label, upload.key, aborted.status, upload.upload_id))
        others = [other for key in self.keys for other in self._case.other_keys(key)]
        for key in dict.fromkeys([*self.keys, *others]):
            deleted = self._storage("DELETE", key)
            if deleted.status_code != 204:
                leftovers.append(Leftover(label, key, deleted.status_code))
        return leftovers
