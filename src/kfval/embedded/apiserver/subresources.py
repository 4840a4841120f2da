"""Subresources other than `status`: scale, namespace finalize, pod binding, service account
tokens, and the access reviews kubectl's `auth can-i` sends.

Tokens and reviews are real: an issued token authenticates as its service account (auth.py), and a
review answers what authorization.py would decide for the caller, so `kubectl auth can-i` agrees
with the 403s the same identity gets.
"""

from __future__ import annotations

import copy

from aiohttp import web

from kfval.embedded.admission import validation
from kfval.embedded.apiserver import auth, authorization, decoding, patching
from kfval.embedded.apiserver import status as statuses
from kfval.embedded.apiserver.paths import Target
from kfval.embedded.apiserver.resources import Context, json_response
from kfval.embedded.clock import rfc3339
from kfval.embedded.errors import BadRequestError, InvalidError, MethodNotAllowedError
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body

DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 2**32
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def scale_of(body: Body) -> Body:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet."""
    meta = body["metadata"]
    spec, status = body.get("spec") or {}, body.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {"replicas": status.get("replicas", 0), "selector": str(selector_from_match(spec.get("selector")))},
    }


async def scale(request: web.Request, target: Target, ctx: Context) -> web.Response:
    assert target.name is not None
    current = ctx.store.get(target.rt, target.namespace, target.name)
    if request.method == "GET":
        return json_response(scale_of(current))
    data = await decoding.read_bytes(request)
    if request.method == "PUT":
        wanted = decoding.decode_object(data, decoding.media_type(request))
    elif request.method == "PATCH":
        wanted = patching.apply_patch(
            scale_of(current), data, decoding.media_type(request), kind="Scale", is_custom=False
        )
    else:
        raise MethodNotAllowedError(f"{request.method} is not supported on scale")
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise BadRequestError("spec.replicas must be a non-negative integer")
    updated = copy.deepcopy(current)
    updated.setdefault("spec", {})["replicas"] = replicas
    stored = ctx.store.replace(target.rt, updated, namespace=target.namespace)
    return json_response(scale_of(stored))


async def finalize(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """`namespaces/finalize`: the one way to change a namespace's spec.finalizers."""
    assert target.name is not None
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    current = ctx.store.get(target.rt, None, target.name)
    current["spec"] = {**(current.get("spec") or {}), "finalizers": (body.get("spec") or {}).get("finalizers") or []}
    return json_response(ctx.store.replace(target.rt, current, subresource="finalize"))


def _token_seconds(spec: Body) -> int:
    """`spec.expirationSeconds`, defaulted and bounded as upstream's TokenRequest validation bounds it."""
    seconds = spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS
    if not isinstance(seconds, int):
        raise BadRequestError(f"spec.expirationSeconds must be an integer, not {seconds!r}")
    if seconds < MIN_TOKEN_SECONDS:
        detail = "may not specify a duration less than 10 minutes"
    elif seconds > MAX_TOKEN_SECONDS:
        detail = "may not specify a duration larger than 2^32 seconds"
    else:
        return seconds
    cause = validation.invalid("spec.expirationSeconds", seconds, detail)
    raise InvalidError("TokenRequest", "", [cause], group="authentication.k8s.io")


async def token(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """`serviceaccounts/token`: a token that authenticates as the service account until it expires."""
    assert target.name is not None
    account = ctx.store.get(target.rt, target.namespace, target.name)
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    spec = body.get("spec") or {}
    seconds = _token_seconds(spec)
    issued, expiry = request.app[auth.AUTHORITY].issue(account, seconds=seconds)
    return json_response(
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": target.name, "namespace": target.namespace, "creationTimestamp": None},
            "spec": {**spec, "audiences": spec.get("audiences") or [API_AUDIENCE], "expirationSeconds": seconds},
            "status": {"token": issued, "expirationTimestamp": rfc3339(expiry)},
        },
        201,
    )


async def binding(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """`pods/binding`: what a scheduler posts to place a pod on a node."""
    assert target.name is not None
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    node = (body.get("target") or {}).get("name")
    if not node:
        raise BadRequestError("binding target name is required")
    pod = ctx.store.get(target.rt, target.namespace, target.name)
    if (pod.get("spec") or {}).get("nodeName"):
        raise BadRequestError(f'pod {target.name} is already assigned to node "{pod["spec"]["nodeName"]}"')
    pod["spec"]["nodeName"] = node
    ctx.store.replace(target.rt, pod, namespace=target.namespace, subresource="binding")
    return json_response(statuses.success_body(code=201), 201)


def _reviewed_attributes(spec: Body) -> authorization.Attributes:
    """A SelfSubjectAccessReview's question, as the attributes of the request it asks about."""
    resource: Body = spec.get("resourceAttributes") or {}
    plain: Body = spec.get("nonResourceAttributes") or {}
    if resource and plain:
        cause = validation.invalid(
            "spec.nonResourceAttributes", plain, "cannot be specified in combination with resourceAttributes"
        )
        raise InvalidError("SelfSubjectAccessReview", "", [cause], group="authorization.k8s.io")
    if not resource and not plain:
        message = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        cause = validation.invalid("spec.resourceAttributes", None, message, rendered='"null"')
        raise InvalidError("SelfSubjectAccessReview", "", [cause], group="authorization.k8s.io")
    if plain:
        return authorization.Attributes(verb=str(plain.get("verb", "")), path=str(plain.get("path", "")))
    return authorization.Attributes(
        verb=str(resource.get("verb", "")),
        resource_request=True,
        api_group=str(resource.get("group", "")),
        resource=str(resource.get("resource", "")),
        subresource=str(resource.get("subresource", "")),
        namespace=str(resource.get("namespace", "")),
        name=str(resource.get("name", "")),
    )


def _rules_status(authorizer: authorization.Authorizer, caller: auth.User, namespace: str) -> Body:
    grants = authorizer.grants(caller, namespace)
    rules = grants.rules
    status: Body = {
        "resourceRules": [body for rule in rules if (body := rule.resource_rule()) is not None],
        "nonResourceRules": [body for rule in rules if (body := rule.non_resource_rule()) is not None],
        "incomplete": bool(grants.errors),
    }
    if grants.errors:
        status["evaluationError"] = grants.evaluation_error()
    return status


async def access_review(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """SelfSubjectAccessReview / SelfSubjectRulesReview (`kubectl auth can-i`): answered for the caller."""
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    body["apiVersion"], body["kind"] = target.rt.api_version, target.rt.kind
    body.setdefault("metadata", {})["creationTimestamp"] = None
    spec = body.get("spec") or {}
    caller, authorizer = request[auth.CALLER], request.app[authorization.AUTHORIZER]
    if target.rt.resource == "selfsubjectaccessreviews":
        decision = authorizer.decide(caller, _reviewed_attributes(spec))
        body["status"] = {"allowed": decision.allowed, **({"reason": decision.reason} if decision.reason else {})}
    else:
        body["status"] = _rules_status(authorizer, caller, str(spec.get("namespace") or ""))
    return json_response(body, 201)
