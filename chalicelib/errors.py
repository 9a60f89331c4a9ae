"""The refusals ``docs/api.md`` lists, one class per error code.

Each carries the HTTP status and a message meant for a person. The code is the
class name, so ``except InvalidFilename`` and the JSON ``code`` never drift.
"""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape: ``error.code`` and ``error.message``, and the
    message again at the top level, the only place Uppy 5's S3 plugin and
    Companion's clients read a reason from."""
    return {"error": {"code": code, "message": message}, "message": message}


class SignpostError(Exception):
    """A refusal the caller can act on; never carries a secret."""

    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


class InvalidRequest(SignpostError):
    status = 400


class UnknownField(SignpostError):
    status = 400


class InvalidFilename(SignpostError):
    status = 400


class InvalidContentType(SignpostError):
    status = 400


class UnsupportedContentType(SignpostError):
    status = 415


class ContentTypeMismatch(SignpostError):
    status = 400


class EntityTooLarge(SignpostError):
    status = 413


class InvalidSize(SignpostError):
    status = 400


class MissingCredentials(SignpostError):
    status = 401


class AccessDenied(SignpostError):
    status = 403


class AuthUnavailable(SignpostError):
    """The JWKS endpoint cannot be read: an outage, not the caller's fault."""

    status = 503


class NotConfigured(SignpostError):
    """A setting is missing or malformed. Names the variable, never its value."""

    status = 503

    def __init__(self, variable: str, problem: str = "is not set") -> None:
        super().__init__(f"The service is not configured: {variable} {problem}.")
        self.variable = variable


class NotFound(SignpostError):
    """No route at this path: what a platform adapter answers itself,
    since only API Gateway routes by the app's table before calling it."""

    status = 404


class ContentMismatch(SignpostError):
    """The stored bytes are not what the upload declared (``VERIFY_CONTENT``);
    the object was deleted. The message names both types."""

    status = 422

    def __init__(self, message: str, *, declared: str, detected: str) -> None:
        super().__init__(message)
        self.declared = declared
        self.detected = detected


class NoSuchUpload(SignpostError):
    """The storage knows no upload of that ID for that key (SPEC 11): anyone
    can name one, so it is the caller's 404, logged at INFO, not a 502."""

    status = 404


class StorageError(SignpostError):
    """The storage refused or failed one of the function's own calls (multipart).

    The message names the storage's error code, never the request's URL,
    signature or credentials.
    """

    status = 502
