"""The environment a request sees, and typed reads of it.

Settings are read when a request is handled, never at import: a changed
variable takes effect on the next request. :func:`per_environment` saves the
parsing, not the reading. The readers treat an empty value as unset, fall
back to the default in :mod:`chalicelib.variables`, and raise
:class:`NotConfigured` naming the variable at fault, never its value.
"""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from .errors import NotConfigured
from .variables import default

Env = Mapping[str, str]
T = TypeVar("T")

_REQUEST_ENV: ContextVar[Env | None] = ContextVar("signpost_request_env", default=None)


def current_env() -> Env:
    """The variables this request sees: ``os.environ``, unless a platform
    adapter laid values of its own over it with :func:`request_env`."""
    env = _REQUEST_ENV.get()
    return os.environ if env is None else env


@contextmanager
def request_env(overrides: Env) -> Iterator[Env]:
    """Lay ``overrides`` over ``os.environ`` for the current request only.

    Function Compute hands each invocation its role's keys. Written into
    ``os.environ`` they would outlive the request and race between an
    instance's concurrent requests; a context variable is per thread.
    """
    env: Env = ChainMap(dict(overrides), os.environ)
    previous = _REQUEST_ENV.set(env)
    try:
        yield env
    finally:
        _REQUEST_ENV.reset(previous)


def lookup(env: Env, name: str) -> str | None:
    """``env.get(name)``, as is: ``os.environ.get`` goes through
    ``Mapping.get``, a second Python call for each of the ~15 variables a
    request reads."""
    try:
        return env[name]
    except KeyError:
        return None


class _Recorder(Mapping[str, str]):
    """An environment that notes every variable looked up in it, and its value."""

    def __init__(self, env: Env) -> None:
        self._env = env
        self.reads: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str:
        value = self.reads[name] = lookup(self._env, name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def _unchanged(env: Env, reads: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether every variable still has the value it was read with.

    :func:`lookup`'s body written out: this runs for each remembered
    variable on every request, and a call per variable was a tenth of it.
    """
    for name, value in reads:
        try:
            current: str | None = env[name]
        except KeyError:
            current = None
        if current != value:
            return False
    return True


def per_environment(load: Callable[..., T]) -> Callable[..., T]:
    """Remember a loader's result by the values of the variables it read.

    Every call still reads the environment: it looks up each variable the
    remembered result came from, and loads afresh if any of them changed, so
    a changed variable takes effect on the next request. What is saved is
    the parsing and checking. Failures are not remembered. The few entries
    live in this closure only: no repr or log shows them.
    """
    entries: list[tuple[Any, tuple[tuple[str, str | None], ...], T]] = []

    @wraps(load)
    def cached(env: Env, *args: Any, **kwargs: Any) -> T:
        call = (args, kwargs)
        for key, reads, result in entries:
            if key == call and _unchanged(env, reads):
                return result
        recorder = _Recorder(env)
        result = load(recorder, *args, **kwargs)
        entries.insert(0, (call, tuple(recorder.reads.items()), result))
        del entries[4:]
        return result

    return cached


def get(env: Env, name: str) -> str | None:
    """What the variable is set to, stripped; empty counts as unset. No default."""
    return (lookup(env, name) or "").strip() or None


def value(env: Env, name: str) -> str:
    """What the variable is set to, else its default, else ``""``."""
    return get(env, name) or default(name) or ""


def require(env: Env, name: str) -> str:
    """A variable that has no default and must be set."""
    found = get(env, name)
    if found is None:
        raise NotConfigured(name)
    return found


def choice(env: Env, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, in any case; unset, the default."""
    chosen = value(env, name).lower()
    if chosen not in choices:
        raise NotConfigured(name, "must be one of " + ", ".join(choices))
    return chosen


def integer(env: Env, name: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; unset, the default."""
    raw = value(env, name)
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise NotConfigured(name, f"must be a whole number from {low} to {high}")
    return int(raw)


def matching(env: Env, name: str, pattern: re.Pattern[str], fallback: str | None = None) -> str:
    """A value that ``pattern`` matches in full; unset, ``fallback`` (a default
    the loader computed) or else the default. Neither: ``NotConfigured``."""
    found = get(env, name) or fallback or default(name)
    if found is None:
        raise NotConfigured(name)
    if not pattern.fullmatch(found):
        raise NotConfigured(name, "is malformed")
    return found
