"""The aiohttp application: middleware, the fixed routes, and dispatch of resource requests.

Errors are rendered in one outermost middleware (as starlette does), so every layer can simply
raise ApiError; anything else that escapes is a 500 Status, logged with its traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from kfval.embedded import warning
from kfval.embedded.admission.chain import Admission
from kfval.embedded.apiserver import (
    auth,
    authorization,
    bootstrappolicy,
    discovery,
    impersonation,
    metricsapi,
    openapi,
    parameters,
    remotecommand,
    resources,
    streaming,
    subresources,
)
from kfval.embedded.apiserver.paths import Target, parse
from kfval.embedded.apiserver.resources import Context, json_response
from kfval.embedded.apiserver.status import error_response
from kfval.embedded.errors import ApiError, InternalError, MethodNotAllowedError, NotFoundError, TooLargeError
from kfval.embedded.store.catalog import METRICS_GROUP
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, Executor, LogSource, UsageSource

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTEXT = web.AppKey("context", Context)
LOGS = web.AppKey("logs", LogSource)
EXECUTOR = web.AppKey("executor", Executor)
USAGE = web.AppKey("usage", UsageSource)
"""The kubelet's measurements; an app built without them serves no metrics (404, as without metrics-server)."""


@web.middleware
async def send_warnings(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: what admission warned about reaches the client as `Warning` headers, on success or refusal."""
    with warning.collecting() as warnings:
        response = await handler(request)
    if not response.prepared:
        for message in warnings:
            response.headers.add("Warning", warning.header_value(message))
    return response


@web.middleware
async def pretty_print(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`?pretty=true` (and curl, wget, browsers by default) get indented JSON, as kube-apiserver sends it."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
        and parameters.pretty(request.query, request.headers.get("User-Agent", ""))
    ):
        response.body = json.dumps(json.loads(response.body), indent=2).encode() + b"\n"
    return response


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except web.HTTPRequestEntityTooLarge as error:
        return error_response(TooLargeError(f"Request entity too large: {error.text}"))
    except web.HTTPNotFound:
        return error_response(NotFoundError("the server could not find the requested resource"))
    except web.HTTPMethodNotAllowed as error:
        return error_response(
            MethodNotAllowedError(f"the server does not allow this method on the requested resource ({error.method})")
        )
    except web.HTTPException:
        raise
    except Exception as error:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        return error_response(InternalError(f"internal error: {type(error).__name__}: {error}"))


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who calls (acting as whom, with Impersonate-* headers); public paths have no caller."""
    caller = request.app[auth.AUTHORITY].authenticate(request.path, request.headers.get("Authorization"))
    if caller is not None:
        request[auth.CALLER] = impersonation.impersonate(
            request.app[authorization.AUTHORIZER],
            caller,
            user=request.headers.get("Impersonate-User"),
            groups=request.headers.getall("Impersonate-Group", []),
        )
    return await handler(request)


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 unless the caller's RBAC allows the verb on what the path addresses."""
    caller = request.get(auth.CALLER)
    if caller is not None:
        attributes = authorization.attributes_of(request.method, request.path, request.query)
        request.app[authorization.AUTHORIZER].authorize(caller, attributes)
    return await handler(request)


async def _bootstrap_policy(app: web.Application) -> None:
    bootstrappolicy.seed(app[CONTEXT].store)


def _context(request: web.Request) -> Context:
    return request.app[CONTEXT]


async def version(request: web.Request) -> web.Response:
    return json_response(discovery.version_info())


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def _discovery_response(request: web.Request, body: Body, aggregated: Callable[[], Body]) -> web.Response:
    if discovery.wants_aggregated(request.headers.get("Accept", "")):
        response = json_response(aggregated())
        response.headers["Content-Type"] = discovery.AGGREGATED_CONTENT_TYPE
        return response
    return json_response(body)


async def api_root(request: web.Request) -> web.Response:
    catalog = _context(request).store.catalog
    return _discovery_response(request, discovery.api_versions(), lambda: discovery.aggregated(catalog, core=True))


async def apis_root(request: web.Request) -> web.Response:
    catalog = _context(request).store.catalog
    return _discovery_response(
        request, discovery.api_groups(catalog), lambda: discovery.aggregated(catalog, core=False)
    )


async def core_v1(request: web.Request) -> web.Response:
    return json_response(discovery.core_resources(_context(request).store.catalog))


async def api_group(request: web.Request) -> web.Response:
    return json_response(discovery.api_group(_context(request).store.catalog, request.match_info["group"]))


async def group_version(request: web.Request) -> web.Response:
    info = request.match_info
    return json_response(discovery.group_resources(_context(request).store.catalog, info["group"], info["version"]))


async def openapi_v2(request: web.Request) -> web.Response:
    raise NotFoundError("the server could not find the requested resource")


async def openapi_root(request: web.Request) -> web.Response:
    return json_response(openapi.root(_context(request).store.catalog))


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(openapi.group_version_document(_context(request).store.catalog, request.match_info["path"]))


async def _collection(request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    method = request.method
    if method == "GET":
        if parameters.flag(request.query, "watch"):
            return await streaming.watch(request, target, ctx)
        return await resources.list_objects(request, target, ctx)
    if method == "POST":
        if target.rt.group == "authorization.k8s.io":
            return await subresources.access_review(request, target, ctx)
        return await resources.create_object(request, target, ctx)
    if method == "DELETE":
        return await resources.delete_collection(request, target, ctx)
    raise MethodNotAllowedError(f"the server does not allow this method on the requested resource ({method})")


_ITEM_VERBS = {
    "GET": resources.get_object,
    "PUT": resources.replace_object,
    "PATCH": resources.patch_object,
    "DELETE": resources.delete_object,
}
_SUBRESOURCES = {
    "scale": subresources.scale,
    "finalize": subresources.finalize,
    "token": subresources.token,
    "binding": subresources.binding,
}


async def dispatch(request: web.Request) -> web.StreamResponse:
    ctx = _context(request)
    target = parse(ctx.store.catalog, request.path)
    if target.rt.group == METRICS_GROUP:
        if USAGE not in request.app:
            raise NotFoundError("the server could not find the requested resource")
        return await metricsapi.serve(request, target, ctx, request.app[USAGE])
    if target.is_collection:
        return await _collection(request, target, ctx)
    if target.subresource == "log":
        return await streaming.logs(request, target, request.app[LOGS])
    if target.subresource == "exec":
        return await remotecommand.exec_command(request, target, ctx, request.app[EXECUTOR])
    if target.subresource in _SUBRESOURCES:
        return await _SUBRESOURCES[target.subresource](request, target, ctx)
    handler = _ITEM_VERBS.get(request.method)
    if handler is None or (target.subresource == "status" and request.method == "DELETE"):
        raise MethodNotAllowedError(
            f"the server does not allow this method on the requested resource ({request.method})"
        )
    return await handler(request, target, ctx)


def build_app(
    *,
    store: Store,
    admission: Admission,
    logs: LogSource,
    executor: Executor,
    authority: auth.TokenAuthority,
    usage: UsageSource | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[send_warnings, pretty_print, render_errors, authenticate, authorize],
        client_max_size=64 * 1024 * 1024,
    )
    app[CONTEXT] = Context(store=store, admission=admission)
    app[LOGS] = logs
    app[EXECUTOR] = executor
    if usage is not None:
        app[USAGE] = usage
    app[auth.AUTHORITY] = authority
    app[authorization.AUTHORIZER] = authorization.Authorizer(store)
    app.on_startup.append(_bootstrap_policy)
    router = app.router
    router.add_get("/version", version)
    router.add_get("/version/", version)
    for probe in ("/readyz", "/healthz", "/livez"):
        router.add_get(probe, ready)
    for slash in ("", "/"):  # clients ask for both `/api/v1` and `/api/v1/`, as the real server serves both
        router.add_get("/api" + slash, api_root)
        router.add_get("/api/v1" + slash, core_v1)
        router.add_get("/apis" + slash, apis_root)
        router.add_get("/apis/{group}" + slash, api_group)
        router.add_get("/apis/{group}/{version}" + slash, group_version)
    router.add_get("/openapi/v2", openapi_v2)
    router.add_get("/openapi/v3", openapi_root)
    router.add_get("/openapi/v3/{path:.*}", openapi_document)
    router.add_route("*", "/api/{tail:.+}", dispatch)
    router.add_route("*", "/apis/{tail:.+}", dispatch)
    return app
