"""Trying a create or a delete again after its answer was lost, without doing it twice.

A create or delete whose connection broke may or may not have reached the API server. Sending it again
blindly would make a second object (`generateName`) or fail on the first one's effect (409
AlreadyExists, 404 NotFound), so every try after the first reads back what the one before did: a create
finds the object by the request mark it carries, a delete finds the object gone or being deleted. The
read-backs go through the connection's own verbs, so they ride out the rest of the outage as well.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kfval.kube import errors

if TYPE_CHECKING:
    from kfval.kube.client import Connection

T = TypeVar("T")
Body = dict[str, Any]
REQUEST_ANNOTATION = "kfval.dev/create-request"
"""Marks what one `create` made, so that a create whose answer was lost can be found instead of re-sent."""


def at_most_once(send: Callable[[], T], took_effect: Callable[[], T | None]) -> Callable[[], T]:
    """The request a connection tries for a create or delete: the first try sends it; a later try (the answer
    to the one before was lost) first reads back whether that one took effect, and sends only if it did not."""
    tries = 0

    def attempt() -> T:
        nonlocal tries
        tries += 1
        if tries > 1:
            found = took_effect()
            if found is not None:
                return found
        return send()

    return attempt


def marked(body: Body) -> Body:
    """A copy of `body` with a request mark of its own."""
    copied = copy.deepcopy(body)
    annotations = copied.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[REQUEST_ANNOTATION] = secrets.token_hex(8)
    return copied


def created(conn: Connection, body: Body, namespace: str | None) -> Body | None:
    """The object an earlier try of this create made (it carries the same mark), or None."""
    metadata = body["metadata"]
    api_version, kind = body["apiVersion"], body["kind"]
    if metadata.get("name"):
        try:
            candidates = [conn.get(api_version, kind, metadata["name"], namespace)]
        except errors.NotFoundError:
            return None
    else:
        labels = ",".join(f"{key}={value}" for key, value in (metadata.get("labels") or {}).items())
        candidates = conn.list(api_version, kind, namespace, label_selector=labels or None).get("items") or []
    mark = metadata["annotations"][REQUEST_ANNOTATION]
    return next((item for item in candidates if _mark(item) == mark), None)


def deleted(conn: Connection, api_version: str, kind: str, name: str, namespace: str | None) -> Body | None:
    """What an earlier try of this delete left: the object being deleted, or `{}` once it is gone; None while
    the object stands untouched (that try never reached the server)."""
    try:
        current = conn.get(api_version, kind, name, namespace)
    except errors.NotFoundError:
        return {}
    return current if (current.get("metadata") or {}).get("deletionTimestamp") else None


def _mark(item: Body) -> str | None:
    annotations = (item.get("metadata") or {}).get("annotations") or {}
    return annotations.get(REQUEST_ANNOTATION)
