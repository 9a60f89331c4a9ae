"""A bucket as the dev bucket serves it: its name, its region and the keys it trusts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ServiceError


@dataclass(frozen=True)
class Bucket:
    """One bucket: its name, its region (V4 scopes name it) and the keys it trusts.

    ``session_tokens`` names the temporary keys (STS): such a key is good
    only with its session token.
    """

    name: str
    region: str
    credentials: Mapping[str, str] = field(repr=False)  # access key id -> secret
    session_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)

    def secret(self, key_id: str, brand: str) -> str:
        """The key's secret; ``InvalidAccessKeyId`` (in ``brand``'s words) if unknown."""
        secret = self.credentials.get(key_id)
        if secret is None:
            raise ServiceError(
                403,
                "InvalidAccessKeyId",
                f"The {brand} Access Key Id you provided does not exist in our records.",
            )
        return secret
