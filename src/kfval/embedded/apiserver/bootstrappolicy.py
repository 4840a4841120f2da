"""The ClusterRoles and ClusterRoleBindings every cluster starts with, as kube-apiserver's
`rbac/bootstrap-roles` post-start hook creates them.

Tests and users bind `view`, `edit` and `admin` to a restricted identity exactly as they would on a
real cluster, and every authenticated user may read discovery and review its own access
(`system:discovery`, `system:basic-user`). Rules follow upstream's bootstrappolicy, trimmed to the
resources this cluster serves; `view`, `edit` and `admin` also take in the ClusterRoles labelled
`rbac.authorization.k8s.io/aggregate-to-<role>`, as upstream's aggregation does.
"""

from __future__ import annotations

from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

RBAC_API_GROUP = "rbac.authorization.k8s.io"
READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
DISCOVERY_URLS = (
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
)
PUBLIC_INFO_URLS = ("/healthz", "/livez", "/readyz", "/version", "/version/")


def _rule(verbs: tuple[str, ...], group: str, *resources: str) -> Body:
    return {"verbs": list(verbs), "apiGroups": [group], "resources": list(resources)}


def _urls(verbs: tuple[str, ...], *urls: str) -> Body:
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


VIEW_RULES = (
    _rule(READ, "", "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods"),
    _rule(READ, "", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services"),
    _rule(READ, "", "services/status", "bindings", "events", "limitranges", "namespaces/status", "pods/log"),
    _rule(READ, "", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
    _rule(READ, "", "namespaces"),
    _rule(READ, "discovery.k8s.io", "endpointslices"),
    _rule(READ, "apps", "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale"),
    _rule(READ, "apps", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status"),
    _rule(READ, "apps", "statefulsets", "statefulsets/scale", "statefulsets/status"),
    _rule(READ, "autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
    _rule(READ, "batch", "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
    _rule(READ, "policy", "poddisruptionbudgets", "poddisruptionbudgets/status"),
    _rule(READ, "networking.k8s.io", "ingresses", "ingresses/status", "networkpolicies"),
)
EDIT_RULES = (
    *VIEW_RULES,
    _rule(READ, "", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
    _rule(("impersonate",), "", "serviceaccounts"),
    _rule(WRITE, "", "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
    _rule(("create",), "", "pods/eviction"),
    _rule(WRITE, "", "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers"),
    _rule(WRITE, "", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
    _rule(("create",), "", "serviceaccounts/token"),
    _rule(WRITE, "apps", "daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets"),
    _rule(WRITE, "apps", "replicasets/scale", "statefulsets", "statefulsets/scale"),
    _rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
    _rule(WRITE, "batch", "cronjobs", "jobs"),
    _rule(WRITE, "networking.k8s.io", "ingresses", "networkpolicies"),
    _rule(WRITE, "policy", "poddisruptionbudgets"),
)
ADMIN_RULES = (
    *EDIT_RULES,
    _rule(("create",), "authorization.k8s.io", "localsubjectaccessreviews"),
    _rule((*READ, *WRITE), RBAC_API_GROUP, "rolebindings", "roles"),
)


def _aggregating(*roles: str) -> Body:
    """An aggregationRule taking in ClusterRoles labelled `aggregate-to-<role>` for each role."""
    return {
        "clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{role}": "true"}} for role in roles
        ]
    }


def _cluster_role(name: str, rules: tuple[Body, ...], aggregation: Body | None = None) -> Body:
    body: Body = {
        "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
        "rules": [dict(rule) for rule in rules],
    }
    if aggregation is not None:
        body["aggregationRule"] = aggregation
    return body


def _binding_to_groups(name: str, *groups: str) -> Body:
    return {
        "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
        "roleRef": {"apiGroup": RBAC_API_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_API_GROUP, "kind": "Group", "name": group} for group in groups],
    }


def cluster_roles() -> tuple[Body, ...]:
    return (
        _cluster_role("cluster-admin", (_rule(("*",), "*", "*"), _urls(("*",), "*"))),
        _cluster_role("admin", ADMIN_RULES, _aggregating("admin", "edit", "view")),
        _cluster_role("edit", EDIT_RULES, _aggregating("edit", "view")),
        _cluster_role("view", VIEW_RULES, _aggregating("view")),
        _cluster_role("system:discovery", (_urls(("get",), *DISCOVERY_URLS),)),
        _cluster_role("system:public-info-viewer", (_urls(("get",), *PUBLIC_INFO_URLS),)),
        _cluster_role(
            "system:basic-user",
            (
                _rule(("create",), "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
                _rule(("create",), "authentication.k8s.io", "selfsubjectreviews"),
            ),
        ),
    )


def cluster_role_bindings() -> tuple[Body, ...]:
    return (
        _binding_to_groups("cluster-admin", "system:masters"),
        _binding_to_groups("system:discovery", "system:authenticated"),
        _binding_to_groups("system:basic-user", "system:authenticated"),
        _binding_to_groups("system:public-info-viewer", "system:authenticated", "system:unauthenticated"),
    )


def seed(store: Store) -> None:
    """Create whichever default ClusterRoles and ClusterRoleBindings do not exist yet."""
    roles = store.catalog.lookup(RBAC_API_GROUP, "v1", "clusterroles")
    bindings = store.catalog.lookup(RBAC_API_GROUP, "v1", "clusterrolebindings")
    for rt, bodies in ((roles, cluster_roles()), (bindings, cluster_role_bindings())):
        for body in bodies:
            if not store.exists(rt, None, body["metadata"]["name"]):
                store.create(rt, body)
