"""May this user do this? RBAC as kube-apiserver evaluates it, read from the store on every request.

The suite must report a 403 as a real cluster words it ("Forbidden, with the verb and resource that
was denied") and must be testable with a restricted identity, as a QA engineer's CI service account
is on a real cluster. So requests are described by the same attributes upstream's RequestInfo
derives from the path and method, matched against Roles, ClusterRoles and their bindings with
upstream's rules (wildcards, `pods/log` and `*/scale` subresources, resourceNames, nonResourceURLs,
ClusterRoles bound by RoleBindings applying in that namespace, aggregated ClusterRoles), and a
denial is rendered with upstream's exact message. `system:masters` short-circuits, as upstream's
privileged-group authorizer does, so no binding can lock the administrator out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kfval.embedded.apiserver import parameters
from kfval.embedded.apiserver.auth import User
from kfval.embedded.errors import ForbiddenError
from kfval.embedded.store.objects import Store
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body

RBAC_GROUP = "rbac.authorization.k8s.io"
_VERBS_BY_METHOD = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True, kw_only=True)
class Attributes:
    """What one request asks to do, in the words RBAC rules use."""

    verb: str
    path: str = ""
    resource_request: bool = False
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _name_pinned_by(field_selector: str) -> str:
    """The name a `metadata.name=<x>` field selector pins (list/watch of one object), or ''."""
    for clause in field_selector.split(","):
        for op in ("==", "="):
            key, found, value = clause.partition(op)
            if found and key.strip() == "metadata.name":
                name = value.strip()
                ok = name not in (".", "..") and "/" not in name and "%" not in name
                return name if ok else ""
    return ""


def attributes_of(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """Upstream's RequestInfo: `/api/v1/...` and `/apis/<group>/<version>/...` are resource requests."""
    parts = [p for p in path.split("/") if p]
    plain = Attributes(verb=method.lower(), path=path)
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return plain
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    verb = _VERBS_BY_METHOD.get(method.upper(), method.lower())
    if rest and rest[0] == "watch":
        verb, rest = "watch", rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource, name, subresource = [*rest, "", "", ""][:3]
    if not name and verb == "get":
        verb = "watch" if parameters.flag(query, "watch") else "list"
        name = _name_pinned_by(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        verb=verb,
        path=path,
        resource_request=True,
        api_group=group,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )


def _listed(values: tuple[str, ...], wanted: str) -> bool:
    return "*" in values or wanted in values


@dataclass(frozen=True, kw_only=True)
class PolicyRule:
    """One rule of a Role or ClusterRole."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, rule: Mapping[str, Any]) -> PolicyRule:
        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in rule.get(key) or ())

        return cls(
            verbs=strings("verbs"),
            api_groups=strings("apiGroups"),
            resources=strings("resources"),
            resource_names=strings("resourceNames"),
            non_resource_urls=strings("nonResourceURLs"),
        )

    def resource_rule(self) -> Body | None:
        """This rule as a SelfSubjectRulesReview's `resourceRules` entry (None without resources)."""
        if not self.resources:
            return None
        body: Body = {"verbs": list(self.verbs), "apiGroups": list(self.api_groups), "resources": list(self.resources)}
        if self.resource_names:
            body["resourceNames"] = list(self.resource_names)
        return body

    def non_resource_rule(self) -> Body | None:
        """This rule as a `nonResourceRules` entry (None without nonResourceURLs)."""
        if not self.non_resource_urls:
            return None
        return {"verbs": list(self.verbs), "nonResourceURLs": list(self.non_resource_urls)}

    def _resource_matches(self, attrs: Attributes) -> bool:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        for resource in self.resources:
            if resource in ("*", combined):
                return True
            if attrs.subresource and resource == f"*/{attrs.subresource}":
                return True
        return False

    def _url_matches(self, path: str) -> bool:
        return any(
            url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])) for url in self.non_resource_urls
        )

    def allows(self, attrs: Attributes) -> bool:
        if not _listed(self.verbs, attrs.verb):
            return False
        if not attrs.resource_request:
            return self._url_matches(attrs.path)
        return (
            _listed(self.api_groups, attrs.api_group)
            and self._resource_matches(attrs)
            and (not self.resource_names or attrs.name in self.resource_names)
        )


@dataclass(frozen=True)
class Grant:
    """The rules one binding gives the user, and how upstream names that binding in a reason."""

    source: str
    rules: tuple[PolicyRule, ...]


@dataclass(frozen=True)
class Grants:
    """Everything the bindings give one user in one namespace, and the bindings that lead nowhere."""

    grants: tuple[Grant, ...]
    errors: tuple[str, ...]

    @property
    def rules(self) -> tuple[PolicyRule, ...]:
        return tuple(rule for grant in self.grants for rule in grant.rules)

    def evaluation_error(self) -> str:
        """`<error>` or `[<e1>, <e2>]`, deduplicated, as upstream's error aggregate prints them."""
        unique = list(dict.fromkeys(self.errors))
        if len(unique) <= 1:
            return "".join(unique)
        return "[" + ", ".join(unique) + "]"

    def denial_reason(self) -> str:
        """What RBAC adds to a denial: nothing, or `RBAC: <errors>` when bindings lead nowhere."""
        error = self.evaluation_error()
        return f"RBAC: {error}" if error else ""


def _quote(text: str) -> str:
    """Go's %q for the names that appear in messages."""
    return json.dumps(text, ensure_ascii=False)


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f"{kind} {_quote(name + '/' + (subject.get('namespace') or binding_namespace))}"
    return f"{kind} {_quote(name)}"


def _subject_applies(subject: Mapping[str, Any], user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


class Authorizer:
    """The privileged group, then RBAC over the Roles, ClusterRoles and bindings the store holds now."""

    def __init__(self, store: Store) -> None:
        self._store = store
        catalog = store.catalog
        self._roles = catalog.lookup(RBAC_GROUP, "v1", "roles")
        self._cluster_roles = catalog.lookup(RBAC_GROUP, "v1", "clusterroles")
        self._role_bindings = catalog.lookup(RBAC_GROUP, "v1", "rolebindings")
        self._cluster_role_bindings = catalog.lookup(RBAC_GROUP, "v1", "clusterrolebindings")

    def _cluster_role_rules(self, role: Body) -> tuple[PolicyRule, ...]:
        """A ClusterRole's rules, plus those of the ClusterRoles its aggregationRule selects."""
        rules = [PolicyRule.from_body(r) for r in role.get("rules") or ()]
        selectors = [
            selector_from_match(s) for s in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ()
        ]
        if selectors:
            others, _ = self._store.list(self._cluster_roles, read_only=True)
            for other in others:
                if other["metadata"]["name"] != role["metadata"]["name"] and any(s.matches(other) for s in selectors):
                    rules += [PolicyRule.from_body(r) for r in other.get("rules") or ()]
        return tuple(rules)

    def _role_rules(self, role_ref: Mapping[str, Any], namespace: str) -> tuple[PolicyRule, ...] | str:
        """The rules a roleRef points at, or the error upstream reports when it points at nothing."""
        name = str(role_ref.get("name", ""))
        if role_ref.get("kind") == "ClusterRole":
            if not self._store.exists(self._cluster_roles, None, name):
                return f"clusterrole.{RBAC_GROUP} {_quote(name)} not found"
            return self._cluster_role_rules(self._store.get(self._cluster_roles, None, name))
        if not self._store.exists(self._roles, namespace, name):
            return f"role.{RBAC_GROUP} {_quote(name)} not found"
        role = self._store.get(self._roles, namespace, name)
        return tuple(PolicyRule.from_body(r) for r in role.get("rules") or ())

    def _bindings(self, namespace: str) -> Iterator[tuple[str, Body]]:
        """ClusterRoleBindings first, then the RoleBindings of the namespace, as upstream visits them."""
        cluster_bindings, _ = self._store.list(self._cluster_role_bindings, read_only=True)
        for binding in cluster_bindings:
            yield "ClusterRoleBinding", binding
        if namespace:
            bindings, _ = self._store.list(self._role_bindings, namespace, read_only=True)
            for binding in bindings:
                yield "RoleBinding", binding

    def grants(self, user: User, namespace: str) -> Grants:
        """What every binding that names `user` (directly, by group or as a service account) gives it."""
        found: list[Grant] = []
        errors: list[str] = []
        for kind, binding in self._bindings(namespace):
            meta = binding["metadata"]
            binding_namespace = meta.get("namespace", "") if kind == "RoleBinding" else ""
            subject = next(
                (s for s in binding.get("subjects") or () if _subject_applies(s, user, binding_namespace)), None
            )
            if subject is None:
                continue
            rules = self._role_rules(binding.get("roleRef") or {}, binding_namespace)
            if isinstance(rules, str):
                errors.append(rules)
                continue
            role_ref = binding.get("roleRef") or {}
            label = meta["name"] + (f"/{binding_namespace}" if binding_namespace else "")
            source = (
                f"{kind} {_quote(label)} of {role_ref.get('kind')} {_quote(str(role_ref.get('name')))} "
                f"to {_describe_subject(subject, binding_namespace)}"
            )
            found.append(Grant(source, rules))
        return Grants(tuple(found), tuple(errors))

    def decide(self, user: User, attrs: Attributes) -> Decision:
        """Allowed (with the binding that allows it) or not (with the bindings that lead nowhere)."""
        if user.privileged:
            return Decision(True)
        grants = self.grants(user, attrs.namespace)
        for grant in grants.grants:
            if any(rule.allows(attrs) for rule in grant.rules):
                return Decision(True, f"RBAC: allowed by {grant.source}")
        return Decision(False, grants.denial_reason())

    def authorize(self, user: User, attrs: Attributes) -> None:
        """Raise the 403 kube-apiserver would send unless `user` may do what `attrs` describe."""
        decision = self.decide(user, attrs)
        if not decision.allowed:
            raise forbidden(user, attrs, decision.reason)


def denial(user: User, attrs: Attributes) -> str:
    """Upstream's forbiddenMessage: who cannot do what, where."""
    who = f"User {_quote(user.name)}"
    if not attrs.resource_request:
        return f"{who} cannot {attrs.verb} path {_quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    what = f"{who} cannot {attrs.verb} resource {_quote(resource)} in API group {_quote(attrs.api_group)}"
    if attrs.namespace:
        return f"{what} in the namespace {_quote(attrs.namespace)}"
    return f"{what} at the cluster scope"


def forbidden(user: User, attrs: Attributes, reason: str = "") -> ForbiddenError:
    """The 403 Status: `<resource>[.<group>] ["<name>"] is forbidden: <denial>[: <reason>]`."""
    text = denial(user, attrs).translate(_HTML_ESCAPES)
    if reason:
        text = f"{text}: {reason}"
    if not attrs.resource_request or not attrs.resource:
        return ForbiddenError(f"forbidden: {text}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    details: dict[str, Any] = {"kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    named = f" {_quote(attrs.name)}" if attrs.name else ""
    return ForbiddenError(f"{qualified}{named} is forbidden: {text}", details=details)


AUTHORIZER = web.AppKey("authorizer", Authorizer)
