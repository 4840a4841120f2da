"""Cells of workload tables: a pod's STATUS as kubectl words it, replica counts, job progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kfval.embedded.apiserver import tables, workloadcolumns
from kfval.embedded.clock import rfc3339
from kfval.embedded.store.catalog import Catalog

NOW = datetime(2026, 11, 28, 14, 0, 0, tzinfo=UTC)
CATALOG = Catalog()


def ago(seconds: float) -> str:
    return rfc3339(NOW - timedelta(seconds=seconds))


def row(group: str, version: str, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    body.setdefault("metadata", {}).setdefault("creationTimestamp", ago(90))
    body["metadata"].setdefault("name", "x")
    table = tables.table(CATALOG.lookup(group, version, resource), [body], resource_version="1", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def pod(*statuses: dict[str, Any], phase: str = "Pending", **extra: Any) -> dict[str, Any]:
    names = [s["name"] for s in statuses] or ["main"]
    body: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": n, "image": "img"} for n in names]},
        "status": {"phase": phase, "containerStatuses": list(statuses)},
    }
    for key, value in extra.items():
        body.setdefault(key, {}).update(value)
    return body


def container(state: dict[str, Any], *, name: str = "main", ready: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": 0, "state": state, **extra}


RUNNING = {"running": {"startedAt": "2026-11-28T13:00:00Z"}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (pod(phase="Pending"), "Pending"),
        ({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}, "Pending"),
        (pod(container({"waiting": {"reason": "ContainerCreating"}})), "ContainerCreating"),
        (pod(container({"waiting": {"reason": "ImagePullBackOff", "message": "x"}})), "ImagePullBackOff"),
        (pod(container({"waiting": {"reason": "CrashLoopBackOff"}}), phase="Running"), "CrashLoopBackOff"),
        (pod(container(RUNNING, ready=True), phase="Running"), "Running"),
        (pod(container({"terminated": {"exitCode": 0, "reason": "Completed"}}), phase="Succeeded"), "Completed"),
        (pod(container({"terminated": {"exitCode": 1, "reason": "Error"}}), phase="Failed"), "Error"),
        (pod(container({"terminated": {"exitCode": 3}}), phase="Failed"), "ExitCode:3"),
        (pod(container({"terminated": {"exitCode": 137, "signal": 9}}), phase="Failed"), "Signal:9"),
        (pod(phase="Failed", status={"reason": "Evicted"}), "Evicted"),
        (
            pod(
                container({"terminated": {"exitCode": 0, "reason": "Completed"}}, name="a"),
                container(RUNNING, name="b", ready=True),
                phase="Running",
                status={"conditions": [{"type": "Ready", "status": "False"}]},
            ),
            "NotReady",
        ),
        (
            pod(container(RUNNING, ready=True), phase="Running", metadata={"deletionTimestamp": ago(1)}),
            "Terminating",
        ),
        (
            pod(
                container({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                phase="Succeeded",
                metadata={"deletionTimestamp": ago(1)},
            ),
            "Completed",
        ),
    ],
)
def test_pod_status_reads_like_kubectl(body: dict[str, Any], status: str) -> None:
    assert workloadcolumns.pod_status(body) == status


def init_pod(*init_statuses: dict[str, Any], conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = pod(container({"waiting": {"reason": "PodInitializing"}}))
    body["spec"]["initContainers"] = [{"name": "init-a"}, {"name": "init-b"}]
    body["status"]["initContainerStatuses"] = list(init_statuses)
    body["status"]["conditions"] = conditions or []
    return body


DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (init_pod(container({"waiting": {"reason": "PodInitializing"}}, name="init-a")), "Init:0/2"),
        (init_pod(container(DONE, name="init-a"), container(RUNNING, name="init-b")), "Init:1/2"),
        (init_pod(container({"terminated": {"exitCode": 1, "reason": "Error"}}, name="init-a")), "Init:Error"),
        (init_pod(container({"terminated": {"exitCode": 2}}, name="init-a")), "Init:ExitCode:2"),
        (init_pod(container({"waiting": {"reason": "CrashLoopBackOff"}}, name="init-a")), "Init:CrashLoopBackOff"),
        (init_pod(container(DONE, name="init-a"), container(DONE, name="init-b")), "PodInitializing"),
    ],
)
def test_init_containers_hold_the_status(body: dict[str, Any], status: str) -> None:
    assert workloadcolumns.pod_status(body) == status


def test_pod_ready_restarts_and_wide_columns() -> None:
    crashed = container(
        {"waiting": {"reason": "CrashLoopBackOff"}},
        name="b",
        restartCount=3,
        lastState={"terminated": {"exitCode": 1, "finishedAt": ago(150)}},
    )
    body = pod(container(RUNNING, name="a", ready=True), crashed, phase="Running")
    body["status"]["podIP"] = "10.244.0.7"
    body["spec"]["nodeName"] = "fake-node"
    body["spec"]["readinessGates"] = [{"conditionType": "example.com/gate"}]
    cells = row("", "v1", "pods", body)
    assert cells == {
        "Name": "p",
        "Ready": "1/2",
        "Status": "CrashLoopBackOff",
        "Restarts": "3 (2m30s ago)",
        "Age": "90s",
        "IP": "10.244.0.7",
        "Node": "fake-node",
        "Nominated Node": "<none>",
        "Readiness Gates": "0/1",
    }


def test_pod_without_status_has_placeholders() -> None:
    cells = row("", "v1", "pods", {"spec": {"containers": [{"name": "a"}]}})
    assert (cells["Ready"], cells["Status"], cells["Restarts"], cells["IP"], cells["Node"]) == (
        "0/1",
        "Pending",
        "0",
        "<none>",
        "<none>",
    )


TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]},
}


def test_deployment_columns() -> None:
    body = {
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert row("apps", "v1", "deployments", body) == {
        "Name": "x",
        "Ready": "2/3",
        "Up-to-date": 3,
        "Available": 2,
        "Age": "90s",
        "Containers": "web,log",
        "Images": "nginx:1,busybox",
        "Selector": "app=web",
    }
    fresh = row("apps", "v1", "deployments", {"spec": {"replicas": 1}})
    assert (fresh["Ready"], fresh["Up-to-date"], fresh["Available"]) == ("0/1", 0, 0)


def test_replicaset_and_statefulset_columns() -> None:
    rs = row("apps", "v1", "replicasets", {"spec": {"replicas": 2, "template": TEMPLATE}, "status": {"replicas": 2}})
    assert (rs["Desired"], rs["Current"], rs["Ready"]) == (2, 2, 0)
    sts = row(
        "apps", "v1", "statefulsets", {"spec": {"replicas": 2, "template": TEMPLATE}, "status": {"readyReplicas": 1}}
    )
    assert (sts["Ready"], sts["Containers"]) == ("1/2", "web,log")


def test_daemonset_columns() -> None:
    body = {
        "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}, "containers": []}}},
        "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1},
    }
    cells = row("apps", "v1", "daemonsets", body)
    assert (cells["Desired"], cells["Ready"], cells["Up-to-date"], cells["Node Selector"]) == (1, 1, 0, "disk=ssd")


@pytest.mark.parametrize(
    ("body", "status", "completions", "duration"),
    [
        (
            {
                "spec": {"completions": 1},
                "status": {
                    "succeeded": 1,
                    "startTime": ago(80),
                    "completionTime": ago(60),
                    "conditions": [{"type": "Complete", "status": "True"}],
                },
            },
            "Complete",
            "1/1",
            "20s",
        ),
        ({"spec": {"completions": 3, "parallelism": 2}, "status": {"startTime": ago(45)}}, "Running", "0/3", "45s"),
        ({"spec": {"parallelism": 4}, "status": {}}, "Running", "0/1 of 4", ""),
        (
            {"spec": {}, "status": {"startTime": ago(10), "conditions": [{"type": "Failed", "status": "True"}]}},
            "Failed",
            "0/1",
            "10s",
        ),
        (
            {"spec": {}, "status": {"conditions": [{"type": "Suspended", "status": "True"}]}},
            "Suspended",
            "0/1",
            "",
        ),
    ],
)
def test_job_columns(body: dict[str, Any], status: str, completions: str, duration: str) -> None:
    cells = row("batch", "v1", "jobs", body)
    assert (cells["Status"], cells["Completions"], cells["Duration"]) == (status, completions, duration)


def test_cronjob_columns() -> None:
    body = {
        "spec": {"schedule": "*/5 * * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
        "status": {"active": [{"name": "j"}], "lastScheduleTime": ago(120)},
    }
    cells = row("batch", "v1", "cronjobs", body)
    assert (cells["Schedule"], cells["Timezone"], cells["Suspend"], cells["Active"], cells["Last Schedule"]) == (
        "*/5 * * * *",
        "<none>",
        "False",
        1,
        "2m",
    )
    assert cells["Images"] == "nginx:1,busybox"
