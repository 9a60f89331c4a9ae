"""One bounded GET: how signpost reads a key from another host.

Used for the JWKS of ``JWT_JWKS_URL`` and for OSS's callback key. Whoever
controls the answer must not be able to hold the function up, send it
elsewhere or fill its memory: so a short timeout, no redirects (a redirect
would be a host no setting named), and a byte cap counted as the body
streams in, never after. requests is imported inside, by the routes that
fetch only. Each caller words a failure its own way.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    import requests

    try:
        with requests.get(
            url, timeout=timeout, stream=True, allow_redirects=False, headers=dict(headers or {})
        ) as response:
            if response.status_code != 200:
                raise UnexpectedStatus(response.status_code)
            body = b""
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(max_bytes)
    except requests.RequestException as error:
        raise Unreachable(type(error).__name__) from None
    return body
