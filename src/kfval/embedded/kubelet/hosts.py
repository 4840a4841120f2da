"""Per-pod /etc/hosts files: the embedded cluster's stand-in for cluster DNS.

Training jobs find each other by name (`<job>-master-0`, `<svc>.<ns>.svc.cluster.local`) and there
is no DNS server here. Each pod gets the hosts file a kubelet writes, plus one line per name a
cluster DNS would answer: Services by their endpoint pods' IPs and pods by hostname.subdomain. The
files are rewritten in place (same inode) because running sandboxes have them bind-mounted, and
only when their content changes: a change to the cluster reads the store once and touches the
disk only for the pods it concerns.

Not emulated: there is no kube-proxy, so a ClusterIP Service's name maps straight to one endpoint
pod's IP and its port -> targetPort remapping does not happen (clients must use the target port,
which is what the suite's Services declare). A name resolves as soon as a matching pod has an IP,
ready or not: training workers start before their master is ready and retry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfval.embedded import tasks
from kfval.embedded.kubelet.downward import pod_ips_of
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
LOCALHOST_LINES = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)
CLUSTER_HEADER = "\n# Entries added by kfval for Services and pods (the embedded cluster has no DNS).\n"


@dataclass(frozen=True)
class Record:
    """Addresses behind one DNS name stem (`svc` or `hostname.subdomain`) in a namespace."""

    namespace: str
    stem: str
    ips: tuple[str, ...]


@dataclass
class _PodFile:
    namespace: str
    name: str
    path: Path
    pod_ip: str | None
    written: str = field(default="")


def _is_ready(pod: Body) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _is_live(pod: Body) -> bool:
    status = pod.get("status") or {}
    gone = pod["metadata"].get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed")
    return not gone and bool(pod_ips_of(pod))


def _selected(service: Body, pods: Iterable[Body]) -> list[Body]:
    """Live pods the Service selects, ready ones first, then by name."""
    namespace = service["metadata"].get("namespace", "")
    selector = (service.get("spec") or {}).get("selector") or {}
    chosen = [
        pod
        for pod in pods
        if pod["metadata"].get("namespace") == namespace
        and _is_live(pod)
        and all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
    ]
    return sorted(chosen, key=lambda pod: (not _is_ready(pod), pod["metadata"]["name"]))


def _endpoint_ips(endpoints: Body | None) -> list[str]:
    ips: list[str] = []
    for subset in (endpoints or {}).get("subsets") or []:
        for address in (*(subset.get("addresses") or []), *(subset.get("notReadyAddresses") or [])):
            if address.get("ip") and address["ip"] not in ips:
                ips.append(address["ip"])
    return ips


def service_records(services: list[Body], pods: list[Body], *, endpoints: list[Body]) -> list[Record]:
    """Every name cluster DNS would answer for Services and their pods."""
    by_name = {(e["metadata"].get("namespace", ""), e["metadata"]["name"]): e for e in endpoints}
    records: list[Record] = []
    for service in services:
        meta, spec = service["metadata"], service.get("spec") or {}
        namespace, name = meta.get("namespace", ""), meta["name"]
        if spec.get("type") == "ExternalName":
            continue
        if spec.get("selector"):
            members = _selected(service, pods)
            ips = [pod_ips_of(pod)[0] for pod in members]
        else:
            members, ips = [], _endpoint_ips(by_name.get((namespace, name)))
        if not ips:
            continue
        headless = spec.get("clusterIP") == "None"
        records.append(Record(namespace, name, tuple(ips) if headless else (ips[0],)))
        for pod in members if headless else []:
            pod_spec = pod.get("spec") or {}
            if pod_spec.get("hostname") and pod_spec.get("subdomain") == name:
                records.append(Record(namespace, f"{pod_spec['hostname']}.{name}", (pod_ips_of(pod)[0],)))
    return records


def render(
    pod: Body,
    records: list[Record],
    *,
    pod_ip: str | None,
    cluster_domain: str,
    fixed: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole hosts file of `pod`: the kubelet's part, then the cluster's names."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    namespace = meta.get("namespace", "")
    hostname = spec.get("hostname") or meta["name"]
    lines = [MANAGED_HEADER, LOCALHOST_LINES]
    for ip in [pod_ip] if pod_ip else pod_ips_of(pod):
        if spec.get("subdomain"):
            lines.append(f"{ip}\t{hostname}.{spec['subdomain']}.{namespace}.svc.{cluster_domain}\t{hostname}\n")
        else:
            lines.append(f"{ip}\t{hostname}\n")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("\n# Entries added by HostAliases.\n")
        lines.extend(f"{alias.get('ip', '')}\t{chr(9).join(alias.get('hostnames') or [])}\n" for alias in aliases)
    lines.append(CLUSTER_HEADER)
    lines.extend(f"{ip}\t{name}\n" for ip, name in fixed)
    for record in records:
        full = f"{record.stem}.{record.namespace}"
        names = [f"{full}.svc.{cluster_domain}", f"{full}.svc", full]
        if record.namespace == namespace:
            names.append(record.stem)
        lines.extend(f"{ip}\t{' '.join(names)}\n" for ip in record.ips)
    return "".join(lines)


def write_in_place(path: Path, content: str) -> None:
    """Replace the file's content without replacing the file: bind mounts keep pointing at it."""
    data = content.encode()
    with path.open("r+b") as handle:
        handle.write(data)
        handle.truncate(len(data))


class HostsFiles:
    """Owns every live pod's hosts file and keeps it current with the cluster's Services and pods."""

    def __init__(self, store: Store, state_dir: Path, *, cluster_domain: str = "cluster.local") -> None:
        self._store = store
        self._state_dir = state_dir
        self._cluster_domain = cluster_domain
        self._files: dict[str, _PodFile] = {}
        self._types = [store.catalog.lookup("", "v1", r) for r in ("services", "endpoints", "pods")]
        self._fixed: list[tuple[str, str]] = []

    def add_fixed(self, ip: str, name: str) -> None:
        """A name every pod resolves to `ip` (the cluster's own services outside the store: its registry)."""
        self._fixed.append((ip, name))
        self.refresh()

    def path_for(self, pod: Body, *, pod_ip: str | None = None) -> Path:
        """The pod's hosts file, created on first call; `pod_ip` overrides a status not yet stored."""
        uid = pod["metadata"]["uid"]
        entry = self._files.get(uid)
        if entry is None:
            path = self._state_dir / uid / "etc-hosts"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o644, exist_ok=True)
            entry = _PodFile(pod["metadata"].get("namespace", ""), pod["metadata"]["name"], path, pod_ip)
            self._files[uid] = entry
        elif pod_ip:
            entry.pod_ip = pod_ip
        self._write(entry, pod, records=self._records())
        return entry.path

    def resolv_conf_for(self, pod: Body) -> Path:
        """The pod's /etc/resolv.conf, as the kubelet writes it for dnsPolicy ClusterFirst, but pointing at a
        resolver that answers at once that it is not there: every cluster name is already in /etc/hosts, and a
        lookup that reaches the host's resolver from a pod's network namespace would wait for its timeout
        (PyTorch's reverse lookups of its peers cost 10 s each that way)."""
        path: Path = self._state_dir / str(pod["metadata"]["uid"]) / "resolv.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        namespace = pod["metadata"].get("namespace", "default")
        domain = self._cluster_domain
        path.write_text(
            f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
            "nameserver 127.0.0.1\n"
            "options ndots:5 timeout:1 attempts:1\n"
        )
        return path

    def forget(self, pod_uid: str) -> None:
        """Stop maintaining the pod's files and remove them."""
        (self._state_dir / pod_uid / "resolv.conf").unlink(missing_ok=True)
        entry = self._files.pop(pod_uid, None)
        if entry is not None:
            entry.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                entry.path.parent.rmdir()

    def _snapshot(self) -> tuple[list[Record], list[Body]]:
        """The cluster's names and its pods, read once (shared, read-only bodies: nothing here writes them)."""
        services, endpoints, pods = (self._store.list(rt, read_only=True)[0] for rt in self._types)
        return service_records(services, pods, endpoints=endpoints), pods

    def _records(self) -> list[Record]:
        return self._snapshot()[0]

    def _write(self, entry: _PodFile, pod: Body, *, records: list[Record]) -> None:
        content = render(pod, records, pod_ip=entry.pod_ip, cluster_domain=self._cluster_domain, fixed=self._fixed)
        if content != entry.written:
            write_in_place(entry.path, content)
            entry.written = content

    def refresh(self) -> None:
        """Rewrite the files whose content changed, and only those."""
        records, pods = self._snapshot()
        by_uid = {pod["metadata"].get("uid"): pod for pod in pods}
        for uid, entry in list(self._files.items()):
            pod = by_uid.get(uid)
            if pod is not None:
                self._write(entry, pod, records=records)

    async def _follow(self, index: int, changed: asyncio.Event) -> None:
        rt = self._types[index]
        try:
            async for _event in tasks.follow(lambda: self._store.watch(rt), what=f"{rt.resource} (hosts files)"):
                changed.set()
        finally:
            changed.set()

    async def run(self) -> None:
        """Follow Services, Endpoints and pods and rewrite the affected files until cancelled."""
        changed = asyncio.Event()
        followers = [
            asyncio.create_task(self._follow(i, changed), name=f"kubelet-hosts-{rt.resource}")
            for i, rt in enumerate(self._types)
        ]
        try:
            while not all(task.done() for task in followers):
                await changed.wait()
                changed.clear()
                for task in followers:
                    if task.done() and task.exception() is not None:
                        task.result()
                self.refresh()
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
