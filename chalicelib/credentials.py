"""Access keys, kept out of reprs and logs."""

from __future__ import annotations

from typing import NamedTuple


class Credentials(NamedTuple):
    """An access key pair, and the STS session token that goes with it, if any.

    Only the key id shows in ``repr``: a secret must never reach a log line,
    even by way of a debugging print of the settings.
    """

    access_key_id: str
    secret: str
    session_token: str | None = None

    def __repr__(self) -> str:
        session_token = "None" if self.session_token is None else "<hidden>"
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, secret=<hidden>, "
            f"session_token={session_token})"
        )
