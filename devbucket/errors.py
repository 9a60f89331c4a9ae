"""A refusal as the storage service words it: every module of the dev bucket
raises :class:`ServiceError`, and the server answers it as the service's XML
error document (:mod:`devbucket.answers`). Imports nothing from the package,
so any module may use it.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A refusal as the service words it: HTTP status, error code, message."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # More elements of the error document, after Message (an expired URL's Expires...).
        self.details: Mapping[str, str] = details or {}


def access_denied(message: str) -> ServiceError:
    return ServiceError(403, "AccessDenied", message)


def invalid_argument(message: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", message)


def request_time_too_skewed() -> ServiceError:
    return ServiceError(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )


def malformed_xml() -> ServiceError:
    return ServiceError(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published "
        "schema.",
    )


def no_such_upload() -> ServiceError:
    return ServiceError(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
    )


def required(fields: Mapping[str, str], name: str) -> str:
    """The form field ``name``'s value; ``InvalidArgument`` if it is absent or empty."""
    value = fields.get(name)
    if not value:
        raise invalid_argument(f"The form field {name} is required.")
    return value
