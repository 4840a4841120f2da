"""List pagination: `limit` cuts a list into chunks and `continue` picks up after the last one.

kubectl asks for `limit=500` and client-go's pager, Helm and the Python client follow
`metadata.continue` until it is empty; a server that cuts a list at `limit` without handing out a
token loses every object past the first chunk. The token, like kube-apiserver's, is base64 JSON
naming the list's resourceVersion and the key (namespace/name) the next chunk starts after; the
chunk reports `remainingItemCount`. A token older than the watch history window is 410 Expired,
as on a real server after compaction.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass

from kfval.embedded.errors import BadRequestError, GoneError
from kfval.embedded.store.history import History
from kfval.embedded.types import Body

TOKEN_VERSION = "meta.k8s.io/v1"
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter."
)


@dataclass(frozen=True)
class Cursor:
    """Where a continued list resumes: after the key `start`, at `resource_version`."""

    resource_version: int
    start: str

    def encode(self) -> str:
        payload = {"v": TOKEN_VERSION, "rv": self.resource_version, "start": self.start}
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a token; 400 with the real server's wording when it is not one of ours."""
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
            cursor = cls(int(payload["rv"]), str(payload["start"]))
        except (binascii.Error, ValueError, KeyError, TypeError) as error:
            raise BadRequestError(f"continue key is not valid: {error}") from error
        if payload.get("v") != TOKEN_VERSION or cursor.resource_version <= 0:
            raise BadRequestError(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
            )
        return cursor


@dataclass(frozen=True)
class Page:
    """One chunk of a list and the list metadata that goes with it."""

    items: list[Body]
    resource_version: int
    token: str = ""
    remaining: int = 0

    def list_metadata(self) -> Body:
        meta: Body = {"resourceVersion": str(self.resource_version)}
        if self.token:
            meta["continue"] = self.token
            meta["remainingItemCount"] = self.remaining
        return meta


def _key(body: Body) -> str:
    """namespace NUL name: sorts as the store's (namespace, name) tuples do, since names hold no NUL."""
    meta = body.get("metadata") or {}
    return f"{meta.get('namespace') or ''}\x00{meta.get('name') or ''}"


def parse_limit(text: str | None) -> int:
    """0 (no limit) for an absent, zero or negative limit, as the real server treats them."""
    if not text:
        return 0
    try:
        return max(0, int(text))
    except ValueError as error:
        raise BadRequestError(f"limit: Invalid value: {json.dumps(text)}: must be an integer") from error


def paginate(items: Iterable[Body], resource_version: int, *, limit: int, token: str, history: History) -> Page:
    """The chunk of `items` (sorted by namespace and name) after the token's key, at most `limit` long."""
    ordered = list(items)
    if token:
        cursor = Cursor.decode(token)
        try:
            next(iter(history.since(cursor.resource_version)), None)
        except GoneError as error:
            raise GoneError(EXPIRED_MESSAGE) from error
        ordered = [body for body in ordered if _key(body) > cursor.start]
        resource_version = cursor.resource_version
    if not limit or len(ordered) <= limit:
        return Page(ordered, resource_version)
    chunk = ordered[:limit]
    following = Cursor(resource_version, _key(chunk[-1])).encode()
    return Page(chunk, resource_version, following, len(ordered) - limit)
