"""The current set of matching objects, kept up to date by one watch: the reflector pattern.

Waits must react to a change as soon as the API server delivers it, without polling, and must
survive what watches do on every real cluster: end when the server's timeoutSeconds elapses, and
answer 410 Gone when the resourceVersion they resume from has left the server's window. Both are
handled here the way client-go's reflector does (list, watch from the list's resourceVersion,
re-list when the watch cannot continue), so a caller only ever sees the current state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from kfval.kube import errors
from kfval.kube.client import Body

WATCH_SPAN_SECONDS = 10.0
"""The longest single watch request: the re-list after it yields the state again, so time-based
judgements (an Unschedulable grace) are made at least this often even when nothing changes."""


class WatchSource(Protocol):
    """What `follow` needs of a Connection (kfval.kube.client.Connection is one)."""

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Body: ...

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[Body]: ...


def follow(
    conn: WatchSource,
    api_version: str,
    kind: str,
    namespace: str | None,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    deadline: float,
    span_seconds: float = WATCH_SPAN_SECONDS,
) -> Iterator[Mapping[str, Body]]:
    """Yield the matching objects by name after the initial list and after every change.

    A watch that ends before `deadline` (server timeout, dropped connection, 410) is followed by a
    re-list, whose state is yielded too. `deadline` is a `time.monotonic()` value: once it has
    passed, the generator ends when the current watch does (within a second of it). Every yield is
    a fresh dict, so a caller may keep one. `span_seconds` bounds how long the state goes unyielded
    when nothing changes.
    """
    selectors = {"label_selector": label_selector, "field_selector": field_selector}
    while True:
        listed = conn.list(api_version, kind, namespace, **selectors)
        objects = {_name(item): _typed(item, api_version=api_version, kind=kind) for item in listed.get("items") or []}
        yield dict(objects)
        if time.monotonic() >= deadline:
            return
        version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        try:
            for change in _changes(
                conn,
                api_version=api_version,
                kind=kind,
                namespace=namespace,
                selectors=selectors,
                version=version,
                deadline=deadline,
                span_seconds=span_seconds,
            ):
                _apply(objects, change)
                yield dict(objects)
        except errors.ExpiredError:
            pass  # the resourceVersion left the server's window: re-list, as every reflector does


def _changes(
    conn: WatchSource,
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    selectors: Mapping[str, str | None],
    version: str,
    deadline: float,
    span_seconds: float,
) -> Iterator[Body]:
    """ADDED, MODIFIED and DELETED events of one watch request, which ends by the deadline at the latest."""
    span = max(1, math.ceil(min(deadline - time.monotonic(), span_seconds)))
    events = conn.watch(api_version, kind, namespace, resource_version=version, timeout_seconds=span, **selectors)
    for event in events:
        if event.get("type") == "ERROR":
            _raise_error(event.get("object") or {})
        if event.get("type") != "BOOKMARK":
            yield event


def _raise_error(status: Mapping[str, Any]) -> None:
    message = str(status.get("message") or "the watch failed")
    if status.get("code") == 410:
        raise errors.ExpiredError(message, status=410, reason="Expired")
    raise errors.ServerError(message, status=status.get("code"), reason=str(status.get("reason") or ""))


def _apply(objects: dict[str, Body], event: Mapping[str, Any]) -> None:
    body = event["object"]
    if event["type"] == "DELETED":
        objects.pop(_name(body), None)
    else:
        objects[_name(body)] = body


def _name(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("name", ""))


def _typed(item: Body, *, api_version: str, kind: str) -> Body:
    """List items carry no apiVersion and kind on real servers; watch events do. Make them alike."""
    item.setdefault("apiVersion", api_version)
    item.setdefault("kind", kind)
    return item
