"""PostObject, the form upload, as OSS and S3 both take it; what differs is
asked of the :class:`~devbucket.provider.Provider`.

A form is checked as its file part starts, before a byte of the file is
kept: the signature (the provider's), one value each of the fields that make
it, the policy against the fields (the bucket's name included, as the
service supplies it), the key. The file is then received up to the policy's
size limit, checked against its size range and stored. The answer is
``success_action_status``'s (200, 201 with a ``PostResponse``, or 204), or,
with an OSS upload callback, the callback's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from . import callback, conditions
from .answers import XML, Answer, post_response
from .bucket import Bucket
from .conditions import Policy, PolicyViolation
from .config import DevBucketConfig
from .digests import check_md5
from .errors import ServiceError, access_denied, invalid_argument, required
from .forms import FilePart, FormFields, InvalidField, MalformedForm, Readable, read_form
from .provider import Provider
from .signatures import signing_fields
from .store import AlreadyExists, IncomingObject, InvalidKey, ObjectStore

POST_OBJECT_LIMIT = 5 * 1024**3  # both services' largest form upload
SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}
# Form fields kept as the object's HTTP headers, by lower-case name.
STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}

StorageProblem = MalformedForm | InvalidField | InvalidKey | AlreadyExists


@dataclass(frozen=True)
class Admitted:
    """A form the service lets through: its policy, and the one value each
    field takes effect with (:meth:`~devbucket.conditions.Policy.effective`)."""

    policy: Policy
    fields: dict[str, str]


def refusal(violation: PolicyViolation) -> ServiceError:
    """The code and status both services give a policy violation."""
    if isinstance(violation, conditions.MalformedPolicy):
        return ServiceError(400, "InvalidPolicyDocument", str(violation))
    if isinstance(violation, conditions.EntityTooLarge):
        return ServiceError(400, "EntityTooLarge", str(violation))
    if isinstance(violation, conditions.EntityTooSmall):
        return ServiceError(400, "EntityTooSmall", str(violation))
    return access_denied(str(violation))


def authorize(provider: Provider, form: FormFields, bucket: Bucket, now: datetime) -> Admitted:
    """Everything the service checks before the file: the signature, the
    policy (its conditions over the fields, and every field bound unless the
    provider lets it go unbound), the key's presence."""
    signing = signing_fields(form, provider.SIGNING_FIELDS)
    provider.verify_signature(signing, bucket, now)
    fields = {**form, "bucket": [bucket.name]}
    try:
        policy = conditions.decode_policy(signing["policy"], operators=provider.POLICY_OPERATORS)
        conditions.check_fields(policy, fields, now=now)
        exempt = {name for name in fields if provider.may_go_unbound(name)}
        conditions.check_bound(policy, fields, exempt=exempt)
    except PolicyViolation as violation:
        raise refusal(violation) from None
    effective = policy.effective(fields)
    required(effective, "key")
    return Admitted(policy, effective)


def check_size(policy: Policy, size: int) -> None:
    try:
        conditions.check_size(policy, size)
    except PolicyViolation as violation:
        raise refusal(violation) from None


def check_key(store: ObjectStore, key: str) -> None:
    """A key the dev bucket can hold: the store's rules, and not the folder of
    its own callback key."""
    store.path_for(key)
    if key.startswith(callback.KEY_FOLDER):
        raise InvalidKey(f"The dev bucket keeps {callback.KEY_FOLDER} for its callback key.")


def writable_key(provider: Provider, store: ObjectStore, key: str) -> None:
    """:func:`check_key` for a REST request (a PUT, a multipart upload): the
    service's own code for a key it cannot hold."""
    try:
        check_key(store, key)
    except InvalidKey as error:
        raise storage_refusal(error, provider.INVALID_KEY_CODE) from None


@contextmanager
def committing(
    provider: Provider, incoming: IncomingObject, refusal: ServiceError | None
) -> Iterator[None]:
    """Around a REST request's commit (a PUT, a completion): what the store
    refuses becomes the service's answer (``refusal``, the overwrite guard's,
    for a key that is taken), and the received bytes are dropped either way."""
    try:
        yield
    except AlreadyExists:
        raise refusal or storage_refusal(AlreadyExists(), provider.INVALID_KEY_CODE) from None
    except InvalidKey as error:
        raise storage_refusal(error, provider.INVALID_KEY_CODE) from None
    finally:
        incoming.discard()


def storage_refusal(error: StorageProblem, invalid_key_code: str) -> ServiceError:
    """The code and status for what the form reader or the store refused;
    the services name a key they cannot hold differently."""
    if isinstance(error, MalformedForm):
        return ServiceError(
            400,
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {error}",
        )
    if isinstance(error, InvalidKey):
        return ServiceError(400, invalid_key_code, f"The specified object is not valid. {error}")
    if isinstance(error, AlreadyExists):
        return ServiceError(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
    return invalid_argument(str(error))


def object_headers(provider: Provider, fields: Mapping[str, str]) -> dict[str, str]:
    """The HTTP headers the object is served with: standard ones, user
    metadata and the service's own (when set)."""
    headers = {
        STORED_HEADERS[name]: value for name, value in fields.items() if name in STORED_HEADERS
    }
    headers.update(
        {name: value for name, value in fields.items() if name.startswith(provider.META_PREFIX)}
    )
    headers.update({name: fields[name] for name in provider.SERVICE_HEADERS if fields.get(name)})
    return headers


def success(
    fields: Mapping[str, str], bucket: Bucket, key: str, location: str, etag: str
) -> Answer:
    """The answer to a stored upload: ``success_action_status`` 200 or 204
    with no body, 201 with a ``PostResponse``; anything else is 204."""
    status = SUCCESS_STATUSES.get(fields.get("success_action_status", ""), 204)
    if status != 201:
        return Answer(status, headers={"ETag": etag})
    document = post_response(location, bucket.name, key, etag)
    return Answer(status, document, {"ETag": etag, "Content-Type": XML})


class _PostObject:
    """One form upload: checked when the file part starts, stored when it ends."""

    def __init__(
        self, provider: Provider, bucket: Bucket, store: ObjectStore, now: datetime
    ) -> None:
        self.provider = provider
        self.bucket = bucket
        self.store = store
        self.now = now
        self.policy: Policy | None = None
        self.fields: dict[str, str] = {}  # one value each, as the upload takes effect
        self.part: FilePart | None = None
        self.incoming: IncomingObject | None = None
        self.callback: callback.Callback | None = None
        self.overwrite = True  # whether the upload may replace an object

    def accept(self, form: FormFields, part: FilePart) -> IncomingObject:
        """Everything but the size, before a byte of the file is kept."""
        admitted = authorize(self.provider, form, self.bucket, self.now)
        self.policy, self.fields = admitted.policy, admitted.fields
        fields = self.fields
        check_key(self.store, fields["key"])
        self.callback = self.provider.upload_callback(fields)
        self.overwrite = not self.provider.forbids_overwrite(fields)
        limit = self.policy.size_limit(POST_OBJECT_LIMIT)
        self.part = part
        self.incoming = self.store.receive(limit, lambda: refusal(conditions.EntityTooLarge()))
        return self.incoming

    def finish(self) -> callback.Stored:
        """The size, then the store; what was stored."""
        assert self.policy is not None
        assert self.part is not None
        assert self.incoming is not None
        fields = self.fields
        check_size(self.policy, self.incoming.size)
        md5_field = self.provider.MD5_FIELD
        if md5_field and md5_field in fields:
            check_md5(fields[md5_field], self.incoming.md5_hex)
        key = fields["key"]
        content_type = self.provider.content_type(fields, self.part, key)
        self.store.commit(
            self.incoming,
            key,
            content_type,
            object_headers(self.provider, fields),
            overwrite=self.overwrite,
        )
        etag = self.incoming.md5_hex.upper()
        return callback.Stored(self.bucket.name, key, etag, self.incoming.size, content_type)

    def discard(self) -> None:
        if self.incoming is not None:
            self.incoming.discard()


def post_object(
    form: Readable,
    length: int,
    content_type: str,
    *,
    config: DevBucketConfig,
    store: ObjectStore,
    callback_key: callback.CallbackKey,
    key_url: str,
    base_url: str,
) -> Answer:
    """PostObject: check the ``length`` bytes of ``form`` as the provider does,
    then store the file. ``key_url`` is where the bucket serves its callback
    key, ``base_url`` the bucket's address as the uploader named it."""
    provider, bucket = config.rules, config.served_bucket
    post = _PostObject(provider, bucket, store, config.clock())
    try:
        read_form(form, length, content_type, post.accept)
        stored = post.finish()
    except (MalformedForm, InvalidField, InvalidKey, AlreadyExists) as error:
        raise storage_refusal(error, provider.INVALID_KEY_CODE) from None
    finally:
        post.discard()
    key, etag = stored.key, provider.etag(stored.etag)  # OSS upper-case, S3 lower-case
    if post.callback is not None:  # OSS answers with the callback's answer
        answer = callback.perform(
            post.callback, stored, post.fields, callback_key, key_url, allowed=config.callback_urls
        )
        return Answer(200, answer, {"ETag": etag, "Content-Type": "application/json"})
    return success(post.fields, bucket, key, f"{base_url}/{quote(key)}", etag)
