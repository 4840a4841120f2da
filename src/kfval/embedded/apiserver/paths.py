"""REST paths -> what they address: a resource type, a namespace, a name, a subresource.

One parser for every resource, built-in or CRD-defined, so that a CRD's kinds are routable the
moment the catalog knows them (no route table to rebuild).
"""

from __future__ import annotations

from dataclasses import dataclass

from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.types import ResourceType


@dataclass(frozen=True)
class Target:
    """What one request addresses."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def is_collection(self) -> bool:
        return self.name is None


def _split(path: str) -> tuple[str, str, list[str]]:
    """(group, version, rest) for `/api/v1/...` and `/apis/{group}/{version}/...`."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    raise NotFoundError("the server could not find the requested resource")


def parse(catalog: Catalog, path: str) -> Target:
    """Resolve a resource path; 404 with the real server's wording when nothing is served there."""
    group, version, rest = _split(path)
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = catalog.find(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise NotFoundError("the server could not find the requested resource")
    rt = catalog.lookup(group, version, rest[0])
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in rt.subresources:
        raise NotFoundError("the server could not find the requested resource")
    if namespace is not None and not rt.namespaced:
        raise NotFoundError("the server could not find the requested resource")
    return Target(rt, namespace, name, subresource)
