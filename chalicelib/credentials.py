"""Access keys, kept out of reprs and logs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """An access key pair, and the STS session token that goes with it, if any.

    Only the key id shows in ``repr``: a secret must never reach a log line,
    even by way of a debugging print of the settings.
    """

    access_key_id: str
    secret: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
