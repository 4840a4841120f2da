"""What the suite may ask of a cluster: every verb on every resource, per feature, in one table.

A QA engineer must be able to hand a cluster administrator the exact ClusterRole a run needs before
the run, not learn it from 403s one scenario at a time. So the table is the source of three things:
`kfval rbac` (the ClusterRole), `kfval preflight` (a SelfSubjectAccessReview per rule) and the README's
"What the suite needs from a cluster". It cannot silently drift from the code: with a strict table
the client door (`Connection`) refuses any request the table does not list, and the test suite runs
strict.

Scenario namespaces are made per scenario, so no Role can be bound in them beforehand: every rule goes
into the one ClusterRole. `scope` still says which rules reach beyond the run's own namespaces
(cluster-scoped kinds, or lists across every namespace), which is what an administrator weighs.
Helm talks to the cluster on its own (a child process with the run's kubeconfig): its rules are here
from what Helm's install, upgrade, rollback, uninstall and `--wait` do, and a run under a ServiceAccount
bound to the generated role proves them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kfval.kube import errors

NAMESPACE = "namespace"
"""The rule is used only inside the run's scenario namespaces."""
CLUSTER = "cluster"
"""The rule reaches a cluster-scoped kind, or every namespace at once."""

RUN = "run"
"""What every run needs: scenario namespaces, waits, evidence, cleanup and the janitor."""
PREFLIGHT = "preflight"
"""What `kfval preflight` reads before a run."""

READ = ("get", "list", "watch")
OWN = ("create", "patch", "get", "list", "watch", "delete")
"""What the suite does with a kind its manifests apply: server-side apply (patch, which creates), a
create for `generateName`, waits (get, list, watch), deletion at cleanup."""
NON_RESOURCE_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/*")
"""Discovery, OpenAPI (Helm and server-side apply read it) and the server version."""


@dataclass(frozen=True)
class Rule:
    """Verbs on one resource (`pods`, or a subresource such as `pods/log`) of one API group."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    scope: str
    why: str


def _rule(group: str, resource: str, verbs: Iterable[str], scope: str, why: str) -> Rule:
    return Rule(group, resource, tuple(verbs), scope, why)


HELM_WRITES = ("create", "get", "list", "watch", "update", "patch", "delete")
"""Helm's install (create), upgrade and rollback (get, then a three-way patch or an update), uninstall."""
LEFT_AFTER_UNINSTALL = "nothing of the release is left in any namespace after uninstall"

TABLE: Mapping[str, tuple[Rule, ...]] = {
    RUN: (
        _rule("", "namespaces", ("create", *READ, "delete"), CLUSTER, "a namespace per scenario; the janitor's"),
        _rule("", "pods", READ, NAMESPACE, "waits, evidence, pod run times"),
        _rule("", "pods/log", ("get",), NAMESPACE, "training metrics and evidence"),
        _rule("", "events", ("list",), NAMESPACE, "evidence and failing at once on a refused pod"),
        _rule("metrics.k8s.io", "pods", ("list",), NAMESPACE, "the pods' CPU and memory (dimensioning table)"),
        _rule("", "secrets", ("list",), CLUSTER, "the janitor names Helm releases of the run in other namespaces"),
    ),
    PREFLIGHT: (
        _rule("apiextensions.k8s.io", "customresourcedefinitions", ("get",), CLUSTER, "the CRDs features need"),
        _rule("apps", "deployments", ("list",), CLUSTER, "the controllers behind the CRDs are available"),
        _rule("storage.k8s.io", "storageclasses", ("list",), CLUSTER, "a class for ReadWriteMany workspaces"),
        _rule("", "nodes", ("list",), CLUSTER, "the configured images some node already holds"),
        _rule("authorization.k8s.io", "selfsubjectaccessreviews", ("create",), CLUSTER, "each rule is granted"),
    ),
    "pytorchjob": (_rule("kubeflow.org", "pytorchjobs", OWN, NAMESPACE, "the PyTorchJobs of the scenarios"),),
    "tfjob": (_rule("kubeflow.org", "tfjobs", OWN, NAMESPACE, "the TFJobs of the scenarios"),),
    "notebooks": (
        _rule("kubeflow.org", "notebooks", OWN, NAMESPACE, "notebook servers, stopped and started"),
        _rule("kubeflow.org", "poddefaults", OWN, NAMESPACE, "the PodDefaults a notebook's pod receives"),
        _rule("", "persistentvolumeclaims", OWN, NAMESPACE, "ReadWriteMany workspaces"),
        _rule("", "secrets", OWN, NAMESPACE, "the Secret a PodDefault injects"),
        _rule("", "pods", ("create", "patch", "delete"), NAMESPACE, "a pod reading the workspace; a pod deleted"),
        _rule(
            "",
            "pods/exec",
            ("get", "create"),
            NAMESPACE,
            "Jupyter reached inside the pod (WebSocket: get, 1.31+ create)",
        ),
        _rule("", "namespaces", ("patch",), CLUSTER, "the profile labels taken off a scenario namespace"),
        _rule("", "nodes", ("list",), CLUSTER, "the largest node, for a notebook that cannot be scheduled"),
    ),
    "builder": (
        _rule("batch", "jobs", OWN, NAMESPACE, "Fairing's Kaniko builder Job"),
        _rule("", "serviceaccounts", OWN, NAMESPACE, "the builder's service account with the pull secret"),
        _rule("", "secrets", OWN, NAMESPACE, "the registry credentials"),
        _rule("", "pods", ("create", "patch", "delete"), NAMESPACE, "pods running the built image, its tarball"),
    ),
    "helm": (
        _rule("", "secrets", HELM_WRITES, NAMESPACE, "Helm's release storage"),
        _rule("apps", "deployments", HELM_WRITES, NAMESPACE, "the chart's Deployments"),
        _rule("", "serviceaccounts", HELM_WRITES, NAMESPACE, "the chart's ServiceAccounts"),
        _rule("apps", "replicasets", READ, NAMESPACE, "Helm's --wait follows a Deployment's rollout"),
        _rule("", "pods", READ, CLUSTER, LEFT_AFTER_UNINSTALL),
        *(
            _rule(group, resource, ("list",), CLUSTER, LEFT_AFTER_UNINSTALL)
            for group, resource in (
                ("apps", "deployments"),
                ("apps", "replicasets"),
                ("apps", "statefulsets"),
                ("", "services"),
                ("", "configmaps"),
                ("", "secrets"),
            )
        ),
    ),
}
NEEDS: Mapping[str, tuple[str, ...]] = {
    "builder": ("notebooks",),
    "helm": ("pytorchjob", "notebooks"),
}
"""Features that run another feature's steps: the builder saves its context through a notebook, and
the Helm feature reruns the `@post-upgrade` scenarios of PyTorchJob and notebooks after an upgrade."""
FEATURES = tuple(key for key in TABLE if key not in (RUN, PREFLIGHT))


def features_with_needs(features: Iterable[str]) -> tuple[str, ...]:
    """The features named and those they run steps of, in table order; an unknown name is a SetupError."""
    wanted = set(features)
    unknown = sorted(wanted - set(FEATURES))
    if unknown:
        raise errors.SetupError(f"no permissions are known for feature {unknown[0]!r}; known: {', '.join(FEATURES)}")
    for feature in list(wanted):
        wanted.update(NEEDS.get(feature, ()))
    return tuple(key for key in FEATURES if key in wanted)


@dataclass(frozen=True)
class Grants:
    """The rules of the run, of preflight and of the selected features."""

    features: tuple[str, ...]
    rules: tuple[Rule, ...]

    def covers(self, verb: str, *, group: str, resource: str, cluster_wide: bool) -> bool:
        return any(
            rule.group == group
            and rule.resource == resource
            and verb in rule.verbs
            and (rule.scope == CLUSTER or not cluster_wide)
            for rule in self.rules
        )

    def require(self, verb: str, *, group: str, resource: str, namespace: str | None, namespaced: bool) -> None:
        """Raise errors.PermissionNotInTableError, naming verb and resource, unless a rule covers the request."""
        cluster_wide = namespace is None or not namespaced
        if self.covers(verb, group=group, resource=resource, cluster_wide=cluster_wide):
            return
        where = "in every namespace" if namespaced and namespace is None else ("cluster-wide" if not namespaced else "")
        named = f"{resource}.{group}" if group else resource
        raise errors.PermissionNotInTableError(
            f"the suite asked to {verb} {named}{' ' + where if where else ''}, which the permissions table "
            f"(kfval/kube/permissions.py, features: {', '.join(self.features) or 'none'}) does not list: add the rule "
            "to the feature that needs it, so `kfval rbac` and preflight grant it"
        )


def grants(features: Iterable[str] = FEATURES) -> Grants:
    selected = features_with_needs(features)
    rules = tuple(rule for key in (RUN, PREFLIGHT, *selected) for rule in TABLE[key])
    return Grants(selected, rules)


def merged(rules: Iterable[Rule]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(group, resource, verbs) once per resource, verbs in a stable order: what a role grants."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        verbs.setdefault((rule.group, rule.resource), set()).update(rule.verbs)
    return tuple((group, resource, tuple(sorted(v))) for (group, resource), v in sorted(verbs.items()))


def cluster_role(granted: Grants, *, name: str) -> dict[str, object]:
    """The ClusterRole that grants `granted`: one rule per API group and set of verbs, sorted, so the
    same table always prints the same role."""
    resources: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for group, resource, verbs in merged(granted.rules):
        resources.setdefault((group, verbs), []).append(resource)
    rules: list[dict[str, object]] = [
        {"apiGroups": [group], "resources": sorted(names), "verbs": list(verbs)}
        for (group, verbs), names in sorted(resources.items())
    ]
    rules.append({"nonResourceURLs": list(NON_RESOURCE_URLS), "verbs": ["get"]})
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": "kfval"},
            "annotations": {"kfval.dev/features": ",".join(granted.features)},
        },
        "rules": rules,
    }


def markdown() -> str:
    """The table as the README shows it ("What the suite needs from a cluster"), one row per rule."""
    lines = [
        "| feature | API group | resource | verbs | scope | why |",
        "|---|---|---|---|---|---|",
    ]
    for key, rules in TABLE.items():
        for rule in rules:
            group = rule.group or "core"
            verbs = ", ".join(rule.verbs)
            lines.append(f"| {key} | {group} | `{rule.resource}` | {verbs} | {rule.scope} | {rule.why} |")
    return "\n".join(lines) + "\n"


def binding(role: str, *, namespace: str, service_account: str) -> dict[str, object]:
    """The ClusterRoleBinding of `role` to one service account (the in-cluster runner's)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": role, "labels": {"app.kubernetes.io/name": "kfval"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }
