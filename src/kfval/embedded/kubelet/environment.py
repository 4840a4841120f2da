"""A container's environment, resolved exactly as the kubelet resolves it.

Training jobs, notebooks and the suite's own images read their configuration from env: envFrom,
`$(VAR)` references, Secret and ConfigMap keys, the downward API and the Docker-style service link
variables. A missing Secret or key stops the container with CreateContainerConfigError and the
kubelet's own wording, so a scenario that checks for it reads the same text as on a real node.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kfval.embedded.errors import NotFoundError
from kfval.embedded.kubelet import downward
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

_OPERATOR, _OPENER, _CLOSER = "$", "(", ")"
API_SERVICE_NAMESPACE = "default"
API_SERVICE_NAME = "kubernetes"


class ContainerConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError); `message` is the kubelet's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- $(VAR) expansion --------------------------------------------------------------------------


def _read_reference(text: str) -> tuple[str, bool, int]:
    """After a `$`: (what was read, whether it is a variable name, how many characters it used)."""
    first = text[0]
    if first == _OPERATOR:
        return _OPERATOR, False, 1
    if first == _OPENER:
        closer = text.find(_CLOSER, 1)
        if closer >= 0:
            return text[1:closer], True, closer + 1
        return _OPERATOR + _OPENER, False, 1
    return _OPERATOR + first, False, 1


def expand_one(text: str, mapping: Callable[[str], str]) -> str:
    """Kubernetes' `$(VAR)` expansion: `$$` escapes, unresolvable references stay as written."""
    out: list[str] = []
    checkpoint, cursor = 0, 0
    while cursor < len(text):
        if text[cursor] == _OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_reference(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _mapping(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    def look_up(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"{_OPERATOR}{_OPENER}{name}{_CLOSER}"

    return look_up


def expand(values: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Expand `$(VAR)` in a container's command or args against its final environment."""
    mapping = _mapping(env)
    return [expand_one(value, mapping) for value in values]


# -- Secrets and ConfigMaps --------------------------------------------------------------------


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def _secret_data(secret: Body) -> dict[str, str]:
    data = {key: _decode(value) for key, value in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def _configmap_data(configmap: Body) -> dict[str, str]:
    data = {key: _decode(value) for key, value in (configmap.get("binaryData") or {}).items()}
    data.update(configmap.get("data") or {})
    return data


class _Sources:
    """Secrets and ConfigMaps of the pod's namespace, each read once per resolution."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store = store
        self._namespace = namespace
        self._cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def data(self, kind: str, name: str, *, optional: bool) -> dict[str, str] | None:
        """The decoded data; None when absent and optional, ContainerConfigError when absent."""
        if (kind, name) not in self._cache:
            resource = "secrets" if kind == "Secret" else "configmaps"
            rt = self._store.catalog.lookup("", "v1", resource)
            try:
                body = self._store.get(rt, self._namespace, name)
            except NotFoundError:
                self._cache[(kind, name)] = None
            else:
                read = _secret_data if kind == "Secret" else _configmap_data
                self._cache[(kind, name)] = read(body)
        found = self._cache[(kind, name)]
        if found is None and not optional:
            raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
        return found

    def key(self, kind: str, ref: Mapping[str, Any]) -> str | None:
        """The value of one key (secretKeyRef/configMapKeyRef); None when skipped as optional."""
        optional = bool(ref.get("optional"))
        data = self.data(kind, ref.get("name", ""), optional=optional)
        if data is None:
            return None
        key = ref.get("key", "")
        if key not in data:
            if optional:
                return None
            raise ContainerConfigError(f"couldn't find key {key} in {kind} {self._namespace}/{ref.get('name', '')}")
        return data[key]


# -- service links -----------------------------------------------------------------------------


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(service: Body) -> dict[str, str]:
    """The `<SVC>_SERVICE_HOST`/`<SVC>_PORT_...` variables of one Service with a cluster IP."""
    spec = service.get("spec") or {}
    ip, ports = spec.get("clusterIP") or "", spec.get("ports") or []
    if ip in ("", "None") or not ports:
        return {}
    prefix = _env_name(service["metadata"]["name"])
    host = f"[{ip}]" if ":" in ip else ip
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(ports[0].get("port"))}
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
    for index, port in enumerate(ports):
        proto = (port.get("protocol") or "TCP").lower()
        url = f"{proto}://{host}:{port.get('port')}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        link = f"{prefix}_PORT_{port.get('port')}_{proto.upper()}"
        env.update({link: url, f"{link}_PROTO": proto, f"{link}_PORT": str(port.get("port")), f"{link}_ADDR": ip})
    return env


def service_links(
    pod: Body, *, store: Store, api_host: str | None = None, api_port: int | None = None
) -> dict[str, str]:
    """Service variables a pod sees: its namespace's Services (unless disabled) and the API server's."""
    env: dict[str, str] = {}
    namespace = pod["metadata"].get("namespace", "")
    if (pod.get("spec") or {}).get("enableServiceLinks") is not False:
        rt = store.catalog.lookup("", "v1", "services")
        services, _ = store.list(rt, namespace)
        for service in services:
            if namespace == API_SERVICE_NAMESPACE and service["metadata"]["name"] == API_SERVICE_NAME:
                continue
            env.update(service_env(service))
    if api_host and api_port:
        api = {
            "metadata": {"name": API_SERVICE_NAME},
            "spec": {"clusterIP": api_host, "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]},
        }
        env.update(service_env(api))
    return env


# -- the whole environment ---------------------------------------------------------------------


def _env_from(container: Body, sources: _Sources) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(field)
            if ref is None:
                continue
            data = sources.data(kind, ref.get("name", ""), optional=bool(ref.get("optional")))
            for key, value in (data or {}).items():
                if "=" not in key:
                    env[prefix + key] = value
    return env


def _value_from(
    container: Body, source: Mapping[str, Any], *, pod: Body, sources: _Sources, options: Mapping[str, Any]
) -> str | None:
    try:
        if "fieldRef" in source:
            path = source["fieldRef"].get("fieldPath", "")
            return downward.field_value(pod, path, pod_ips=options["pod_ips"], host_ip=options["host_ip"])
        if "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            return downward.resource_value(
                pod,
                ref.get("containerName") or container.get("name", ""),
                resource=ref.get("resource", ""),
                divisor=ref.get("divisor"),
                node_allocatable=options["node_allocatable"],
            )
    except downward.DownwardError as error:
        raise ContainerConfigError(error.message) from error
    if "secretKeyRef" in source:
        return sources.key("Secret", source["secretKeyRef"])
    if "configMapKeyRef" in source:
        return sources.key("ConfigMap", source["configMapKeyRef"])
    return ""


def resolve_env(
    pod: Body,
    container: Body,
    *,
    store: Store,
    node_allocatable: Mapping[str, str] = downward.DEFAULT_NODE_ALLOCATABLE,
    api_host: str | None = None,
    api_port: int | None = None,
    pod_ips: Sequence[str] | None = None,
    host_ip: str | None = None,
) -> dict[str, str]:
    """envFrom, then env in order (`$(VAR)` against what came before and the service links), then service links.

    `pod_ips` and `host_ip` stand in for status fields the store may not show yet when the
    container starts. Raises ContainerConfigError when a required Secret, ConfigMap or key is missing.
    """
    sources = _Sources(store, pod["metadata"].get("namespace", ""))
    links = service_links(pod, store=store, api_host=api_host, api_port=api_port)
    env = _env_from(container, sources)
    mapping = _mapping(env, links)
    options = {"pod_ips": pod_ips, "host_ip": host_ip, "node_allocatable": node_allocatable}
    for var in container.get("env") or []:
        value = var.get("value") or ""
        if value:
            value = expand_one(value, mapping)
        elif var.get("valueFrom"):
            resolved = _value_from(container, var["valueFrom"], pod=pod, sources=sources, options=options)
            if resolved is None:
                continue
            value = resolved
        env[var["name"]] = value
    for name, value in links.items():
        env.setdefault(name, value)
    return env


class NodeEnvironment:
    """`resolve_env` as this node calls it: with where its pods reach the API server, as the kubelet
    adds `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` for in-cluster clients."""

    def __init__(self, *, api_host: str, api_port: int) -> None:
        self.api_host = api_host
        self.api_port = api_port

    def resolve_env(
        self,
        pod: Body,
        container: Body,
        *,
        store: Store,
        pod_ips: Sequence[str] | None = None,
        host_ip: str | None = None,
    ) -> dict[str, str]:
        return resolve_env(
            pod,
            container,
            store=store,
            api_host=self.api_host,
            api_port=self.api_port,
            pod_ips=pod_ips,
            host_ip=host_ip,
        )

    def expand(self, values: Sequence[str], env: Mapping[str, str]) -> list[str]:
        return expand(values, env)
