"""The one bounded GET (JWKS and callback keys): status, redirects, timeouts, the cap.

The host is faked with ``responses``; each caller's own wording of these
failures is tested with the caller (tests/app/test_auth.py, test_callback.py).
"""

from __future__ import annotations

import io

import pytest
import requests
import responses

from chalicelib.fetch import CHUNK_BYTES, TooLarge, UnexpectedStatus, Unreachable, bounded_get

URL = "https://keys.example.com/jwks.json"
ELSEWHERE = "https://elsewhere.example.com/jwks.json"
TIMEOUT = (2.0, 3.0)


class CountingStream(io.RawIOBase):
    """A body of ``size`` bytes that counts how much of it was read, and can
    break after ``fail_after`` bytes the way a dropped connection does."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self.size, self.served, self.fail_after = size, 0, fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.served >= self.fail_after:
            raise TimeoutError("timed out")
        count = min(len(buffer), self.size - self.served)
        buffer[:count] = b"k" * count
        self.served += count
        return count


def get(max_bytes: int = 64 * 1024) -> bytes:
    return bounded_get(URL, timeout=TIMEOUT, max_bytes=max_bytes)


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 3 * CHUNK_BYTES + 7])
def test_a_200_body_up_to_the_cap_is_returned_whole(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with responses.RequestsMock() as mock:
        mock.get(URL, body=body)
        assert get(max_bytes=size) == body


def test_the_request_streams_within_the_timeout_with_its_headers() -> None:
    with responses.RequestsMock() as mock:
        mock.get(URL, body=b"{}")
        bounded_get(URL, timeout=TIMEOUT, max_bytes=10, headers={"Accept": "application/json"})
        sent = mock.calls[0].request
    assert sent.req_kwargs["timeout"] == TIMEOUT
    assert sent.req_kwargs["stream"] is True
    assert sent.headers["Accept"] == "application/json"


@pytest.mark.parametrize("status", [201, 204, 206, 304, 400, 403, 404, 500, 503])
def test_any_status_but_200_is_refused(status: int) -> None:
    with responses.RequestsMock() as mock:
        mock.get(URL, status=status, body=b"{}")
        with pytest.raises(UnexpectedStatus) as failure:
            get()
    assert failure.value.status == status


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed(status: int) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(URL, status=status, headers={"Location": ELSEWHERE})
        elsewhere = mock.get(ELSEWHERE, body=b"{}")
        with pytest.raises(UnexpectedStatus) as failure:
            get()
        assert elsewhere.call_count == 0
    assert failure.value.status == status


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectTimeout(f"connect to {URL} timed out"),
        requests.exceptions.ReadTimeout(f"read from {URL} timed out"),
        requests.exceptions.ConnectionError(f"{URL} refused"),
        requests.exceptions.SSLError(f"certificate of {URL} is not trusted"),
    ],
    ids=["connect-timeout", "read-timeout", "refused", "tls"],
)
def test_no_answer_is_unreachable_naming_the_error_not_its_text(error: Exception) -> None:
    with responses.RequestsMock() as mock:
        mock.get(URL, body=error)
        with pytest.raises(Unreachable) as failure:
            get()
    assert failure.value.error == type(error).__name__
    assert "example.com" not in str(failure.value)


def test_a_body_that_breaks_off_midway_is_unreachable() -> None:
    stream = CountingStream(10 * CHUNK_BYTES, fail_after=2 * CHUNK_BYTES)
    with responses.RequestsMock() as mock:
        mock.get(URL, body=io.BufferedReader(stream))
        with pytest.raises(Unreachable):
            get(max_bytes=100 * CHUNK_BYTES)


def test_the_cap_counts_every_chunk_and_stops_reading() -> None:
    """Each chunk is under the cap, their sum is not: refused, and the rest of
    a large body is never read."""
    cap = 3 * CHUNK_BYTES
    stream = CountingStream(1024 * CHUNK_BYTES)
    with responses.RequestsMock() as mock:
        mock.get(URL, body=io.BufferedReader(stream))
        with pytest.raises(TooLarge) as failure:
            get(max_bytes=cap)
    assert failure.value.max_bytes == cap
    assert stream.served < 32 * CHUNK_BYTES


def test_one_byte_over_the_cap_is_too_large() -> None:
    with responses.RequestsMock() as mock:
        mock.get(URL, body=b"k" * (2 * CHUNK_BYTES + 1))
        with pytest.raises(TooLarge):
            get(max_bytes=2 * CHUNK_BYTES)
