"""Subresources other than `status`: scale, namespace finalize, pod binding, service account
tokens, and the access reviews kubectl's `auth can-i` sends.
"""

from __future__ import annotations

import copy
import secrets
from datetime import timedelta

from aiohttp import web

from kfval.embedded.apiserver import decoding, patching
from kfval.embedded.apiserver.paths import Target
from kfval.embedded.apiserver.resources import Context, json_response
from kfval.embedded.clock import rfc3339
from kfval.embedded.errors import BadRequestError, MethodNotAllowedError
from kfval.embedded.store.selectors import selector_from_match
from kfval.embedded.types import Body


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
    admitted = ctx.admission.admit(target.rt, updated, operation="UPDATE", old=current)
    stored = ctx.store.replace(target.rt, admitted, namespace=target.namespace)
    return json_response(scale_of(stored))


async def finalize(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """`namespaces/finalize`: the one way to change a namespace's spec.finalizers."""
    assert target.name is not None
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    current = ctx.store.get(target.rt, None, target.name)
    current["spec"] = {**(current.get("spec") or {}), "finalizers": (body.get("spec") or {}).get("finalizers") or []}
    return json_response(ctx.store.replace(target.rt, current))


async def token(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """`serviceaccounts/token`: an opaque token; this cluster authenticates only its own bearer token."""
    assert target.name is not None
    ctx.store.get(target.rt, target.namespace, target.name)
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    seconds = (body.get("spec") or {}).get("expirationSeconds") or 3600
    expiry = ctx.store.clock.now() + timedelta(seconds=int(seconds))
    return json_response(
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": target.name, "namespace": target.namespace, "creationTimestamp": None},
            "spec": {**(body.get("spec") or {}), "expirationSeconds": int(seconds)},
            "status": {"token": f"kfval-sa-{secrets.token_urlsafe(24)}", "expirationTimestamp": rfc3339(expiry)},
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
    ctx.store.replace(target.rt, pod, namespace=target.namespace)
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201)


async def access_review(request: web.Request, target: Target, ctx: Context) -> web.Response:
    """SelfSubjectAccessReview / SelfSubjectRulesReview: the token's holder may do everything."""
    body = decoding.decode_object(await decoding.read_bytes(request), decoding.media_type(request))
    body["apiVersion"], body["kind"] = target.rt.api_version, target.rt.kind
    body.setdefault("metadata", {})["creationTimestamp"] = None
    if target.rt.resource == "selfsubjectaccessreviews":
        body["status"] = {"allowed": True, "reason": "the embedded cluster grants its token holder every verb"}
    else:
        body["status"] = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    return json_response(body, 201)
