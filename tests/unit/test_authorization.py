"""Authentication of service-account tokens and RBAC evaluation, against a store and upstream's wording."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from kfval.embedded.apiserver import auth, authorization, bootstrappolicy, impersonation
from kfval.embedded.apiserver.authorization import Attributes, Authorizer, PolicyRule, attributes_of
from kfval.embedded.errors import BadRequestError, ForbiddenError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body
from tests.support.clock import FakeClock

RBAC = "rbac.authorization.k8s.io"
QA = auth.service_account_user("team", "qa")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


@pytest.fixture
def store(clock: FakeClock) -> Store:
    made = Store(Catalog(), clock)
    for name in ("team", "other"):
        made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": name}})
    made.create(made.catalog.lookup("", "v1", "serviceaccounts"), {"metadata": {"name": "qa"}}, namespace="team")
    bootstrappolicy.seed(made)
    return made


def _create(store: Store, resource: str, body: Body, namespace: str | None = None) -> Body:
    return store.create(store.catalog.lookup(RBAC, "v1", resource), body, namespace=namespace)


def _binding(name: str, role_kind: str, role: str, *subjects: Body) -> Body:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": list(subjects),
    }


def _sa(name: str = "qa", namespace: str | None = None) -> Body:
    subject: Body = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


def _pods(verb: str, namespace: str = "team", **more: Any) -> Attributes:
    return Attributes(verb=verb, resource_request=True, resource="pods", namespace=namespace, **more)


# -- request attributes ---------------------------------------------------------------------------


TEAM = "/api/v1/namespaces/team"
DEPLOYMENTS = "/apis/apps/v1/namespaces/team/deployments"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", f"{TEAM}/pods", {}, ("list", "", "pods", "", "team", "")),
        ("GET", f"{TEAM}/pods", {"watch": "true"}, ("watch", "", "pods", "", "team", "")),
        ("GET", f"{TEAM}/pods", {"fieldSelector": "metadata.name=p"}, ("list", "", "pods", "", "team", "p")),
        ("GET", f"{TEAM}/pods/p", {}, ("get", "", "pods", "", "team", "p")),
        ("GET", f"{TEAM}/pods/p/log", {}, ("get", "", "pods", "log", "team", "p")),
        ("POST", f"{TEAM}/pods", {}, ("create", "", "pods", "", "team", "")),
        ("PUT", f"{DEPLOYMENTS}/d/scale", {}, ("update", "apps", "deployments", "scale", "team", "d")),
        ("PATCH", f"{DEPLOYMENTS}/d", {}, ("patch", "apps", "deployments", "", "team", "d")),
        ("DELETE", f"{TEAM}/pods/p", {}, ("delete", "", "pods", "", "team", "p")),
        ("DELETE", f"{TEAM}/pods", {}, ("deletecollection", "", "pods", "", "team", "")),
        ("GET", "/api/v1/namespaces", {}, ("list", "", "namespaces", "", "", "")),
        ("GET", TEAM, {}, ("get", "", "namespaces", "", "team", "team")),
        ("PUT", f"{TEAM}/finalize", {}, ("update", "", "namespaces", "finalize", "team", "team")),
        ("GET", "/api/v1/watch/namespaces/team/pods", {}, ("watch", "", "pods", "", "team", "")),
        ("POST", f"/apis/{RBAC}/v1/clusterroles", {}, ("create", RBAC, "clusterroles", "", "", "")),
    ],
)
def test_request_attributes_follow_upstream_request_info(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    attrs = attributes_of(method, path, query)
    assert attrs.resource_request
    got = (attrs.verb, attrs.api_group, attrs.resource, attrs.subresource, attrs.namespace, attrs.name)
    assert got == expected


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/openapi/v3", "/metrics"])
def test_discovery_and_other_paths_are_non_resource_requests(path: str) -> None:
    attrs = attributes_of("GET", path, {})
    assert (attrs.resource_request, attrs.verb, attrs.path) == (False, "get", path)


# -- rules ---------------------------------------------------------------------------------------


def test_rule_matching_wildcards_subresources_names_and_urls() -> None:
    logs = PolicyRule(verbs=("get",), api_groups=("",), resources=("pods/log",))
    assert logs.allows(_pods("get", name="p", subresource="log"))
    assert not logs.allows(_pods("get", name="p"))
    scales = PolicyRule(verbs=("*",), api_groups=("*",), resources=("*/scale",))
    assert scales.allows(
        Attributes(verb="update", resource_request=True, api_group="apps", resource="deployments", subresource="scale")
    )
    assert not scales.allows(Attributes(verb="update", resource_request=True, api_group="apps", resource="deployments"))
    named = PolicyRule(verbs=("get",), api_groups=("",), resources=("configmaps",), resource_names=("settings",))
    config = Attributes(verb="get", resource_request=True, resource="configmaps", namespace="team")
    assert named.allows(dataclasses.replace(config, name="settings"))
    assert not named.allows(config)
    urls = PolicyRule(verbs=("get",), non_resource_urls=("/apis/*", "/version"))
    assert urls.allows(Attributes(verb="get", path="/apis/apps/v1"))
    assert urls.allows(Attributes(verb="get", path="/version"))
    assert not urls.allows(Attributes(verb="get", path="/metrics"))
    assert not urls.allows(Attributes(verb="post", path="/version"))


# -- RBAC over the store ------------------------------------------------------------------------


def test_a_service_account_without_bindings_is_denied_even_discovery_is_allowed(store: Store) -> None:
    authorizer = Authorizer(store)
    assert not authorizer.decide(QA, _pods("list")).allowed
    assert authorizer.decide(QA, Attributes(verb="get", path="/apis/apps/v1")).allowed
    review = Attributes(
        verb="create", resource_request=True, api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"
    )
    assert authorizer.decide(QA, review).allowed
    assert not authorizer.decide(QA, Attributes(verb="get", path="/metrics")).allowed


def test_view_bound_by_a_role_binding_applies_in_that_namespace_only(store: Store) -> None:
    _create(store, "rolebindings", _binding("qa-view", "ClusterRole", "view", _sa()), "team")
    authorizer = Authorizer(store)
    decision = authorizer.decide(QA, _pods("list"))
    assert decision == authorization.Decision(
        True,
        'RBAC: allowed by RoleBinding "qa-view/team" of ClusterRole "view" to ServiceAccount "qa/team"',
    )
    assert authorizer.decide(QA, _pods("get", name="p", subresource="log")).allowed
    assert not authorizer.decide(QA, _pods("create")).allowed
    assert not authorizer.decide(QA, _pods("list", namespace="other")).allowed
    assert not authorizer.decide(
        QA, Attributes(verb="list", resource_request=True, resource="secrets", namespace="team")
    ).allowed


def test_edit_and_admin_add_writes_and_rbac(store: Store) -> None:
    _create(store, "rolebindings", _binding("e", "ClusterRole", "edit", _sa()), "team")
    authorizer = Authorizer(store)
    roles = Attributes(verb="create", resource_request=True, api_group=RBAC, resource="roles", namespace="team")
    assert authorizer.decide(QA, _pods("create")).allowed
    assert not authorizer.decide(QA, roles).allowed
    _create(store, "rolebindings", _binding("a", "ClusterRole", "admin", _sa()), "team")
    assert authorizer.decide(QA, roles).allowed


def test_subjects_by_user_group_and_namespaced_service_account(store: Store) -> None:
    authorizer = Authorizer(store)
    _create(
        store,
        "roles",
        {"metadata": {"name": "reader"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
        "team",
    )
    _create(
        store,
        "rolebindings",
        _binding("by-user", "Role", "reader", {"kind": "User", "name": "alice", "apiGroup": RBAC}),
        "team",
    )
    assert authorizer.decide(auth.User("alice"), _pods("get", name="p")).allowed
    assert not authorizer.decide(auth.User("bob"), _pods("get", name="p")).allowed
    _create(
        store,
        "clusterrolebindings",
        _binding("all-sa", "ClusterRole", "view", {"kind": "Group", "name": "system:serviceaccounts:team"}),
    )
    assert authorizer.decide(QA, _pods("list", namespace="other")).allowed
    no_namespace = _binding("sa-without-namespace", "ClusterRole", "edit", _sa())
    _create(store, "clusterrolebindings", no_namespace)
    assert not authorizer.decide(QA, _pods("create")).allowed


def test_a_binding_to_a_missing_role_is_named_in_the_reason(store: Store) -> None:
    _create(store, "rolebindings", _binding("dangling", "Role", "gone", _sa()), "team")
    _create(store, "rolebindings", _binding("dangling2", "ClusterRole", "gone-too", _sa()), "team")
    decision = Authorizer(store).decide(QA, _pods("list"))
    assert decision == authorization.Decision(
        False,
        f'RBAC: [role.{RBAC} "gone" not found, clusterrole.{RBAC} "gone-too" not found]',
    )


def test_aggregated_cluster_roles_extend_view(store: Store) -> None:
    _create(
        store,
        "clusterroles",
        {
            "metadata": {"name": "jobs-view", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"verbs": ["get", "list"], "apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"]}],
        },
    )
    _create(store, "rolebindings", _binding("e", "ClusterRole", "edit", _sa()), "team")
    jobs = Attributes(
        verb="list", resource_request=True, api_group="kubeflow.org", resource="pytorchjobs", namespace="team"
    )
    assert Authorizer(store).decide(QA, jobs).allowed


def test_masters_are_allowed_everything_without_bindings(store: Store) -> None:
    authorizer = Authorizer(store)
    store.delete(store.catalog.lookup(RBAC, "v1", "clusterrolebindings"), None, "cluster-admin")
    assert authorizer.decide(
        auth.ADMIN, Attributes(verb="delete", resource_request=True, resource="nodes", name="n")
    ).allowed
    assert authorizer.decide(auth.ADMIN, Attributes(verb="get", path="/metrics")).allowed


def test_seeding_twice_changes_nothing(store: Store) -> None:
    before = store.resource_version
    bootstrappolicy.seed(store)
    assert store.resource_version == before


# -- denials, worded as kube-apiserver words them ------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "message", "details"),
    [
        (
            _pods("list"),
            'pods is forbidden: User "system:serviceaccount:team:qa" cannot list resource "pods" in API group "" '
            'in the namespace "team"',
            {"kind": "pods"},
        ),
        (
            Attributes(
                verb="get",
                resource_request=True,
                api_group="apps",
                resource="deployments",
                namespace="team",
                name="web",
            ),
            'deployments.apps "web" is forbidden: User "system:serviceaccount:team:qa" cannot get resource '
            '"deployments" in API group "apps" in the namespace "team"',
            {"kind": "deployments", "name": "web", "group": "apps"},
        ),
        (
            Attributes(verb="list", resource_request=True, resource="nodes"),
            'nodes is forbidden: User "system:serviceaccount:team:qa" cannot list resource "nodes" in API group "" '
            "at the cluster scope",
            {"kind": "nodes"},
        ),
        (
            _pods("get", name="p", subresource="log"),
            'pods "p" is forbidden: User "system:serviceaccount:team:qa" cannot get resource "pods/log" '
            'in API group "" in the namespace "team"',
            {"kind": "pods", "name": "p"},
        ),
        (
            Attributes(verb="get", path="/metrics"),
            'forbidden: User "system:serviceaccount:team:qa" cannot get path "/metrics"',
            None,
        ),
    ],
)
def test_a_denial_names_user_verb_resource_and_scope(
    store: Store, attrs: Attributes, message: str, details: Any
) -> None:
    with pytest.raises(ForbiddenError) as denied:
        Authorizer(store).authorize(QA, attrs)
    assert (denied.value.code, denied.value.message, denied.value.details) == (403, message, details)


def test_a_denial_escapes_html_and_appends_the_rbac_reason() -> None:
    error = authorization.forbidden(auth.User("<b>"), _pods("list"), "RBAC: x")
    assert error.message == (
        'pods is forbidden: User "&lt;b&gt;" cannot list resource "pods" in API group "" in the namespace "team": '
        "RBAC: x"
    )


# -- impersonation -------------------------------------------------------------------------------


def test_the_admin_may_impersonate_a_service_account_and_gets_its_groups(store: Store) -> None:
    acting = impersonation.impersonate(Authorizer(store), auth.ADMIN, user=QA.name, groups=[])
    assert acting == QA
    grouped = impersonation.impersonate(Authorizer(store), auth.ADMIN, user="alice", groups=["devs"])
    assert grouped == auth.User("alice", ("devs", "system:authenticated"))


def test_a_service_account_may_not_impersonate(store: Store) -> None:
    with pytest.raises(ForbiddenError) as denied:
        impersonation.impersonate(Authorizer(store), QA, user="kfval-admin", groups=[])
    assert denied.value.message == (
        'users "kfval-admin" is forbidden: User "system:serviceaccount:team:qa" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )
    with pytest.raises(BadRequestError):
        impersonation.impersonate(Authorizer(store), auth.ADMIN, user=None, groups=["devs"])
