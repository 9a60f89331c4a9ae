"""What one storage service does its own way, as the dev bucket's operations
ask it: :mod:`devbucket.oss` and :mod:`devbucket.s3` are each a
:class:`Provider` (a module with these names). What both services do alike
is written once, where it is used: the form upload in
:mod:`devbucket.postobject`, the signatures in :mod:`devbucket.signatures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from .bucket import Bucket
from .callback import Callback
from .errors import ServiceError
from .forms import FilePart
from .signatures import RestScheme


class Provider(Protocol):
    """A service's names, codes and form rules; the operations call it, never
    a service by name."""

    # The header that names the request in every answer.
    REQUEST_ID_HEADER: str
    # How a REST request (the Authorization header) is signed.
    REST: RestScheme
    # The form fields a form signature is made of: one value each.
    SIGNING_FIELDS: tuple[str, ...]
    # The operators a POST policy's conditions may use.
    POLICY_OPERATORS: frozenset[str]
    # The code of an object key the service cannot hold.
    INVALID_KEY_CODE: str
    # The prefix of user metadata fields, served back as the object's headers.
    META_PREFIX: str
    # The service's own fields served back as the object's headers, when set.
    SERVICE_HEADERS: tuple[str, ...]
    # The smallest a multipart upload's part may be, but the last.
    MIN_PART_SIZE: int
    # The namespace of the service's XML answers (S3's), or None (OSS).
    XML_NAMESPACE: str | None
    # The header of CompleteMultipartUpload that states the object's size, if any.
    OBJECT_SIZE_HEADER: str | None
    # The form field the file's MD5 is checked against (S3's Content-MD5), if any.
    MD5_FIELD: str | None
    # Whether the initiation's own headers may refuse a key that is taken.
    OVERWRITE_CHECKED_AT_INITIATION: bool

    def new_upload_id(self) -> str:
        """A multipart upload id, as the service makes them."""

    def etag(self, digest: str) -> str:
        """An ETag header's value for a hex ``digest``, in the service's case."""

    def default_type(self, key: str) -> str:
        """The type of an object uploaded without one."""

    def overwrite_refusal(self, headers: Mapping[str, str]) -> ServiceError | None:
        """The error a completion (or, where :data:`OVERWRITE_CHECKED_AT_INITIATION`,
        an initiation) with ``headers`` gets if the key exists; None when it
        may replace the object."""

    def verify_signature(self, signing: Mapping[str, str], bucket: Bucket, now: datetime) -> None:
        """The form's signature, from its :data:`SIGNING_FIELDS`; a ServiceError if wrong."""

    def may_go_unbound(self, name: str) -> bool:
        """Whether the form field ``name`` may be there without a policy condition."""

    def forbids_overwrite(self, fields: Mapping[str, str]) -> bool:
        """Whether the form forbids replacing an object of the same key."""

    def content_type(self, fields: Mapping[str, str], part: FilePart, key: str) -> str:
        """The stored object's type."""

    def strict_ranges(self, headers: Mapping[str, str]) -> bool:
        """Whether a GET's ``Range`` is read as RFC 9110 reads it (:mod:`devbucket.ranges`)."""

    def upload_callback(self, fields: Mapping[str, str]) -> Callback | None:
        """The form's upload callback, checked before the file is stored; None without one."""
