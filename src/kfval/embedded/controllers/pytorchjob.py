"""The PyTorchJob controller of the Kubeflow training operator (v1.9 behaviour).

Distributed PyTorch scenarios pass or fail on what this controller does: the env that
`torch.distributed` reads (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and the torchrun `PET_*`
variables), the `init-pytorch` container that holds workers until the master's name resolves, and
the rule that the master alone decides success. The common half of the operator (pods, Services,
restart and run policies, conditions) is `trainingjobs`; this module is the PyTorch half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from kfval.embedded.clock import Clock, rfc3339
from kfval.embedded.controllers import trainingjobs
from kfval.embedded.controllers import trainingreplicas as replicas
from kfval.embedded.controllers import trainingstatus as conditions
from kfval.embedded.controllers.reactor import Watched
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import InternalError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey

MASTER = "Master"
WORKER = "Worker"
KIND = replicas.JobKind(
    kind="PyTorchJob",
    resource="pytorchjobs",
    replica_specs_field="pytorchReplicaSpecs",
    replica_types=(MASTER, WORKER),
    container="pytorch",
    port_name="pytorchjob-port",
    default_port=23456,
    default_restart_policy="OnFailure",
    job_deleted_reason="SuccessfulDeletePod",
)
INIT_CONTAINER_NAME = "init-pytorch"
DEFAULT_INIT_CONTAINER_IMAGE = "alpine:3.10"
DEFAULT_INIT_CONTAINER_MAX_TRIES = 100
DEFAULT_RDZV_BACKEND = "c10d"


def master_port(replica: Mapping[str, Any]) -> int:
    """The `pytorchjob-port` of the `pytorch` container (defaulted to 23456 in memory)."""
    container = replicas.default_container(((replica.get("template") or {}).get("spec") or {}), KIND) or {}
    for port in container.get("ports") or []:
        if port.get("name") == KIND.port_name:
            return int(port["containerPort"])
    raise InternalError("port not found")


def nproc_per_node(spec: Mapping[str, Any]) -> str | None:
    """`spec.nprocPerNode`, defaulted to `auto` unless the deprecated elastic field is set."""
    if spec.get("nprocPerNode") is not None:
        return str(spec["nprocPerNode"])
    return None if (spec.get("elasticPolicy") or {}).get("nProcPerNode") is not None else "auto"


def environment(job: Body, replica_type: str, *, index: int) -> list[dict[str, str]]:
    """The variables appended to every container's env, in upstream's order."""
    spec, name = job["spec"], job["metadata"]["name"]
    specs = replicas.replica_specs(job, KIND)
    total = sum(int(s["replicas"]) for s in specs.values())
    nproc = nproc_per_node(spec)
    pairs: list[tuple[str, str]] = [("PYTHONUNBUFFERED", "1")]
    if MASTER in specs:
        port, address = str(master_port(specs[MASTER])), replicas.replica_name(name, MASTER, index=0)
        rank = str(index if replica_type == MASTER else index + 1)
        world = total * (int(nproc) if nproc is not None and nproc.isdigit() else 1)
        pairs += [("MASTER_PORT", port), ("PET_MASTER_PORT", port), ("MASTER_ADDR", address)]
        pairs += [("PET_MASTER_ADDR", address), ("WORLD_SIZE", str(world)), ("RANK", rank), ("PET_NODE_RANK", rank)]
    if nproc is not None:
        pairs.append(("PET_NPROC_PER_NODE", nproc))
    elastic = spec.get("elasticPolicy")
    pairs += elastic_environment(job, elastic, specs=specs) if elastic is not None else [("PET_NNODES", str(total))]
    return [{"name": key, "value": value} for key, value in pairs]


def elastic_environment(job: Body, elastic: Mapping[str, Any], *, specs: Mapping[str, Body]) -> list[tuple[str, str]]:
    """torchrun's rendezvous settings from `elasticPolicy` (min/max default to the worker count)."""
    workers = specs.get(WORKER) or {}
    host = elastic.get("rdzvHost") or replicas.replica_name(job["metadata"]["name"], WORKER, index=0)
    port = elastic.get("rdzvPort") or (master_port(workers) if workers else KIND.default_port)
    low = elastic.get("minReplicas", elastic.get("maxReplicas", workers.get("replicas", 1)))
    high = elastic.get("maxReplicas", low)
    pairs = [
        ("PET_RDZV_ENDPOINT", f"{host}:{port}"),
        ("PET_RDZV_BACKEND", str(elastic.get("rdzvBackend") or DEFAULT_RDZV_BACKEND)),
        ("PET_NNODES", f"{low}:{high}"),
    ]
    for key, field in (("PET_MAX_RESTARTS", "maxRestarts"), ("PET_NPROC_PER_NODE", "nProcPerNode")):
        if elastic.get(field) is not None:
            pairs.append((key, str(elastic[field])))
    if elastic.get("rdzvId") is not None:
        pairs.append(("PET_RDZV_ID", str(elastic["rdzvId"])))
    if elastic.get("rdzvConf"):
        pairs.append(("PET_RDZV_CONF", ",".join(f"{c.get('key')}={c.get('value')}" for c in elastic["rdzvConf"])))
    if elastic.get("standalone"):
        pairs.append(("PET_STANDALONE", ""))
    return pairs


def init_container(master_address: str, *, image: str, max_tries: int) -> Body:
    """The worker init container that waits until the master's Service name resolves."""
    script = (
        f"err=1;for i in $(seq {max_tries}); do if nslookup {master_address}; then err=0 && break; fi;"
        "echo waiting for master; sleep 2; done; exit $err"
    )
    return {
        "name": INIT_CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {"limits": {"cpu": "100m", "memory": "20Mi"}, "requests": {"cpu": "50m", "memory": "10Mi"}},
        "command": ["sh", "-c", script],
    }


class PyTorchFramework:
    """The PyTorch half of the operator, plugged into the common reconcile loop."""

    kind = KIND

    def __init__(self, *, init_container_image: str, init_container_max_tries: int) -> None:
        self.init_container_image = init_container_image
        self.init_container_max_tries = init_container_max_tries

    def is_master_role(self, specs: Mapping[str, Body], replica_type: str, *, index: int) -> bool:
        """Master pods when a Master exists, else worker 0 (since v1.8)."""
        if MASTER in specs:
            return replica_type == MASTER
        return replica_type == WORKER and index == 0

    def set_cluster_spec(self, job: Body, pod: Body, *, replica_type: str, index: int) -> None:
        env = environment(job, replica_type, index=index)
        for container in pod["spec"].get("containers") or []:
            container["env"] = [*(container.get("env") or []), *env]
        if MASTER in replicas.replica_specs(job, KIND) and replica_type == WORKER:
            address = replicas.replica_name(job["metadata"]["name"], MASTER, index=0)
            waiting = init_container(address, image=self.init_container_image, max_tries=self.init_container_max_tries)
            pod["spec"]["initContainers"] = [*(pod["spec"].get("initContainers") or []), waiting]

    def update_job_status(self, job: Body, status: conditions.Status, *, now: datetime, recorder: Recorder) -> None:
        """Upstream `UpdateJobStatus`: the Master (else the Workers) decides success; a failed replica
        restarts the job, or fails it under restartPolicy Never."""
        specs = replicas.replica_specs(job, KIND)
        deciding = MASTER if MASTER in specs else WORKER
        ordered = [t for t in KIND.replica_types if t in specs] + [t for t in specs if t not in KIND.replica_types]
        for replica_type in ordered:
            counters = conditions.replicas_of(status, replica_type)
            counters["selector"] = replicas.replica_selector(KIND, job["metadata"]["name"], replica_type=replica_type)
            if replica_type == deciding and self._decide(job, status, counters, now=now, recorder=recorder):
                return
            wanted = int(specs[replica_type]["replicas"])
            failed, done = conditions.count(counters, "failed"), conditions.count(counters, "succeeded")
            if failed > 0 and wanted > done + conditions.count(counters, "active"):
                policy = str(specs[replica_type].get("restartPolicy"))
                self._on_failure(
                    job, status, replica_type=replica_type, failed=failed, policy=policy, now=now, recorder=recorder
                )

    def _decide(
        self, job: Body, status: conditions.Status, counters: dict[str, Any], *, now: datetime, recorder: Recorder
    ) -> bool:
        """Succeeded (True: stop looking) or Running, from the deciding replica type's counters."""
        specs, name = replicas.replica_specs(job, KIND), job["metadata"]["name"]
        with_master = MASTER in specs
        label = name if with_master else f"{job['metadata']['namespace']}/{name}"
        wanted = int(specs[MASTER if with_master else WORKER]["replicas"])
        succeeded = conditions.count(counters, "succeeded")
        elastic_done = not with_master and job["spec"].get("elasticPolicy") is not None and succeeded > 0
        if wanted - succeeded == 0 or elastic_done:
            message = (
                f"PyTorchJob {label} is successfully completed."
                if with_master
                else (f"PyTorchJob {label} successfully completed.")
            )
            reason = conditions.reason(KIND.kind, "Succeeded")
            recorder.event(job, "Normal", reason, message)
            status.setdefault("completionTime", rfc3339(now))
            conditions.set_condition(status, conditions.SUCCEEDED, "True", reason=reason, message=message, now=now)
            return True
        if conditions.count(counters, "active") > 0:
            reason = conditions.reason(KIND.kind, "Running")
            message = f"PyTorchJob {label} is running."
            conditions.set_condition(status, conditions.RUNNING, "True", reason=reason, message=message, now=now)
        return False

    def _on_failure(
        self,
        job: Body,
        status: conditions.Status,
        *,
        replica_type: str,
        failed: int,
        policy: str,
        now: datetime,
        recorder: Recorder,
    ) -> None:
        name = job["metadata"]["name"]
        if policy != "Never":
            message = f"PyTorchJob {name} is restarting because {failed} {replica_type} replica(s) failed."
            reason = conditions.reason(KIND.kind, "Restarting")
            recorder.event(job, "Warning", reason, message)
            conditions.set_condition(status, conditions.RESTARTING, "True", reason=reason, message=message, now=now)
            return
        message = f"PyTorchJob {name} is failed because {failed} {replica_type} replica(s) failed."
        reason = conditions.reason(KIND.kind, "Failed")
        recorder.event(job, "Normal", reason, message)
        status.setdefault("completionTime", rfc3339(now))
        conditions.set_condition(status, conditions.FAILED, "True", reason=reason, message=message, now=now)


class PyTorchJobController:
    """Stands in for the operator's `pytorchjob-controller`."""

    name = KIND.controller_name

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        init_container_image: str = DEFAULT_INIT_CONTAINER_IMAGE,
        init_container_max_tries: int = DEFAULT_INIT_CONTAINER_MAX_TRIES,
    ) -> None:
        framework = PyTorchFramework(
            init_container_image=init_container_image, init_container_max_tries=init_container_max_tries
        )
        self.jobs = trainingjobs.TrainingJobs(store, clock, framework=framework)

    def watches(self) -> Sequence[Watched]:
        return self.jobs.watches()

    async def reconcile(self, key: ObjectKey) -> float | None:
        return await self.jobs.reconcile(key)
