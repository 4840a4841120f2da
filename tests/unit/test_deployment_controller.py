"""Deployments, with their ReplicaSets, against a real store: the fields kstatus, Helm and kubectl rollout read."""

from __future__ import annotations

from typing import Any

from kfval.embedded.controllers import deploymentstatus, podtemplates
from kfval.embedded.controllers.deployment import REVISION, DeploymentController
from kfval.embedded.controllers.replicaset import ReplicaSetController
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, Harness, pod_template, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

LABELS = {"app": "web"}


def deployment(replicas: int = 2, image: str = "demo:1", **spec: Any) -> Body:
    """A Deployment as the API server stores it after defaulting."""
    return {
        "metadata": {"name": "web", "namespace": NAMESPACE, "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "template": pod_template(LABELS, image),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            **spec,
        },
    }


def kstatus_current(c: Harness) -> bool:
    """kstatus's deployment rule (k8s-api-surface.md §3.3), to the letter."""
    d = c.store.get(c.deployments, NAMESPACE, "web")
    status, replicas = d.get("status") or {}, d["spec"]["replicas"]
    conditions = {x["type"]: x for x in status.get("conditions") or []}
    return (
        status.get("observedGeneration") == d["metadata"]["generation"]
        and status.get("replicas", 0) == replicas
        and status.get("updatedReplicas", 0) >= replicas
        and status.get("availableReplicas", 0) >= status.get("updatedReplicas", 0)
        and status.get("readyReplicas", 0) >= replicas
        and conditions.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"
        and conditions.get("Available", {}).get("status") == "True"
    )


def replicasets(c: Harness) -> dict[str, Body]:
    return {rs["metadata"]["name"]: rs for rs in c.list(c.replicasets)}


def test_template_hash_is_stable_short_and_safe() -> None:
    template = pod_template(LABELS)
    first = podtemplates.template_hash(template)
    assert first == podtemplates.template_hash(pod_template(LABELS))
    assert first != podtemplates.template_hash(pod_template(LABELS, "demo:2"))
    assert first != podtemplates.template_hash(template, 1)
    assert 1 <= len(first) <= 10
    assert set(first) <= set("bcdf456789")


def test_rollout_limits_resolve_percentages_like_upstream() -> None:
    assert deploymentstatus.rollout_limits(deployment(replicas=4)) == (1, 1)
    assert deploymentstatus.rollout_limits(deployment(replicas=1)) == (1, 0)
    zero = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    assert deploymentstatus.rollout_limits(zero) == (0, 1)
    assert deploymentstatus.rollout_limits(deployment(strategy={"type": "Recreate"})) == (0, 0)


@on_loop
async def test_deployment_creates_replicaset_and_pods_then_reports_current() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=2))
        pods = await eventually(lambda: len(c.live_pods()) == 2 and c.live_pods(), "two pods")
        (rs,) = c.list(c.replicasets)
        pod_hash = rs["metadata"]["labels"][podtemplates.POD_TEMPLATE_HASH_LABEL]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
        ref = rs["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "Deployment",
            "web",
            True,
            True,
        )
        assert rs["metadata"]["annotations"][REVISION] == "1"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "2"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "3"
        for pod in pods:
            assert pod["metadata"]["name"].startswith(f"web-{pod_hash}-")
            assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
            assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert not kstatus_current(c)
        c.make_ready()
        await eventually(lambda: kstatus_current(c), "the deployment current")
        d = c.store.get(c.deployments, NAMESPACE, "web")
        progressing = next(x for x in d["status"]["conditions"] if x["type"] == "Progressing")
        assert progressing["message"] == f'ReplicaSet "web-{pod_hash}" has successfully progressed.'
        assert {"lastUpdateTime", "lastTransitionTime"} <= set(progressing)
        assert d["metadata"]["annotations"][REVISION] == "1"
        rs = c.store.get(c.replicasets, NAMESPACE, f"web-{pod_hash}")
        assert rs["status"] == {
            "replicas": 2,
            "fullyLabeledReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "observedGeneration": 1,
        }
        assert ("ScalingReplicaSet", f"Scaled up replica set web-{pod_hash} from 0 to 2") in c.reasons()
        assert any(r == "SuccessfulCreate" and m.startswith(f"Created pod: web-{pod_hash}-") for r, m in c.reasons())


@on_loop
async def test_rollout_on_template_change_keeps_old_replicaset_at_zero() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=2))
        await eventually(lambda: len(c.live_pods()) == 2, "two pods")
        c.make_ready()
        await eventually(lambda: kstatus_current(c), "the deployment current")
        (old_name,) = replicasets(c)
        d = c.store.get(c.deployments, NAMESPACE, "web")
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:2"
        c.store.replace(c.deployments, d)
        max_live = 0

        def rolled() -> bool:
            nonlocal max_live
            c.make_ready()
            max_live = max(max_live, len(c.live_pods()))
            return len(replicasets(c)) == 2 and kstatus_current(c)

        await eventually(rolled, "the rollout to demo:2")
        sets = replicasets(c)
        old, (new,) = sets[old_name], [rs for n, rs in sets.items() if n != old_name]
        assert old["spec"]["replicas"] == 0
        assert new["spec"]["replicas"] == 2
        assert new["metadata"]["annotations"][REVISION] == "2"
        assert max_live <= 3  # replicas + maxSurge (25% of 2, rounded up)
        images = {p["spec"]["containers"][0]["image"] for p in c.live_pods()}
        assert images == {"demo:2"}
        d = c.store.get(c.deployments, NAMESPACE, "web")
        assert d["status"]["observedGeneration"] == d["metadata"]["generation"] == 2


@on_loop
async def test_scale_up_and_down_through_spec_replicas() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=1))
        await eventually(lambda: len(c.live_pods()) == 1, "one pod")
        for wanted in (3, 1):
            d = c.store.get(c.deployments, NAMESPACE, "web")
            d["spec"]["replicas"] = wanted
            c.store.replace(c.deployments, d)
            await eventually(
                lambda w=wanted: c.make_ready() >= 0 and len(c.live_pods()) == w and kstatus_current(c),
                "the scaled deployment current",
            )
        assert len(replicasets(c)) == 1


@on_loop
async def test_recreate_strategy_waits_for_old_pods_before_scaling_up() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=2, strategy={"type": "Recreate"}))
        await eventually(lambda: len(c.live_pods()) == 2, "two pods")
        c.make_ready()
        await eventually(lambda: kstatus_current(c), "the deployment current")
        d = c.store.get(c.deployments, NAMESPACE, "web")
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:2"
        c.store.replace(c.deployments, d)
        await eventually(lambda: len(replicasets(c)) == 2, "a second replicaset")
        seen_mixed = False

        def done() -> bool:
            nonlocal seen_mixed
            images = {p["spec"]["containers"][0]["image"] for p in c.live_pods()}
            seen_mixed = seen_mixed or images == {"demo:1", "demo:2"}
            c.make_ready()
            return images == {"demo:2"} and kstatus_current(c)

        await eventually(done, "the recreated rollout")
        assert not seen_mixed


@on_loop
async def test_paused_deployment_does_not_roll_out() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=1))
        await eventually(lambda: len(c.live_pods()) == 1, "one pod")
        d = c.store.get(c.deployments, NAMESPACE, "web")
        d["spec"]["paused"] = True
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:2"
        c.store.replace(c.deployments, d)

        def paused_condition() -> bool:
            status = c.store.get(c.deployments, NAMESPACE, "web").get("status") or {}
            return any(x.get("reason") == "DeploymentPaused" for x in status.get("conditions") or [])

        await eventually(paused_condition, "the DeploymentPaused condition")
        await c.settle()
        assert len(replicasets(c)) == 1
        d = c.store.get(c.deployments, NAMESPACE, "web")
        d["spec"]["paused"] = False
        c.store.replace(c.deployments, d)
        await eventually(
            lambda: c.make_ready() >= 0 and len(replicasets(c)) == 2 and kstatus_current(c), "the resumed rollout"
        )


@on_loop
async def test_deployment_of_zero_replicas_is_current_at_once() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=0))
        await eventually(lambda: kstatus_current(c), "the deployment current")
        assert not c.live_pods()


@on_loop
async def test_progress_deadline_exceeded_when_pods_never_become_ready() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=1, progressDeadlineSeconds=0))

        def reason() -> str | None:
            status = c.store.get(c.deployments, NAMESPACE, "web").get("status") or {}
            found = [x for x in status.get("conditions") or [] if x["type"] == "Progressing"]
            return found[0]["reason"] if found and found[0]["reason"] == "ProgressDeadlineExceeded" else None

        assert await eventually(reason, "ProgressDeadlineExceeded") == "ProgressDeadlineExceeded"


@on_loop
async def test_old_replicasets_beyond_history_limit_are_deleted() -> None:
    async with running(DeploymentController, ReplicaSetController) as c:
        c.store.create(c.deployments, deployment(replicas=1, revisionHistoryLimit=1))
        for image in ("demo:2", "demo:3"):
            await eventually(lambda: c.make_ready() >= 0 and kstatus_current(c), "the deployment current")
            d = c.store.get(c.deployments, NAMESPACE, "web")
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image
            c.store.replace(c.deployments, d)
        await eventually(
            lambda: c.make_ready() >= 0 and kstatus_current(c) and len(replicasets(c)) == 2,
            "two replicasets kept, current",
        )
        revisions = sorted(rs["metadata"]["annotations"][REVISION] for rs in replicasets(c).values())
        assert revisions == ["2", "3"]
