"""Publishes which pods back each Service, as kube-controller-manager's endpoint controller does.

The kubelet's per-pod /etc/hosts, `kubectl describe service` and clients waiting for a Service to
have endpoints all read the Endpoints object of the same name: ready pod IPs under `addresses`,
the others under `notReadyAddresses`, and the service ports with each named targetPort resolved
against the pod's container ports. A Service without a selector is left to whoever manages its
Endpoints by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.reactor import Watched, is_being_deleted
from kfval.embedded.errors import AlreadyExistsError, ForbiddenError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body, ObjectKey, ResourceKey, WatchEvent

HEADLESS_LABEL = "service.kubernetes.io/headless"
_SERVICES = ResourceKey("", "services")

PortKey = tuple[tuple[str, int, str], ...]


def is_ready(pod: Body) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def is_endpoint_candidate(pod: Body) -> bool:
    """A pod with an IP that has neither finished nor begun terminating."""
    status = pod.get("status") or {}
    if not status.get("podIP") or is_being_deleted(pod):
        return False
    return status.get("phase") not in ("Succeeded", "Failed")


def resolve_target_port(service_port: Body, pod: Body) -> int | None:
    """The pod port a service port sends to: a number, or a container port looked up by name."""
    target: Any = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_address(pod: Body, service: Body) -> Body:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    address: Body = {"ip": pod["status"]["podIP"]}
    service_meta = service["metadata"]
    if spec.get("hostname") and spec.get("subdomain") == service_meta["name"]:
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}
    return address


def _endpoint_ports(service: Body, pod: Body) -> PortKey | None:
    """The subset's ports for this pod, or None when a named targetPort cannot be found in it."""
    ports = []
    for service_port in (service.get("spec") or {}).get("ports") or []:
        number = resolve_target_port(service_port, pod)
        if number is None:
            return None
        ports.append((service_port.get("name", ""), number, service_port.get("protocol", "TCP")))
    return tuple(ports)


def build_subsets(service: Body, pods: list[Body]) -> list[Body]:
    """Group pods by their resolved ports into subsets, addresses sorted by IP."""
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    grouped: dict[PortKey, tuple[list[Body], list[Body]]] = {}
    for pod in pods:
        ports = _endpoint_ports(service, pod)
        if ports is None or not is_endpoint_candidate(pod):
            continue
        ready, not_ready = grouped.setdefault(ports, ([], []))
        (ready if publish_all or is_ready(pod) else not_ready).append(endpoint_address(pod, service))
    subsets = []
    for ports, (ready, not_ready) in sorted(grouped.items()):
        subset: Body = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        if ports:
            subset["ports"] = [
                {**({"name": name} if name else {}), "port": number, "protocol": protocol}
                for name, number, protocol in ports
            ]
        subsets.append(subset)
    return subsets


class EndpointsController:
    """Keeps one Endpoints object per selector-bearing Service in step with its pods."""

    name = "endpoint-controller"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._services = store.catalog.lookup("", "v1", "services")
        self._pods = store.catalog.lookup("", "v1", "pods")
        self._endpoints = store.catalog.lookup("", "v1", "endpoints")

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("", "v1", "services"),
            Watched("", "v1", "pods", self.services_of_namespace),
            Watched("", "v1", "endpoints", self.service_of_endpoints),
        ]

    def services_of_namespace(self, event: WatchEvent) -> list[ObjectKey]:
        """A pod change may concern any service in its namespace."""
        namespace = event.object["metadata"].get("namespace", "")
        services, _ = self._store.list(self._services, namespace)
        return [ObjectKey(_SERVICES, namespace, s["metadata"]["name"]) for s in services]

    def service_of_endpoints(self, event: WatchEvent) -> list[ObjectKey]:
        meta = event.object["metadata"]
        return [ObjectKey(_SERVICES, meta.get("namespace", ""), meta["name"])]

    async def reconcile(self, key: ObjectKey) -> float | None:
        try:
            service = self._store.get(self._services, key.namespace, key.name)
        except NotFoundError:
            self._delete_endpoints(key)
            return None
        selector = (service.get("spec") or {}).get("selector")
        if not selector or is_being_deleted(service):
            return None
        match = selector_from_match({"matchLabels": selector})
        pods, _ = self._store.list(self._pods, key.namespace, match.matches)
        self._write(service, build_subsets(service, pods))
        return None

    def _delete_endpoints(self, key: ObjectKey) -> None:
        try:
            self._store.delete(self._endpoints, key.namespace, key.name)
        except NotFoundError:
            return

    def _labels(self, service: Body) -> dict[str, str]:
        labels = dict(service["metadata"].get("labels") or {})
        if (service.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        return labels

    def _write(self, service: Body, subsets: list[Body]) -> None:
        meta = service["metadata"]
        labels = self._labels(service)
        try:
            current = self._store.get(self._endpoints, meta["namespace"], meta["name"])
        except NotFoundError:
            body: Body = {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
            if labels:
                body["metadata"]["labels"] = labels
            if subsets:
                body["subsets"] = subsets
            try:
                self._store.create(self._endpoints, body, namespace=meta["namespace"])
            except (AlreadyExistsError, ForbiddenError):
                return
            return
        wanted = dict(current)
        wanted["metadata"] = {**current["metadata"], "labels": labels}
        if not labels:
            wanted["metadata"].pop("labels")
        wanted.pop("subsets", None)
        if subsets:
            wanted["subsets"] = subsets
        if wanted != current:
            self._store.replace(self._endpoints, wanted)
