"""Validation of the kinds that carry a pod spec: Pods and the workloads that stamp them out.

Split from validation.py because the pod spec is most of the real server's validation code
(containers, ports, env, volumes, resources, the pod update rules) and because every workload
reuses it for its template, under its own field path and with its own restartPolicy rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from kfval.embedded import quantities
from kfval.embedded.admission import immutability
from kfval.embedded.admission.validation import (
    dns1123_label_errors,
    duplicate,
    forbidden,
    go_label_selector,
    go_string_map,
    invalid,
    nonnegative,
    not_found,
    not_supported,
    port_name_errors,
    port_number_errors,
    required,
)
from kfval.embedded.errors import Cause
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body, ResourceKey, ResourceType

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PORT_PROTOCOLS = ("SCTP", "TCP", "UDP")
POD_UPDATABLE_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)

# -- containers ----------------------------------------------------------------------------------


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value or [] if isinstance(item, dict)]


def _validate_ports(ports: list[dict[str, Any]], path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        at = f"{path}[{index}]"
        name = str(port.get("name") or "")
        if name:
            errors = port_name_errors(name)
            causes += [invalid(f"{at}.name", name, m) for m in errors]
            if not errors and name in names:
                causes.append(duplicate(f"{at}.name", name))
            names.add(name)
        for field in ("containerPort", "hostPort"):
            value = port.get(field) or 0
            if field == "containerPort" and not value:
                causes.append(required(f"{at}.containerPort"))
            elif value:
                causes += [invalid(f"{at}.{field}", value, m) for m in port_number_errors(value)]
        protocol = str(port.get("protocol") or "")
        if protocol not in PORT_PROTOCOLS:
            causes.append(not_supported(f"{at}.protocol", protocol, PORT_PROTOCOLS))
    return causes


def _validate_env(env: list[dict[str, Any]], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for index, var in enumerate(env):
        at = f"{path}[{index}]"
        name = str(var.get("name") or "")
        if not name:
            causes.append(required(f"{at}.name"))
            causes.append(invalid(f"{at}.name", name, "environment variable name must be non-empty"))
        elif any(ord(c) < 32 or ord(c) > 126 or c == "=" for c in name):
            message = "a valid environment variable name must consist only of printable ASCII characters other than '='"
            causes.append(invalid(f"{at}.name", name, message))
        if var.get("value") and var.get("valueFrom"):
            causes.append(invalid(f"{at}.valueFrom", "", "may not be specified when `value` is not empty"))
    return causes


def _validate_mounts(mounts: list[dict[str, Any]], path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    paths: set[str] = set()
    for index, mount in enumerate(mounts):
        at = f"{path}[{index}]"
        name, mount_path = str(mount.get("name") or ""), str(mount.get("mountPath") or "")
        if not name:
            causes.append(required(f"{at}.name"))
        if name not in volumes:
            causes.append(not_found(f"{at}.name", name))
        if not mount_path:
            causes.append(required(f"{at}.mountPath"))
        if mount_path in paths:
            causes.append(invalid(f"{at}.mountPath", mount_path, "must be unique"))
        paths.add(mount_path)
    return causes


def _validate_resources(resources: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, quantity in sorted(values.items()):
            parsed = quantities.parse_or_none(quantity)
            if parsed is not None and parsed < 0:
                shown = quantities.canonical(quantity)
                causes.append(invalid(f"{path}.{kind}[{name}]", shown, "must be greater than or equal to 0"))
    for name, quantity in sorted(requests.items()):
        request, limit = quantities.parse_or_none(quantity), quantities.parse_or_none(limits.get(name))
        if request is None or limit is None:
            continue
        wanted, ceiling = quantities.canonical(quantity), quantities.canonical(limits[name])
        overcommit = ("/" not in name or "kubernetes.io/" in name) and not name.startswith("hugepages-")
        if request != limit and not overcommit:
            causes.append(invalid(f"{path}.requests", wanted, f"must be equal to {name} limit of {ceiling}"))
        elif request > limit:
            causes.append(
                invalid(f"{path}.requests", wanted, f"must be less than or equal to {name} limit of {ceiling}")
            )
    return causes


def _validate_container(container: Mapping[str, Any], path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = str(container.get("name") or "")
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes += [invalid(f"{path}.name", name, m) for m in dns1123_label_errors(name)]
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    causes += _validate_ports(_objects(container.get("ports")), f"{path}.ports")
    causes += _validate_env(_objects(container.get("env")), f"{path}.env")
    causes += _validate_mounts(_objects(container.get("volumeMounts")), f"{path}.volumeMounts", volumes)
    policy = container.get("imagePullPolicy")
    if policy not in PULL_POLICIES:
        causes.append(not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES))
    causes += _validate_resources(container.get("resources") or {}, f"{path}.resources")
    return causes


# -- pod specs -----------------------------------------------------------------------------------


def _validate_volumes(volumes: list[dict[str, Any]], path: str) -> tuple[list[Cause], set[str]]:
    """Volume errors, and the names of the volumes that are valid (mounts may refer only to those)."""
    causes: list[Cause] = []
    valid: set[str] = set()
    for index, volume in enumerate(volumes):
        at = f"{path}[{index}]"
        name = str(volume.get("name") or "")
        errors: list[Cause] = []
        sources = [key for key in volume if key != "name"]
        if not sources:
            errors.append(required(at, "must specify a volume type"))
        errors += [forbidden(f"{at}.{key}", "may not specify more than 1 volume type") for key in sources[1:]]
        errors += _volume_source_errors(volume, at)
        if not name:
            errors.append(required(f"{at}.name"))
        else:
            errors += [invalid(f"{at}.name", name, m) for m in dns1123_label_errors(name)]
        if name in valid:
            errors.append(duplicate(f"{at}.name", name))
        if errors:
            causes += errors
        else:
            valid.add(name)
    return causes, valid


def _volume_source_errors(volume: Mapping[str, Any], path: str) -> list[Cause]:
    required_fields = {
        "configMap": "name",
        "secret": "secretName",
        "persistentVolumeClaim": "claimName",
        "hostPath": "path",
    }
    return [
        required(f"{path}.{source}.{field}")
        for source, field in required_fields.items()
        if isinstance(volume.get(source), dict) and not volume[source].get(field)
    ]


def validate_pod_spec(spec: Mapping[str, Any], path: str) -> list[Cause]:
    """ValidatePodSpec: volumes, containers, init containers, restart and DNS policies."""
    causes, volumes = _validate_volumes(_objects(spec.get("volumes")), f"{path}.volumes")
    containers = _objects(spec.get("containers"))
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for index, container in enumerate(containers):
        at = f"{path}.containers[{index}]"
        causes += _validate_container(container, at, volumes)
        if container.get("name") in names:
            causes.append(duplicate(f"{at}.name", container.get("name")))
        names.add(str(container.get("name") or ""))
    for index, container in enumerate(_objects(spec.get("initContainers"))):
        at = f"{path}.initContainers[{index}]"
        causes += _validate_container(container, at, volumes)
        if container.get("name") in names:
            causes.append(duplicate(f"{at}.name", container.get("name")))
        names.add(str(container.get("name") or ""))
    if spec.get("restartPolicy") not in RESTART_POLICIES:
        causes.append(not_supported(f"{path}.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES))
    if spec.get("dnsPolicy") not in DNS_POLICIES:
        causes.append(not_supported(f"{path}.dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (isinstance(deadline, int) and 1 <= deadline <= 2147483647):
        causes.append(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"))
    return causes


def validate_pod_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Only images, activeDeadlineSeconds and added tolerations may change in a pod's spec."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for field in ("containers", "initContainers"):
        if len(new_spec.get(field) or []) != len(old_spec.get(field) or []):
            return [forbidden(f"spec.{field}", "pod updates may not add or remove containers")]
    munged = copy.deepcopy(dict(new_spec))
    for field in ("containers", "initContainers"):
        for mine, theirs in zip(munged.get(field) or [], old_spec.get(field) or [], strict=True):
            if isinstance(mine, dict) and isinstance(theirs, dict):
                mine["image"] = theirs.get("image")
    _munge(munged, old_spec, "activeDeadlineSeconds")
    old_tolerations = list(old_spec.get("tolerations") or [])
    if all(t in (munged.get("tolerations") or []) for t in old_tolerations):
        _munge(munged, old_spec, "tolerations")
    if munged != old_spec:
        detail = "pod updates may not change fields other than " + ",".join(POD_UPDATABLE_FIELDS)
        return [forbidden("spec", detail)]
    return []


def _munge(target: dict[str, Any], source: Mapping[str, Any], field: str) -> None:
    """Take the old value of an updatable field, so that only forbidden changes remain visible."""
    if field in source:
        target[field] = copy.deepcopy(source[field])
    else:
        target.pop(field, None)


# -- workloads -----------------------------------------------------------------------------------


def _template_labels(template: Mapping[str, Any]) -> Mapping[str, str] | None:
    labels = (template.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else None


def _validate_selector(spec: Mapping[str, Any], path: str, kind: str) -> list[Cause]:
    """Selector present, not empty, and matching the template's labels (a missing one matches nothing)."""
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = _template_labels(template)
    causes: list[Cause] = []
    if selector is None:
        causes.append(required(f"{path}.selector"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        causes.append(
            invalid(
                f"{path}.selector", None, f"empty selector is invalid for {kind}", rendered=go_label_selector(selector)
            )
        )
        return causes
    if selector is None or not selector_from_match(selector).matches({"metadata": {"labels": labels or {}}}):
        shown = go_string_map(labels)
        causes.append(
            invalid(
                f"{path}.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
                rendered=shown,
            )
        )
    return causes


def _validate_always_template(spec: Mapping[str, Any], path: str, *, owner: str) -> list[Cause]:
    template_spec = (spec.get("template") or {}).get("spec") or {}
    causes = validate_pod_spec(template_spec, f"{path}.template.spec")
    policy = template_spec.get("restartPolicy")
    if policy != "Always":
        causes.append(not_supported(f"{path}.template.spec.restartPolicy", policy, ("Always",)))
    if template_spec.get("activeDeadlineSeconds") is not None:
        deadline = template_spec["activeDeadlineSeconds"]
        detail = f"activeDeadlineSeconds in {owner} is not Supported"
        causes.append(invalid(f"{path}.template.spec.activeDeadlineSeconds", deadline, detail))
    return causes


def _workload_validator(kind: str, *, owner: str, replicas: bool) -> Callable[..., list[Cause]]:
    """Deployment, ReplicaSet, StatefulSet and DaemonSet share these rules, naming themselves in one message."""

    def validate_workload(obj: Body, *, old: Body | None) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = nonnegative("spec.replicas", spec.get("replicas")) if replicas else []
        causes += _validate_selector(spec, "spec", kind)
        causes += _validate_always_template(spec, "spec", owner=owner)
        return causes

    return validate_workload


def _validate_job_spec(spec: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"):
        causes += nonnegative(f"{path}.{field}", spec.get(field))
    template_spec = (spec.get("template") or {}).get("spec") or {}
    causes += validate_pod_spec(template_spec, f"{path}.template.spec")
    policy = template_spec.get("restartPolicy")
    policy_path = f"{path}.template.spec.restartPolicy"
    if policy in ("Always", "", None):
        causes.append(required(policy_path, 'valid values: "OnFailure", "Never"'))
    elif policy not in ("OnFailure", "Never"):
        causes.append(not_supported(policy_path, policy, ("OnFailure", "Never")))
    return causes


def validate_job(obj: Body, *, old: Body | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    selector = spec.get("selector")
    if not spec.get("manualSelector") and selector is not None:
        meta = obj.get("metadata") or {}
        expected = {
            "batch.kubernetes.io/controller-uid": str(meta.get("uid") or ""),
            "batch.kubernetes.io/job-name": str(meta.get("name") or ""),
            "controller-uid": str(meta.get("uid") or ""),
            "job-name": str(meta.get("name") or ""),
        }
        if not selector_from_match(selector).matches({"metadata": {"labels": expected}}):
            shown = go_label_selector(selector)
            causes.append(invalid("spec.selector", None, "`selector` not auto-generated", rendered=shown))
    causes += _validate_job_spec(spec, "spec")
    if selector is None:
        causes.append(required("spec.selector"))
    elif not selector_from_match(selector).matches(
        {"metadata": {"labels": _template_labels(spec.get("template") or {}) or {}}}
    ):
        labels = _template_labels(spec.get("template") or {})
        causes.append(
            invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
                rendered=go_string_map(labels),
            )
        )
    return causes


def validate_cronjob(obj: Body, *, old: Body | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = [] if spec.get("schedule") else [required("spec.schedule")]
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        causes.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    causes += _validate_job_spec(job_spec, "spec.jobTemplate.spec")
    return causes


def validate_pod(obj: Body, *, old: Body | None) -> list[Cause]:
    causes = validate_pod_spec(obj.get("spec") or {}, "spec")
    if old is not None:
        causes += validate_pod_update(obj, old)
    return causes


VALIDATORS: dict[ResourceKey, Callable[..., list[Cause]]] = {
    ResourceKey("", "pods"): validate_pod,
    ResourceKey("apps", "deployments"): _workload_validator("deployment", owner="ReplicaSet", replicas=True),
    ResourceKey("apps", "replicasets"): _workload_validator("deployment", owner="ReplicaSet", replicas=True),
    ResourceKey("apps", "statefulsets"): _workload_validator("statefulset", owner="StatefulSet", replicas=True),
    ResourceKey("apps", "daemonsets"): _workload_validator("daemonset", owner="DaemonSet", replicas=False),
    ResourceKey("batch", "jobs"): validate_job,
    ResourceKey("batch", "cronjobs"): validate_cronjob,
}


def validate(rt: ResourceType, obj: Body, *, old: Body | None) -> list[Cause]:
    """The spec rules of the kinds that carry a pod spec (and what their updates may not change)."""
    kind_validator = VALIDATORS.get(rt.key)
    causes = kind_validator(obj, old=old) if kind_validator is not None else []
    return causes + immutability.validate_update(rt, obj, old) if old is not None else causes
