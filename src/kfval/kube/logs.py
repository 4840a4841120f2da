"""Pod logs as steps read them: per pod of a workload, the tail of a long log, or line by line.

Training steps judge a run by what its pods printed (loss, accuracy, the rank lines of a
distributed job), and a failed step shows the last lines of each container. The pods of a workload
are found by label, because a PyTorchJob or TFJob names its pods itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kfval.kube.client import Connection

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def pod_logs(
    conn: Connection,
    namespace: str,
    *,
    label_selector: str,
    container: str | None = None,
    tail_lines: int | None = None,
) -> dict[str, str]:
    """The log of every pod matching `label_selector`, by pod name.

    Without `container`, each pod's default container is read, as `kubectl logs` picks it: the
    one named by the `kubectl.kubernetes.io/default-container` annotation, else the first.
    """
    listed = conn.list("v1", "Pod", namespace, label_selector=label_selector)
    texts: dict[str, str] = {}
    for pod in sorted(listed.get("items") or [], key=lambda item: str(item["metadata"]["name"])):
        name = str(pod["metadata"]["name"])
        texts[name] = conn.pod_log(
            name, namespace, container=container or default_container(pod), tail_lines=tail_lines
        )
    return texts


def default_container(pod: Mapping[str, Any]) -> str | None:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(DEFAULT_CONTAINER_ANNOTATION):
        return str(annotations[DEFAULT_CONTAINER_ANNOTATION])
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0]["name"]) if containers else None


def last_lines(text: str, n: int) -> str:
    """The last `n` lines of `text` (a trailing newline does not count as an empty last line)."""
    if n <= 0:
        return ""
    return "\n".join(text.splitlines()[-n:])


def follow(conn: Connection, pod: str, namespace: str, container: str | None = None) -> Iterator[str]:
    """A container's log line by line as it is written, until the container ends."""
    return conn.follow_pod_log(pod, namespace, container=container)
