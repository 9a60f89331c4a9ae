"""The one list of conformance cases: what an uploader holding a ticket, or
an upload in parts, sends, and what the storage documents lead us to expect.

Each :class:`Case` is what an :class:`Uploader` does (post forms for a
ticket; start an upload, put parts to the URLs the function signs, complete,
abort) and the answer that counts; it names, per provider, the
:class:`Expected` answer with its source. ``docs/conformance.md`` prints the
same table; ``docs/security.md`` says what each added field would do and why
signpost does not send it.

Three answers are possible: ``stored`` (the service documents accepting the
form), ``refused`` (it documents refusing it, with the codes it names), and
``either`` (its documents are silent: the dev bucket takes the reading most
permissive to the uploader, and a real bucket tells us which it is).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

STORED = "stored"
REFUSED = "refused"
EITHER = "either"

# A 1x1 PNG: the file every form case uploads, and the part the part cases put.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

# The PNG's Content-MD5, and bytes of its length with another digest (the last bit flipped).
PNG_MD5 = base64.b64encode(hashlib.md5(PNG).digest()).decode()
FLIPPED_PNG = PNG[:-1] + bytes([PNG[-1] ^ 1])

Ticket = Mapping[str, Any]  # as POST /upload-tickets answers it


class Expected(NamedTuple):
    """What the documents lead us to expect; ``codes``: the error codes they
    name for a refusal (any 4xx agrees when empty)."""

    outcome: str
    codes: tuple[str, ...] = ()
    source: str = ""

    def __str__(self) -> str:
        return f"{self.outcome} {'|'.join(self.codes)}".strip()


class Answer(NamedTuple):
    """What the bucket answered: the status and, for a refusal, the error code
    (for an answer that stored, what was found, when a case looks)."""

    status: int
    code: str = ""

    @property
    def outcome(self) -> str:
        return STORED if self.status < 400 else REFUSED

    def __str__(self) -> str:
        return f"{self.status} {self.code or self.outcome}"


def agrees(expected: Expected, answer: Answer) -> bool | None:
    """Whether ``answer`` is what the documents say; None where they are silent."""
    if expected.outcome == EITHER:
        return None
    if answer.outcome != expected.outcome:
        return False
    return expected.outcome == STORED or not expected.codes or answer.code in expected.codes


def dev_bucket_answer(expected: Expected) -> str:
    """The outcome the dev bucket must give: the documented one, or where the
    documents are silent the one most permissive to an uploader."""
    return STORED if expected.outcome == EITHER else expected.outcome


class Form(NamedTuple):
    """One POST: the fields in order (repeats allowed), then the file."""

    fields: tuple[tuple[str, str], ...]
    content: bytes = PNG
    file_type: str = "image/png"


Forms = Callable[[str, Ticket], list[Form]]  # (provider, ticket) -> the posts


class Upload(NamedTuple):
    """An upload in parts, as the function's ``POST /s3/multipart`` answers it."""

    key: str
    upload_id: str


class Uploader(Protocol):
    """What a case may do, with signpost's own core for the function's part
    and HTTP for the browser's (:class:`conformance.attempts.Attempt`)."""

    @property
    def provider(self) -> str: ...

    def ticket(self, content_md5: str | None = None) -> Ticket:
        """``POST /upload-tickets`` for :data:`PNG` (with ``content_md5`` if given)."""

    def put_ticket(self, content_md5: str | None) -> Ticket:
        """``POST /upload-tickets`` for :data:`PNG` with ``UPLOAD_METHOD=put``."""

    def post(self, url: str, form: Form) -> Answer:
        """The browser's form ``POST``."""

    def create(self) -> Upload:
        """``POST /s3/multipart`` for a PNG."""

    def part_url(self, upload: Upload, number: int) -> str:
        """``GET /s3/multipart/{uploadId}/{number}``: the URL the function signs."""

    def put(self, url: str, content: bytes, headers: Mapping[str, str] = ...) -> Answer:
        """The browser's ``PUT`` of a part (no headers) or of a PUT ticket's file."""

    def put_part(self, upload: Upload, number: int, content: bytes) -> tuple[int, str]:
        """A part put to the URL the function signs: its number and ``ETag``."""

    def complete(self, upload: Upload, parts: Sequence[tuple[int, str]]) -> Answer:
        """``POST /s3/multipart/{uploadId}/complete``: the function's answer."""

    def abort(self, upload: Upload) -> Answer:
        """``DELETE /s3/multipart/{uploadId}``: the function's answer."""

    def left_of(self, upload: Upload) -> Answer:
        """What the storage holds of ``upload`` now: the object if it was stored
        (``200 object stored``), else ListParts' answer (``404 NoSuchUpload``
        once it is gone, ``200 upload open`` while it is not)."""


Tries = Callable[[Uploader], Answer]  # what a case does; the answer that counts


class Ticketing(NamedTuple):
    """How a case calls the function: settings laid over the run's, and a
    clock set back by ``backdate`` seconds."""

    settings: Mapping[str, str] = MappingProxyType({})
    backdate: int = 0


def beside(key: str) -> str:
    """A key beside ``key``, under the same random prefix."""
    return key.rsplit("/", 1)[0] + "/other.png"


def and_beside(key: str) -> tuple[str, ...]:
    """``other_keys`` of a case that may write beside its own key."""
    return (beside(key),)


class Case(NamedTuple):
    name: str
    expected: Mapping[str, Expected]  # by provider: "oss", "s3"
    tries: Tries
    ticketing: Ticketing = Ticketing()
    # Keys besides the case's own that it may write (deleted afterwards).
    other_keys: Callable[[str], tuple[str, ...]] = lambda key: ()
    # An upload in parts: run on the targets that sign multipart requests (not OSS V1).
    multipart: bool = False

    def runs_on(self, provider: str, multipart: bool) -> bool:
        """Whether the case runs on a target: one of its providers (PUT tickets and
        ``content_md5`` forms are S3's alone), signing multipart if it needs that."""
        return provider in self.expected and (multipart or not self.multipart)


# -- forms --------------------------------------------------------------------


def other_key(ticket: Ticket) -> str:
    return beside(str(ticket["key"]))


def _as_issued(ticket: Ticket) -> tuple[tuple[str, str], ...]:
    return tuple(ticket["fields"].items())


def _changed(
    ticket: Ticket, values: Mapping[str, Callable[[Ticket], str | None]]
) -> tuple[tuple[str, str], ...]:
    """The ticket's fields with some values replaced (None leaves one out)."""
    fields = []
    for name, value in _as_issued(ticket):
        new = values[name](ticket) if name in values else value
        if new is not None:
            fields.append((name, new))
    return tuple(fields)


def posting(forms: Forms) -> Tries:
    """Post ``forms`` for a fresh ticket, as a browser would; the last answer counts."""

    def tries(uploader: Uploader) -> Answer:
        ticket = uploader.ticket()
        answer = Answer(0)
        for form in forms(uploader.provider, ticket):
            answer = uploader.post(str(ticket["url"]), form)
        return answer

    return tries


def issued(content: bytes = PNG) -> Tries:
    return posting(lambda provider, ticket: [Form(_as_issued(ticket), content)])


def changed(
    values: Mapping[str, Callable[[Ticket], str | None]], file_type: str = "image/png"
) -> Tries:
    return posting(lambda provider, ticket: [Form(_changed(ticket, values), file_type=file_type)])


def _signature_field(ticket: Ticket) -> str:
    return next(
        name
        for name in ("x-oss-signature", "Signature", "x-amz-signature")
        if name in ticket["fields"]
    )


def flipped_signature(ticket: Ticket) -> str:
    signature = str(ticket["fields"][_signature_field(ticket)])
    return signature[:5] + ("1" if signature[5] != "1" else "2") + signature[6:]


def flip_signature() -> Tries:
    return posting(
        lambda provider, ticket: [
            Form(_changed(ticket, {_signature_field(ticket): flipped_signature}))
        ]
    )


def widened_policy(ticket: Ticket) -> str:
    """The ticket's policy with its size range widened: an edit after signing."""
    document = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    document["conditions"] = [
        ["content-length-range", 1, 10**9]
        if isinstance(condition, list) and condition[0] == "content-length-range"
        else condition
        for condition in document["conditions"]
    ]
    return base64.b64encode(json.dumps(document).encode()).decode()


def edited_policy() -> Tries:
    """The policy widened after signing, and a file only the wider range allows."""
    return posting(
        lambda provider, ticket: [Form(_changed(ticket, {"policy": widened_policy}), PNG * 3)]
    )


def twice() -> Tries:
    """The ticket as issued, then again with other bytes of the same size."""
    return posting(
        lambda provider, ticket: [
            Form(_as_issued(ticket)),
            Form(_as_issued(ticket), bytes(reversed(PNG))),
        ]
    )


def added(**by_provider: tuple[str, str]) -> Tries:
    """The ticket's fields and one more, named for each provider."""
    return posting(lambda provider, ticket: [Form((*_as_issued(ticket), by_provider[provider]))])


def repeated(name: str, value: Callable[[Ticket], str]) -> Tries:
    """The ticket's fields and a second ``name`` with another value."""
    return posting(lambda provider, ticket: [Form((*_as_issued(ticket), (name, value(ticket))))])


# -- PUT tickets (UPLOAD_METHOD=put) and content_md5 -------------------------


def put_as(
    *,
    content: bytes = PNG,
    headers: Callable[[Mapping[str, str]], Mapping[str, str]] = dict,
    url: Callable[[Ticket], str] = lambda ticket: str(ticket["url"]),
    content_md5: str | None = PNG_MD5,
    again: bytes | None = None,
) -> Tries:
    """A PUT ticket for :data:`PNG`, then a ``PUT`` of ``content`` to ``url(ticket)``
    with ``headers(ticket's headers)``; ``again``: a second ``PUT`` of those bytes."""

    def tries(uploader: Uploader) -> Answer:
        ticket = uploader.put_ticket(content_md5)
        sent, target = headers(ticket["headers"]), url(ticket)
        answer = uploader.put(target, content, sent)
        if again is not None:
            answer = uploader.put(target, again, sent)
        return answer

    return tries


def tampered_url(ticket: Ticket) -> str:
    """The ticket's URL with one hex digit of its signature changed."""
    url = str(ticket["url"])
    return url[:-1] + ("1" if url[-1] != "1" else "2")


def moved_url(ticket: Ticket) -> str:
    return moved(str(ticket["url"]), str(ticket["key"]), beside(str(ticket["key"])))


def posted_with_md5(content: bytes) -> Tries:
    """A form ticket for :data:`PNG` with its ``content_md5``; ``content`` posted."""

    def tries(uploader: Uploader) -> Answer:
        ticket = uploader.ticket(PNG_MD5)
        return uploader.post(str(ticket["url"]), Form(_as_issued(ticket), content))

    return tries


# -- uploads in parts ---------------------------------------------------------

MiB = 1024 * 1024
# "completion over the limit": the limit is laid over the run's for this case
# only; a first part S3 takes as a non-last part (5 MiB, OSS: 100 KB), a small
# last one, and the two together over it. Were the function to complete them,
# the storage would store them: the case shows it.
OVER_THE_LIMIT = (5 * MiB, 2048)
LIMIT = 5 * MiB + 1024


def moved(url: str, key: str, other: str) -> str:
    """``url`` (a part URL for ``key``) with its path naming ``other`` instead."""
    split, encoded = urlsplit(url), quote(key, safe="/")
    if not split.path.endswith(encoded):
        raise ValueError(f"the part URL's path does not end in its key {key!r}")
    path = split.path.removesuffix(encoded) + quote(other, safe="/")
    return urlunsplit(split._replace(path=path))


def part_for_another_key(uploader: Uploader) -> Answer:
    """A part URL the function signed for its key, put to the key beside it."""
    upload = uploader.create()
    url = uploader.part_url(upload, 1)
    return uploader.put(moved(url, upload.key, beside(upload.key)), PNG)


def part_after_abort(uploader: Uploader) -> Answer:
    """An upload aborted through the function, then a part on a freshly signed URL."""
    upload = uploader.create()
    uploader.abort(upload)
    return uploader.put(uploader.part_url(upload, 1), PNG)


def completion_over_the_limit(uploader: Uploader) -> Answer:
    """Parts over the limit, completed through the function (which refuses,
    413 EntityTooLarge, and aborts); what the storage holds afterwards counts."""
    upload = uploader.create()
    parts = [
        uploader.put_part(upload, number, bytes(size))
        for number, size in enumerate(OVER_THE_LIMIT, 1)
    ]
    uploader.complete(upload, parts)
    return uploader.left_of(upload)


# "markup in parts": HTML uploaded as a PNG, in one part.
MARKUP = b"<!DOCTYPE html><html><script>alert(document.domain)</script></html>"


def markup_in_parts(uploader: Uploader) -> Answer:
    """HTML in one part of a PNG upload, completed through the function with
    ``VERIFY_CONTENT=on`` (which reads the object, answers 422 ContentMismatch
    and deletes it); what the storage holds afterwards counts."""
    upload = uploader.create()
    uploader.complete(upload, [uploader.put_part(upload, 1, MARKUP)])
    return uploader.left_of(upload)


def both(outcome: str, *codes: str, source: str) -> dict[str, Expected]:
    return {provider: Expected(outcome, codes, source) for provider in ("oss", "s3")}


def unbound(oss: Expected) -> dict[str, Expected]:
    """An added field: OSS's answer as given; S3 refuses any field no condition names."""
    return {"oss": oss, "s3": Expected(REFUSED, ("AccessDenied",), S3_EXTRA_FIELDS)}


POLICY = "OSS PostObject, Appendix: Policy; AWS POST Policy, Condition Matching"
S3_EXTRA_FIELDS = "AWS POST Policy: every form field must appear in the conditions"
OSS_UNCHECKED = "OSS PostObject: fields the policy does not name are not checked"
PART_SIGNATURE = "OSS 0002-00000201, 0002-00000040; AWS query authentication, error responses"
NO_SUCH_UPLOAD = "OSS 0017-00000244; AWS UploadPart, ListParts, AbortMultipartUpload"
PUT_SIGNATURE = "AWS query authentication: each signed header as signed; error responses"
S3_MD5 = "AWS PutObject / POST Object: Content-MD5 checked; error responses (BadDigest)"
S3_CONDITIONAL = "AWS conditional writes: If-None-Match: * on an existing key"
S3_UNSIGNED = "AWS query authentication: x-amz-* headers sent must be signed"


def s3_only(outcome: str, *codes: str, source: str) -> dict[str, Expected]:
    """A case S3 alone runs: signpost signs no OSS PUT, and OSS forms take no Content-MD5."""
    return {"s3": Expected(outcome, codes, source)}


# A callback OSS cannot reach: it would answer 203 CallbackFailed and keep the object.
UNREACHABLE_CALLBACK = base64.b64encode(
    json.dumps({"callbackUrl": "http://127.0.0.1:9/", "callbackBody": "bucket=${bucket}"}).encode()
).decode()

CASES: tuple[Case, ...] = (
    Case("good upload", both(STORED, source="the ticket as issued"), issued()),
    Case(
        "other key",
        both(REFUSED, "AccessDenied", source=POLICY),
        changed({"key": other_key}),
        other_keys=and_beside,
    ),
    Case(
        "other type",
        both(REFUSED, "AccessDenied", source=POLICY),
        changed({"Content-Type": lambda ticket: "text/html"}, file_type="text/html"),
    ),
    Case(
        "inline disposition",
        both(REFUSED, "AccessDenied", source=POLICY),
        changed({"Content-Disposition": lambda ticket: "inline"}),
    ),
    Case(
        "one byte more",
        both(REFUSED, "EntityTooLarge", source="content-length-range, both services"),
        issued(PNG + b"\0"),
    ),
    Case(
        "expired",
        both(REFUSED, "AccessDenied", source="policy expiration, both services"),
        issued(),
        Ticketing({"EXPIRE_SECONDS": "1"}, backdate=30),
    ),
    Case(
        "flipped signature",
        {
            "oss": Expected(
                REFUSED, ("AccessDenied", "SignatureDoesNotMatch"), "OSS POST signature"
            ),
            "s3": Expected(REFUSED, ("SignatureDoesNotMatch",), "AWS SigV4 POST authentication"),
        },
        flip_signature(),
    ),
    Case(
        "edited policy",
        {
            "oss": Expected(
                REFUSED, ("AccessDenied", "SignatureDoesNotMatch"), "OSS POST signature"
            ),
            "s3": Expected(REFUSED, ("SignatureDoesNotMatch",), "AWS SigV4 POST authentication"),
        },
        edited_policy(),
    ),
    Case(
        "no policy",
        {
            "oss": Expected(
                REFUSED, ("InvalidArgument", "AccessDenied"), "OSS PostObject error codes"
            ),
            "s3": Expected(REFUSED, (), "AWS SigV4 POST authentication: policy is required"),
        },
        changed({"policy": lambda ticket: None}),
    ),
    Case(
        "overwrite",
        {
            "oss": Expected(
                REFUSED, ("FileAlreadyExists",), "OSS PostObject: x-oss-forbid-overwrite"
            ),
            "s3": Expected(STORED, (), "AWS POST Object: the last write wins"),
        },
        twice(),
    ),
    Case(
        "+ x-oss-meta-* / x-amz-meta-*",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(oss=("x-oss-meta-note", "added"), s3=("x-amz-meta-note", "added")),
    ),
    Case(
        "+ Cache-Control",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(**dict.fromkeys(("oss", "s3"), ("Cache-Control", "public, max-age=31536000"))),
    ),
    Case(
        "+ Content-Encoding",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(**dict.fromkeys(("oss", "s3"), ("Content-Encoding", "gzip"))),
    ),
    Case(
        "+ Expires",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(**dict.fromkeys(("oss", "s3"), ("Expires", "Thu, 01 Jan 2099 00:00:00 GMT"))),
    ),
    Case(
        "+ public-read ACL",
        unbound(Expected(EITHER, (), "OSS: silent on oss:PutObjectAcl for PostObject")),
        added(oss=("x-oss-object-acl", "public-read"), s3=("acl", "public-read")),
    ),
    Case(
        "+ storage class",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(oss=("x-oss-storage-class", "IA"), s3=("x-amz-storage-class", "STANDARD_IA")),
    ),
    Case(
        "+ server-side encryption",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(
            oss=("x-oss-server-side-encryption", "AES256"),
            s3=("x-amz-server-side-encryption", "AES256"),
        ),
    ),
    Case(
        "+ success_action_redirect",
        unbound(Expected(STORED, (), OSS_UNCHECKED)),
        added(**dict.fromkeys(("oss", "s3"), ("success_action_redirect", "https://example.com/"))),
    ),
    Case(
        "+ callback",
        unbound(Expected(EITHER, (), "OSS Callback: silent on an unreachable URL")),
        added(**dict.fromkeys(("oss", "s3"), ("callback", UNREACHABLE_CALLBACK))),
    ),
    Case(
        "repeated key",
        both(EITHER, source="silent in both: which value is checked, which kept"),
        repeated("key", other_key),
        other_keys=and_beside,
    ),
    Case(
        "part URL for another key",
        both(REFUSED, "SignatureDoesNotMatch", source=PART_SIGNATURE),
        part_for_another_key,
        other_keys=and_beside,
        multipart=True,
    ),
    Case(
        "part after abort",
        both(REFUSED, "NoSuchUpload", source=NO_SUCH_UPLOAD),
        part_after_abort,
        multipart=True,
    ),
    Case(
        "completion over the limit",
        both(REFUSED, "NoSuchUpload", source=f"signpost's own limit, then {NO_SUCH_UPLOAD}"),
        completion_over_the_limit,
        Ticketing({"MAX_UPLOAD_BYTES": str(LIMIT)}),
        multipart=True,
    ),
    Case("PUT: good", s3_only(STORED, source="the PUT ticket as issued"), put_as()),
    Case(
        "PUT: other type",
        s3_only(REFUSED, "SignatureDoesNotMatch", source=PUT_SIGNATURE),
        put_as(headers=lambda sent: {**sent, "Content-Type": "text/html"}),
    ),
    Case(
        "PUT: other length",
        s3_only(REFUSED, "SignatureDoesNotMatch", source=PUT_SIGNATURE),
        put_as(content=PNG + b"\0", content_md5=None),
    ),
    Case(
        "PUT: flipped MD5",
        s3_only(REFUSED, "BadDigest", source=S3_MD5),
        put_as(content=FLIPPED_PNG),
    ),
    Case(
        "PUT: overwrite",
        s3_only(REFUSED, "PreconditionFailed", source=S3_CONDITIONAL),
        put_as(content_md5=None, again=FLIPPED_PNG),
    ),
    Case(
        "PUT: expired",
        s3_only(REFUSED, "AccessDenied", source="AWS query authentication: X-Amz-Expires"),
        put_as(),
        Ticketing({"EXPIRE_SECONDS": "1"}, backdate=30),
    ),
    Case(
        "PUT: tampered URL",
        s3_only(REFUSED, "SignatureDoesNotMatch", source=PUT_SIGNATURE),
        put_as(url=tampered_url),
    ),
    Case(
        "PUT: other key",
        s3_only(REFUSED, "SignatureDoesNotMatch", source=PUT_SIGNATURE),
        put_as(url=moved_url),
        other_keys=and_beside,
    ),
    Case(
        "PUT: + unsigned x-amz-acl",
        s3_only(REFUSED, "AccessDenied", source=S3_UNSIGNED),
        put_as(headers=lambda sent: {**sent, "x-amz-acl": "public-read"}),
    ),
    Case(
        "content_md5 form",
        s3_only(STORED, source="AWS POST Object: the Content-MD5 field"),
        posted_with_md5(PNG),
    ),
    Case(
        "content_md5 form, other bytes",
        s3_only(REFUSED, "BadDigest", source=S3_MD5),
        posted_with_md5(FLIPPED_PNG),
    ),
    Case(
        "markup in parts",
        both(
            REFUSED,
            "NoSuchUpload",
            source=f"signpost's VERIFY_CONTENT check, then {NO_SUCH_UPLOAD}",
        ),
        markup_in_parts,
        Ticketing({"VERIFY_CONTENT": "on"}),
        multipart=True,
    ),
)
