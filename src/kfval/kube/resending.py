"""Trying a create or a delete again after its answer was lost, without doing it twice.

A create or delete whose connection broke may or may not have reached the API server. Sending it again
blindly would make a second object (`generateName`) or fail on the first one's effect (409
AlreadyExists, 404 NotFound), so every try after the first reads back what the one before did. A named
create finds its object by name, and takes it as its own when it carries the run's labels (a stranger's
object of that name is left to the 409 the next try gets); a create that leaves the name to the server
(`generateName`) cannot be found by name, so only such a body carries a request mark, an annotation that
tells its object from its siblings. A delete finds the object gone or being deleted. The read-backs go
through the connection's own verbs, so they ride out the rest of the outage as well.
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
    """`body` as a create sends it: a copy with a request mark of its own when the server names the object,
    `body` itself when it has a name (the name finds it, and the object carries no trace of the suite)."""
    if (body.get("metadata") or {}).get("name"):
        return body
    copied = copy.deepcopy(body)
    annotations = copied.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[REQUEST_ANNOTATION] = secrets.token_hex(8)
    return copied


def created(conn: Connection, body: Body, namespace: str | None) -> Body | None:
    """The object an earlier try of this create made, or None: by name when the body has one (and the object
    carries every label of the body), else by the request mark `marked` gave it."""
    metadata = body["metadata"]
    api_version, kind = body["apiVersion"], body["kind"]
    labels: dict[str, str] = metadata.get("labels") or {}
    if metadata.get("name"):
        try:
            found = conn.get(api_version, kind, metadata["name"], namespace)
        except errors.NotFoundError:
            return None
        carried = (found.get("metadata") or {}).get("labels") or {}
        return found if labels.items() <= carried.items() else None
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    candidates = conn.list(api_version, kind, namespace, label_selector=selector or None).get("items") or []
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
