"""Which resources this cluster serves: the built-in kinds, and the kinds CRDs add at run time.

Discovery, OpenAPI, routing and the store all ask the catalog; a CRD's kinds appear in it the
moment the CRD is stored, as on a real server once the CRD is Established.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kfval.embedded.errors import NotFoundError
from kfval.embedded.types import Body, PrinterColumn, ResourceKey, ResourceType

_STATUS = frozenset({"status"})
_STATUS_SCALE = frozenset({"status", "scale"})
_READ = ("get", "list", "watch")


def _rt(
    api_version: str,
    resource: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    sub: frozenset[str] = frozenset(),
    verbs: tuple[str, ...] | None = None,
) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    extra: dict[str, Any] = {"verbs": verbs} if verbs else {}
    return ResourceType(
        group=group,
        version=version,
        resource=resource,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        short_names=short,
        categories=cats,
        subresources=sub,
        **extra,
    )


BUILTINS: tuple[ResourceType, ...] = (
    _rt("v1", "namespaces", "Namespace", namespaced=False, short=("ns",), sub=frozenset({"status", "finalize"})),
    _rt("v1", "nodes", "Node", namespaced=False, short=("no",), sub=_STATUS),
    _rt(
        "v1",
        "pods",
        "Pod",
        short=("po",),
        cats=("all",),
        sub=frozenset({"status", "log", "exec", "binding", "eviction"}),
    ),
    _rt("v1", "configmaps", "ConfigMap", short=("cm",)),
    _rt("v1", "secrets", "Secret"),
    _rt("v1", "services", "Service", short=("svc",), cats=("all",), sub=_STATUS),
    _rt("v1", "endpoints", "Endpoints", short=("ep",)),
    _rt("v1", "serviceaccounts", "ServiceAccount", short=("sa",), sub=frozenset({"token"})),
    _rt("v1", "events", "Event", short=("ev",)),
    _rt("v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",), sub=_STATUS),
    _rt("v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=("pv",), sub=_STATUS),
    _rt("v1", "limitranges", "LimitRange", short=("limits",)),
    _rt("v1", "resourcequotas", "ResourceQuota", short=("quota",), sub=_STATUS),
    _rt("v1", "replicationcontrollers", "ReplicationController", short=("rc",), cats=("all",), sub=_STATUS_SCALE),
    _rt("apps/v1", "deployments", "Deployment", short=("deploy",), cats=("all",), sub=_STATUS_SCALE),
    _rt("apps/v1", "replicasets", "ReplicaSet", short=("rs",), cats=("all",), sub=_STATUS_SCALE),
    _rt("apps/v1", "statefulsets", "StatefulSet", short=("sts",), cats=("all",), sub=_STATUS_SCALE),
    _rt("apps/v1", "daemonsets", "DaemonSet", short=("ds",), cats=("all",), sub=_STATUS),
    _rt("apps/v1", "controllerrevisions", "ControllerRevision"),
    _rt("batch/v1", "jobs", "Job", cats=("all",), sub=_STATUS),
    _rt("batch/v1", "cronjobs", "CronJob", short=("cj",), cats=("all",), sub=_STATUS),
    _rt("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",), sub=_STATUS),
    _rt("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _rt("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _rt("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", namespaced=False),
    _rt("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _rt("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    _rt("networking.k8s.io/v1", "ingresses", "Ingress", short=("ing",), sub=_STATUS),
    _rt("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), sub=_STATUS),
    _rt("coordination.k8s.io/v1", "leases", "Lease"),
    _rt("storage.k8s.io/v1", "storageclasses", "StorageClass", namespaced=False, short=("sc",)),
    _rt("events.k8s.io/v1", "events", "Event", short=("ev",)),
    _rt("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", namespaced=False, short=("pc",)),
    _rt(
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
    ),
    _rt(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    _rt(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        sub=_STATUS,
    ),
    _rt(
        "authorization.k8s.io/v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
    _rt(
        "authorization.k8s.io/v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        namespaced=False,
        verbs=("create",),
    ),
    _rt("metrics.k8s.io/v1beta1", "pods", "PodMetrics", verbs=("get", "list")),
    _rt("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=("get", "list")),
)
METRICS_GROUP = "metrics.k8s.io"
"""Served from the kubelet's measurements (`apiserver/metricsapi.py`), never stored, as metrics-server serves it."""

CRD_KEY = ResourceKey("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ResourceKey("", "namespaces")
POD_KEY = ResourceKey("", "pods")


def _printer_columns(version: Body) -> tuple[PrinterColumn, ...]:
    return tuple(
        PrinterColumn(
            name=c["name"],
            type=c.get("type", "string"),
            json_path=c["jsonPath"],
            description=c.get("description", ""),
            priority=int(c.get("priority", 0)),
            format=c.get("format", ""),
        )
        for c in version.get("additionalPrinterColumns") or []
    )


def types_of_crd(crd: Body) -> list[ResourceType]:
    """The resource types one CRD serves: one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    result = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        result.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                resource=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=frozenset(k for k in ("status", "scale") if k in subresources),
                printer_columns=_printer_columns(version),
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            )
        )
    return result


class Catalog:
    """All served resource types, by group/version/resource, with the lookups clients need."""

    def __init__(self, builtins: Iterable[ResourceType] = BUILTINS) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}
        self.generation = 0
        for rt in builtins:
            self._types[(rt.group, rt.version, rt.resource)] = rt

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(sorted(self._types.values(), key=lambda rt: (rt.group, rt.version, rt.resource)))

    def lookup(self, group: str, version: str, resource: str) -> ResourceType:
        """The type at a REST path; 404 in the real server's wording when it is not served."""
        rt = self._types.get((group, version, resource))
        if rt is None:
            raise NotFoundError("the server could not find the requested resource")
        return rt

    def find(self, group: str, version: str, resource: str) -> ResourceType | None:
        return self._types.get((group, version, resource))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self._types.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def storage_type(self, key: ResourceKey) -> ResourceType | None:
        """Any served version of a resource (the store keeps one object set per group/resource)."""
        for rt in self._types.values():
            if rt.key == key:
                return rt
        return None

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, newest first as the CRD lists them."""
        result: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = result.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return result

    def is_custom(self, rt: ResourceType) -> bool:
        """Whether a CRD serves this type (custom resources take merge patches, not strategic ones)."""
        return any(rt in types for types in self._crd_types.values())

    def register_crd(self, crd: Body) -> None:
        name = crd["metadata"]["name"]
        self.unregister_crd(name)
        types = types_of_crd(crd)
        for rt in types:
            self._types[(rt.group, rt.version, rt.resource)] = rt
        self._crd_types[name] = types
        self.generation += 1

    def unregister_crd(self, name: str) -> None:
        for rt in self._crd_types.pop(name, []):
            self._types.pop((rt.group, rt.version, rt.resource), None)
        self.generation += 1
