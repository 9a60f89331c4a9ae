"""Reading tickets back: decode a policy and see what it binds."""

from __future__ import annotations

import base64
import json
from typing import Any

# Fields a policy cannot bind: itself, the signatures, and V1's key id.
UNBOUND = {"policy", "Signature", "x-oss-signature", "x-amz-signature", "OSSAccessKeyId"}


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"], validate=True))


def exact_bindings(policy: dict[str, Any]) -> dict[str, str]:
    """Field name (lower-case) -> the one value the policy allows for it."""
    bound: dict[str, str] = {}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            bound[name.lower()] = value
        elif condition[0] == "eq":
            bound[condition[1].lstrip("$").lower()] = condition[2]
    return bound


def assert_every_field_bound(fields: dict[str, str]) -> dict[str, Any]:
    """Each field a ticket returns is bound by its policy to exactly its value."""
    policy = decode_policy(fields)
    bound = exact_bindings(policy)
    for name, value in fields.items():
        if name not in UNBOUND:
            assert bound.get(name.lower()) == value, f"{name} is not bound to its value"
    assert not any(c[0] == "starts-with" for c in policy["conditions"] if isinstance(c, list))
    return policy
