"""Kubeflow's PodDefault mutating webhook (admission-webhook v1.9.2), as an admission plug-in.

A Kubeflow installation injects env vars, secrets, volumes and sidecars into notebook pods through
PodDefaults; a validation of that feature is only as good as the rules it runs against, so these
are the webhook's own (`main.go`, reference §10.1): pod CREATE only, in namespaces labelled as a
Kubeflow profile, skipping excluded and mirror pods; every PodDefault of the pod's namespace whose
selector matches the pod's labels (the empty selector matches all), by name; each field merged by
its rule, conflicts collected over all fields and the pod refused with the webhook's words as a
400 without a reason (the webhook answers with a bare message). The chain runs this after the
pod's API defaulting and defaults and validates the patched pod again, as kube-apiserver does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kfval.embedded.admission import gostructs
from kfval.embedded.admission.chain import AdmissionRequest
from kfval.embedded.errors import NotFoundError, WebhookDeniedError
from kfval.embedded.store.objects import Store
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body, ResourceKey

WEBHOOK = "admission-webhook-deployment.kubeflow.org"
PROFILE_LABEL, PROFILE_VALUE = "app.kubernetes.io/part-of", "kubeflow-profile"
ANNOTATION_PREFIX = "poddefault.admission.kubeflow.org"
EXCLUDE_ANNOTATION = f"{ANNOTATION_PREFIX}/exclude"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
ISTIO_PROXY = "istio-proxy"
PODS = ResourceKey("", "pods")

Render = Callable[[Mapping[str, Any]], str]


def _canonical(value: Any) -> Any:
    """A value as Go's reflect.DeepEqual sees a decoded struct: empty strings, false and empty lists are unset."""
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items() if v not in ("", False, None, [], {})}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _merge(
    existing: list[Body], defaults: list[Body], field: str, *, key: str, render: Render, what: str
) -> tuple[list[Body], list[str]]:
    """Items of every PodDefault's `field` merged into `existing` by `key`: identical ones kept once."""
    by_key = {str(item.get(key)): item for item in existing}
    merged, errors = list(existing), []
    for pd in defaults:
        for item in (pd.get("spec") or {}).get(field) or []:
            found = by_key.get(str(item.get(key)))
            if found is None:
                by_key[str(item.get(key))] = item
                merged.append(copy.deepcopy(item))
            elif _canonical(found) != _canonical(item):
                errors.append(_conflict(what, _name(pd), str(item.get(key)), render(item), render(found)))
    return merged, errors


def _conflict(what: str, pd: str, key: str, theirs: str, ours: str) -> str:
    """The webhook says `in container` for every list it merges, pod-level ones included."""
    return f"merging {what} for {pd} has a conflict on {key}: \n{theirs}\ndoes not match\n{ours}\n in container"


def _merge_mounts(mounts: list[Body], defaults: list[Body]) -> tuple[list[Body], list[str]]:
    """Volume mounts conflict by name and, separately, by mount path."""
    merged, errors = _merge(mounts, defaults, "volumeMounts", key="name", what="volume mounts", render=_mount)
    by_path = {str(m.get("mountPath")): m for m in mounts}
    for pd in defaults:
        for mount in (pd.get("spec") or {}).get("volumeMounts") or []:
            found = by_path.setdefault(str(mount.get("mountPath")), mount)
            if _canonical(found) != _canonical(mount):
                theirs, ours = _mount(mount), _mount(found)
                path = f"mount path {mount.get('mountPath')}"
                errors.append(_conflict("volume mounts", _name(pd), path, theirs, ours))
    return merged, errors


def _mount(body: Mapping[str, Any]) -> str:
    return gostructs.struct("VolumeMount", body)


def _merge_map(existing: Mapping[str, str], defaults: list[Body], field: str) -> tuple[dict[str, str], list[str]]:
    merged, errors = dict(existing), []
    for pd in defaults:
        for key, value in sorted(((pd.get("spec") or {}).get(field) or {}).items()):
            if key not in merged:
                merged[key] = value
            elif merged[key] != value:
                theirs, ours = gostructs.string(value), gostructs.string(merged[key])
                errors.append(f"merging has conflict on {key}: \n{theirs}\ndoes not match\n{ours}\n in pod")
    return merged, errors


def _name(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("name") or "")


def apply(pod: Body, defaults: list[Body]) -> tuple[Body, list[str]]:
    """The pod with every PodDefault applied, and the conflicts found (the pod is refused if any)."""
    pod = copy.deepcopy(pod)
    spec, meta = pod.setdefault("spec", {}), pod.setdefault("metadata", {})
    errors: list[str] = []
    for field, key, render, what in (
        ("volumes", "name", gostructs.volume, "volumes"),
        ("tolerations", "key", lambda t: gostructs.struct("Toleration", t), "tolerations"),
        ("imagePullSecrets", "name", lambda s: gostructs.struct("LocalObjectReference", s), "imagePullSecret"),
    ):
        merged, found = _merge(spec.get(field) or [], defaults, field, key=key, render=render, what=what)
        errors += found
        if merged:
            spec[field] = merged
    for container in spec.get("containers") or []:
        errors += _apply_to_container(container, defaults)
    for field, target in (("initContainers", "initContainers"), ("sidecars", "containers")):
        merged, found = _merge(
            spec.get(target) or [], defaults, field, key="name", render=gostructs.container, what="containers"
        )
        errors += found
        if merged:
            spec[target] = merged
    for field in ("annotations", "labels"):
        merged_map, found = _merge_map(meta.get(field) or {}, defaults, field)
        errors += found
        meta[field] = merged_map
    for pd in defaults:
        pd_spec = pd.get("spec") or {}
        if pd_spec.get("automountServiceAccountToken") is not None:
            spec["automountServiceAccountToken"] = pd_spec["automountServiceAccountToken"]
        if pd_spec.get("serviceAccountName"):
            spec["serviceAccountName"] = pd_spec["serviceAccountName"]
        version = str((pd.get("metadata") or {}).get("resourceVersion") or "")
        meta["annotations"][f"{ANNOTATION_PREFIX}/poddefault-{_name(pd)}"] = version
    return pod, list(dict.fromkeys(errors))


def _apply_to_container(container: Body, defaults: list[Body]) -> list[str]:
    """env and volumeMounts merged, envFrom appended, command and args set where the container has none."""
    env, errors = _merge(
        container.get("env") or [],
        defaults,
        "env",
        key="name",
        render=lambda e: gostructs.struct("EnvVar", e),
        what="env",
    )
    mounts, mount_errors = _merge_mounts(container.get("volumeMounts") or [], defaults)
    env_from = [
        *(container.get("envFrom") or []),
        *(e for pd in defaults for e in (pd.get("spec") or {}).get("envFrom") or []),
    ]
    for field, value in (("env", env), ("volumeMounts", mounts), ("envFrom", env_from)):
        if value:
            container[field] = copy.deepcopy(value)
    if container.get("name") != ISTIO_PROXY:
        for field in ("command", "args"):
            given = next(
                ((pd.get("spec") or {}).get(field) for pd in defaults if (pd.get("spec") or {}).get(field)), None
            )
            if container.get(field) is None and given is not None:
                container[field] = list(given)
    return errors + mount_errors


def aggregate(errors: Iterable[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several (each once) as `[a, b]`."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class PodDefaultMutator:
    """The webhook's `mutatePods`, reading PodDefaults and namespaces from the store as it reads the API."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def mutate(self, request: AdmissionRequest) -> Body | None:
        if request.rt.key != PODS or request.operation != "CREATE" or request.subresource is not None:
            return None
        pod = request.object
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if annotations.get(EXCLUDE_ANNOTATION) == "true" or MIRROR_POD_ANNOTATION in annotations:
            return None
        if not self._in_profile(request.namespace):
            return None
        defaults = [pd for pd in self._poddefaults(request.namespace) if _selects(pd, pod)]
        if not defaults:
            return None
        patched, errors = apply(pod, defaults)
        if errors:
            names = ",".join(_name(pd) for pd in defaults)
            raise WebhookDeniedError(
                f'admission webhook "{WEBHOOK}" denied the request: conflict occurred while applying poddefaults: '
                f"{names} on pod: {_name(pod)} err: {aggregate(errors)}"
            )
        return patched

    def _in_profile(self, namespace: str) -> bool:
        """The webhook's namespaceSelector: only namespaces the profile controller labels."""
        try:
            found = self._store.get(self._store.catalog.lookup("", "v1", "namespaces"), None, namespace)
        except NotFoundError:
            return False
        return bool(((found.get("metadata") or {}).get("labels") or {}).get(PROFILE_LABEL) == PROFILE_VALUE)

    def _poddefaults(self, namespace: str) -> list[Body]:
        try:
            rt = self._store.catalog.lookup("kubeflow.org", "v1alpha1", "poddefaults")
        except NotFoundError:
            return []
        items, _ = self._store.list(rt, namespace)
        return sorted(items, key=_name)


def _selects(pd: Mapping[str, Any], pod: Body) -> bool:
    return selector_from_match((pd.get("spec") or {}).get("selector") or {}).matches(pod)
