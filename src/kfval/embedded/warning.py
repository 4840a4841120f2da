"""Warnings for the client that made the request, as kube-apiserver's `warning` package collects them.

Admission plug-ins (a webhook's deprecation notice, unknown fields under `fieldValidation=Warn`) add
a warning wherever they run; the API server sends each once, in order, as a `Warning: 299 - "..."`
header, which kubectl prints as `Warning: ...` and the Python client logs. A write made by a
controller has no request, so its warnings go nowhere, as a real controller ignores them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_CURRENT: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("kfval_warnings", default=None)
MAX_WARNING_CHARACTERS = 4096
"""Upstream truncates each warning's text (the recorder keeps a total budget as well)."""


def add(message: str) -> None:
    """Warn the client of the current request, if there is one; a repeated message is sent once."""
    collected = _CURRENT.get()
    if collected is not None and message not in collected:
        collected.append(message[:MAX_WARNING_CHARACTERS])


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the warnings of one request (what runs inside, in this task, can `add` to them)."""
    collected: list[str] = []
    token = _CURRENT.set(collected)
    try:
        yield collected
    finally:
        _CURRENT.reset(token)


def header_value(message: str) -> str:
    """`299 - "text"`: the RFC 7234 warn-code kube-apiserver uses, text quoted with `"` and `\\` escaped."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
