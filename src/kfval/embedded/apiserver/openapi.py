"""OpenAPI v3 documents, one per group-version: kubectl apply/create -f and Helm refuse to work without them.

Their field-validation verifier looks, in the document of an object's group-version, for a PATCH
operation tagged with the object's `x-kubernetes-group-version-kind` that declares the
`fieldValidation` query parameter; when it finds one it sends `fieldValidation=Strict` and leaves
validation to the server. An empty document is as bad as none (kubectl then falls back to v2 and
fails). PATCH operations deliberately declare no request body: kubectl builds a strategic merge
patch from a v3 document only when the PATCH operation lists that media type, and for built-ins
its compiled-in patch metadata is more faithful than these schemas. The root lists each document
under a hash of its content, which kubectl uses as a disk-cache key, so a CRD change invalidates it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import BUILTINS, Catalog
from kfval.embedded.types import CORE_GROUP, Body, ResourceType

OPENAPI_VERSION = "3.0.0"
DOCUMENT_TITLE = "Kubernetes"
DOCUMENT_VERSION = "v1.32.0"
HASH_HEX_DIGITS = 32

_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_LIST_PARAMS = (
    "labelSelector",
    "fieldSelector",
    "resourceVersion",
    "resourceVersionMatch",
    "limit",
    "continue",
    "watch",
    "allowWatchBookmarks",
    "sendInitialEvents",
    "timeoutSeconds",
)
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_TYPED_PARAMS = {
    "limit": "integer",
    "timeoutSeconds": "integer",
    "gracePeriodSeconds": "integer",
    "watch": "boolean",
    "allowWatchBookmarks": "boolean",
    "sendInitialEvents": "boolean",
    "force": "boolean",
}

OBJECT_META_SCHEMA_NAME = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
SCALE_SCHEMA_NAME = "io.k8s.api.autoscaling.v1.Scale"
_POD_TEMPLATE = "io.k8s.api.core.v1.PodTemplateSpec"
_POD_SPEC = "io.k8s.api.core.v1.PodSpec"
_CONTAINER = "io.k8s.api.core.v1.Container"
_BUILTIN_TYPES = frozenset(BUILTINS)
_CRD_SCHEMA_PREFIX = "io.k8s.apiextensions-apiserver.pkg.apis"


def _open(properties: Body | None = None) -> Body:
    """An object that accepts any field, describing a few: never the cause of an "unknown field" error."""
    schema: Body = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if properties:
        schema["properties"] = properties
    return schema


def _ref(name: str) -> Body:
    return {"$ref": f"#/components/schemas/{name}"}


def _keyed_list(key: str, items: Body | None = None) -> Body:
    """A list merged by key in a strategic merge patch (containers by name, ports by containerPort...)."""
    return {
        "type": "array",
        "items": items or _open(),
        "x-kubernetes-patch-merge-key": key,
        "x-kubernetes-patch-strategy": "merge",
    }


def _shared_schemas() -> Body:
    """ObjectMeta and the pod template pieces, with the patch metadata of their well-known lists."""
    container = _ref(_CONTAINER)
    merged_strings = {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"}
    return {
        OBJECT_META_SCHEMA_NAME: _open({"ownerReferences": _keyed_list("uid"), "finalizers": merged_strings}),
        _CONTAINER: _open(
            {
                "env": _keyed_list("name"),
                "ports": _keyed_list("containerPort"),
                "volumeMounts": _keyed_list("mountPath"),
                "volumeDevices": _keyed_list("devicePath"),
            }
        ),
        _POD_SPEC: _open(
            {
                "containers": _keyed_list("name", container),
                "initContainers": _keyed_list("name", container),
                "ephemeralContainers": _keyed_list("name"),
                "volumes": _keyed_list("name"),
                "imagePullSecrets": _keyed_list("name"),
                "hostAliases": _keyed_list("ip"),
            }
        ),
        _POD_TEMPLATE: _open({"metadata": _ref(OBJECT_META_SCHEMA_NAME), "spec": _ref(_POD_SPEC)}),
    }


def _builtin_properties(kind: str) -> Body:
    """The spec/status outline of the built-in kinds whose lists a strategic merge patch merges by key."""
    status = _open({"conditions": _keyed_list("type")})
    with_template = {"spec": _open({"template": _ref(_POD_TEMPLATE)}), "status": status}
    outlines: dict[str, Body] = {
        "Pod": {"spec": _ref(_POD_SPEC), "status": status},
        "PodTemplate": {"template": _ref(_POD_TEMPLATE)},
        "Deployment": with_template,
        "ReplicaSet": with_template,
        "StatefulSet": with_template,
        "DaemonSet": with_template,
        "Job": with_template,
        "ReplicationController": with_template,
        "CronJob": {"spec": _open({"jobTemplate": _open({"spec": _open({"template": _ref(_POD_TEMPLATE)})})})},
        "Service": {"spec": _open({"ports": _keyed_list("port")}), "status": status},
        "Node": {"status": status},
        "Namespace": {"status": status},
        "PersistentVolumeClaim": {"status": status},
    }
    return outlines.get(kind, {})


def _schema_name(rt: ResourceType) -> str:
    """The real server's component names: io.k8s.api.<group>.<v>.<Kind>, reversed group for CRDs."""
    if rt not in _BUILTIN_TYPES:
        return ".".join([*reversed(rt.group.split(".")), rt.version, rt.kind])
    if rt.group == "apiextensions.k8s.io":
        return f"{_CRD_SCHEMA_PREFIX}.apiextensions.{rt.version}.{rt.kind}"
    return f"io.k8s.api.{rt.group.split('.')[0] or 'core'}.{rt.version}.{rt.kind}"


def _kind_schema(rt: ResourceType) -> tuple[str, Body]:
    """A CRD's own openAPIV3Schema, or an open outline for a built-in; metadata is always ObjectMeta."""
    if rt in _BUILTIN_TYPES or rt.schema is None:
        schema = _open(_builtin_properties(rt.kind) if rt in _BUILTIN_TYPES else None)
    else:
        schema = copy.deepcopy(dict(rt.schema))
        schema.setdefault("type", "object")
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = _ref(OBJECT_META_SCHEMA_NAME)
    schema["x-kubernetes-group-version-kind"] = [_gvk(rt.group, rt.version, rt.kind)]
    return _schema_name(rt), schema


def _scale_schema() -> Body:
    schema = _open({"metadata": _ref(OBJECT_META_SCHEMA_NAME), "spec": _open(), "status": _open()})
    schema["x-kubernetes-group-version-kind"] = [_gvk("autoscaling", "v1", "Scale")]
    return schema


def _gv_path(group: str, version: str) -> str:
    """The key of a group-version in the root document: `api/v1` or `apis/<group>/<version>`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _query(names: tuple[str, ...]) -> list[Body]:
    return [
        {"name": name, "in": "query", "schema": {"type": _TYPED_PARAMS.get(name, "string"), "uniqueItems": True}}
        for name in names
    ]


def _path_params(*, namespaced: bool, item: bool) -> list[Body]:
    names = (["namespace"] if namespaced else []) + (["name"] if item else [])
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}} for n in names
    ]


def _gvk(group: str, version: str, kind: str) -> Body:
    return {"group": group, "version": version, "kind": kind}


def _operation(action: str, gvk: Body, params: tuple[str, ...], schema_ref: str) -> Body:
    """One operation; get/put/post carry the object schema, patch carries no request body (see module doc)."""
    content = {"application/json": {"schema": {"$ref": schema_ref}}}
    op: Body = {
        "operationId": f"{action}{gvk['kind']}",
        "parameters": _query(params),
        "responses": {"200": {"description": "OK", "content": content}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": dict(gvk),
    }
    if action in ("post", "put"):
        op["requestBody"] = {"content": copy.deepcopy(content), "required": True}
    return op


def _item_operations(gvk: Body, ref: str, verbs: tuple[str, ...]) -> Body:
    ops: Body = {}
    if "get" in verbs:
        ops["get"] = _operation("get", gvk, (), ref)
    if "update" in verbs:
        ops["put"] = _operation("put", gvk, _WRITE_PARAMS, ref)
    if "patch" in verbs:
        ops["patch"] = _operation("patch", gvk, (*_WRITE_PARAMS, "force"), ref)
    if "delete" in verbs:
        ops["delete"] = _operation("delete", gvk, _DELETE_PARAMS, ref)
    return ops


def _collection_operations(rt: ResourceType, gvk: Body, ref: str) -> Body:
    ops: Body = {}
    if "list" in rt.verbs:
        ops["get"] = _operation("list", gvk, _LIST_PARAMS, ref)
    if "create" in rt.verbs:
        ops["post"] = _operation("post", gvk, _WRITE_PARAMS, ref)
    if "deletecollection" in rt.verbs:
        ops["delete"] = _operation("deletecollection", gvk, (*_DELETE_PARAMS, *_LIST_PARAMS[:2]), ref)
    return ops


def _with_params(ops: Body, params: list[Body]) -> Body:
    return {**ops, "parameters": params} if params else ops


def _resource_paths(rt: ResourceType, schema_names: dict[str, str]) -> Body:
    """Collection, item and subresource paths of one resource; namespaced kinds also list across namespaces."""
    prefix = "/" + _gv_path(rt.group, rt.version)
    base = f"{prefix}/namespaces/{{namespace}}/{rt.resource}" if rt.namespaced else f"{prefix}/{rt.resource}"
    gvk = _gvk(rt.group, rt.version, rt.kind)
    ref = "#/components/schemas/" + schema_names[rt.kind]
    paths: Body = {}
    collection = _collection_operations(rt, gvk, ref)
    if collection:
        paths[base] = _with_params(collection, _path_params(namespaced=rt.namespaced, item=False))
    if rt.namespaced and "list" in rt.verbs:
        paths[f"{prefix}/{rt.resource}"] = {"get": _operation("list", gvk, _LIST_PARAMS, ref)}
    item_params = _path_params(namespaced=rt.namespaced, item=True)
    item = _item_operations(gvk, ref, rt.verbs)
    if item:
        paths[base + "/{name}"] = _with_params(item, item_params)
    if "status" in rt.subresources:
        status = _item_operations(gvk, ref, ("get", "update", "patch"))
        paths[base + "/{name}/status"] = _with_params(status, item_params)
    if "scale" in rt.subresources:
        scale_ref = "#/components/schemas/" + SCALE_SCHEMA_NAME
        scale = _item_operations(_gvk("autoscaling", "v1", "Scale"), scale_ref, ("get", "update", "patch"))
        paths[base + "/{name}/scale"] = _with_params(scale, item_params)
    return paths


def _served(catalog: Catalog, group: str, version: str) -> list[ResourceType]:
    return [rt for rt in catalog if rt.group == group and rt.version == version]


def _document(types: list[ResourceType]) -> Body:
    component_schemas: dict[str, Any] = dict(_shared_schemas())
    names: dict[str, str] = {}
    for rt in types:
        name, schema = _kind_schema(rt)
        names[rt.kind] = name
        component_schemas[name] = schema
    if any("scale" in rt.subresources for rt in types):
        component_schemas[SCALE_SCHEMA_NAME] = _scale_schema()
    paths: Body = {}
    for rt in types:
        paths.update(_resource_paths(rt, names))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": DOCUMENT_TITLE, "version": DOCUMENT_VERSION},
        "paths": paths,
        "components": {"schemas": component_schemas},
    }


def _parse_gv_path(path: str) -> tuple[str, str]:
    parts = path.strip("/").split("?", 1)[0].split("/")
    if parts[:2] == ["openapi", "v3"]:
        parts = parts[2:]
    if len(parts) == 2 and parts[0] == "api":
        return CORE_GROUP, parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    raise NotFoundError("the server could not find the requested resource")


def group_version_document(catalog: Catalog, path: str) -> Body:
    """`GET /openapi/v3/<path>` for path `api/v1` or `apis/<group>/<version>`; 404 when not served."""
    group, version = _parse_gv_path(path)
    types = _served(catalog, group, version)
    if not types:
        raise NotFoundError("the server could not find the requested resource")
    return _document(types)


def document_hash(document: Body) -> str:
    """A digest of the document's content: the disk-cache key kubectl keeps it under."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest().upper()[:HASH_HEX_DIGITS]


def root(catalog: Catalog) -> Body:
    """`GET /openapi/v3`: every served group-version and the URL (with content hash) of its document."""
    group_versions = sorted({(rt.group, rt.version) for rt in catalog})
    paths: Body = {}
    for group, version in group_versions:
        gv_path = _gv_path(group, version)
        digest = document_hash(_document(_served(catalog, group, version)))
        paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash={digest}"}
    return {"paths": paths}
