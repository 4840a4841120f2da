"""The defaults a real API server writes into objects, because clients read them back and dereference them.

A Deployment stored without `spec.replicas` crashes Helm's legacy waiter; a Job without its generated
selector is never matched by its pods; kubectl prints `imagePullPolicy`, `clusterIP` and the namespace
phase. Defaulting runs on every write (as the real server defaults on every decode); the steps the real
server takes only on create (Job selector, pod admission plugins, namespace finalizer) run only when
there is no old object. Everything here mutates the body in place and never raises.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any, Protocol

from kfval.embedded.admission import workloaddefaulting
from kfval.embedded.admission.workloaddefaulting import child, items_of, set_default
from kfval.embedded.types import Body, ResourceKey, ResourceType

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
NAMESPACES = ResourceKey("", "namespaces")


def default_service(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    set_default(spec, "type", "ClusterIP")
    set_default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = child(child(spec, "sessionAffinityConfig"), "clientIP")
        if client_ip.get("timeoutSeconds") is None:
            client_ip["timeoutSeconds"] = 10800
    for port in items_of(spec, "ports"):
        set_default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    service_type = spec["type"]
    if service_type in ("NodePort", "LoadBalancer"):
        set_default(spec, "externalTrafficPolicy", "Cluster")
    if service_type != "ExternalName":
        set_default(spec, "internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def default_namespace(obj: Body, *, creating: bool) -> None:
    meta = child(obj, "metadata")
    child(meta, "labels")[NAMESPACE_NAME_LABEL] = str(meta.get("name") or "")
    if creating:
        finalizers = list(child(obj, "spec").get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        obj["spec"]["finalizers"] = finalizers
        obj["status"] = {"phase": "Active"}


def default_secret(obj: Body, *, creating: bool) -> None:
    """Type Opaque; `stringData` folded into `data` as base64, as the server does on every write."""
    set_default(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = child(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def default_persistentvolumeclaim(obj: Body, *, creating: bool) -> None:
    set_default(child(obj, "spec"), "volumeMode", "Filesystem")


class Defaulter(Protocol):
    """Defaults one kind in place; `creating` is False on updates."""

    def __call__(self, obj: Body, *, creating: bool) -> None: ...


DEFAULTERS: dict[ResourceKey, Defaulter] = {
    ResourceKey("", "pods"): workloaddefaulting.default_pod,
    ResourceKey("", "services"): default_service,
    NAMESPACES: default_namespace,
    ResourceKey("", "secrets"): default_secret,
    ResourceKey("", "persistentvolumeclaims"): default_persistentvolumeclaim,
    ResourceKey("apps", "deployments"): workloaddefaulting.default_deployment,
    ResourceKey("apps", "replicasets"): workloaddefaulting.default_replicaset,
    ResourceKey("apps", "statefulsets"): workloaddefaulting.default_statefulset,
    ResourceKey("apps", "daemonsets"): workloaddefaulting.default_daemonset,
    ResourceKey("batch", "jobs"): workloaddefaulting.default_job,
    ResourceKey("batch", "cronjobs"): workloaddefaulting.default_cronjob,
}


def apply_schema_defaults(value: Any, schema: Mapping[str, Any] | None) -> None:
    """OpenAPI `default`s of a CRD's structural schema (structural/defaulting `Default`).

    A default fills a property that is missing where its parent object exists, and a `null` where
    the schema does not allow one (in a property, a map value or a list item).
    """
    if not schema:
        return
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, sub in properties.items():
            if "default" in sub and (name not in value or _null_to_default(value[name], sub)):
                value[name] = copy.deepcopy(sub["default"])
        for name in value:
            sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
            if sub is not None and _null_to_default(value[name], sub):
                value[name] = copy.deepcopy(sub["default"])
            apply_schema_defaults(value[name], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        for index, item in enumerate(value):
            if _null_to_default(item, items):
                value[index] = copy.deepcopy(items["default"])
            apply_schema_defaults(value[index], items)


def _null_to_default(value: Any, schema: Mapping[str, Any]) -> bool:
    return value is None and "default" in schema and not schema.get("nullable")


def apply_resource_defaults(schema: Mapping[str, Any], obj: Body) -> None:
    """A custom resource's defaults: its schema's, but never in `metadata` (ObjectMeta has none)."""
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k != "metadata"}
    apply_schema_defaults(obj, {**schema, "properties": properties})


def drop_nulls(value: Any) -> None:
    """Remove `null` members in place: a built-in kind is decoded into Go structs, where null is unset.

    `kubectl rollout undo` sends a template with `metadata.creationTimestamp: null`; kept, it would
    make the Deployment's template differ from the ReplicaSet's it was copied from.
    """
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for item in value.values():
            drop_nulls(item)
    elif isinstance(value, list):
        for item in value:
            drop_nulls(item)


def default_object(rt: ResourceType, obj: Body, *, old: Body | None) -> None:
    """Apply the real server's defaults for this kind in place; creating when there is no old object."""
    creating = old is None
    if rt.key == NAMESPACES and old is not None:
        child(obj, "spec")["finalizers"] = copy.deepcopy((old.get("spec") or {}).get("finalizers") or [])
    defaulter = DEFAULTERS.get(rt.key)
    if defaulter is not None:
        drop_nulls(obj)
        defaulter(obj, creating=creating)
    elif rt.schema:
        apply_resource_defaults(rt.schema, obj)
