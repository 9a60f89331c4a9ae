"""Bounded requests: how signpost talks to another host.

A GET reads the JWKS of ``JWT_JWKS_URL`` and OSS's callback key; the
multipart routes make their storage calls (:mod:`.storage`). Whoever
controls the answer must not be able to hold the function up, send it
elsewhere or fill its memory: so a short timeout, no redirects (a redirect
would be a host no setting named), and a byte cap counted as the body
streams in, never after. requests is imported inside, by the routes that
fetch only. Each caller words a failure its own way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

CHUNK_BYTES = 4096  # read at a time, so a body is dropped at most this far past the cap


class FetchFailed(Exception):
    """The GET gave no body the caller may use."""


class UnexpectedStatus(FetchFailed):
    """The host answered something other than ``200`` (a redirect included)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class TooLarge(FetchFailed):
    """The body went past the cap; the rest was never read."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class Unreachable(FetchFailed):
    """No answer: a timeout, a refused or broken connection, a TLS error.

    ``error`` is the name of requests' exception, never its text, which can
    quote the URL and the host's answer.
    """

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Reply(NamedTuple):
    """A host's answer: its status and (capped) body."""

    status: int
    body: bytes


class Head(NamedTuple):
    """The start of a host's answer: its status, ``Content-Type`` and first bytes."""

    status: int
    content_type: str
    body: bytes


@contextmanager
def _opened(
    method: str,
    url: str,
    timeout: float | tuple[float, float],
    headers: Mapping[str, str] | None,
    body: bytes | None,
) -> Iterator[Any]:
    """The streamed response; a requests failure, even mid-body, is :class:`Unreachable`."""
    import requests

    try:
        with requests.request(
            method,
            url,
            data=body,
            timeout=timeout,
            stream=True,
            allow_redirects=False,
            headers=dict(headers or {}),
        ) as response:
            yield response
    except requests.RequestException as error:
        raise Unreachable(type(error).__name__) from None


def _read(response: Any, max_bytes: int) -> bytes:
    body = b""
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
    return body


def bounded_get(
    url: str,
    *,
    timeout: float | tuple[float, float],
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The body of ``url``'s ``200`` answer, at most ``max_bytes`` of it.

    ``timeout`` is requests': seconds to connect and between two reads.
    Raises :class:`UnexpectedStatus`, :class:`TooLarge` or :class:`Unreachable`.
    """
    with _opened("GET", url, timeout, headers, None) as response:
        if response.status_code != 200:
            raise UnexpectedStatus(response.status_code)
        return _read(response, max_bytes)


def bounded_request(
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float],
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """Any status's answer, its body at most ``max_bytes``: the caller reads
    a refusal's body too. Raises :class:`TooLarge` or :class:`Unreachable`."""
    with _opened(method, url, timeout, headers, body) as response:
        return Reply(response.status_code, _read(response, max_bytes))


def leading_bytes(
    url: str,
    *,
    timeout: float | tuple[float, float],
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> Head:
    """A GET's first ``max_bytes`` of body, whatever the status, then the
    connection dropped: a host that ignores ``Range`` and sends everything is
    read no further. Raises :class:`Unreachable`."""
    with _opened("GET", url, timeout, headers, None) as response:
        body = b""
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) >= max_bytes:
                break
        return Head(
            response.status_code, response.headers.get("Content-Type", ""), body[:max_bytes]
        )
