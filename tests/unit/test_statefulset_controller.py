"""StatefulSets against a real store: ordinal order, stable names and claims, rolling updates."""

from __future__ import annotations

from kfval.embedded.controllers.statefulset import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    REVISION_LABEL,
    StatefulSetController,
)
from kfval.embedded.types import Body
from tests.support.cluster import NAMESPACE, Harness, pod_template, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

LABELS = {"app": "db"}


def statefulset(replicas: int = 3, **spec: object) -> Body:
    return {
        "metadata": {"name": "db", "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "serviceName": "db-headless",
            "selector": {"matchLabels": dict(LABELS)},
            "template": pod_template(LABELS),
            **spec,
        },
    }


def names(c: Harness) -> list[str]:
    return sorted(p["metadata"]["name"] for p in c.live_pods())


def status(c: Harness) -> dict[str, object]:
    return dict(c.store.get(c.statefulsets, NAMESPACE, "db").get("status") or {})


@on_loop
async def test_ordered_ready_creates_one_pod_at_a_time() -> None:
    async with running(StatefulSetController) as c:
        c.store.create(c.statefulsets, statefulset(replicas=3))
        await eventually(lambda: names(c) == ["db-0"], "pod db-0 alone")
        await c.settle()
        assert names(c) == ["db-0"]
        c.make_ready()
        await eventually(lambda: names(c) == ["db-0", "db-1"], "pods db-0 and db-1")
        c.make_ready()
        await eventually(lambda: names(c) == ["db-0", "db-1", "db-2"], "three pods")
        c.make_ready()
        final = await eventually(lambda: status(c).get("readyReplicas") == 3 and status(c), "three ready replicas")
        revision = final["updateRevision"]
        assert final["replicas"] == final["availableReplicas"] == final["currentReplicas"] == 3
        assert final["updatedReplicas"] == 3
        assert final["currentRevision"] == revision
        assert final["observedGeneration"] == 1
        assert final["collisionCount"] == 0
        pod = c.store.get(c.pods, NAMESPACE, "db-1")
        assert pod["metadata"]["labels"] == {
            **LABELS,
            POD_NAME_LABEL: "db-1",
            POD_INDEX_LABEL: "1",
            REVISION_LABEL: revision,
        }
        assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("db-1", "db-headless")
        (cr,) = c.list(c.revisions)
        assert (cr["metadata"]["name"], cr["revision"]) == (revision, 1)
        assert ("SuccessfulCreate", "create Pod db-0 in StatefulSet db successful") in c.reasons()


@on_loop
async def test_parallel_policy_creates_all_pods_at_once() -> None:
    async with running(StatefulSetController) as c:
        c.store.create(c.statefulsets, statefulset(replicas=3, podManagementPolicy="Parallel"))
        await eventually(lambda: names(c) == ["db-0", "db-1", "db-2"], "three pods at once")


@on_loop
async def test_deleted_pod_is_recreated_with_the_same_name_and_claim() -> None:
    claim_template = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    async with running(StatefulSetController) as c:
        c.store.create(c.statefulsets, statefulset(replicas=2, volumeClaimTemplates=[claim_template]))
        await eventually(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 2, "two ready replicas")
        claims = sorted(x["metadata"]["name"] for x in c.list(c.pvcs))
        assert claims == ["data-db-0", "data-db-1"]
        assert c.store.get(c.pvcs, NAMESPACE, "data-db-0")["metadata"]["labels"] == LABELS
        volumes = c.store.get(c.pods, NAMESPACE, "db-0")["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in volumes
        old_uid = c.store.get(c.pods, NAMESPACE, "db-0")["metadata"]["uid"]
        c.store.delete(c.pods, NAMESPACE, "db-0")
        pod = await eventually(
            lambda: c.store.exists(c.pods, NAMESPACE, "db-0") and c.store.get(c.pods, NAMESPACE, "db-0"),
            "db-0 created again",
        )
        assert pod["metadata"]["uid"] != old_uid
        assert sorted(x["metadata"]["name"] for x in c.list(c.pvcs)) == claims


@on_loop
async def test_scale_down_removes_highest_ordinals_first_and_keeps_claims() -> None:
    claim_template = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    async with running(StatefulSetController) as c:
        c.store.create(c.statefulsets, statefulset(replicas=3, volumeClaimTemplates=[claim_template]))
        await eventually(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 3, "three ready replicas")
        sts = c.store.get(c.statefulsets, NAMESPACE, "db")
        sts["spec"]["replicas"] = 1
        c.store.replace(c.statefulsets, sts)
        await eventually(lambda: names(c) == ["db-0"], "db-0 alone")
        assert len(c.list(c.pvcs)) == 3
        deletions = sorted(
            (int(e["metadata"]["resourceVersion"]), e["message"])
            for e in c.list(c.events)
            if e["reason"] == "SuccessfulDelete"
        )
        assert [m for _, m in deletions] == [
            "delete Pod db-2 in StatefulSet db successful",
            "delete Pod db-1 in StatefulSet db successful",
        ]


@on_loop
async def test_rolling_update_replaces_pods_from_the_highest_ordinal() -> None:
    async with running(StatefulSetController) as c:
        c.store.create(c.statefulsets, statefulset(replicas=2))
        await eventually(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 2, "two ready replicas")
        first = status(c)["updateRevision"]
        sts = c.store.get(c.statefulsets, NAMESPACE, "db")
        sts["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:2"
        c.store.replace(c.statefulsets, sts)
        second = await eventually(
            lambda: status(c)["updateRevision"] != first and status(c)["updateRevision"], "a new update revision"
        )
        await eventually(
            lambda: (
                not c.store.exists(c.pods, NAMESPACE, "db-1")
                or c.store.get(c.pods, NAMESPACE, "db-1")["metadata"]["labels"][REVISION_LABEL] == second
            ),
            "db-1 replaced first",
        )
        assert c.store.get(c.pods, NAMESPACE, "db-0")["metadata"]["labels"][REVISION_LABEL] == first

        def rolled() -> bool:
            c.make_ready()
            s = status(c)
            return s.get("currentRevision") == second and s.get("updatedReplicas") == 2

        await eventually(rolled, "both pods on the new revision")
        assert [r["revision"] for r in sorted(c.list(c.revisions), key=lambda r: r["revision"])] == [1, 2]
