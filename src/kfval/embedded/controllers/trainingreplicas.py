"""The pods and headless Services a training job is made of, named and labelled as the operator does.

Scenarios find training pods by the operator's names (`<job>-worker-1`) and labels
(`training.kubeflow.org/replica-type=master`), workers reach their master through a Service of
the same name, and the stored spec never shows the operator's defaults while the pods do. Those
conventions are shared by every job kind of the training operator (PyTorchJob, TFJob), so they
live here, parameterised by a :class:`JobKind`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kfval.embedded.controllers import podtemplates
from kfval.embedded.types import Body

GROUP = "kubeflow.org"
VERSION = "v1"
OPERATOR_NAME = "training.kubeflow.org/operator-name"
JOB_NAME = "training.kubeflow.org/job-name"
REPLICA_TYPE = "training.kubeflow.org/replica-type"
REPLICA_INDEX = "training.kubeflow.org/replica-index"
JOB_ROLE = "training.kubeflow.org/job-role"
RETRYABLE_EXIT_CODE = 128
"""Exit codes from here up (signals, OOM kills) are retried under the `ExitCode` restart policy."""
NO_EXIT_CODE = 0xBEEF
"""What upstream reads as the exit code when the default container has not terminated (retryable)."""
OPERATOR_MANAGER = "kubeflow.org/training-operator"
"""The `runPolicy.managedBy` value (or its absence) that leaves a job to this operator."""


@dataclass(frozen=True)
class JobKind:
    """What differs between the operator's job kinds where pods and Services are concerned."""

    kind: str
    resource: str
    replica_specs_field: str
    replica_types: tuple[str, ...]
    """Every type the kind knows, in the order this emulator reconciles them."""
    container: str
    port_name: str
    default_port: int
    default_restart_policy: str
    job_deleted_reason: str
    """The event reason when ttlSecondsAfterFinished deletes the job (PyTorch reuses SuccessfulDeletePod)."""

    @property
    def controller_name(self) -> str:
        """`pytorchjob-controller`: the operator-name label value and the event source."""
        return f"{self.kind.lower()}-controller"


def replica_specs(job: Body, kind: JobKind) -> dict[str, Body]:
    specs = (job.get("spec") or {}).get(kind.replica_specs_field) or {}
    return dict(specs)


def run_policy(job: Body) -> dict[str, Any]:
    return dict((job.get("spec") or {}).get("runPolicy") or {})


def is_managed_here(job: Body) -> bool:
    """Whether the operator reconciles the job: a job whose `runPolicy.managedBy` names another
    manager (MultiKueue, which runs it on a worker cluster) gets no conditions and no pods here."""
    return run_policy(job).get("managedBy") in (None, OPERATOR_MANAGER)


def replica_name(job_name: str, replica_type: str, *, index: int) -> str:
    """`<job>-<lower type>-<index>`, `/` made `-` (upstream `GenGeneralName`)."""
    return f"{job_name}-{replica_type.lower()}-{index}".replace("/", "-")


def job_labels(kind: JobKind, job_name: str) -> dict[str, str]:
    return {OPERATOR_NAME: kind.controller_name, JOB_NAME: job_name}


def replica_labels(kind: JobKind, job_name: str, *, replica_type: str, index: int) -> dict[str, str]:
    """The four labels of a replica's pod and Service (the Service selects by exactly these)."""
    return {**job_labels(kind, job_name), REPLICA_TYPE: replica_type.lower(), REPLICA_INDEX: str(index)}


def replica_selector(kind: JobKind, job_name: str, *, replica_type: str) -> str:
    """`replicaStatuses.<Type>.selector`: job-name, operator-name and replica-type, keys sorted."""
    labels = {**job_labels(kind, job_name), REPLICA_TYPE: replica_type.lower()}
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def default_container(template_spec: Mapping[str, Any], kind: JobKind) -> dict[str, Any] | None:
    """The container named for the kind (`pytorch`), None when there is none."""
    for container in template_spec.get("containers") or []:
        if container.get("name") == kind.container:
            return dict(container)
    return None


def defaulted(job: Body, kind: JobKind) -> Body:
    """The job as the reconciler sees it: upstream's defaults applied to a copy, never stored."""
    result = copy.deepcopy(job)
    spec = result.setdefault("spec", {})
    spec.setdefault("runPolicy", {}).setdefault("cleanPodPolicy", "None")
    known = {name.lower(): name for name in kind.replica_types}
    specs = {known.get(key.lower(), key): value for key, value in (spec.get(kind.replica_specs_field) or {}).items()}
    for replica in specs.values():
        replica.setdefault("replicas", 1)
        replica.setdefault("restartPolicy", kind.default_restart_policy)
        _add_default_port(replica, kind)
    spec[kind.replica_specs_field] = specs
    return result


def _add_default_port(replica: Body, kind: JobKind) -> None:
    """The kind's port on its container (else the first one), unless a port of that name exists."""
    containers = ((replica.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        return
    target = next((c for c in containers if c.get("name") == kind.container), containers[0])
    ports = target.setdefault("ports", [])
    if not any(port.get("name") == kind.port_name for port in ports):
        ports.append({"name": kind.port_name, "containerPort": kind.default_port})


def index_of(body: Body) -> int | None:
    value = (body["metadata"].get("labels") or {}).get(REPLICA_INDEX, "")
    return int(value) if value.isdigit() else None


def of_type(bodies: list[Body], replica_type: str) -> list[Body]:
    lower = replica_type.lower()
    return [b for b in bodies if (b["metadata"].get("labels") or {}).get(REPLICA_TYPE) == lower]


def slices(bodies: list[Body], replicas: int) -> list[list[Body]]:
    """Bodies by replica index, long enough for every wanted index and every one found (upstream
    `GetPodSlices`); an index past `replicas` marks a body to delete."""
    indexed = [(i, b) for b in bodies if (i := index_of(b)) is not None]
    size = max([replicas, *(i + 1 for i, _ in indexed)])
    result: list[list[Body]] = [[] for _ in range(size)]
    for index, body in indexed:
        result[index].append(body)
    return result


def new_pod(job: Body, kind: JobKind, *, replica_type: str, index: int, master_role: bool) -> Body:
    """A replica's pod before the kind adds its cluster spec: template, labels, owner, restart policy."""
    replica = replica_specs(job, kind)[replica_type]
    template = copy.deepcopy(replica.get("template") or {})
    labels = replica_labels(kind, job["metadata"]["name"], replica_type=replica_type, index=index)
    if master_role:
        labels[JOB_ROLE] = "master"
    name = replica_name(job["metadata"]["name"], replica_type, index=index)
    pod = podtemplates.pod_from_template(template, job, name=name, labels=labels)
    policy = replica.get("restartPolicy") or kind.default_restart_policy
    pod["spec"]["restartPolicy"] = "Never" if policy == "ExitCode" else policy
    return pod


def new_service(job: Body, kind: JobKind, *, replica_type: str, index: int) -> Body:
    """The headless Service of one replica: same name, selecting exactly its pod, exposing the
    ports of the kind's container."""
    replica = replica_specs(job, kind)[replica_type]
    container = default_container(((replica.get("template") or {}).get("spec") or {}), kind) or {}
    labels = replica_labels(kind, job["metadata"]["name"], replica_type=replica_type, index=index)
    ports = sorted(
        ({"name": p["name"], "port": int(p["containerPort"])} for p in container.get("ports") or [] if p.get("name")),
        key=lambda port: str(port["name"]),
    )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": replica_name(job["metadata"]["name"], replica_type, index=index),
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [podtemplates.controller_ref(job)],
        },
        "spec": {"clusterIP": "None", "selector": dict(labels), "ports": ports},
    }


def exit_code(pod: Body, kind: JobKind) -> int | None:
    """The exit code of the kind's container once it has terminated, else None."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if status.get("name") == kind.container and terminated is not None:
            return int(terminated.get("exitCode", 0))
    return None


def is_retryable(policy: str, code: int | None) -> bool:
    """Whether a Failed pod is deleted and recreated under its replica's restart policy."""
    if policy in ("OnFailure", "Always"):
        return True
    return policy == "ExitCode" and (NO_EXIT_CODE if code is None else code) >= RETRYABLE_EXIT_CODE
