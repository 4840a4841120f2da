"""The notebook controller against a real store: children, status and re-issued events, as §10.2 says."""

from __future__ import annotations

from typing import Any

from kfval.embedded.admission.chain import Admission
from kfval.embedded.admission.poddefault import PodDefaultMutator
from kfval.embedded.controllers.garbagecollector import GarbageCollectorController
from kfval.embedded.controllers.notebook import NotebookController, NotebookEventsController
from kfval.embedded.controllers.statefulset import StatefulSetController
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, Harness, register_crds, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

VIRTUALSERVICE_CRD: Body = {
    "metadata": {"name": "virtualservices.networking.istio.io"},
    "spec": {
        "group": "networking.istio.io",
        "scope": "Namespaced",
        "names": {"plural": "virtualservices", "kind": "VirtualService"},
        "versions": [{"name": "v1alpha3", "served": True, "storage": True}],
    },
}


def notebook(name: str = "nb", **meta: Any) -> Body:
    container = {
        "name": name,
        "image": "kubeflownotebookswg/jupyter-scipy:v1.9.2",
        "resources": {"requests": {"cpu": "500m"}},
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": NAMESPACE, **meta},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def setup(c: Harness) -> Any:
    register_crds(c.store)
    crds = c.rt("customresourcedefinitions", "apiextensions.k8s.io/v1")
    if c.store.catalog.find("networking.istio.io", "v1alpha3", "virtualservices") is None:
        c.store.create(crds, VIRTUALSERVICE_CRD)
    return c.rt("notebooks", "kubeflow.org/v1beta1")


@on_loop
async def test_a_notebook_gets_its_statefulset_service_and_virtualservice() -> None:
    async with running(NotebookController) as c:
        notebooks = setup(c)
        labels = {"testing": "true"}
        annotations = {"team": "qa", "notebooks.kubeflow.org/server-type": "jupyter", "kubectl.kubernetes.io/x": "y"}
        created = c.store.create(notebooks, notebook(labels=labels, annotations=annotations))
        sts = await eventually(lambda: c.store.get(c.statefulsets, NAMESPACE, "nb"), "the StatefulSet")
        owner = sts["metadata"]["ownerReferences"][0]
        assert (owner["apiVersion"], owner["kind"], owner["uid"]) == (
            "kubeflow.org/v1beta1",
            "Notebook",
            created["metadata"]["uid"],
        )
        assert sts["spec"]["replicas"] == 1
        assert sts["spec"]["selector"] == {"matchLabels": {"statefulset": "nb"}}
        template = sts["spec"]["template"]
        assert template["metadata"]["labels"] == {"statefulset": "nb", "notebook-name": "nb", "testing": "true"}
        assert template["metadata"]["annotations"] == {"team": "qa"}
        container = template["spec"]["containers"][0]
        assert container["workingDir"] == "/home/jovyan"
        assert container["ports"] == [{"containerPort": 8888, "name": "notebook-port", "protocol": "TCP"}]
        assert {"name": "NB_PREFIX", "value": f"/notebook/{NAMESPACE}/nb"} in container["env"]
        assert template["spec"]["securityContext"] == {"fsGroup": 100}
        service = await eventually(lambda: c.store.get(c.services, NAMESPACE, "nb"), "the Service")
        assert service["spec"]["selector"] == {"statefulset": "nb"}
        assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [("http-nb", 80, 8888)]
        vs_rt = c.rt("virtualservices", "networking.istio.io/v1alpha3")
        vs = await eventually(lambda: c.store.get(vs_rt, NAMESPACE, f"notebook-{NAMESPACE}-nb"), "the VirtualService")
        assert vs["spec"]["gateways"] == ["kubeflow/kubeflow-gateway"]
        route = vs["spec"]["http"][0]
        assert route["match"] == [{"uri": {"prefix": f"/notebook/{NAMESPACE}/nb/"}}]
        assert route["route"][0]["destination"] == {"host": f"nb.{NAMESPACE}.svc.cluster.local", "port": {"number": 80}}


@on_loop
async def test_the_stop_annotation_scales_to_zero_and_removing_it_starts_again() -> None:
    async with running(NotebookController) as c:
        notebooks = setup(c)
        c.store.create(notebooks, notebook(annotations={"kubeflow-resource-stopped": "2026-12-05T00:00:00Z"}))
        sts = await eventually(lambda: c.store.get(c.statefulsets, NAMESPACE, "nb"), "the StatefulSet")
        assert sts["spec"]["replicas"] == 0
        live = c.store.get(notebooks, NAMESPACE, "nb")
        live["metadata"]["annotations"] = {}
        c.store.replace(notebooks, live)
        await eventually(lambda: c.store.get(c.statefulsets, NAMESPACE, "nb")["spec"]["replicas"] == 1, "replicas 1")


@on_loop
async def test_status_copies_ready_replicas_the_containers_state_and_the_pods_conditions() -> None:
    async with running(NotebookController, StatefulSetController) as c:
        notebooks = setup(c)
        c.store.create(notebooks, notebook())
        fresh = await eventually(lambda: c.store.get(notebooks, NAMESPACE, "nb").get("status"), "a status")
        assert fresh == {"conditions": [], "readyReplicas": 0, "containerState": {}}
        pod = await eventually(lambda: c.store.get(c.pods, NAMESPACE, "nb-0"), "the pod nb-0")
        pod["status"] = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-05T01:00:00Z"}],
            "containerStatuses": [
                {"name": "nb", "ready": True, "state": {"running": {"startedAt": "2026-12-05T01:00:00Z"}}}
            ],
        }
        c.store.replace(c.pods, pod, subresource="status")

        def ready() -> Body | None:
            status = c.store.get(notebooks, NAMESPACE, "nb").get("status") or {}
            return status if status.get("readyReplicas") == 1 else None

        status = await eventually(ready, "readyReplicas 1")
        assert status["containerState"] == {"running": {"startedAt": "2026-12-05T01:00:00Z"}}
        [condition] = status["conditions"]
        assert (condition["type"], condition["status"], condition["lastTransitionTime"]) == (
            "Ready",
            "True",
            "2026-12-05T01:00:00Z",
        )
        assert condition["lastProbeTime"], "a zero probe time is replaced by now"


@on_loop
async def test_a_poddefault_refusal_is_reissued_onto_the_notebook_and_deleting_it_removes_its_children() -> None:
    factories = (NotebookController, NotebookEventsController, StatefulSetController, GarbageCollectorController)
    async with running(*factories) as c:
        notebooks = setup(c)
        namespace = c.store.get(c.rt("namespaces"), None, NAMESPACE)
        namespace["metadata"]["labels"] = {"app.kubernetes.io/part-of": "kubeflow-profile"}
        c.store.replace(c.rt("namespaces"), namespace)
        c.store.admission = Admission(mutators=[PodDefaultMutator(c.store)])
        poddefaults = c.rt("poddefaults", "kubeflow.org/v1alpha1")
        for name, value in (("alpha", "a"), ("beta", "b")):
            spec = {"selector": {"matchLabels": {"testing": "true"}}, "env": [{"name": "X", "value": value}]}
            c.store.create(poddefaults, {"metadata": {"name": name}, "spec": spec}, namespace=NAMESPACE)
        c.store.create(notebooks, notebook(labels={"testing": "true"}))

        def reissued() -> list[tuple[str, str]]:
            return [(r, m) for r, m in c.reasons() if m.startswith("Reissued from statefulset/nb: ")]

        [(reason, message)] = (await eventually(reissued, "the FailedCreate re-issued onto the Notebook"))[:1]
        assert reason == "FailedCreate"
        assert message.startswith(
            "Reissued from statefulset/nb: create Pod nb-0 in StatefulSet nb failed error: admission webhook "
            '"admission-webhook-deployment.kubeflow.org" denied the request: conflict occurred while applying '
            "poddefaults: alpha,beta on pod: nb-0 err: merging env for beta has a conflict on X"
        ), message
        assert not c.live_pods()
        c.store.delete(notebooks, NAMESPACE, "nb")
        await eventually(
            lambda: c.gone(c.statefulsets, NAMESPACE, "nb") and c.gone(c.services, NAMESPACE, "nb"), "children gone"
        )
