"""Discovery documents: how clients learn which resources this cluster serves.

Every client starts here. The Python DynamicClient speaks only legacy discovery (`/api`, `/apis`,
`APIResourceList` per group-version); kubectl and Helm prefer aggregated discovery v2 but trust
the response's media type, so the aggregated shape is served only when the Accept header asks for
it and only under its exact media type. `/version` decides which kubectl the gcloud dispatcher
runs, so it reports minor 32. Everything here is a pure function of the Catalog.
"""

from __future__ import annotations

import base64
import hashlib
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.types import CORE_GROUP, Body, ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "32"
GIT_VERSION = "v1.32.0+kfval"
"""Semver with build metadata, not a pre-release: chart `kubeVersion: ">=1.20.0"` must still match."""

_VERSION_PATTERN = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_STABILITY_RANK = {None: 3, "beta": 2, "alpha": 1}
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Subresource:
    """How discovery announces one subresource; empty group/version/kind mean "as the parent"."""

    verbs: tuple[str, ...]
    kind: str = ""
    group: str | None = None
    version: str | None = None


SUBRESOURCES: dict[str, Subresource] = {
    "status": Subresource(("get", "patch", "update")),
    "scale": Subresource(("get", "patch", "update"), kind="Scale", group="autoscaling", version="v1"),
    "log": Subresource(("get",), kind="Pod"),
    "exec": Subresource(("create", "get"), kind="PodExecOptions"),
    "binding": Subresource(("create",), kind="Binding"),
    "eviction": Subresource(("create",), kind="Eviction", group="policy", version="v1"),
    "token": Subresource(("create",), kind="TokenRequest", group="authentication.k8s.io", version="v1"),
    "finalize": Subresource(("update",), kind="Namespace"),
}
_UNKNOWN_SUBRESOURCE = Subresource(("get",))


def version_info() -> Body:
    """`GET /version`: the dispatcher picks kubectl 1.<minor>; Helm needs a semver gitVersion."""
    machine = _MACHINES.get(platform.machine().lower(), "amd64")
    return {
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": f"linux/{machine}",
    }


def api_versions(*, server_address: str = "") -> Body:
    """`GET /api` (legacy): the core group has exactly one version."""
    cidrs = [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}] if server_address else []
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": cidrs}


def version_priority(version: str) -> tuple[int, int, int, int, str]:
    """Sort key putting the preferred version first: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others."""
    match = _VERSION_PATTERN.match(version)
    if match is None:
        return (1, 0, 0, 0, version)
    major, stability, minor = match.groups()
    return (0, -_STABILITY_RANK[stability], -int(major), -int(minor or 0), "")


def _group_versions(catalog: Catalog) -> dict[str, list[str]]:
    """Named groups (core excluded) in serving order, each with its versions preferred-first."""
    return {
        group: sorted(versions, key=version_priority)
        for group, versions in catalog.groups().items()
        if group != CORE_GROUP
    }


def _group_body(group: str, versions: list[str]) -> Body:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_groups(catalog: Catalog) -> Body:
    """`GET /apis` (legacy APIGroupList)."""
    groups = [_group_body(g, vs) for g, vs in _group_versions(catalog).items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, group: str) -> Body:
    """`GET /apis/{group}`; 404 when no version of the group is served."""
    versions = _group_versions(catalog).get(group)
    if not versions:
        raise NotFoundError("the server could not find the requested resource")
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_body(group, versions)}


def storage_version_hash(rt: ResourceType) -> str:
    """The real server's digest of group/version/kind (clients only compare it for changes)."""
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _served(catalog: Catalog, group: str, version: str) -> list[ResourceType]:
    types = [rt for rt in catalog if rt.group == group and rt.version == version]
    if not types:
        raise NotFoundError("the server could not find the requested resource")
    return types


def _legacy_resource(rt: ResourceType) -> Body:
    entry: Body = {
        "name": rt.resource,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entry["storageVersionHash"] = storage_version_hash(rt)
    return entry


def _legacy_subresource(rt: ResourceType, name: str) -> Body:
    sub = SUBRESOURCES.get(name, _UNKNOWN_SUBRESOURCE)
    entry: Body = {"name": f"{rt.resource}/{name}", "singularName": "", "namespaced": rt.namespaced}
    if sub.group is not None:
        entry["group"] = sub.group
        entry["version"] = sub.version
    entry["kind"] = sub.kind or rt.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def _resource_list(group_version: str, types: Iterable[ResourceType]) -> Body:
    entries: list[Body] = []
    for rt in types:
        entries.append(_legacy_resource(rt))
        entries.extend(_legacy_subresource(rt, name) for name in rt.subresources)
    entries.sort(key=lambda entry: entry["name"])
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def core_resources(catalog: Catalog) -> Body:
    """`GET /api/v1`: groupVersion is "v1", never "/v1" (kubectl finds nothing otherwise)."""
    return _resource_list("v1", _served(catalog, CORE_GROUP, "v1"))


def group_resources(catalog: Catalog, group: str, version: str) -> Body:
    """`GET /apis/{group}/{version}`; 404 when that group-version is not served."""
    return _resource_list(f"{group}/{version}", _served(catalog, group, version))


def _aggregated_subresource(rt: ResourceType, name: str) -> Body:
    sub = SUBRESOURCES.get(name, _UNKNOWN_SUBRESOURCE)
    kind = {
        "group": rt.group if sub.group is None else sub.group,
        "version": rt.version if sub.version is None else sub.version,
        "kind": sub.kind or rt.kind,
    }
    return {"subresource": name, "responseKind": kind, "verbs": list(sub.verbs)}


def _aggregated_resource(rt: ResourceType) -> Body:
    entry: Body = {
        "resource": rt.resource,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [_aggregated_subresource(rt, name) for name in sorted(rt.subresources)]
    return entry


def _aggregated_group(catalog: Catalog, group: str, versions: list[str]) -> Body:
    version_bodies = [
        {
            "version": version,
            "resources": [_aggregated_resource(rt) for rt in _served(catalog, group, version)],
            "freshness": "Current",
        }
        for version in versions
    ]
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": version_bodies}


def aggregated(catalog: Catalog, *, core: bool) -> Body:
    """APIGroupDiscoveryList v2 for `/api` (core=True) or `/apis`; serve it as AGGREGATED_CONTENT_TYPE."""
    groups = {CORE_GROUP: ["v1"]} if core else _group_versions(catalog)
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_aggregated_group(catalog, group, versions) for group, versions in groups.items()],
    }


def accepts_as(accept_header: str, *, group: str, version: str, kind: str) -> bool:
    """Whether an Accept header asks for the JSON representation `as=<kind>;g=<group>;v=<version>`."""
    for media_range in accept_header.split(","):
        media_type, *raw_params = (part.strip() for part in media_range.split(";"))
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        params = {k.strip().lower(): v.strip() for k, v in params.items()}
        if media_type.lower() not in ("application/json", "*/*", "application/*"):
            continue
        if params.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue
        if params.get("as") == kind and params.get("g") == group and params.get("v") == version:
            return True
    return False


def wants_aggregated(accept_header: str) -> bool:
    """True when the client offers to read APIGroupDiscoveryList v2 (kubectl, Helm; never the Python client)."""
    return accepts_as(accept_header, group="apidiscovery.k8s.io", version="v2", kind="APIGroupDiscoveryList")
