"""The suite's only door to the `kubernetes` package: configuration, the dynamic client, and retries.

Every request goes through :meth:`Connection.call`, which maps the client's exceptions into the
suite's tree (errors.py) and retries what is transient (no connection, 5xx, 429) in one place.
Bodies go in and come out as plain dicts, so nothing above this module depends on the client's
model classes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import dynamic, stream, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from kfval.kube import errors, permissions

log = logging.getLogger(__name__)
T = TypeVar("T")
Body = dict[str, Any]

RETRIES = 3
RETRY_PAUSE_SECONDS = 0.5
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT_VERBS = frozenset({"get", "list", "watch", "read", "discover", "apply"})
"""Retried after a transient failure; a create or delete that may have happened is not sent twice."""
WATCH_READ_TIMEOUT_SECONDS = 30.0
"""How long a watch may stay silent beyond its own timeoutSeconds before the connection counts as dead."""


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container through `pods/exec` ended with."""

    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Kind:
    """A served kind, resolved through discovery."""

    api_version: str
    kind: str
    namespaced: bool


class Connection:
    """One authenticated connection to one cluster, for one run."""

    def __init__(
        self,
        api: k8s.ApiClient,
        *,
        server: str,
        context: str,
        cache_file: Path,
        strict: permissions.Grants | None = None,
    ) -> None:
        self.api = api
        self.strict = strict
        """When set, a request the permissions table lacks fails before it is sent (the test suite runs so)."""
        self.server = server
        self.context = context
        self._cache_file = cache_file
        self._dynamic_client: dynamic.DynamicClient | None = None
        self._resources: dict[tuple[str, str], Any] = {}

    @property
    def _dynamic(self) -> dynamic.DynamicClient:
        """Built on first use: its constructor already reads discovery, so it must run inside `call`."""
        if self._dynamic_client is None:
            self._dynamic_client = self.call(
                "discover",
                "the API resources",
                lambda: dynamic.DynamicClient(self.api, cache_file=str(self._cache_file)),
            )
        return self._dynamic_client

    def close(self) -> None:
        self.api.close()

    def call(self, verb: str, what: str, request: Callable[[], T]) -> T:
        """Run `request`, mapping failures to the suite's errors; retry only transient ones."""
        retries = RETRIES if verb in _IDEMPOTENT_VERBS else 0
        for attempt in range(retries + 1):
            try:
                return request()
            except ApiException as error:
                if int(error.status or 0) in _TRANSIENT_STATUS and attempt < retries:
                    time.sleep(_retry_after(error))
                    continue
                if int(error.status or 0) == 0:
                    raise errors.unreachable(error, server=self.server, context=self.context) from error
                raise errors.from_api_exception(error, verb=verb, what=what, server=self.server) from error
            except errors.TRANSPORT_ERRORS as error:
                if attempt < retries:
                    time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
                    continue
                raise errors.unreachable(error, server=self.server, context=self.context) from error
        raise AssertionError("unreachable")

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic resource for a kind; MissingKindError when the cluster does not serve it."""
        key = (api_version, kind)
        if key not in self._resources:
            self._resources[key] = self.call("discover", f"{kind} ({api_version})", lambda: self._lookup(*key))
        return self._resources[key]

    def _lookup(self, api_version: str, kind: str) -> Any:
        try:
            return self._dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            self._dynamic.resources.invalidate_cache()
        try:
            return self._dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as error:
            raise errors.MissingKindError(missing_kind_message(api_version, kind)) from error

    def kind(self, api_version: str, kind: str) -> Kind:
        resource = self.resource(api_version, kind)
        return Kind(api_version, kind, bool(resource.namespaced))

    def _permit(self, verb: str, resource: Any, namespace: str | None, *, subresource: str = "") -> None:
        if self.strict is not None:
            self.strict.require(
                verb,
                group=str(resource.group or ""),
                resource=f"{resource.name}/{subresource}" if subresource else str(resource.name),
                namespace=namespace,
                namespaced=bool(resource.namespaced),
            )

    def _permit_pods(self, verbs: Sequence[str], subresource: str, namespace: str) -> None:
        """A pod subresource (`log`, `exec`: WebSocket is a get, 1.31+ also authorizes create)."""
        if self.strict is not None:
            for verb in verbs:
                self._permit(verb, self.resource("v1", "Pod"), namespace, subresource=subresource)

    # -- verbs on dict bodies ------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Body:
        resource = self.resource(api_version, kind)
        what = describe(kind, name, namespace)
        self._permit("get", resource, namespace)
        return _dict(self.call("get", what, lambda: resource.get(name=name, namespace=namespace)))

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Body:
        """The List body: `items` and `metadata.resourceVersion`."""
        resource = self.resource(api_version, kind)
        self._permit("list", resource, namespace)
        what = describe(resource.name, None, namespace)
        return _dict(
            self.call(
                "list",
                what,
                lambda: resource.get(namespace=namespace, label_selector=label_selector, field_selector=field_selector),
            )
        )

    def create(self, body: Body, namespace: str | None = None) -> Body:
        resource = self.resource(body["apiVersion"], body["kind"])
        self._permit("create", resource, namespace)
        what = describe(body["kind"], body.get("metadata", {}).get("name", ""), namespace)
        return _dict(self.call("create", what, lambda: resource.create(body=body, namespace=namespace)))

    def apply(self, body: Body, namespace: str | None, *, field_manager: str) -> Body:
        """Server-side apply: creates or updates, as `kubectl apply --server-side` does."""
        resource = self.resource(body["apiVersion"], body["kind"])
        self._permit("patch", resource, namespace)
        what = describe(body["kind"], body["metadata"]["name"], namespace)
        return _dict(
            self.call(
                "apply",
                what,
                lambda: resource.server_side_apply(
                    body=body, namespace=namespace, field_manager=field_manager, force_conflicts=True
                ),
            )
        )

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, patch: Body) -> Body:
        resource = self.resource(api_version, kind)
        self._permit("patch", resource, namespace)
        return _dict(
            self.call(
                "patch",
                describe(kind, name, namespace),
                lambda: resource.patch(
                    name=name, namespace=namespace, body=patch, content_type="application/merge-patch+json"
                ),
            )
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        grace_period_seconds: int | None = None,
    ) -> None:
        resource = self.resource(api_version, kind)
        options: Body = {"propagationPolicy": propagation}
        self._permit("delete", resource, namespace)
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        self.call(
            "delete",
            describe(kind, name, namespace),
            lambda: resource.delete(name=name, namespace=namespace, body=options),
        )

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[Body]:
        """Events `{"type", "object"}` from `resource_version` on; ExpiredError when it is too old (410)."""
        resource = self.resource(api_version, kind)
        self._permit("watch", resource, namespace)
        what = describe(resource.name, None, namespace)
        stream = self.call(
            "watch",
            what,
            lambda: watch.Watch().stream(
                resource.get,
                namespace=namespace,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                label_selector=label_selector,
                field_selector=field_selector,
                allow_watch_bookmarks=True,
                serialize=False,
                _request_timeout=timeout_seconds + WATCH_READ_TIMEOUT_SECONDS,
            ),
        )
        iterator = iter(stream)
        while True:
            event = self.call("watch", what, lambda: next(iterator, None))
            if event is None:
                return
            yield {"type": event["type"], "object": event["raw_object"]}

    def pod_log(
        self,
        name: str,
        namespace: str,
        *,
        container: str | None = None,
        tail_lines: int | None = None,
        previous: bool = False,
        timestamps: bool = False,
    ) -> str:
        """The container's log; with `timestamps`, each line begins with the time the runtime received it."""
        core = k8s.CoreV1Api(self.api)
        extra: Body = {"tail_lines": tail_lines} if tail_lines is not None else {}
        if timestamps:
            extra["timestamps"] = True
        self._permit_pods(("get",), "log", namespace)
        if container:
            extra["container"] = container
        what = describe("Pod", name, namespace) + " log"
        response: Any = self.call(
            "read",
            what,
            lambda: core.read_namespaced_pod_log(name, namespace, previous=previous, _preload_content=False, **extra),
        )
        return bytes(response.data).decode("utf-8", errors="replace")

    def exec(
        self,
        pod: str,
        namespace: str,
        command: Sequence[str],
        *,
        container: str | None,
        timeout_seconds: float,
        stdin: bytes | None = None,
    ) -> ExecResult:
        """Run `command` in a running container, as `kubectl exec` does (WebSocket, channel protocol);
        `stdin` is sent to it first (without closing the stream, which only the v5 protocol can do).

        Not retried: a command may have run although its answer was lost.
        """
        core = k8s.CoreV1Api(self.api)
        what = describe("Pod", pod, namespace) + " exec"
        self._permit_pods(("get", "create"), "exec", namespace)
        extra: Body = {"container": container} if container else {}

        def run() -> ExecResult:
            session: Any = stream.stream(
                core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=list(command),
                stderr=True,
                stdin=stdin is not None,
                stdout=True,
                tty=False,
                _preload_content=False,
                **extra,
            )
            if stdin is not None:
                session.write_stdin(stdin)
            out, err = [], []
            deadline = time.monotonic() + timeout_seconds
            try:
                while session.is_open() and time.monotonic() < deadline:
                    session.update(timeout=1)
                    out.append(session.read_stdout() if session.peek_stdout() else "")
                    err.append(session.read_stderr() if session.peek_stderr() else "")
                if session.is_open():
                    raise errors.WaitTimeoutError(f"{what}: {' '.join(command)} ran longer than {timeout_seconds:g} s")
            finally:
                session.close()
            return ExecResult(int(session.returncode or 0), "".join(out), "".join(err))

        return self.call("exec", what, run)

    def version(self) -> Body:
        return _dict(self.call("read", "the server version", lambda: k8s.VersionApi(self.api).get_code()))


def describe(kind: str, name: str | None, namespace: str | None) -> str:
    """`PyTorchJob "mnist" in namespace "kfval-1"`, as messages name objects."""
    text = f'{kind} "{name}"' if name else kind
    return f'{text} in namespace "{namespace}"' if namespace else text


def missing_kind_message(api_version: str, kind: str) -> str:
    hint = _INSTALL_HINTS.get(api_version.split("/", 1)[0], "is the component that defines it installed?")
    return f"{kind} ({api_version}) is not served by this cluster: {hint}"


_INSTALL_HINTS = {
    "kubeflow.org": "is the Kubeflow training operator installed?",
}


def _retry_after(error: ApiException) -> float:
    headers = error.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return min(10.0, float(value)) if value else RETRY_PAUSE_SECONDS
    except ValueError:
        return RETRY_PAUSE_SECONDS


def _dict(value: Any) -> Body:
    if hasattr(value, "to_dict"):
        return value.to_dict()  # type: ignore[no-any-return]
    return dict(value)


def connect(
    *,
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool,
    cache_dir: Path,
    strict: permissions.Grants | None = None,
) -> Connection:
    """Load the configuration and prove the server answers; errors name the server and the context.

    With `strict`, every request outside those grants fails before it is sent."""
    configuration = k8s.Configuration()
    try:
        if in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
            context_name = "in-cluster"
        else:
            k8s_config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=configuration
            )
            context_name = context or _current_context(kubeconfig)
    except errors.CONFIG_ERRORS as error:
        source = "the in-cluster service account" if in_cluster else f"kubeconfig {kubeconfig or '~/.kube/config'}"
        raise errors.SetupError(f"cannot load {source} (context {context!r}): {error}") from error
    cache_dir.mkdir(parents=True, exist_ok=True)
    api = k8s.ApiClient(configuration)
    connection = Connection(
        api, server=configuration.host, context=context_name, cache_file=cache_dir / "discovery.json", strict=strict
    )
    connection.call("list", "the API versions", lambda: k8s.CoreApi(api).get_api_versions())
    return connection


def _current_context(kubeconfig: Path | None) -> str:
    _contexts, active = k8s_config.list_kube_config_contexts(config_file=str(kubeconfig) if kubeconfig else None)
    return str(active.get("name", "")) if active else ""
