"""The one Node of the embedded cluster, its heartbeat, and the scheduler's job of binding pods to it.

Clients expect a cluster to have a Ready node (`kubectl get nodes`, Helm's and kfval's readiness
checks, node selectors on `kubernetes.io/os`), and pods to be bound and marked PodScheduled before
a kubelet runs them. With a single node, scheduling reduces to two questions answered here the way
kube-scheduler words them: are the pod's PersistentVolumeClaims bound, and is it ours to schedule.
"""

from __future__ import annotations

import os
import platform
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from kfval.embedded.clock import Clock, rfc3339, rfc3339_micro
from kfval.embedded.errors import ConflictError, NotFoundError
from kfval.embedded.kubelet import fitting, podstatus
from kfval.embedded.kubelet.podservices import EventRecording
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

DEFAULT_NODE_NAME = "kfval-node"
KUBELET_VERSION = "v1.32.0"
CONTAINER_RUNTIME_VERSION = "kfval://0.1"
MAX_PODS = 110
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
DEFAULT_SCHEDULER = "default-scheduler"
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
_PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def architecture() -> str:
    machine = platform.machine()
    return _ARCHITECTURES.get(machine, machine)


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def memory_kibibytes() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def capacity(storage_dir: Path) -> dict[str, str]:
    """The node's resources, from the host: every CPU, all memory, the disk holding the pods."""
    disk = shutil.disk_usage(storage_dir)
    return {
        "cpu": str(os.cpu_count() or 1),
        "ephemeral-storage": f"{disk.total // 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{memory_kibibytes()}Ki",
        "pods": str(MAX_PODS),
    }


def node_conditions(now: str, previous: list[Body] | None = None) -> list[Body]:
    """Pressure conditions False and Ready True; transitions kept from `previous`."""
    before = {c.get("type"): c for c in previous or []}
    wanted = [(t, "False", r, m) for t, r, m in _PRESSURE]
    wanted.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    result = []
    for type_, status, reason, message in wanted:
        old = before.get(type_) or {}
        transition = old["lastTransitionTime"] if old.get("status") == status else now
        result.append(
            {
                "type": type_,
                "status": status,
                "lastHeartbeatTime": now,
                "lastTransitionTime": transition,
                "reason": reason,
                "message": message,
            }
        )
    return result


def node_info(name: str, arch: str) -> Body:
    """`status.nodeInfo`: the host's identity and kernel, this kubelet's and runtime's versions."""
    machine_id = _read("/etc/machine-id", uuid.uuid5(uuid.NAMESPACE_DNS, name).hex)
    return {
        "machineID": machine_id,
        "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, machine_id)),
        "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "kernelVersion": platform.release(),
        "osImage": os_image(),
        "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": KUBELET_VERSION,
        "operatingSystem": "linux",
        "architecture": arch,
    }


def node_body(name: str, *, host_ip: str, now: str, storage_dir: Path, images: Sequence[str] = ()) -> Body:
    """The Node object as a kubelet registers it, with the images it holds (`status.images`)."""
    arch = architecture()
    resources = capacity(storage_dir)
    return {
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": "",
            },
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": dict(resources),
            "conditions": node_conditions(now),
            "addresses": [{"type": "InternalIP", "address": host_ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": node_info(name, arch),
            "images": [{"names": [f"docker.io/{image}", image]} for image in images],
        },
    }


class NodeAgent:
    """Registers the node and keeps it (and its Lease) fresh while the cluster runs."""

    def __init__(
        self, store: Store, clock: Clock, *, name: str, host_ip: str, storage_dir: Path, images: Sequence[str] = ()
    ) -> None:
        self._store = store
        self._images = tuple(images)
        self._clock = clock
        self.name = name
        self._host_ip = host_ip
        self._storage_dir = storage_dir
        self._nodes = store.catalog.lookup("", "v1", "nodes")
        self._leases = store.catalog.lookup("coordination.k8s.io", "v1", "leases")

    def register(self) -> Body:
        now = rfc3339(self._clock.now())
        body = node_body(self.name, host_ip=self._host_ip, now=now, storage_dir=self._storage_dir, images=self._images)
        if not self._store.exists(self._nodes, None, self.name):
            return self._store.create(self._nodes, body)
        current = self._store.get(self._nodes, None, self.name)
        current["status"] = body["status"]
        return self._store.replace(self._nodes, current, subresource="status")

    def heartbeat(self) -> None:
        """Renew the Lease and the conditions' lastHeartbeatTime, as the kubelet's status loop does."""
        now = self._clock.now()
        try:
            current = self._store.get(self._nodes, None, self.name)
        except NotFoundError:
            current = self.register()
        status = current.setdefault("status", {})
        status["conditions"] = node_conditions(rfc3339(now), status.get("conditions"))
        try:
            current = self._store.replace(self._nodes, current, subresource="status")
        except ConflictError:
            return
        self._renew_lease(current, rfc3339_micro(now))

    def _renew_lease(self, node: Body, renew_time: str) -> None:
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew_time}
        try:
            lease = self._store.get(self._leases, LEASE_NAMESPACE, self.name)
        except NotFoundError:
            owner = {"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": node["metadata"]["uid"]}
            body = {"metadata": {"name": self.name, "ownerReferences": [owner]}, "spec": spec}
            try:
                self._store.create(self._leases, body, namespace=LEASE_NAMESPACE)
            except NotFoundError:
                return  # no kube-node-lease namespace in this cluster: the node status alone is the heartbeat
            return
        lease["spec"] = spec
        self._store.replace(self._leases, lease)

    async def run(self, interval_seconds: float) -> None:
        while True:
            await self._clock.sleep(interval_seconds)
            self.heartbeat()


def unschedulable_message(reason: str, *, preemption: str = "1 Preemption is not helpful for scheduling.") -> str:
    """kube-scheduler's FailedScheduling text for a one-node cluster."""
    return f"0/1 nodes are available: {reason}. preemption: 0/1 nodes are available: {preemption}"


NO_VICTIMS = "1 No preemption victims found for incoming pod."
"""What the preemption pass says when only resources are short and no pod has a lower priority."""


class Scheduler:
    """kube-scheduler for a one-node cluster: binds a pod once its claims are bound, else says why not."""

    def __init__(self, store: Store, clock: Clock, events: EventRecording, *, node_name: str) -> None:
        self._store = store
        self._clock = clock
        self._events = events
        self._node_name = node_name
        self._pods = store.catalog.lookup("", "v1", "pods")
        self._claims = store.catalog.lookup("", "v1", "persistentvolumeclaims")

    @staticmethod
    def wants(pod: Body) -> bool:
        """Unbound, not being deleted, and addressed to the default scheduler."""
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return False
        return spec.get("schedulerName") in (None, "", DEFAULT_SCHEDULER)

    def schedule(self, pod: Body) -> bool:
        """Bind `pod` to the node; False (and PodScheduled False) when it cannot be placed yet."""
        problem = self._unschedulable(pod)
        if problem is not None:
            self._mark_unschedulable(pod, unschedulable_message(problem))
            return False
        short = self._short_of(pod)
        if short:
            reason = ", ".join(f"1 Insufficient {name}" for name in short)
            self._mark_unschedulable(pod, unschedulable_message(reason, preemption=NO_VICTIMS))
            return False
        self._bind(pod)
        return True

    def _unschedulable(self, pod: Body) -> str | None:
        namespace = pod["metadata"].get("namespace", "")
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            try:
                pvc = self._store.get(self._claims, namespace, claim)
            except NotFoundError:
                return f'persistentvolumeclaim "{claim}" not found'
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return "pod has unbound immediate PersistentVolumeClaims"
        return None

    def _short_of(self, pod: Body) -> list[str]:
        """The resources the node's allocatable lacks for this pod, next to the pods already bound."""
        try:
            node = self._store.get(self._store.catalog.lookup("", "v1", "nodes"), None, self._node_name)
        except NotFoundError:
            return []
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        bound, _ = self._store.list(
            self._pods,
            predicate=lambda p: (
                (p.get("spec") or {}).get("nodeName") == self._node_name
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            ),
        )
        return fitting.insufficient(pod.get("spec") or {}, allocatable, (p.get("spec") or {} for p in bound))

    def _bind(self, pod: Body) -> None:
        meta = pod["metadata"]
        current = self._store.get(self._pods, meta.get("namespace"), meta["name"])
        current.setdefault("spec", {})["nodeName"] = self._node_name
        current = self._store.replace(self._pods, current, subresource="binding")
        status = current.setdefault("status", {})
        status.setdefault("phase", "Pending")
        others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        scheduled = podstatus.condition("PodScheduled", True, now=rfc3339(self._clock.now()))
        status["conditions"] = [*others, scheduled]
        self._store.replace(self._pods, current, subresource="status")
        self._events.event(
            current,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {self._node_name}",
        )

    def _mark_unschedulable(self, pod: Body, message: str) -> None:
        meta = pod["metadata"]
        current = self._store.get(self._pods, meta.get("namespace"), meta["name"])
        status = current.setdefault("status", {})
        previous = status.get("conditions") or []
        if any(c.get("type") == "PodScheduled" and c.get("message") == message for c in previous):
            return
        status.setdefault("phase", "Pending")
        unschedulable = podstatus.condition(
            "PodScheduled", False, now=rfc3339(self._clock.now()), reason="Unschedulable", message=message
        )
        status["conditions"] = [*(c for c in previous if c.get("type") != "PodScheduled"), unschedulable]
        self._store.replace(self._pods, current, subresource="status")
        self._events.event(current, "Warning", "FailedScheduling", message)
