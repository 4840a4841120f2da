"""The columns `kubectl get` prints for core kinds, and the vocabulary every printer shares.

kubectl asks for a Table and prints the cells verbatim, so the server decides the column set,
the wording of each cell and the humanized ages. Columns with priority 1 appear only with
`-o wide`. The cell rules follow the upstream printers (pkg/printers/internalversion) closely
enough that a person reading this cluster's output sees what a real one would show. Workload
kinds (pods, apps/v1, batch/v1) live in workloadcolumns.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kfval.embedded.clock import humanize_age, parse_rfc3339
from kfval.embedded.store import selectors
from kfval.embedded.types import Body, ResourceKey

NONE = "<none>"
UNKNOWN = "<unknown>"
MAX_LISTED_ENDPOINTS = 3
_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


@dataclass(frozen=True)
class Column:
    """One Table column definition (metav1.TableColumnDefinition)."""

    name: str
    description: str = ""
    type: str = "string"
    priority: int = 0
    format: str = ""

    def definition(self) -> Body:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


Cells = Callable[[Body, datetime], list[Any]]


@dataclass(frozen=True)
class Printer:
    """The columns of one kind and how to fill one row of them from an object."""

    columns: tuple[Column, ...]
    cells: Cells


NAME = Column(
    "Name",
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow "
    "a client to request the generation of an appropriate name automatically.",
    format="name",
)
AGE = Column("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.")
CONTAINERS = Column("Containers", "Names of each container in the template.", priority=1)
IMAGES = Column("Images", "Images referenced by each container in the template.", priority=1)
SELECTOR = Column("Selector", "Label selector for the objects this one manages.", priority=1)


def field(body: Mapping[str, Any], *path: str) -> Any:
    """The value at a path of nested objects, or None when any step is missing."""
    node: Any = body
    for step in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node


def since(timestamp: str | None, now: datetime) -> str:
    """A humanized age of an RFC 3339 timestamp, `<unknown>` without one (kubectl's translateTimestampSince)."""
    if not timestamp:
        return UNKNOWN
    return humanize_age((now - parse_rfc3339(timestamp)).total_seconds())


def age(body: Body, now: datetime) -> str:
    return since(field(body, "metadata", "creationTimestamp"), now)


def name(body: Body) -> str:
    return str(field(body, "metadata", "name") or "")


def format_labels(labels: Mapping[str, str] | None) -> str:
    """`a=b,c=d` sorted by key, `<none>` when empty (labels.FormatLabels)."""
    if not labels:
        return NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def format_selector(selector: Mapping[str, Any] | None) -> str:
    """A metav1.LabelSelector as kubectl prints it: `app=x,tier in (a,b),!legacy`."""
    return str(selectors.selector_from_match(selector)) or NONE


def condition_true(conditions: Iterable[Mapping[str, Any]] | None, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions or [])


def integer(column: str, description: str) -> Column:
    return Column(column, description, type="integer")


def wide(column: str, description: str = "") -> Column:
    return Column(column, description, priority=1)


# -- core/v1 kinds (pods live with the workloads) ----------------------------------------------------


def _service_external_ip(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(spec.get("externalName") or NONE)
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in field(status, "loadBalancer", "ingress") or []]
        return ",".join([*ingress, *external]) or "<pending>"
    return ",".join(external) or NONE


def _service(body: Body, now: datetime) -> list[Any]:
    spec = body.get("spec") or {}
    ports = [
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    ]
    return [
        name(body),
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or NONE,
        _service_external_ip(spec, body.get("status") or {}),
        ",".join(ports) or NONE,
        age(body, now),
        format_labels(spec.get("selector")),
    ]


def _endpoints(body: Body, now: datetime) -> list[Any]:
    listed: list[str] = []
    for subset in body.get("subsets") or []:
        ports = subset.get("ports") or [{}]
        for port in ports:
            for address in subset.get("addresses") or []:
                ip = address.get("ip", "")
                listed.append(f"{ip}:{port['port']}" if "port" in port else ip)
    text = ",".join(listed[:MAX_LISTED_ENDPOINTS]) or NONE
    if len(listed) > MAX_LISTED_ENDPOINTS:
        text += f" + {len(listed) - MAX_LISTED_ENDPOINTS} more..."
    return [name(body), text, age(body, now)]


def _pvc(body: Body, now: datetime) -> list[Any]:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    bound = status.get("phase") == "Bound"
    modes = ",".join(_ACCESS_MODES.get(m, m) for m in status.get("accessModes") or []) if bound else ""
    capacity = field(status, "capacity", "storage") if bound else ""
    storage_class = spec.get("storageClassName") or field(
        body, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class"
    )
    volume_mode = spec.get("volumeMode") or "<unset>"
    return [
        name(body),
        status.get("phase", ""),
        spec.get("volumeName", ""),
        capacity or "",
        modes,
        storage_class or "",
        age(body, now),
        volume_mode,
    ]


def _node_status(body: Body) -> str:
    ready = [c.get("status") for c in field(body, "status", "conditions") or [] if c.get("type") == "Ready"]
    text = {"True": "Ready", "False": "NotReady"}.get(ready[0] if ready else "", "Unknown")
    return f"{text},SchedulingDisabled" if field(body, "spec", "unschedulable") else text


def _node(body: Body, now: datetime) -> list[Any]:
    labels = field(body, "metadata", "labels") or {}
    roles = {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
    roles |= {labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()
    addresses = field(body, "status", "addresses") or []
    internal = [a["address"] for a in addresses if a.get("type") == "InternalIP"]
    external = [a["address"] for a in addresses if a.get("type") == "ExternalIP"]
    info = field(body, "status", "nodeInfo") or {}
    return [
        name(body),
        _node_status(body),
        ",".join(sorted(r for r in roles if r)) or NONE,
        age(body, now),
        info.get("kubeletVersion", ""),
        internal[0] if internal else NONE,
        external[0] if external else NONE,
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _event(body: Body, now: datetime) -> list[Any]:
    """Core/v1 Events, and events.k8s.io/v1 ones through their renamed fields."""
    regarding = body.get("involvedObject") or body.get("regarding") or {}
    first_seen = body.get("firstTimestamp") or body.get("deprecatedFirstTimestamp") or body.get("eventTime")
    last_seen = body.get("lastTimestamp") or body.get("deprecatedLastTimestamp") or first_seen
    count = body.get("count") or body.get("deprecatedCount") or 1
    if field(body, "series", "lastObservedTime"):
        last_seen, count = body["series"]["lastObservedTime"], body["series"].get("count", count)
    kind = str(regarding.get("kind", "")).lower()
    target = f"{kind}/{regarding['name']}" if regarding.get("name") else kind
    source = body.get("source") or body.get("deprecatedSource") or {}
    component = source.get("component") or body.get("reportingController") or body.get("reportingComponent") or ""
    host = source.get("host") or body.get("reportingInstance") or ""
    message = str(body.get("message") or body.get("note") or "").strip()
    return [
        since(last_seen, now),
        body.get("type", ""),
        body.get("reason", ""),
        target,
        regarding.get("fieldPath", ""),
        ", ".join(p for p in (component, host) if p),
        message,
        since(first_seen, now),
        int(count),
        name(body),
    ]


def _namespace(body: Body, now: datetime) -> list[Any]:
    return [name(body), field(body, "status", "phase") or "Active", age(body, now)]


def _configmap(body: Body, now: datetime) -> list[Any]:
    return [name(body), len(body.get("data") or {}) + len(body.get("binaryData") or {}), age(body, now)]


def _secret(body: Body, now: datetime) -> list[Any]:
    return [name(body), body.get("type") or "Opaque", len(body.get("data") or {}), age(body, now)]


def _serviceaccount(body: Body, now: datetime) -> list[Any]:
    return [name(body), len(body.get("secrets") or []), age(body, now)]


def _crd(body: Body, now: datetime) -> list[Any]:
    return [name(body), field(body, "metadata", "creationTimestamp") or UNKNOWN]


def _name_age(body: Body, now: datetime) -> list[Any]:
    return [name(body), age(body, now)]


DEFAULT_PRINTER = Printer((NAME, AGE), _name_age)
"""Kinds without their own printer: what kubectl itself falls back to."""

_EVENT_PRINTER = Printer(
    (
        Column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        Column("Type", "Type of this event (Normal, Warning)."),
        Column("Reason", "A short, machine understandable string that gives the reason for the transition."),
        Column("Object", "The object that this event is about."),
        wide("Subobject", "The field of the object this event is about."),
        wide("Source", "The component reporting this event."),
        Column("Message", "A human-readable description of the status of this operation."),
        wide("First Seen", "The time at which the event was first recorded."),
        wide("Count", "The number of times this event has occurred."),
        Column(NAME.name, NAME.description, priority=1, format="name"),
    ),
    _event,
)

CORE_PRINTERS: dict[ResourceKey, Printer] = {
    ResourceKey("", "namespaces"): Printer((NAME, Column("Status", "The phase of the namespace."), AGE), _namespace),
    ResourceKey("", "configmaps"): Printer((NAME, integer("Data", "Number of data entries."), AGE), _configmap),
    ResourceKey("", "secrets"): Printer(
        (NAME, Column("Type", "The type of the secret."), integer("Data", "Number of data entries."), AGE), _secret
    ),
    ResourceKey("", "serviceaccounts"): Printer(
        (NAME, integer("Secrets", "Number of secrets listed by the service account."), AGE), _serviceaccount
    ),
    ResourceKey("", "services"): Printer(
        (
            NAME,
            Column("Type", "How the service is exposed."),
            Column("Cluster-IP", "The IP address of the service inside the cluster."),
            Column("External-IP", "The addresses the service is reachable at from outside."),
            Column("Port(s)", "The ports the service exposes."),
            AGE,
            wide("Selector", "Route service traffic to pods with label keys and values matching this selector."),
        ),
        _service,
    ),
    ResourceKey("", "endpoints"): Printer((NAME, Column("Endpoints", "Endpoints of the subsets."), AGE), _endpoints),
    ResourceKey("", "persistentvolumeclaims"): Printer(
        (
            NAME,
            Column("Status", "The phase of the claim."),
            Column("Volume", "The volume bound to the claim."),
            Column("Capacity", "The actual resources of the underlying volume."),
            Column("Access Modes", "The access modes of the underlying volume."),
            Column("StorageClass", "The name of the storage class of the claim."),
            AGE,
            wide("VolumeMode", "Whether the volume is used with a filesystem or as a raw block device."),
        ),
        _pvc,
    ),
    ResourceKey("", "nodes"): Printer(
        (
            NAME,
            Column("Status", "The status of the node."),
            Column("Roles", "The roles of the node."),
            AGE,
            Column("Version", "Kubelet version reported by the node."),
            wide("Internal-IP", "The internal IP of the node."),
            wide("External-IP", "The external IP of the node."),
            wide("OS-Image", "OS image reported by the node."),
            wide("Kernel-Version", "Kernel version reported by the node."),
            wide("Container-Runtime", "Container runtime version reported by the node."),
        ),
        _node,
    ),
    ResourceKey("", "events"): _EVENT_PRINTER,
    ResourceKey("events.k8s.io", "events"): _EVENT_PRINTER,
    ResourceKey("apiextensions.k8s.io", "customresourcedefinitions"): Printer(
        (NAME, Column("Created At", "The time the definition was created.", type="date")), _crd
    ),
}
