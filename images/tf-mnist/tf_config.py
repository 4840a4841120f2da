"""Where this process sits in a TFJob, read from the TF_CONFIG the training operator sets.

The operator gives the first `tensorflow` container of every replica of a distributed TFJob a
compact JSON value: `{"cluster": {"ps": [...], "worker": [...]}, "task": {"type": "worker",
"index": 0}, "environment": "cloud"}`, every address `<job>-<type>-<i>.<namespace>.svc:2222`
(kubeflow-semantics §1.4.5). A TFJob with one replica gets none, so no TF_CONFIG means "train
alone". A malformed value is the operator's (or the manifest's) fault and is reported as such,
naming the variable, before TensorFlow starts and fails with something less clear.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VARIABLE = "TF_CONFIG"


class TFConfigError(Exception):
    """TF_CONFIG is set but does not describe a task in a cluster."""


@dataclass(frozen=True)
class Task:
    """This replica: its job (`ps`, `worker`, `chief`...), its index, and every job's addresses."""

    job_name: str
    index: int
    cluster: Mapping[str, tuple[str, ...]]

    def hosts(self, job_name: str) -> tuple[str, ...]:
        """The addresses of one job, in task order; empty when the cluster has no such job."""
        return self.cluster.get(job_name, ())

    @property
    def address(self) -> str:
        """This task's own `host:port`, where its server listens."""
        return self.hosts(self.job_name)[self.index]


def addresses(job_name: str, value: Any) -> tuple[str, ...]:
    """A job's addresses: a list, or the sparse `{"<i>": address}` form of enableDynamicWorker."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    if isinstance(value, dict) and all(key.isdigit() and isinstance(item, str) for key, item in value.items()):
        return tuple(value[key] for key in sorted(value, key=int))
    raise TFConfigError(f"{VARIABLE}: cluster.{job_name} is neither a list of addresses nor an index map: {value!r}")


def parse(text: str) -> Task:
    """The task a TF_CONFIG value describes."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise TFConfigError(f"{VARIABLE} is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise TFConfigError(f"{VARIABLE} is not a JSON object: {text!r}")
    cluster_value, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster_value, dict) or not isinstance(task, dict):
        raise TFConfigError(f"{VARIABLE} needs a `cluster` object and a `task` object: {text!r}")
    cluster = {job: addresses(job, value) for job, value in cluster_value.items()}
    job_name, index = task.get("type"), task.get("index", 0)
    if not isinstance(job_name, str) or not isinstance(index, int) or isinstance(index, bool):
        raise TFConfigError(f"{VARIABLE}: task needs a string `type` and an integer `index`: {task!r}")
    if not 0 <= index < len(cluster.get(job_name, ())):
        raise TFConfigError(f"{VARIABLE}: task {job_name}:{index} is not in the cluster {sorted(cluster)}")
    return Task(job_name=job_name, index=index, cluster=cluster)


def from_environment(environ: Mapping[str, str]) -> Task | None:
    """The task from the environment; None without TF_CONFIG (a single-replica TFJob)."""
    text = environ.get(VARIABLE, "").strip()
    return parse(text) if text else None
