"""The Kubeflow notebook controller (kubeflow/notebooks notebooks-v1, as Kubeflow 1.9/1.10 deploys it).

A notebook scenario passes only if a Notebook turns into what the real controller makes (§10.2): the
StatefulSet `<name>` (replicas 0 while `kubeflow-resource-stopped` is set) whose pod `<name>-0`
carries every Notebook label and the Notebook's annotations but those naming notebooks or kubectl,
with `workingDir`, the `notebook-port` 8888, `NB_PREFIX` and `fsGroup: 100` on its first container;
the Service `<name>` (`http-<name>`, 80 -> the container port); the Istio VirtualService
`notebook-<ns>-<name>` on `kubeflow/kubeflow-gateway`; and a status copied from the StatefulSet and
the pod. Children carry a controller reference to the Notebook (kubeflow.org/v1beta1), so deleting
it deletes them. The pod's and StatefulSet's events are re-issued onto the Notebook, which is how a
PodDefault refusal (the StatefulSet's FailedCreate) reaches `kubectl describe notebook`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, owner_keys
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import AlreadyExistsError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey, WatchEvent

COMPONENT = "notebook-controller"
GROUP, VERSION = "kubeflow.org", "v1beta1"
NOTEBOOKS = ResourceKey(GROUP, "notebooks")
STOP_ANNOTATION = "kubeflow-resource-stopped"
HEADERS_ANNOTATION = "notebooks.kubeflow.org/http-headers-request-set"
REWRITE_ANNOTATION = "notebooks.kubeflow.org/http-rewrite-uri"
NOTEBOOK_NAME_LABEL = "notebook-name"
DEFAULT_PORT = 8888
ISTIO_GATEWAY = "kubeflow/kubeflow-gateway"
CLUSTER_DOMAIN = "cluster.local"


def _owner_ref(notebook: Body) -> Body:
    meta = notebook["metadata"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Notebook",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _notebook_of_pod(event: WatchEvent) -> list[ObjectKey]:
    meta = event.object["metadata"]
    name = (meta.get("labels") or {}).get(NOTEBOOK_NAME_LABEL)
    return [ObjectKey(NOTEBOOKS, meta.get("namespace", ""), name)] if name else []


def statefulset(notebook: Body) -> Body:
    """What the controller wants the StatefulSet to be (`generateStatefulSet`)."""
    meta, name = notebook["metadata"], notebook["metadata"]["name"]
    spec = copy.deepcopy((notebook.get("spec") or {}).get("template", {}).get("spec") or {})
    first = (spec.get("containers") or [{}])[0]
    if not first.get("workingDir"):
        first["workingDir"] = "/home/jovyan"
    if first.get("ports") is None:
        first["ports"] = [{"containerPort": DEFAULT_PORT, "name": "notebook-port", "protocol": "TCP"}]
    env = first.setdefault("env", [])
    if not any(e.get("name") == "NB_PREFIX" for e in env):
        env.append({"name": "NB_PREFIX", "value": f"/notebook/{meta['namespace']}/{name}"})
    if spec.get("securityContext") is None:
        spec["securityContext"] = {"fsGroup": 100}
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if "notebook" not in k and "kubectl" not in k
    }
    labels = {"statefulset": name, NOTEBOOK_NAME_LABEL: name, **(meta.get("labels") or {})}
    template: Body = {"metadata": {"labels": labels}, "spec": spec}
    if annotations:
        template["metadata"]["annotations"] = annotations
    stopped = STOP_ANNOTATION in (meta.get("annotations") or {})
    return {
        "metadata": {"name": name, "namespace": meta["namespace"], "ownerReferences": [_owner_ref(notebook)]},
        "spec": {
            "replicas": 0 if stopped else 1,
            "selector": {"matchLabels": {"statefulset": name}},
            "template": template,
        },
    }


def service(notebook: Body) -> Body:
    meta, name = notebook["metadata"], notebook["metadata"]["name"]
    containers = ((notebook.get("spec") or {}).get("template", {}).get("spec") or {}).get("containers") or [{}]
    ports = containers[0].get("ports") or [{}]
    port = {
        "name": f"http-{name}",
        "port": 80,
        "targetPort": ports[0].get("containerPort", DEFAULT_PORT),
        "protocol": "TCP",
    }
    return {
        "metadata": {"name": name, "namespace": meta["namespace"], "ownerReferences": [_owner_ref(notebook)]},
        "spec": {"type": "ClusterIP", "selector": {"statefulset": name}, "ports": [port]},
    }


def virtualservice(notebook: Body) -> Body:
    meta, name, namespace = notebook["metadata"], notebook["metadata"]["name"], notebook["metadata"]["namespace"]
    annotations = meta.get("annotations") or {}
    prefix = f"/notebook/{namespace}/{name}/"
    headers = json.loads(annotations[HEADERS_ANNOTATION]) if annotations.get(HEADERS_ANNOTATION) else {}
    route = {
        "headers": {"request": {"set": headers}},
        "match": [{"uri": {"prefix": prefix}}],
        "rewrite": {"uri": annotations.get(REWRITE_ANNOTATION) or prefix},
        "route": [{"destination": {"host": f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}", "port": {"number": 80}}}],
    }
    return {
        "metadata": {
            "name": f"notebook-{namespace}-{name}",
            "namespace": namespace,
            "ownerReferences": [_owner_ref(notebook)],
        },
        "spec": {"hosts": ["*"], "gateways": [ISTIO_GATEWAY], "http": [route]},
    }


class NotebookController:
    """Reconciles Notebooks into a StatefulSet, a Service and a VirtualService, and reports their status."""

    name = COMPONENT

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        lookup = store.catalog.lookup
        self._statefulsets = lookup("apps", "v1", "statefulsets")
        self._services = lookup("", "v1", "services")
        self._pods = lookup("", "v1", "pods")

    def watches(self) -> Sequence[Watched]:
        owned = owner_keys(NOTEBOOKS, "Notebook")
        return [
            Watched(GROUP, VERSION, "notebooks"),
            Watched("apps", "v1", "statefulsets", owned),
            Watched("", "v1", "services", owned),
            Watched("", "v1", "pods", _notebook_of_pod),
        ]

    async def reconcile(self, key: ObjectKey) -> float | None:
        notebook = self._store.get(self._store.catalog.lookup(GROUP, VERSION, "notebooks"), key.namespace, key.name)
        if is_being_deleted(notebook):
            return None
        found = self._ensure(self._statefulsets, statefulset(notebook), fields=("spec",))
        self._ensure(self._services, service(notebook), fields=("spec",))
        virtualservices = self._store.catalog.lookup("networking.istio.io", "v1alpha3", "virtualservices")
        self._ensure(virtualservices, virtualservice(notebook), fields=("spec",))
        self._write_status(notebook, found)
        return None

    def _ensure(self, rt: Any, wanted: Body, *, fields: tuple[str, ...]) -> Body:
        """Create the child, or bring the fields the controller owns back to what it wants."""
        namespace, name = wanted["metadata"]["namespace"], wanted["metadata"]["name"]
        try:
            return self._store.create(rt, wanted, namespace=namespace)
        except AlreadyExistsError:
            current = self._store.get(rt, namespace, name)
        if all(_covers(current.get(field), wanted[field]) for field in fields):
            return current
        for field in fields:
            current[field] = {**(current.get(field) or {}), **copy.deepcopy(wanted[field])}
        return self._store.replace(rt, current, namespace=namespace)

    def _write_status(self, notebook: Body, sts: Body) -> None:
        """`createNotebookStatus`: ready replicas, the notebook container's state, the pod's conditions."""
        name, namespace = notebook["metadata"]["name"], notebook["metadata"]["namespace"]
        try:
            pod = self._store.get(self._pods, namespace, f"{name}-0")
        except NotFoundError:
            pod = {}
        now = rfc3339(self._clock.now())
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        state = next((dict(s.get("state") or {}) for s in statuses if s.get("name") == name), {})
        conditions = [
            {
                "type": c.get("type"),
                "status": c.get("status"),
                "reason": c.get("reason", ""),
                "message": c.get("message", ""),
                "lastProbeTime": c.get("lastProbeTime") or now,
                "lastTransitionTime": c.get("lastTransitionTime") or now,
            }
            for c in (pod.get("status") or {}).get("conditions") or []
        ]
        status = {
            "conditions": conditions,
            "readyReplicas": int((sts.get("status") or {}).get("readyReplicas", 0)),
            "containerState": state,
        }
        if notebook.get("status") != status:
            rt = self._store.catalog.lookup(GROUP, VERSION, "notebooks")
            self._store.replace(rt, {**notebook, "status": status}, namespace=namespace, subresource="status")


def _covers(current: Any, wanted: Any) -> bool:
    """Whether every field the controller sets has its value (server defaults may add more)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(_covers(current.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(current, list) and len(current) == len(wanted) and all(map(_covers, current, wanted))
    return bool(current == wanted)


class NotebookEventsController:
    """Re-issues the events of a notebook's pod and StatefulSet onto the Notebook, as the real one does."""

    name = f"{COMPONENT}/events"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._recorder = Recorder(store, clock, COMPONENT)
        self._events = store.catalog.lookup("", "v1", "events")

    def watches(self) -> Sequence[Watched]:
        return [Watched("", "v1", "events")]

    async def reconcile(self, key: ObjectKey) -> float | None:
        event = self._store.get(self._events, key.namespace, key.name)
        involved = event.get("involvedObject") or {}
        if involved.get("kind") not in ("Pod", "StatefulSet"):
            return None
        notebook = self._notebook_of(involved)
        if notebook is not None:
            message = (
                f"Reissued from {str(involved['kind']).lower()}/{involved.get('name')}: {event.get('message', '')}"
            )
            self._recorder.event(notebook, str(event.get("type")), str(event.get("reason")), message)
        return None

    def _notebook_of(self, involved: Body) -> Body | None:
        """The Notebook behind a pod (by its `notebook-name` label) or a StatefulSet (by its owner)."""
        namespace = str(involved.get("namespace") or "")
        rt = self._store.catalog.lookup("", "v1", "pods") if involved["kind"] == "Pod" else None
        if rt is None:
            rt = self._store.catalog.lookup("apps", "v1", "statefulsets")
        try:
            owner = self._store.get(rt, namespace, str(involved.get("name")))
        except NotFoundError:
            return None
        meta = owner["metadata"]
        name = (meta.get("labels") or {}).get(NOTEBOOK_NAME_LABEL)
        if involved["kind"] == "StatefulSet":
            name = next((r["name"] for r in meta.get("ownerReferences") or [] if r.get("kind") == "Notebook"), None)
        if not name:
            return None
        try:
            return self._store.get(self._store.catalog.lookup(GROUP, VERSION, "notebooks"), namespace, name)
        except NotFoundError:
            return None
