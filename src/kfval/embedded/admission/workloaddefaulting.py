"""Defaults for every kind that carries a pod spec: Pods, their templates in workloads, and the workloads.

(Kubernetes pod-spec defaulting, not Kubeflow's PodDefault admission, which lives in poddefault.py.)

Split from defaulting.py because pod specs are where most defaults live (containers, probes, volumes)
and because the Job selector and the pod admission plugins only run on create.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kfval.embedded import qos
from kfval.embedded.types import Body

DEFAULT_TERMINATION_GRACE_SECONDS = 30
DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
VOLUME_DEFAULT_MODE = 420  # 0644
_MODE_SOURCES = ("secret", "configMap", "downwardAPI", "projected")


def set_default(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` when it is absent, null or the empty string (Go's zero value for strings)."""
    if mapping.get(key) in (None, ""):
        mapping[key] = copy.deepcopy(value)


def child(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at `key`, created empty when missing."""
    value = mapping.get(key)
    if not isinstance(value, dict):
        value = mapping[key] = {}
    return value


def items_of(mapping: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The list of objects at `key`, skipping anything that is not an object."""
    return [item for item in mapping.get(key) or [] if isinstance(item, dict)]


# -- pods ----------------------------------------------------------------------------------------


def image_pull_policy(image: str) -> str:
    """`Always` for `:latest` or an untagged image, `IfNotPresent` for a tag or a digest."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_handler(handler: dict[str, Any]) -> None:
    """Probe and lifecycle handlers: HTTP GET path and scheme."""
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        set_default(http_get, "path", "/")
        set_default(http_get, "scheme", "HTTP")


def _default_probe(probe: dict[str, Any]) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _default_handler(probe)


def _default_field_ref(holder: Mapping[str, Any]) -> None:
    ref = holder.get("fieldRef")
    if isinstance(ref, dict):
        set_default(ref, "apiVersion", "v1")


def _default_container(container: dict[str, Any]) -> None:
    set_default(container, "imagePullPolicy", image_pull_policy(str(container.get("image") or "")))
    set_default(container, "terminationMessagePath", "/dev/termination-log")
    set_default(container, "terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in items_of(container, "ports"):
        set_default(port, "protocol", "TCP")
    for env in items_of(container, "env"):
        _default_field_ref(env.get("valueFrom") or {})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            _default_probe(container[probe])
    for hook in ("postStart", "preStop"):
        handler = (container.get("lifecycle") or {}).get(hook)
        if isinstance(handler, dict):
            _default_handler(handler)


def _default_volume(volume: dict[str, Any]) -> None:
    if set(volume) <= {"name"}:
        volume["emptyDir"] = {}
    for source in _MODE_SOURCES:
        if isinstance(volume.get(source), dict) and volume[source].get("defaultMode") is None:
            volume[source]["defaultMode"] = VOLUME_DEFAULT_MODE
    for item in items_of(volume.get("downwardAPI") or {}, "items"):
        _default_field_ref(item)


def default_pod_spec(spec: dict[str, Any]) -> None:
    """The scheme defaults of every PodSpec, in a Pod or in a template."""
    set_default(spec, "dnsPolicy", "ClusterFirst")
    set_default(spec, "restartPolicy", "Always")
    set_default(spec, "schedulerName", "default-scheduler")
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_SECONDS
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for container in (*items_of(spec, "initContainers"), *items_of(spec, "containers")):
        _default_container(container)
    for volume in items_of(spec, "volumes"):
        _default_volume(volume)


def default_pod_template(template: Any) -> None:
    """A PodTemplateSpec inside a workload: only the PodSpec scheme defaults."""
    if isinstance(template, dict):
        default_pod_spec(child(template, "spec"))


def _default_pod_only(spec: dict[str, Any]) -> None:
    """What SetDefaults_Pod adds to Pods but not to templates."""
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for container in (*items_of(spec, "initContainers"), *items_of(spec, "containers")):
        resources = child(container, "resources")
        limits = resources.get("limits") or {}
        if limits:
            requests = child(resources, "requests")
            for name, quantity in limits.items():
                requests.setdefault(name, quantity)
        if spec.get("hostNetwork"):
            for port in items_of(container, "ports"):
                if not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")


def _tolerates(tolerations: list[dict[str, Any]], key: str) -> bool:
    """Whether a toleration already covers the taint (same key or no key, NoExecute or any effect)."""
    return any(t.get("key") in (None, "", key) and t.get("effect") in (None, "", "NoExecute") for t in tolerations)


def _admit_new_pod(pod: Body) -> None:
    """The admission plugins a real server runs on pod creation: ServiceAccount, Priority, DefaultTolerationSeconds."""
    spec = child(pod, "spec")
    set_default(spec, "serviceAccountName", "default")
    set_default(spec, "serviceAccount", spec["serviceAccountName"])
    if spec.get("priority") is None and not spec.get("priorityClassName"):
        spec["priority"] = 0
    tolerations = items_of(spec, "tolerations")
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not _tolerates(tolerations, key):
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    spec["tolerations"] = tolerations
    pod["status"] = {"phase": "Pending", "qosClass": qos.qos_class(spec)}


def default_pod(obj: Body, *, creating: bool) -> None:
    """A Pod: scheme defaults, then (on create) the admission plugins and the initial status."""
    spec = child(obj, "spec")
    default_pod_spec(spec)
    _default_pod_only(spec)
    if creating:
        _admit_new_pod(obj)


# -- workloads -----------------------------------------------------------------------------------


def default_deployment(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = child(spec, "strategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        set_default(rolling, "maxUnavailable", "25%")
        set_default(rolling, "maxSurge", "25%")
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    default_pod_template(spec.get("template"))


def default_replicaset(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(spec.get("template"))


def default_statefulset(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    set_default(spec, "podManagementPolicy", "OrderedReady")
    strategy = child(spec, "updateStrategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate" and child(strategy, "rollingUpdate").get("partition") is None:
        strategy["rollingUpdate"]["partition"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    retention = child(spec, "persistentVolumeClaimRetentionPolicy")
    set_default(retention, "whenDeleted", "Retain")
    set_default(retention, "whenScaled", "Retain")
    for claim in items_of(spec, "volumeClaimTemplates"):
        set_default(child(claim, "spec"), "volumeMode", "Filesystem")
        set_default(child(claim, "status"), "phase", "Pending")
    default_pod_template(spec.get("template"))


def default_daemonset(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    strategy = child(spec, "updateStrategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    default_pod_template(spec.get("template"))


def default_job(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    set_default(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    set_default(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    default_pod_template(spec.get("template"))
    if creating and not spec.get("manualSelector"):
        _generate_job_selector(obj)


def _generate_job_selector(job: Body) -> None:
    """What the Job strategy does on create: label the template and select it by the Job's uid."""
    meta = child(job, "metadata")
    uid, name = str(meta.get("uid") or ""), str(meta.get("name") or "")
    template = child(job["spec"], "template")
    labels = child(child(template, "metadata"), "labels")
    for key, value in (
        (LEGACY_JOB_NAME_LABEL, name),
        (JOB_NAME_LABEL, name),
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (CONTROLLER_UID_LABEL, uid),
    ):
        labels.setdefault(key, value)
    match_labels = child(child(job["spec"], "selector"), "matchLabels")
    match_labels.setdefault(CONTROLLER_UID_LABEL, uid)
    if not meta.get("labels"):
        meta["labels"] = dict(labels)


def default_cronjob(obj: Body, *, creating: bool) -> None:
    spec = child(obj, "spec")
    set_default(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_spec = child(child(spec, "jobTemplate"), "spec")
    default_pod_template(job_spec.get("template"))
