"""What an update may not change on the workload kinds, refused with the real server's wording.

A Deployment whose selector changes would orphan its ReplicaSets, a Job whose template changes
would run pods that differ from the ones it counted; kube-apiserver (v1.32) refuses both with 422
and kubectl prints `spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable`.
The selector rule is the apps/v1 strategies' ValidateUpdate; the StatefulSet rule and the Job
rules are ValidateStatefulSetUpdate and ValidateJobSpecUpdate in pkg/apis/{apps,batch}/validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfval.embedded.admission.validation import forbidden, go_label_selector, go_value, invalid
from kfval.embedded.errors import Cause
from kfval.embedded.types import Body, ResourceKey, ResourceType

FIELD_IMMUTABLE = "field is immutable"
STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy")
STATEFULSET_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
SELECTOR_IMMUTABLE = frozenset(
    {
        ResourceKey("apps", "deployments"),
        ResourceKey("apps", "replicasets"),
        ResourceKey("apps", "daemonsets"),
    }
)
JOBS = ResourceKey("batch", "jobs")
STATEFULSETS = ResourceKey("apps", "statefulsets")
JOB_SCHEDULING_FIELDS = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def _spec(body: Body) -> Mapping[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _immutable_selector(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    selector, previous = new.get("selector"), old.get("selector")
    if selector == previous:
        return []
    shown = go_label_selector(selector) if isinstance(selector, Mapping) else "null"
    return [invalid("spec.selector", None, FIELD_IMMUTABLE, rendered=shown)]


def _statefulset(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    ignored = (*STATEFULSET_MUTABLE, "minReadySeconds")
    if {k: v for k, v in new.items() if k not in ignored} == {k: v for k, v in old.items() if k not in ignored}:
        return []
    return [forbidden("spec", STATEFULSET_FORBIDDEN)]


def _scheduling_only(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """A Job template without what a suspended, never started Job may still change."""
    meta = {k: v for k, v in (template.get("metadata") or {}).items() if k not in ("labels", "annotations")}
    spec = {k: v for k, v in (template.get("spec") or {}).items() if k not in JOB_SCHEDULING_FIELDS}
    return {**template, "metadata": meta, "spec": spec}


def _job(new: Mapping[str, Any], old: Mapping[str, Any], old_status: Mapping[str, Any]) -> list[Cause]:
    causes = _immutable_selector(new, old)
    template, previous = new.get("template") or {}, old.get("template") or {}
    if template == previous:
        return causes
    suspended_unstarted = bool(old.get("suspend")) and not old_status.get("startTime")
    if suspended_unstarted and _scheduling_only(template) == _scheduling_only(previous):
        return causes
    return [*causes, invalid("spec.template", template, FIELD_IMMUTABLE, rendered=go_value(template))]


def validate_update(rt: ResourceType, obj: Body, old: Body) -> list[Cause]:
    """Causes for the spec fields this kind's update may not change; none for other kinds."""
    if rt.key in SELECTOR_IMMUTABLE:
        return _immutable_selector(_spec(obj), _spec(old))
    if rt.key == STATEFULSETS:
        return _statefulset(_spec(obj), _spec(old))
    if rt.key == JOBS:
        status = old.get("status")
        return _job(_spec(obj), _spec(old), status if isinstance(status, Mapping) else {})
    return []
