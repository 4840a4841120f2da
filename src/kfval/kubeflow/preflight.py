"""Before a run: does the cluster have what the selected features need, and may the suite do what they do?

A QA engineer should learn in one table, before any scenario, that the training operator is missing
or that the CI service account may not list events, with the fix beside each line; not from twenty
failed scenarios. The checks: the API server answers (its version); each CRD the features' manifests
use is served at their version; the controllers behind them have an available Deployment; every rule
of the permissions table is granted (one SelfSubjectAccessReview per verb and resource); a StorageClass
for ReadWriteMany workspaces when notebooks are selected.

The embedded cluster runs its controllers inside its own process, so it has no Deployments for them;
it says so in its version (`+kfval` build metadata), and preflight reports its controllers as built in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kfval.kube import errors, permissions
from kfval.kube.client import Body, Connection
from kfval.kubeflow import capabilities

EMBEDDED_BUILD = "+kfval"
"""The build metadata of the embedded cluster's version: its controllers are part of the API server."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
OK, MISSING = "ok", "MISSING"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    server: str
    features: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(finding.ok for finding in self.findings)

    def missing(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if not finding.ok)

    def render(self) -> str:
        """A table a QA engineer reads top to bottom: status, check, what was found, and the fix."""
        head = f"preflight of {self.server} for {', '.join(self.features) or 'the run alone'}"
        width = max((len(finding.check) for finding in self.findings), default=0)
        lines = [head]
        for finding in self.findings:
            lines.append(f"  {OK if finding.ok else MISSING:<8} {finding.check:<{width}}  {finding.detail}")
            if finding.fix and not finding.ok:
                lines.append(f"  {'':<8} {'':<{width}}  fix: {finding.fix}")
        verdict = "nothing missing" if self.ok else f"{len(self.missing())} missing"
        return "\n".join([*lines, f"preflight: {verdict}"])


def check(conn: Connection, features: Iterable[str], *, storage_class: str, tags: str | None = None) -> Report:
    """Every check for `features` (with those they run steps of); never raises for what the cluster lacks."""
    selected = permissions.features_with_needs(features)
    try:
        version = str(conn.version().get("git_version") or "")
    except errors.ClusterError as error:
        unreachable = Finding("API server", False, str(error), "check target.kubeconfig, target.context")
        return Report(conn.server, selected, (unreachable,))
    needs = [capabilities.NEEDS[feature] for feature in selected]
    findings = [
        Finding("API server", True, f"Kubernetes {version}"),
        *_crds(conn, selected),
        *_controllers(conn, needs, embedded=version.endswith(EMBEDDED_BUILD)),
        *_permissions(conn, permissions.grants(selected), tags=tags),
    ]
    if any(need.read_write_many for need in needs):
        findings.append(_storage(conn, storage_class))
    return Report(conn.server, selected, tuple(findings))


def _crds(conn: Connection, features: Sequence[str]) -> list[Finding]:
    findings = []
    for feature in features:
        for crd in capabilities.NEEDS[feature].crds:
            needed = f"{crd.kind} {crd.group}/{crd.version}, needed by feature {feature}"
            install = next(
                (c.install for c in capabilities.NEEDS[feature].controllers),
                f"install the component that defines {crd.kind}",
            )
            try:
                found = conn.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd.name)
            except errors.NotFoundError:
                findings.append(Finding(f"CRD {crd.name}", False, f"not installed ({needed})", install))
                continue
            except errors.ClusterError as error:
                findings.append(Finding(f"CRD {crd.name}", False, f"cannot be read: {error}", "see permissions"))
                continue
            served = [v["name"] for v in found.get("spec", {}).get("versions", []) if v.get("served")]
            ok = crd.version in served
            detail = f"serves {', '.join(served) or 'no version'}" + ("" if ok else f"; {needed}")
            findings.append(Finding(f"CRD {crd.name}", ok, detail, f"upgrade it so that it serves {crd.version}"))
    return findings


def _controllers(conn: Connection, needs: Sequence[capabilities.Needs], *, embedded: bool) -> list[Finding]:
    controllers = list(dict.fromkeys(c for need in needs for c in need.controllers))
    if embedded:
        return [Finding(f"controller {c.name}", True, "built into the embedded cluster") for c in controllers]
    findings = []
    for controller in controllers:
        try:
            items: list[Body] = conn.list("apps/v1", "Deployment", label_selector=controller.label_selector)["items"]
        except errors.ClusterError as error:
            findings.append(Finding(f"controller {controller.name}", False, f"cannot be listed: {error}"))
            continue
        available = [
            f"{d['metadata'].get('namespace')}/{d['metadata']['name']}"
            for d in items
            if int((d.get("status") or {}).get("availableReplicas") or 0) > 0
        ]
        detail = (
            f"Deployment {', '.join(available)} available"
            if available
            else f"no available Deployment labelled {controller.label_selector} in any namespace"
        )
        findings.append(Finding(f"controller {controller.name}", bool(available), detail, controller.install))
    return findings


DISCOVERY_PATHS = ("/api", "/apis", "/openapi/v3", "/version")
"""Concrete paths of the table's non-resource URLs, as a review asks about them."""


def _reviewed(conn: Connection, spec: Body) -> bool:
    review: Body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}
    return bool((conn.create(review).get("status") or {}).get("allowed"))


def _allowed(conn: Connection, group: str, resource: str, verb: str) -> bool:
    plural, _, subresource = resource.partition("/")
    attributes = {"group": group, "resource": plural, "subresource": subresource, "verb": verb}
    return _reviewed(conn, {"resourceAttributes": attributes})


def _permissions(conn: Connection, granted: permissions.Grants, *, tags: str | None) -> list[Finding]:
    """One finding per resource the table names: granted, or the verbs denied, with the command that grants them."""
    command = "kfval rbac" + (f" --tags '{tags}'" if tags else "")
    fix = f"bind the role `{command}` prints to the suite's user (a cluster administrator applies it)"
    try:
        hidden = [
            p for p in DISCOVERY_PATHS if not _reviewed(conn, {"nonResourceAttributes": {"path": p, "verb": "get"}})
        ]
    except errors.ClusterError as error:
        return [Finding("may review its permissions", False, str(error), fix)]
    detail = f"get {' '.join(hidden)} denied" if hidden else f"get {' '.join(DISCOVERY_PATHS)} granted"
    findings = [Finding("may read discovery", not hidden, detail, fix)]
    for group, resource, verbs in permissions.merged(granted.rules):
        named = f"{resource}.{group}" if group else resource
        try:
            denied = [verb for verb in verbs if not _allowed(conn, group, resource, verb)]
        except errors.ClusterError as error:
            findings.append(Finding(f"may {named}", False, f"cannot be reviewed: {error}", fix))
            continue
        detail = f"{' '.join(verbs)} granted" if not denied else f"{' '.join(denied)} denied (cluster-wide)"
        findings.append(Finding(f"may {named}", not denied, detail, fix))
    return findings


def _storage(conn: Connection, storage_class: str) -> Finding:
    """The named StorageClass, or the default one, exists and does not rule ReadWriteMany out."""
    fix = "name a StorageClass that offers ReadWriteMany in radish.ini [notebooks] storage_class"
    try:
        classes: list[Body] = conn.list("storage.k8s.io/v1", "StorageClass")["items"]
    except errors.ClusterError as error:
        return Finding("ReadWriteMany storage", False, f"StorageClasses cannot be listed: {error}", fix)
    chosen = [
        c
        for c in classes
        if (c["metadata"]["name"] == storage_class)
        or (not storage_class and (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true")
    ]
    wanted = f'StorageClass "{storage_class}"' if storage_class else "a default StorageClass"
    if not chosen:
        return Finding("ReadWriteMany storage", False, f"no {wanted}", fix)
    name = chosen[0]["metadata"]["name"]
    modes = str((chosen[0].get("parameters") or {}).get("accessModes") or "")
    if modes and "ReadWriteMany" not in modes:
        return Finding("ReadWriteMany storage", False, f'StorageClass "{name}" provisions only {modes}', fix)
    return Finding(
        "ReadWriteMany storage", True, f'StorageClass "{name}" (ReadWriteMany is proven when a workspace binds)'
    )
