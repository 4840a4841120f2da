"""StatefulSets against a real store: ordinal order, stable names and claims, rolling updates."""

from __future__ import annotations

import asyncio

from kfval.embedded.controllers.statefulset import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    REVISION_LABEL,
    StatefulSetController,
)
from kfval.embedded.types import Body
from tests.unit.workload_harness import NAMESPACE, Cluster, pod_template, running

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


def names(c: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in c.live_pods())


def status(c: Cluster) -> dict[str, object]:
    return dict(c.store.get(c.statefulsets, NAMESPACE, "db").get("status") or {})


def test_ordered_ready_creates_one_pod_at_a_time() -> None:
    async def scenario() -> None:
        async with running(StatefulSetController) as c:
            c.store.create(c.statefulsets, statefulset(replicas=3))
            await c.wait(lambda: names(c) == ["db-0"])
            await c.settle()
            assert names(c) == ["db-0"]
            c.make_ready()
            await c.wait(lambda: names(c) == ["db-0", "db-1"])
            c.make_ready()
            await c.wait(lambda: names(c) == ["db-0", "db-1", "db-2"])
            c.make_ready()
            final = await c.wait(lambda: status(c).get("readyReplicas") == 3 and status(c))
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

    asyncio.run(scenario())


def test_parallel_policy_creates_all_pods_at_once() -> None:
    async def scenario() -> None:
        async with running(StatefulSetController) as c:
            c.store.create(c.statefulsets, statefulset(replicas=3, podManagementPolicy="Parallel"))
            await c.wait(lambda: names(c) == ["db-0", "db-1", "db-2"])

    asyncio.run(scenario())


def test_deleted_pod_is_recreated_with_the_same_name_and_claim() -> None:
    async def scenario() -> None:
        claim_template = {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
        async with running(StatefulSetController) as c:
            c.store.create(c.statefulsets, statefulset(replicas=2, volumeClaimTemplates=[claim_template]))
            await c.wait(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 2)
            claims = sorted(x["metadata"]["name"] for x in c.list(c.pvcs))
            assert claims == ["data-db-0", "data-db-1"]
            assert c.store.get(c.pvcs, NAMESPACE, "data-db-0")["metadata"]["labels"] == LABELS
            volumes = c.store.get(c.pods, NAMESPACE, "db-0")["spec"]["volumes"]
            assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in volumes
            old_uid = c.store.get(c.pods, NAMESPACE, "db-0")["metadata"]["uid"]
            c.store.delete(c.pods, NAMESPACE, "db-0")
            pod = await c.wait(
                lambda: c.store.exists(c.pods, NAMESPACE, "db-0") and c.store.get(c.pods, NAMESPACE, "db-0")
            )
            assert pod["metadata"]["uid"] != old_uid
            assert sorted(x["metadata"]["name"] for x in c.list(c.pvcs)) == claims

    asyncio.run(scenario())


def test_scale_down_removes_highest_ordinals_first_and_keeps_claims() -> None:
    async def scenario() -> None:
        claim_template = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
        async with running(StatefulSetController) as c:
            c.store.create(c.statefulsets, statefulset(replicas=3, volumeClaimTemplates=[claim_template]))
            await c.wait(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 3)
            sts = c.store.get(c.statefulsets, NAMESPACE, "db")
            sts["spec"]["replicas"] = 1
            c.store.replace(c.statefulsets, sts)
            await c.wait(lambda: names(c) == ["db-0"])
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

    asyncio.run(scenario())


def test_rolling_update_replaces_pods_from_the_highest_ordinal() -> None:
    async def scenario() -> None:
        async with running(StatefulSetController) as c:
            c.store.create(c.statefulsets, statefulset(replicas=2))
            await c.wait(lambda: c.make_ready() >= 0 and status(c).get("readyReplicas") == 2)
            first = status(c)["updateRevision"]
            sts = c.store.get(c.statefulsets, NAMESPACE, "db")
            sts["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:2"
            c.store.replace(c.statefulsets, sts)
            second = await c.wait(lambda: status(c)["updateRevision"] != first and status(c)["updateRevision"])
            await c.wait(
                lambda: (
                    not c.store.exists(c.pods, NAMESPACE, "db-1")
                    or c.store.get(c.pods, NAMESPACE, "db-1")["metadata"]["labels"][REVISION_LABEL] == second
                )
            )
            assert c.store.get(c.pods, NAMESPACE, "db-0")["metadata"]["labels"][REVISION_LABEL] == first

            def rolled() -> bool:
                c.make_ready()
                s = status(c)
                return s.get("currentRevision") == second and s.get("updatedReplicas") == 2

            await c.wait(rolled)
            assert [r["revision"] for r in sorted(c.list(c.revisions), key=lambda r: r["revision"])] == [1, 2]

    asyncio.run(scenario())
