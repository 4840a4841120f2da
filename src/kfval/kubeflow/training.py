"""What the suite knows about Kubeflow training jobs (PyTorchJob, TFJob): their pods, how to wait for
them to start, finish and go away, and how to explain a failure in a QA engineer's words.

A job's pods are found by the operator's `training.kubeflow.org/job-name` label; a failed job is
explained by its pods' termination reasons and their last log lines, so a report says why, not only that.
Every wait takes its timeout from the caller (the step's setting), never from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kfval.kube import checks, errors, evidence, guards, progress, waiting
from kfval.kube.client import Body
from kfval.kube.session import ScenarioSession
from kfval.metrics import position

API_VERSION = "kubeflow.org/v1"
JOB_NAME_LABEL = "training.kubeflow.org/job-name"
REPLICA_TYPE_LABEL = "training.kubeflow.org/replica-type"
REPLICA_INDEX_LABEL = "training.kubeflow.org/replica-index"
JOB_ROLE_LABEL = "training.kubeflow.org/job-role"
FAILURE_LOG_LINES = 10
PROGRESS_LOG_LINES = 30
"""How much of the reporting pod's log a progress line reads: enough to hold its latest training line."""
REPORTING_REPLICAS = ("master", "chief", "worker")
"""Whose log tells how far training has come, first found first: the pod that reports the job's metrics."""
WORKLOAD_CONTAINERS = ("pytorch", "tensorflow")
SUCCEEDED, FAILED = "Succeeded", "Failed"


def selector(name: str) -> str:
    return f"{JOB_NAME_LABEL}={name}"


def workload_container(pod: Body) -> str:
    """The operator's container (`pytorch`/`tensorflow`): the one to read, even when sidecars are injected."""
    names: list[str] = [str(c["name"]) for c in pod["spec"]["containers"]]
    return next((n for n in names if n in WORKLOAD_CONTAINERS), names[0])


def pods(session: ScenarioSession, name: str) -> list[Body]:
    """The job's pods, sorted by name (master first, then workers by index)."""
    items: list[Body] = session.conn.list("v1", "Pod", session.namespace, label_selector=selector(name))["items"]
    return sorted(items, key=lambda pod: pod["metadata"]["name"])


def get(session: ScenarioSession, kind: str, name: str) -> Body:
    return session.conn.get(API_VERSION, kind, name, session.namespace)


def _wait_for_pods(
    session: ScenarioSession,
    name: str,
    check: checks.Check,
    *,
    timeout: float,
    what: str,
    replica_type: str | None = None,
) -> Mapping[str, Body]:
    only = f",{REPLICA_TYPE_LABEL}={replica_type}" if replica_type else ""
    return waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        label_selector=selector(name) + only,
        check=check,
        timeout_seconds=timeout,
        what=what,
        reporting=session.reporting(name, lambda _seen: training_position(session, name)),
    )


def training_position(session: ScenarioSession, name: str, job_pods: list[Body] | None = None) -> list[str]:
    """How far training has come (`epoch 1`, `63%`, `loss 0.21`), from the end of the log of the job's
    master, chief or first worker; nothing before that pod runs or when its log says nothing yet."""
    found = job_pods if job_pods is not None else pods(session, name)
    by_role = {
        (
            (p["metadata"].get("labels") or {}).get(REPLICA_TYPE_LABEL),
            (p["metadata"].get("labels") or {}).get(REPLICA_INDEX_LABEL),
        ): p
        for p in found
    }
    pod = next((by_role[(role, "0")] for role in REPORTING_REPLICAS if (role, "0") in by_role), None)
    if pod is None or (pod.get("status") or {}).get("phase") not in ("Running", "Succeeded", "Failed"):
        return []
    text = session.conn.pod_log(
        pod["metadata"]["name"], session.namespace, container=workload_container(pod), tail_lines=PROGRESS_LOG_LINES
    )
    latest = position.latest(text)
    return list(latest.facts()) if latest else []


def _job_facts(session: ScenarioSession, name: str) -> progress.Facts:
    """While a job's own status sits still: its pods by phase and how far training has come."""

    def facts(_seen: Mapping[str, Body]) -> list[str]:
        job_pods = pods(session, name)
        return [progress.pod_phases(job_pods), *training_position(session, name, job_pods)]

    return facts


def wait_pods_started(session: ScenarioSession, kind: str, name: str, *, timeout: float) -> None:
    """Every pod the job asks for is Running (or already Succeeded); a pod that never can fails this at once."""
    count = replica_count(get(session, kind, name))
    grace = session.run.image_pull_grace_seconds
    check = checks.pods_in_phase(("Running", "Succeeded"), count, image_pull_grace_seconds=grace)
    _wait_for_pods(session, name, check, timeout=timeout, what=f'{count} pod(s) of {kind} "{name}" to run')


def wait_pods_completed(session: ScenarioSession, kind: str, name: str, *, timeout: float) -> None:
    count = replica_count(get(session, kind, name))
    check = checks.pods_completed(count, image_pull_grace_seconds=session.run.image_pull_grace_seconds)
    _wait_for_pods(session, name, check, timeout=timeout, what=f'{count} pod(s) of {kind} "{name}" to complete')


def wait_pods_gone(session: ScenarioSession, name: str, *, timeout: float, replica_type: str | None = None) -> None:
    """The job's pods (of one replica type, if given) are deleted, as its cleanPodPolicy asks."""
    which = f"the {replica_type} pods" if replica_type else "the pods"
    _wait_for_pods(
        session,
        name,
        checks.gone(),
        timeout=timeout,
        what=f'{which} of "{name}" to be removed',
        replica_type=replica_type,
    )


def wait_finished(session: ScenarioSession, kind: str, name: str, *, timeout: float) -> Body:
    """The job once it has a Succeeded or Failed condition (whichever comes), without judging it."""
    found = waiting.wait_until(
        session.conn,
        api_version=API_VERSION,
        kind=kind,
        namespace=session.namespace,
        name=name,
        check=checks.job_finished(SUCCEEDED, FAILED, failure_fails_wait=False),
        timeout_seconds=timeout,
        what=f'{kind} "{name}" to finish',
        guard=guards.workload(
            session.conn,
            session.namespace,
            kind=kind,
            name=name,
            pods=selector(name),
            image_pull_grace_seconds=session.run.image_pull_grace_seconds,
        ),
        reporting=session.reporting(name, _job_facts(session, name)),
    )
    return dict(found[name])


def expect_succeeded(
    session: ScenarioSession, kind: str, name: str, *, pod_start_timeout: float, timeout: float
) -> Body:
    """First the job's pods must start (a pod that never can fails this at once), then the job must succeed.

    A failed job raises WorkloadFailedError naming the failed pods and their last log lines.
    """
    wait_pods_started(session, kind, name, timeout=pod_start_timeout)
    job = wait_finished(session, kind, name, timeout=timeout)
    failed = checks.true_condition(job, FAILED)
    if failed is not None:
        raise errors.WorkloadFailedError(
            f'{kind} "{name}" failed: {failed.get("reason")}: {failed.get("message")}\n'
            + explain_failure(session, name),
            evidence=evidence.collect(
                session.conn, session.namespace, job=(API_VERSION, kind, name), label_selector=selector(name)
            ).render(),
        )
    return job


def explain_failure(session: ScenarioSession, name: str) -> str:
    """For each failed pod: which container ended how, and its last log lines."""
    lines = []
    for pod in pods(session, name):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated: dict[str, Any] = (status.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode", 0) == 0:
                continue
            pod_name = pod["metadata"]["name"]
            lines.append(
                f"pod {pod_name}: container {status['name']} terminated with exit code "
                f"{terminated.get('exitCode')} ({terminated.get('reason', 'Error')})"
            )
            text = session.conn.pod_log(
                pod_name, session.namespace, container=status["name"], tail_lines=FAILURE_LOG_LINES
            )
            lines.extend(f"  | {line}" for line in evidence.last_lines(text, FAILURE_LOG_LINES).splitlines())
    return "\n".join(lines) if lines else "no container of the job's pods terminated with an error"


def master_log(session: ScenarioSession, name: str, *, replica_type: str = "master") -> str:
    """The log of the job's first pod of `replica_type` (the one that reports the job's metrics)."""
    for pod in pods(session, name):
        labels = pod["metadata"].get("labels") or {}
        if labels.get(REPLICA_TYPE_LABEL) == replica_type and labels.get(REPLICA_INDEX_LABEL) == "0":
            return session.conn.pod_log(pod["metadata"]["name"], session.namespace, container=workload_container(pod))
    raise errors.ExpectationError(f'{name} has no {replica_type} pod with index 0 in namespace "{session.namespace}"')


def replica_count(job: Body) -> int:
    """How many pods the operator makes for the job: the sum of its replica specs (each defaults to 1)."""
    specs = job.get("spec") or {}
    replica_specs = specs.get("pytorchReplicaSpecs") or specs.get("tfReplicaSpecs") or {}
    return sum(int((spec or {}).get("replicas", 1)) for spec in replica_specs.values())


def label_mismatches(session: ScenarioSession, name: str, expected: list[dict[str, str]]) -> list[str]:
    """Compare each pod's operator labels with a table of pod / replica type / replica index / job role."""
    found = {pod["metadata"]["name"]: pod["metadata"].get("labels") or {} for pod in pods(session, name)}
    problems = []
    if sorted(found) != sorted(row["pod"] for row in expected):
        problems.append(f"the job has pods {sorted(found)}, expected {sorted(row['pod'] for row in expected)}")
    columns = {"replica type": REPLICA_TYPE_LABEL, "replica index": REPLICA_INDEX_LABEL, "job role": JOB_ROLE_LABEL}
    for row in expected:
        labels = found.get(row["pod"], {})
        for column, label in columns.items():
            if labels.get(label, "") != row[column]:
                problems.append(f"pod {row['pod']}: label {label} is {labels.get(label)!r}, expected {row[column]!r}")
    return problems


def environment_mismatches(session: ScenarioSession, name: str, expected: list[dict[str, str]]) -> list[str]:
    """Compare the env of each pod's `pytorch`/`tensorflow` container with a table of variable values."""
    by_name = {pod["metadata"]["name"]: pod for pod in pods(session, name)}
    problems = []
    for row in expected:
        pod = by_name.get(row["pod"])
        if pod is None:
            problems.append(f"pod {row['pod']} does not exist")
            continue
        container = next(c for c in pod["spec"]["containers"] if c["name"] == workload_container(pod))
        env = {item["name"]: item.get("value") for item in container.get("env") or []}
        for variable, value in row.items():
            if variable != "pod" and env.get(variable) != value:
                problems.append(f"pod {row['pod']}: {variable} is {env.get(variable)!r}, expected {value!r}")
    return problems


def master_address_mismatches(session: ScenarioSession, name: str) -> list[str]:
    """Each pod logged the address its MASTER_ADDR resolved to: it must be the master pod's IP."""
    job_pods = pods(session, name)
    master_ip = next(
        (
            p["status"].get("podIP")
            for p in job_pods
            if (p["metadata"].get("labels") or {}).get(REPLICA_TYPE_LABEL) == "master"
        ),
        None,
    )
    problems = []
    for pod in job_pods:
        text = session.conn.pod_log(pod["metadata"]["name"], session.namespace, container=workload_container(pod))
        if f"master address resolves to {master_ip}" not in text:
            problems.append(
                f"pod {pod['metadata']['name']} did not resolve the master to {master_ip}; it logged:\n"
                + evidence.last_lines(text, FAILURE_LOG_LINES)
            )
    return problems


def replica_pods(session: ScenarioSession, name: str, replica_type: str) -> list[Body]:
    """The job's pods of one replica type (`ps`, `worker`, `chief`, ...), by index."""
    found = [
        p for p in pods(session, name) if (p["metadata"].get("labels") or {}).get(REPLICA_TYPE_LABEL) == replica_type
    ]
    return sorted(found, key=lambda p: int((p["metadata"].get("labels") or {}).get(REPLICA_INDEX_LABEL, "0")))


def replica_logs(session: ScenarioSession, name: str, replica_type: str) -> dict[str, str]:
    """Pod name -> log, for every pod of one replica type."""
    return {
        p["metadata"]["name"]: session.conn.pod_log(
            p["metadata"]["name"], session.namespace, container=workload_container(p)
        )
        for p in replica_pods(session, name, replica_type)
    }


def tf_config_mismatches(session: ScenarioSession, name: str, expected: list[dict[str, str]]) -> list[str]:
    """Each pod's TF_CONFIG must name the whole cluster (a table of replica type -> addresses) and its own task."""
    cluster = {
        row["replica type"]: [a.strip().replace("{namespace}", session.namespace) for a in row["addresses"].split(",")]
        for row in expected
    }
    problems = []
    for pod in pods(session, name):
        labels = pod["metadata"].get("labels") or {}
        container = next((c for c in pod["spec"]["containers"] if c["name"] == "tensorflow"), None)
        env = {item["name"]: item.get("value") for item in (container or {}).get("env") or []}
        if "TF_CONFIG" not in env:
            problems.append(f"pod {pod['metadata']['name']} has no TF_CONFIG in its tensorflow container")
            continue
        config = json.loads(env["TF_CONFIG"] or "{}")
        own = {"type": labels.get(REPLICA_TYPE_LABEL), "index": int(labels.get(REPLICA_INDEX_LABEL, "-1"))}
        if config.get("cluster") != cluster:
            problems.append(
                f"pod {pod['metadata']['name']}: TF_CONFIG cluster is {config.get('cluster')}, expected {cluster}"
            )
        if config.get("task") != own:
            problems.append(f"pod {pod['metadata']['name']}: TF_CONFIG task is {config.get('task')}, expected {own}")
    return problems


def replicas_not_running(session: ScenarioSession, name: str, replica_type: str) -> list[str]:
    """What keeps the job's pods of one replica type from all running (e.g. PS pods after success)."""
    found = replica_pods(session, name, replica_type)
    if not found:
        return [f"the job has no {replica_type} pods"]
    return [
        f"pod {pod['metadata']['name']} is {pod['status'].get('phase')}"
        for pod in found
        if pod["status"].get("phase") != "Running"
    ]
