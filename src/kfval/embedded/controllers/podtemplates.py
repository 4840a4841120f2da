"""What the workload controllers agree on about the pods they make from a template.

Deployments, ReplicaSets, StatefulSets and Jobs all stamp pods out of a `spec.template`, own them
through a controller ownerReference, judge them Ready or Available the same way, and report
conditions with the same transition rules. Keeping those rules here makes the four controllers
agree with each other the way the upstream ones do (they share `pkg/controller` for this).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kfval.embedded.clock import parse_rfc3339, rfc3339
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash, as upstream hashes pod templates."""
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def semantic(value: Any) -> Any:
    """A template as Go holds it once decoded: nulls, empty maps and empty lists are all "unset".

    A template read back from a ReplicaSet by `kubectl rollout undo` carries
    `metadata.creationTimestamp: null` and `resources: {}`; upstream compares templates with
    apimachinery's semantic equality, which treats nil and empty alike, so this one does too.
    """
    if isinstance(value, Mapping):
        pruned = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v not in ({}, [])}
    if isinstance(value, list):
        return [semantic(item) for item in value]
    return value


def without_hash_label(template: Mapping[str, Any]) -> Any:
    """The template minus the `pod-template-hash` label the Deployment controller stamps on its ReplicaSets."""
    result = semantic(template)
    labels = (result.get("metadata") or {}).get("labels") or {}
    labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return semantic(result)


def templates_equal(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """Upstream's EqualIgnoreHash: the same pod template once the hash label and unset fields are ignored."""
    return bool(without_hash_label(left) == without_hash_label(right))


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """A short, stable name part for a template: the decimal FNV-32a rendered in the safe alphabet."""
    canonical = json.dumps(semantic(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        canonical += str(collision_count).encode()
    return "".join(_SAFE_ALPHABET[ord(char) % len(_SAFE_ALPHABET)] for char in str(fnv32a(canonical)))


def controller_ref(owner: Body) -> dict[str, Any]:
    """The ownerReference a controller puts on what it creates (GC and `kubectl describe` follow it)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(body: Body, owner: Body) -> bool:
    uid = owner["metadata"]["uid"]
    refs = body.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("controller") and ref.get("uid") == uid for ref in refs)


def selects(owner: Body, body: Body) -> bool:
    """Whether the owner's `spec.selector` matches the object (an empty selector matches nothing)."""
    selector = (owner.get("spec") or {}).get("selector")
    return bool(selector) and selector_from_match(selector).matches(body)


def pod_from_template(
    template: Mapping[str, Any],
    owner: Body,
    *,
    name: str,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Body:
    """A pod body for `store.create`: the template's metadata and spec, owned by `owner`."""
    meta = template.get("metadata") or {}
    pod_labels = {**(meta.get("labels") or {}), **(labels or {})}
    pod_annotations = {**(meta.get("annotations") or {}), **(annotations or {})}
    metadata: dict[str, Any] = {"name": name, "namespace": owner["metadata"]["namespace"]}
    if pod_labels:
        metadata["labels"] = pod_labels
    if pod_annotations:
        metadata["annotations"] = pod_annotations
    if meta.get("finalizers"):
        metadata["finalizers"] = list(meta["finalizers"])
    metadata["ownerReferences"] = [controller_ref(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy.deepcopy(template.get("spec") or {})}


def is_terminating(pod: Body) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def is_finished(pod: Body) -> bool:
    return (pod.get("status") or {}).get("phase") in FINISHED_PHASES


def is_active(pod: Body) -> bool:
    """Counts toward a workload's replicas: neither finished nor being deleted."""
    return not is_finished(pod) and not is_terminating(pod)


def ready_condition(pod: Body) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


def is_ready(pod: Body) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def is_running_and_ready(pod: Body) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def seconds_until_available(pod: Body, min_ready_seconds: int, now: datetime) -> float | None:
    """0 when the pod is available, the wait when Ready for less than minReadySeconds, None when not Ready."""
    condition = ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    if min_ready_seconds <= 0 or not condition.get("lastTransitionTime"):
        return 0.0
    ready_since = parse_rfc3339(condition["lastTransitionTime"])
    return max(0.0, min_ready_seconds - (now - ready_since).total_seconds())


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: str,
    *,
    reason: str,
    message: str,
    now: datetime,
    stamp: str = "lastUpdateTime",
    refresh: bool = False,
) -> list[dict[str, Any]]:
    """Upsert a condition; lastTransitionTime moves only when the status changes.

    `stamp` is the kind's second timestamp (Deployments keep lastUpdateTime, Jobs lastProbeTime);
    `refresh` moves it even when nothing else changed (a Deployment that made progress).
    """
    moment = rfc3339(now)
    current = next((c for c in conditions if c.get("type") == type_), None)
    transition = moment
    if current is not None and current.get("status") == status:
        if current.get("reason") == reason and current.get("message") == message and not refresh:
            return conditions
        transition = current.get("lastTransitionTime", moment)
    condition: dict[str, Any] = {"type": type_, "status": status}
    if stamp:
        condition[stamp] = moment
    condition.update({"lastTransitionTime": transition, "reason": reason, "message": message})
    if current is None:
        return [*conditions, condition]
    return [condition if c is current else c for c in conditions]


def find_condition(body: Body, type_: str) -> dict[str, Any] | None:
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == type_:
            return dict(condition)
    return None


def omit_zero(status: dict[str, Any], *fields: str) -> dict[str, Any]:
    """Drop `omitempty` counters that are 0, as the real API objects never show them."""
    return {k: v for k, v in status.items() if not (k in fields and v == 0)}
