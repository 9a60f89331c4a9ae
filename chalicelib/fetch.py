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

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

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


class DeadlineExceeded(Unreachable):
    """The whole answer did not arrive by the caller's deadline."""

    def __init__(self) -> None:
        super().__init__("DeadlineExceeded")


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


def _read(response: Any, max_bytes: int, deadline: float | None = None) -> bytes:
    body = b""
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded()
    return body


def _by(deadline: float, work: Callable[[], T]) -> T:
    """``work()``'s result if it ends by ``deadline`` (monotonic seconds).

    Timeouts bound each read, not their sum: a host that sends a byte every
    few seconds, in its headers or its body, never trips one. So the work
    runs in a daemon thread that the caller stops waiting for at the
    deadline; the thread itself gives up at its next read past the deadline
    or its read timeout, whichever comes first.
    """
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as error:  # handed to the caller, whatever it is
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="signpost-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        raise DeadlineExceeded()
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value


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
    deadline: float | None = None,
) -> Reply:
    """Any status's answer, its body at most ``max_bytes``: the caller reads
    a refusal's body too. With ``deadline`` (monotonic seconds), the whole
    answer must have arrived by then. Raises :class:`TooLarge` or
    :class:`Unreachable` (:class:`DeadlineExceeded` past the deadline)."""

    def fetch() -> Reply:
        with _opened(method, url, timeout, headers, body) as response:
            return Reply(response.status_code, _read(response, max_bytes, deadline))

    return fetch() if deadline is None else _by(deadline, fetch)


def leading_bytes(
    url: str,
    *,
    timeout: float | tuple[float, float],
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    deadline: float | None = None,
) -> Head:
    """A GET's first ``max_bytes`` of body, whatever the status, then the
    connection dropped: a host that ignores ``Range`` and sends everything is
    read no further. With ``deadline``, as :func:`bounded_request`. Raises
    :class:`Unreachable` (:class:`DeadlineExceeded` past the deadline)."""

    def fetch() -> Head:
        with _opened("GET", url, timeout, headers, None) as response:
            body = b""
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) >= max_bytes:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise DeadlineExceeded()
            content_type = response.headers.get("Content-Type", "")
            return Head(response.status_code, content_type, body[:max_bytes])

    return fetch() if deadline is None else _by(deadline, fetch)
