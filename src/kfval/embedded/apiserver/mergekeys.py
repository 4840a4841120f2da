"""The patch strategy of each field of the built-in kinds, as k8s.io/api declares it in struct tags.

A strategic merge patch and a server-side apply both need to know, for every list on the way down an
object, whether it is atomic (replaced whole), a set of primitives (`finalizers`) or a list of maps
merged by key (`containers` by `name`, container `ports` by `containerPort`). The real server reads
this from the Go types' `patchStrategy`/`patchMergeKey` tags and `listType`/`listMapKey` markers; this
table restates the part of it that kubectl, Helm and the suite touch. A field missing here behaves as
untyped: maps merge key by key and lists are atomic, which is also what a custom resource gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ListType = Literal["atomic", "set", "map"]

UNTYPED = ""
"""The shape of a value nothing is declared about (a custom resource's spec, a label map)."""

KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}
"""Defaults of list-map key fields, used when an applied item omits them (ports without protocol)."""


@dataclass(frozen=True)
class Field:
    """The patch metadata of one field: the shape of its value (or items) and how lists merge."""

    shape: str = UNTYPED
    list_type: ListType = "atomic"
    merge_key: str = ""
    """`patchMergeKey`: the one key a strategic merge patch matches items by."""
    keys: tuple[str, ...] = ()
    """`listMapKey`s: the keys server-side apply identifies items by (may add `protocol`)."""


def keyed(merge_key: str, shape: str = UNTYPED, *, keys: tuple[str, ...] = ()) -> Field:
    """A list of maps merged by `merge_key` (and identified by `keys` in server-side apply)."""
    return Field(shape=shape, list_type="map", merge_key=merge_key, keys=keys or (merge_key,))


def struct(shape: str) -> Field:
    """A nested object whose own fields are described by `shape`."""
    return Field(shape=shape)


UNDECLARED = Field()
PRIMITIVE_SET = Field(list_type="set")
CONDITIONS = keyed("type")

SHAPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {
        "finalizers": PRIMITIVE_SET,
        "ownerReferences": keyed("uid"),
    },
    "PodTemplateSpec": {"metadata": struct("ObjectMeta"), "spec": struct("PodSpec")},
    "PodSpec": {
        "containers": keyed("name", "Container"),
        "initContainers": keyed("name", "Container"),
        "ephemeralContainers": keyed("name", "Container"),
        "volumes": keyed("name"),
        "imagePullSecrets": keyed("name"),
        "hostAliases": keyed("ip"),
        "topologySpreadConstraints": keyed("topologyKey", keys=("topologyKey", "whenUnsatisfiable")),
        "resourceClaims": keyed("name"),
        "schedulingGates": keyed("name"),
    },
    "Container": {
        "ports": keyed("containerPort", keys=("containerPort", "protocol")),
        "env": keyed("name"),
        "volumeMounts": keyed("mountPath"),
        "volumeDevices": keyed("devicePath"),
    },
    "PodStatus": {
        "conditions": CONDITIONS,
        "podIPs": keyed("ip"),
        "hostIPs": keyed("ip"),
    },
    "ServiceSpec": {"ports": keyed("port", keys=("port", "protocol"))},
    "ConditionedStatus": {"conditions": CONDITIONS},
    "NodeStatus": {"conditions": CONDITIONS, "addresses": keyed("type")},
    "TemplatedSpec": {"template": struct("PodTemplateSpec")},
    "CronJobSpec": {"jobTemplate": struct("JobTemplateSpec")},
    "JobTemplateSpec": {"metadata": struct("ObjectMeta"), "spec": struct("TemplatedSpec")},
}


def _root(spec: str = UNTYPED, status: str = UNTYPED) -> dict[str, Field]:
    fields = {"metadata": struct("ObjectMeta")}
    if spec:
        fields["spec"] = struct(spec)
    if status:
        fields["status"] = struct(status)
    return fields


_KIND_ROOTS: dict[str, dict[str, Field]] = {
    "Pod": _root("PodSpec", "PodStatus"),
    "PodTemplate": {"metadata": struct("ObjectMeta"), "template": struct("PodTemplateSpec")},
    "Deployment": _root("TemplatedSpec", "ConditionedStatus"),
    "ReplicaSet": _root("TemplatedSpec", "ConditionedStatus"),
    "StatefulSet": _root("TemplatedSpec", "ConditionedStatus"),
    "DaemonSet": _root("TemplatedSpec", "ConditionedStatus"),
    "ReplicationController": _root("TemplatedSpec", "ConditionedStatus"),
    "Job": _root("TemplatedSpec", "ConditionedStatus"),
    "CronJob": _root("CronJobSpec"),
    "Service": _root("ServiceSpec", "ConditionedStatus"),
    "Namespace": _root(status="ConditionedStatus"),
    "Node": _root(status="NodeStatus"),
    "PersistentVolumeClaim": _root(status="ConditionedStatus"),
    "PodDisruptionBudget": _root(status="ConditionedStatus"),
    "ServiceAccount": {"metadata": struct("ObjectMeta"), "secrets": keyed("name")},
}
SHAPES.update({f"kind:{kind}": fields for kind, fields in _KIND_ROOTS.items()})

_ANY_KIND = "kind:"
SHAPES[_ANY_KIND] = _root()


def kind_shape(kind: str) -> str:
    """The shape of a whole object of `kind`; unknown kinds (custom resources) get only ObjectMeta."""
    shape = f"kind:{kind}"
    return shape if shape in SHAPES else _ANY_KIND


def field(shape: str, name: str) -> Field:
    """The metadata of field `name` inside a value of `shape` (untyped when nothing is declared)."""
    return SHAPES.get(shape, {}).get(name, UNDECLARED)
