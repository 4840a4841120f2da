"""Before a run: does the cluster have what the selected features need, and may the suite do what they do?

A QA engineer should learn in one table, before any scenario, that the training operator is missing
or that the CI service account may not list events, with the fix beside each line; not from twenty
failed scenarios. The checks: the API server answers (its version); each CRD the features' manifests
use is served at their version; the controllers behind them have an available Deployment; every rule
of the permissions table is granted (one SelfSubjectAccessReview per verb and resource); a StorageClass
for ReadWriteMany workspaces when notebooks are selected; a registry to push built images to when builds are;
the configured workload images. No API says whether a registry holds an image, so an image is checked for what
a cluster can say: its reference is valid, and whether a node already holds it (Node `status.images`); one no
node holds yet is pulled at first use, and a pull that fails then fails its scenario at once.

Each finding says who needs it: the whole run (the API server, the permissions), a feature (its CRDs and
controllers), or the scenarios of a capability tag (`@needs-rwx`, `@needs-registry`). What the whole run
needs stops it; what a feature or a capability needs fails (or, with run.skip_missing, skips) only the
scenarios tagged with it.

The embedded cluster runs its controllers inside its own process, so it has no Deployments for them;
it says so in its version (`+kfval` build metadata), and preflight reports its controllers as built in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kfval.kube import errors, permissions
from kfval.kube.client import Body, Connection
from kfval.kubeflow import capabilities

EMBEDDED_BUILD = "+kfval"
"""The build metadata of the embedded cluster's version: its controllers are part of the API server."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
OK, MISSING = "ok", "MISSING"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z0-9]+)*:[0-9a-fA-F]{32,})?"
)
"""The grammar of an image reference (distribution/reference), as a kubelet parses it before pulling."""
DOCKER_HUB_PREFIXES = ("docker.io/library/", "docker.io/", "library/")


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""
    needed_by: tuple[str, ...] = ()
    """The tags (feature keys, capability tags) of the scenarios that need it; empty: the whole run."""

    def explain(self) -> str:
        """One line a scenario's report can carry: what is missing and the fix."""
        return f"{self.check}: {self.detail}" + (f" (fix: {self.fix})" if self.fix else "")


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

    def missing_for_the_run(self) -> tuple[Finding, ...]:
        """What every scenario needs and the cluster lacks: the run cannot start."""
        return tuple(finding for finding in self.missing() if not finding.needed_by)

    def blocking(self, tags: Iterable[str]) -> tuple[Finding, ...]:
        """What a scenario with these tags (its feature's included) needs and the cluster lacks."""
        wanted = set(tags)
        return tuple(finding for finding in self.missing() if wanted & set(finding.needed_by))

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


def check(
    conn: Connection,
    features: Iterable[str],
    *,
    storage_class: str,
    registry: str = "",
    images: Mapping[str, str] | None = None,
    tags: str | None = None,
) -> Report:
    """Every check for `features` (with those they run steps of); never raises for what the cluster lacks.

    `registry` is where built images are pushed ([builder] registry, or the embedded cluster's); `images`
    are radish.ini's [images] (None: not checked)."""
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
        *_controllers(conn, selected, embedded=version.endswith(EMBEDDED_BUILD)),
        *_permissions(conn, permissions.grants(selected), tags=tags),
    ]
    if any(need.read_write_many for need in needs):
        findings.append(_storage(conn, storage_class))
    if any(need.registry for need in needs):
        findings.append(_registry(registry))
    if images is not None:
        findings += _images(conn, selected, images)
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
            check, by = f"CRD {crd.name}", (feature,)
            try:
                found = conn.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd.name)
            except errors.NotFoundError:
                findings.append(Finding(check, False, f"not installed ({needed})", install, by))
                continue
            except errors.ClusterError as error:
                findings.append(Finding(check, False, f"cannot be read: {error}", "see permissions", by))
                continue
            served = [v["name"] for v in found.get("spec", {}).get("versions", []) if v.get("served")]
            ok = crd.version in served
            detail = f"serves {', '.join(served) or 'no version'}" + ("" if ok else f"; {needed}")
            findings.append(Finding(check, ok, detail, f"upgrade it so that it serves {crd.version}", by))
    return findings


def _controllers(conn: Connection, features: Sequence[str], *, embedded: bool) -> list[Finding]:
    needed_by: dict[capabilities.Controller, tuple[str, ...]] = {}
    for feature in features:
        for controller in capabilities.NEEDS[feature].controllers:
            needed_by[controller] = (*needed_by.get(controller, ()), feature)
    if embedded:
        return [Finding(f"controller {c.name}", True, "built into the embedded cluster") for c in needed_by]
    findings = []
    for controller, by in needed_by.items():
        try:
            items: list[Body] = conn.list("apps/v1", "Deployment", label_selector=controller.label_selector)["items"]
        except errors.ClusterError as error:
            findings.append(Finding(f"controller {controller.name}", False, f"cannot be listed: {error}", "", by))
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
        findings.append(Finding(f"controller {controller.name}", bool(available), detail, controller.install, by))
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
    check, by = "ReadWriteMany storage", (capabilities.NEEDS_RWX,)
    fix = "name a StorageClass that offers ReadWriteMany in radish.ini [notebooks] storage_class"
    try:
        classes: list[Body] = conn.list("storage.k8s.io/v1", "StorageClass")["items"]
    except errors.ClusterError as error:
        return Finding(check, False, f"StorageClasses cannot be listed: {error}", fix, by)
    chosen = [
        c
        for c in classes
        if (c["metadata"]["name"] == storage_class)
        or (not storage_class and (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true")
    ]
    wanted = f'StorageClass "{storage_class}"' if storage_class else "a default StorageClass"
    if not chosen:
        return Finding(check, False, f"no {wanted}", fix, by)
    name = chosen[0]["metadata"]["name"]
    modes = str((chosen[0].get("parameters") or {}).get("accessModes") or "")
    if modes and "ReadWriteMany" not in modes:
        return Finding(check, False, f'StorageClass "{name}" provisions only {modes}', fix, by)
    return Finding(check, True, f'StorageClass "{name}" (ReadWriteMany is proven when a workspace binds)', "", by)


def _registry(registry: str) -> Finding:
    """A registry to push built images to is configured; whether the cluster can pull from it shows at the first
    pull (no API says so)."""
    check, by = "image registry", (capabilities.NEEDS_REGISTRY,)
    if not registry:
        fix = "set [builder] registry (and its credentials) in radish.ini to a registry the cluster pulls from"
        return Finding(check, False, "no registry to push built images to", fix, by)
    return Finding(check, True, f"built images go to {registry}", "", by)


def normalized_image(reference: str) -> str:
    """`reference` as nodes list it: without Docker Hub's implicit prefixes, with `:latest` when untagged."""
    for prefix in DOCKER_HUB_PREFIXES:
        if reference.startswith(prefix):
            reference = reference[len(prefix) :]
            break
    last = reference.rsplit("/", 1)[-1]
    return reference if ":" in last or "@" in last else f"{reference}:latest"


def _held_images(conn: Connection) -> dict[str, str]:
    """Each image some node holds (normalized) -> the first node holding it."""
    held: dict[str, str] = {}
    for node in conn.list("v1", "Node")["items"]:
        for image in (node.get("status") or {}).get("images") or []:
            for name in image.get("names") or []:
                held.setdefault(normalized_image(name), node["metadata"]["name"])
    return held


def _images(conn: Connection, features: Sequence[str], images: Mapping[str, str]) -> list[Finding]:
    """Each configured image a selected feature runs: a valid reference, and held by a node or pulled at first use."""
    keys: dict[str, tuple[str, ...]] = {}
    for feature in features:
        for key in capabilities.NEEDS[feature].images:
            keys[key] = (*keys.get(key, ()), feature)
    if not keys:
        return []
    try:
        held = _held_images(conn)
    except errors.ClusterError as error:
        return [Finding("images", False, f"nodes cannot be listed: {error}", "see permissions")]
    findings = []
    for key, by in keys.items():
        reference = images.get(key, "")
        check, fix = f"image {key}", f"name the image in radish.ini [images] {key} (or KFVAL_IMAGES_{key.upper()})"
        if not reference or not IMAGE_REFERENCE.fullmatch(reference):
            findings.append(Finding(check, False, f"{reference!r} is not an image reference", fix, by))
            continue
        node = held.get(normalized_image(reference))
        detail = (
            f"{reference} is held by node {node}"
            if node
            else f"{reference} is on no node yet: pulled at first use (no API says whether its registry has it)"
        )
        findings.append(Finding(check, True, detail, "", by))
    return findings
