"""The one list of conformance cases: what an uploader holding a ticket sends,
and what the storage documents lead us to expect.

Each :class:`Case` turns a ticket into the forms it posts (the last one's
answer counts) and names, per provider, the :class:`Expected` answer with its
source. ``docs/conformance.md`` prints the same table; ``docs/security.md``
says what each added field would do and why signpost does not send it.

Three answers are possible: ``stored`` (the service documents accepting the
form), ``refused`` (it documents refusing it, with the codes it names), and
``either`` (its documents are silent: the dev bucket takes the reading most
permissive to the uploader, and a real bucket tells us which it is).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

STORED = "stored"
REFUSED = "refused"
EITHER = "either"

# A 1x1 PNG: the file every case uploads.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

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
    """What the bucket answered: the status and, for a refusal, the error code."""

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


class Ticketing(NamedTuple):
    """How a case asks for its ticket: settings laid over the run's, and a
    clock set back by ``backdate`` seconds."""

    settings: Mapping[str, str] = MappingProxyType({})
    backdate: int = 0


class Case(NamedTuple):
    name: str
    expected: Mapping[str, Expected]  # by provider: "oss", "s3"
    forms: Forms
    ticketing: Ticketing = Ticketing()
    # Keys besides the ticket's that the case may write (deleted afterwards).
    other_keys: Callable[[Ticket], tuple[str, ...]] = lambda ticket: ()


def other_key(ticket: Ticket) -> str:
    """A key beside the ticket's, under the same random prefix."""
    return str(ticket["key"]).rsplit("/", 1)[0] + "/other.png"


def _as_issued(ticket: Ticket) -> tuple[tuple[str, str], ...]:
    return tuple(ticket["fields"].items())


def issued(content: bytes = PNG) -> Forms:
    return lambda provider, ticket: [Form(_as_issued(ticket), content)]


def changed(
    values: Mapping[str, Callable[[Ticket], str | None]], file_type: str = "image/png"
) -> Forms:
    """The ticket's fields with some values replaced (None leaves one out)."""

    def forms(provider: str, ticket: Ticket) -> list[Form]:
        fields = []
        for name, value in _as_issued(ticket):
            new = values[name](ticket) if name in values else value
            if new is not None:
                fields.append((name, new))
        return [Form(tuple(fields), file_type=file_type)]

    return forms


def _signature_field(ticket: Ticket) -> str:
    return next(
        name
        for name in ("x-oss-signature", "Signature", "x-amz-signature")
        if name in ticket["fields"]
    )


def flipped_signature(ticket: Ticket) -> str:
    signature = str(ticket["fields"][_signature_field(ticket)])
    return signature[:5] + ("1" if signature[5] != "1" else "2") + signature[6:]


def flip_signature() -> Forms:
    return lambda provider, ticket: changed({_signature_field(ticket): flipped_signature})(
        provider, ticket
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


def edited_policy() -> Forms:
    def forms(provider: str, ticket: Ticket) -> list[Form]:
        (form,) = changed({"policy": widened_policy})(provider, ticket)
        return [form._replace(content=PNG * 3)]

    return forms


def twice() -> Forms:
    """The ticket as issued, then again with other bytes of the same size."""
    return lambda provider, ticket: [
        Form(_as_issued(ticket)),
        Form(_as_issued(ticket), bytes(reversed(PNG))),
    ]


def added(**by_provider: tuple[str, str]) -> Forms:
    """The ticket's fields and one more, named for each provider."""

    def forms(provider: str, ticket: Ticket) -> list[Form]:
        return [Form((*_as_issued(ticket), by_provider[provider]))]

    return forms


def repeated(name: str, value: Callable[[Ticket], str]) -> Forms:
    """The ticket's fields and a second ``name`` with another value."""
    return lambda provider, ticket: [Form((*_as_issued(ticket), (name, value(ticket))))]


def both(outcome: str, *codes: str, source: str) -> dict[str, Expected]:
    return {provider: Expected(outcome, codes, source) for provider in ("oss", "s3")}


def unbound(oss: Expected) -> dict[str, Expected]:
    """An added field: OSS's answer as given; S3 refuses any field no condition names."""
    return {"oss": oss, "s3": Expected(REFUSED, ("AccessDenied",), S3_EXTRA_FIELDS)}


POLICY = "OSS PostObject, Appendix: Policy; AWS POST Policy, Condition Matching"
S3_EXTRA_FIELDS = "AWS POST Policy: every form field must appear in the conditions"
OSS_UNCHECKED = "OSS PostObject: fields the policy does not name are not checked"
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
        other_keys=lambda ticket: (other_key(ticket),),
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
        other_keys=lambda ticket: (other_key(ticket),),
    ),
)
