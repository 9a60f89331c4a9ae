"""POST policy documents and their conditions, as OSS and S3 both define them.

Provider-neutral: no signatures and no error codes here. A violation is an
exception whose message is the words both services use; each provider's
module maps the exception's class to its own error code and status.

Field names are compared case-insensitively (callers pass them lower-case);
values are compared exactly. A form may repeat a field (:data:`FormFields`);
neither service says what a repeat means, so this module takes the reading
worst for the bucket owner: a condition holds when *any* value of its field
satisfies it, and the value that takes effect is one that does not, if there
is one (:meth:`Policy.effective`). A ticket that holds against that reading
holds against any other.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .forms import FormFields

Operand = str | tuple[str, ...]

EXPIRATION_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
LIST_OPERATORS = frozenset({"in", "not-in"})
STRING_OPERATORS = frozenset({"eq", "starts-with"})
OPERATORS = STRING_OPERATORS | LIST_OPERATORS  # OSS's; S3 knows only the string ones
SIZE_RANGE = "content-length-range"


class PolicyViolation(Exception):
    """A form the policy does not allow; ``str()`` is the service's message."""


class MalformedPolicy(PolicyViolation):
    """The policy is not a policy document (bad base64, JSON or structure)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid Policy: {reason}")


class PolicyExpired(PolicyViolation):
    def __init__(self) -> None:
        super().__init__("Invalid according to Policy: Policy expired.")


class ConditionFailed(PolicyViolation):
    def __init__(self, condition: Condition) -> None:
        super().__init__(f"Invalid according to Policy: Policy Condition failed: {condition}")
        self.condition = condition


class UnboundFields(PolicyViolation):
    """Form fields no condition mentions: S3 refuses them (OSS does not)."""

    def __init__(self, names: Collection[str]) -> None:
        super().__init__("Invalid according to Policy: Extra input fields: " + ", ".join(names))
        self.names = tuple(names)


class EntityTooLarge(PolicyViolation):
    def __init__(self) -> None:
        super().__init__("Your proposed upload exceeds the maximum allowed size.")


class EntityTooSmall(PolicyViolation):
    def __init__(self) -> None:
        super().__init__("Your proposed upload is smaller than the minimum allowed size.")


@dataclass(frozen=True)
class Condition:
    """One field condition: ``eq``, ``starts-with``, ``in`` or ``not-in``.

    The object form ``{"field": "value"}`` is an ``eq``.
    """

    operator: str
    field: str
    operand: Operand

    def holds(self, value: str) -> bool:
        if self.operator == "eq":
            return value == self.operand
        if self.operator == "starts-with":
            return value.startswith(self.operand)
        if self.operator == "in":
            return value in self.operand
        return value not in self.operand

    def __str__(self) -> str:
        operand = list(self.operand) if isinstance(self.operand, tuple) else self.operand
        return json.dumps([self.operator, f"${self.field}", operand], ensure_ascii=False)


@dataclass(frozen=True)
class Policy:
    expiration: datetime
    conditions: tuple[Condition, ...]
    size_ranges: tuple[tuple[int, int], ...]

    @property
    def bound_fields(self) -> frozenset[str]:
        return frozenset(condition.field for condition in self.conditions)

    def effective(self, fields: FormFields) -> dict[str, str]:
        """One value per field, the one the upload takes effect with.

        For a repeated field that is the last value some condition on it
        refuses (the uploader's, not the ticket's), else the last value.
        """
        return {name: self._effective(name, values) for name, values in fields.items() if values}

    def _effective(self, name: str, values: Sequence[str]) -> str:
        bound = [condition for condition in self.conditions if condition.field == name]
        refused = [value for value in values if not all(c.holds(value) for c in bound)]
        return (refused or list(values))[-1]

    def size_limit(self, ceiling: int) -> int:
        """The largest file this policy admits, and never more than ``ceiling``."""
        return min([ceiling, *(high for _, high in self.size_ranges)])


def decode_policy(encoded: str, *, operators: Collection[str] = OPERATORS) -> Policy:
    """Decode the base64 ``policy`` field; :class:`MalformedPolicy` if it is not
    one, or if a condition uses an operator the service does not know."""
    try:
        document = json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise MalformedPolicy("the policy must be base64 of a UTF-8 JSON object") from None
    if not isinstance(document, dict) or set(document) != {"expiration", "conditions"}:
        raise MalformedPolicy("the policy must hold exactly 'expiration' and 'conditions'")
    raw_conditions = document["conditions"]
    if not isinstance(raw_conditions, list):
        raise MalformedPolicy("'conditions' must be a list")
    conditions: list[Condition] = []
    ranges: list[tuple[int, int]] = []
    for raw in raw_conditions:
        if isinstance(raw, list) and raw and raw[0] == SIZE_RANGE:
            ranges.append(_size_range(raw))
        else:
            conditions.append(_condition(raw, operators))
    return Policy(_expiration(document["expiration"]), tuple(conditions), tuple(ranges))


def _expiration(value: Any) -> datetime:
    for layout in EXPIRATION_FORMATS:
        try:
            return datetime.strptime(str(value), layout).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise MalformedPolicy("'expiration' must be an ISO 8601 UTC time like 2026-01-01T00:00:00Z")


def _field_name(value: Any) -> str:
    if not isinstance(value, str) or not value.lstrip("$"):
        raise MalformedPolicy(f"a condition names no form field: {value!r}")
    return value.lstrip("$").lower()


def _condition(raw: Any, operators: Collection[str]) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise MalformedPolicy(
                "Invalid Simple-Condition: "
                "Simple-Conditions must have exactly one property specified."
            )
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise MalformedPolicy(f"the value for {name!r} must be a string")
        return Condition("eq", _field_name(name), value)
    if not isinstance(raw, list) or len(raw) != 3:
        raise MalformedPolicy(f"a condition must be an object or a list of three: {raw!r}")
    operator, field, operand = raw
    if not isinstance(operator, str) or operator not in operators:
        raise MalformedPolicy(f"unknown condition: {raw!r}")
    if operator in STRING_OPERATORS and isinstance(operand, str):
        return Condition(operator, _field_name(field), operand)
    if (
        operator in LIST_OPERATORS
        and isinstance(operand, list)
        and all(isinstance(item, str) for item in operand)
    ):
        return Condition(operator, _field_name(field), tuple(operand))
    raise MalformedPolicy(f"unknown condition or wrong operand type: {raw!r}")


def _size_range(raw: list[Any]) -> tuple[int, int]:
    bounds = raw[1:]
    if len(bounds) != 2 or not all(type(bound) is int and bound >= 0 for bound in bounds):
        raise MalformedPolicy("content-length-range takes two whole numbers")
    low, high = bounds
    if low > high:
        raise MalformedPolicy("content-length-range's minimum is above its maximum")
    return low, high


def check_fields(policy: Policy, fields: FormFields, *, now: datetime) -> None:
    """The form's fields against the policy: not expired, and every condition
    holds for some value of its field (a field the form lacks fails).

    ``fields`` are keyed by lower-case name and include any value the service
    supplies itself (the bucket).
    """
    if now >= policy.expiration:
        raise PolicyExpired()
    for condition in policy.conditions:
        if not any(condition.holds(value) for value in fields.get(condition.field, ())):
            raise ConditionFailed(condition)


def check_bound(policy: Policy, names: Collection[str], *, exempt: Collection[str]) -> None:
    """S3's rule: every form field but the ``exempt`` ones is named by a condition."""
    unbound = [name for name in names if name not in exempt and name not in policy.bound_fields]
    if unbound:
        raise UnboundFields(unbound)


def check_size(policy: Policy, size: int) -> None:
    """The file's size against every ``content-length-range``."""
    for low, high in policy.size_ranges:
        if size > high:
            raise EntityTooLarge()
        if size < low:
            raise EntityTooSmall()
