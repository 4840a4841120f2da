"""The suite's only door to the `kubernetes` package: configuration, the dynamic client, and retries.

Every request goes through :meth:`Connection.call`, which maps the client's exceptions into the
suite's tree (errors.py) and, in this one place, tries again what failed for a transient reason
(no connection, reset, TLS cut off, timeout, 429, 5xx) for as long as outages.py allows. Every request
carries a connect and a read timeout, so a stalled connection fails instead of hanging; urllib3's own
retries are off, so nothing is re-sent behind the suite's back. A create or delete whose answer was lost
is resolved by reading back, never sent twice blindly; an exec is sent once. Bodies go in and come out
as plain dicts, so nothing above this module depends on the client's model classes.
"""

from __future__ import annotations

import logging
import threading
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

from kfval.kube import errors, outages, permissions, resending

log = logging.getLogger(__name__)
T = TypeVar("T")
Body = dict[str, Any]

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
"""How long a request may wait for the next byte of its answer before the connection counts as stalled."""
EXEC_MARGIN_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
"""How long an exec may go on past its own timeout (to connect, and to hear its end) before it is given up."""
WATCH_READ_MARGIN_SECONDS = 5.0
"""How long a watch may stay silent beyond its own timeoutSeconds before the connection counts as stalled."""
_SENT_ONCE_VERBS = frozenset({"exec"})
"""Never tried again: a command may have run although its answer was lost, and nothing can read that back."""
_FAILURES: tuple[type[BaseException], ...] = (ApiException, *errors.TRANSPORT_ERRORS)


class _BoundedApiClient(k8s.ApiClient):
    """An ApiClient whose every request has a connect and a read timeout unless it brings its own (a watch
    does): without one, a connection that stops passing bytes would hang the run for good. It counts the
    server's answers (any status but a transient one), so that only a real answer ends an outage: a kind
    found in the discovery cache says nothing about the server."""

    answers = 0

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        timeout = _request_timeout or (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
        response = super().call_api(method, url, header_params, body, post_params, _request_timeout=timeout)
        if response.status not in errors.TRANSIENT_STATUS:
            self.answers += 1
        return response


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
        api: _BoundedApiClient,
        *,
        server: str,
        context: str,
        cache_file: Path,
        outages: outages.Outages,
        strict: permissions.Grants | None = None,
    ) -> None:
        self.api = api
        self.strict = strict
        """When set, a request the permissions table lacks fails before it is sent (the test suite runs so)."""
        self.server = server
        self.context = context
        self.outages = outages
        self._cache_file = cache_file
        self._dynamic_client: dynamic.DynamicClient | None = None
        self._resources: dict[tuple[str, str], Any] = {}
        self._discovery = threading.RLock()
        """The client's discovery cache is not thread-safe, and a scenario's usage sampler looks kinds up
        from a thread of its own: one lookup (and one rediscovery of every group) at a time."""

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
        """Run `request`, mapping failures to the suite's errors; a transient failure is tried again until
        the server answers or the outage outlasts its bound (an `exec` is sent once)."""
        while True:
            since, answers = self.outages.now(), self.api.answers
            try:
                result = request()
            except _FAILURES as error:
                self._failed(verb, what, error, since=since)
            else:
                # An exec answers over its WebSocket, which the answer count does not see.
                if self.api.answers > answers or verb in _SENT_ONCE_VERBS:
                    self.outages.answered()
                return result

    def _failed(self, verb: str, what: str, error: BaseException, *, since: float) -> None:
        """Raise `error` as the suite's error, unless it is transient and `verb` may be tried again: then it
        counts towards the outage, which pauses before the next try or raises once it is too long."""
        if verb not in _SENT_ONCE_VERBS and errors.is_transient(error):
            self.outages.failed(f"{verb} {what}", error, since=since, retry_after=errors.retry_after(error))
            return
        if isinstance(error, ApiException) and error.status:
            self.outages.answered()
            raise errors.from_api_exception(error, verb=verb, what=what, server=self.server) from error
        raise errors.unreachable(error, server=self.server, context=self.context) from error

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic resource for a kind; MissingKindError when the cluster does not serve it."""
        key = (api_version, kind)
        with self._discovery:
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
        """Create the object; after a lost answer, the object that try made is read back (resending.py)."""
        resource = self.resource(body["apiVersion"], body["kind"])
        self._permit("create", resource, namespace)
        what = describe(body["kind"], body.get("metadata", {}).get("name", ""), namespace)
        marked = resending.marked(body)
        attempt = resending.at_most_once(
            lambda: resource.create(body=marked, namespace=namespace),
            lambda: resending.created(self, marked, namespace),
        )
        return _dict(self.call("create", what, attempt))

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
        """Delete the object; after a lost answer, it is read back (gone or being deleted) before a new try."""
        resource = self.resource(api_version, kind)
        options: Body = {"propagationPolicy": propagation}
        self._permit("delete", resource, namespace)
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        attempt = resending.at_most_once(
            lambda: resource.delete(name=name, namespace=namespace, body=options),
            lambda: resending.deleted(self, api_version, kind, name, namespace),
        )
        self.call("delete", describe(kind, name, namespace), attempt)

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
        """Events `{"type", "object"}` from `resource_version` on; ExpiredError when it is too old (410).

        A watch that breaks (reset, stalled, refused) just ends, once the failure is counted towards the
        outage: the caller re-lists, and that list rides out the rest of the outage (watching.py).
        """
        resource = self.resource(api_version, kind)
        self._permit("watch", resource, namespace)
        what = describe(resource.name, None, namespace)
        events = watch.Watch().stream(
            resource.get,
            namespace=namespace,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            label_selector=label_selector,
            field_selector=field_selector,
            allow_watch_bookmarks=True,
            serialize=False,
            _request_timeout=(CONNECT_TIMEOUT_SECONDS, timeout_seconds + WATCH_READ_MARGIN_SECONDS),
        )
        heard = self.outages.now()
        while True:
            try:
                event = next(events, None)
            except _FAILURES as error:
                # A watch that timed out last heard from the server at its start or its last event: it has been
                # an outage since then, not since the read gave up. A refusal or reset is one from now.
                self._failed("watch", what, error, since=heard if errors.is_timeout(error) else self.outages.now())
                return
            if event is None:
                return
            heard = self.outages.now()
            self.outages.answered()
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

        def read() -> bytes:
            # The body is read inside the try: a connection cut while the log streams is an outage too.
            response: Any = core.read_namespaced_pod_log(
                name, namespace, previous=previous, _preload_content=False, **extra
            )
            return bytes(response.data)

        return self.call("read", what, read).decode("utf-8", errors="replace")

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

        Not retried: a command may have run although its answer was lost. The WebSocket client has no
        timeout of its own (a stalled connection would hang its handshake for good), so the exec runs in a
        thread of its own, on an ApiClient of its own (the WebSocket transport swaps the client's `call_api`
        while it connects), and is given up `EXEC_MARGIN_SECONDS` after `timeout_seconds`.
        """
        exec_api = _BoundedApiClient(self.api.configuration)
        core = k8s.CoreV1Api(exec_api)
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
                session.sock.shutdown()  # close() leaves the socket open once the server has closed the stream
            return ExecResult(int(session.returncode or 0), "".join(out), "".join(err))

        try:
            return self.call("exec", what, lambda: _within(run, timeout_seconds + EXEC_MARGIN_SECONDS, what=what))
        finally:
            exec_api.close()

    def version(self) -> Body:
        return _dict(self.call("read", "the server version", lambda: k8s.VersionApi(self.api).get_code()))


def _within(request: Callable[[], T], seconds: float, *, what: str) -> T:
    """`request`'s result, run in a daemon thread and given up after `seconds`: a TimeoutError then (the
    thread ends when its connection does; nothing waits for it)."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, request()))
        except BaseException as error:  # handed to the caller's thread, which raises it
            outcome.append((False, error))

    worker = threading.Thread(target=run, name=f"kfval {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise TimeoutError(f"no answer to the {what} within {seconds:g} s: the connection stalled")
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value


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
    outage_bound_seconds: float = outages.DEFAULT_BOUND_SECONDS,
    vanished: outages.Vanished | None = None,
    strict: permissions.Grants | None = None,
) -> Connection:
    """Load the configuration and prove the server answers; errors name the server and the context.

    Later outages are ridden out for up to `outage_bound_seconds`; `vanished` tells a server that will not
    come back (the embedded cluster's dead process), so the run fails at once instead of waiting that long.
    With `strict`, every request outside those grants fails before it is sent.
    """
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
        reason = " ".join(str(error).split())
        fix = (
            "run the suite in a pod with a service account, or set target.in_cluster = false"
            if in_cluster
            else "point target.kubeconfig at a file kubectl can use, and target.context at one of its contexts"
        )
        raise errors.SetupError(f"cannot load {source} (context {context!r}): {reason}; {fix}") from error
    cache_dir.mkdir(parents=True, exist_ok=True)
    configuration.retries = False  # the suite retries, in `Connection.call`: urllib3 would re-send a DELETE
    api = _BoundedApiClient(configuration)
    riding = outages.Outages(configuration.host, context_name, bound_seconds=outage_bound_seconds, vanished=vanished)
    connection = Connection(
        api,
        server=configuration.host,
        context=context_name,
        cache_file=cache_dir / "discovery.json",
        outages=riding,
        strict=strict,
    )
    connection.call("list", "the API versions", lambda: k8s.CoreApi(api).get_api_versions())
    return connection


def _current_context(kubeconfig: Path | None) -> str:
    _contexts, active = k8s_config.list_kube_config_contexts(config_file=str(kubeconfig) if kubeconfig else None)
    return str(active.get("name", "")) if active else ""
