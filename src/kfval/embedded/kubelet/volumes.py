"""A pod's volumes as host directories, laid out where a real kubelet keeps them.

The sandbox binds each volume at its mountPath, so every kind the suite uses must become a host
path first: emptyDir as a directory that survives container restarts, Secrets and ConfigMaps as one
file per key, PVCs as their bound PersistentVolume's hostPath, the downward API and projected
service-account volumes as files. A projected serviceAccountToken is a real token of the pod's
ServiceAccount, issued by the API server's token authority as a kubelet obtains it through
TokenRequest, so a pod that talks to the API server is authorized as that account. Failures carry
the kubelet's FailedMount wording, and the pod stays in ContainerCreating exactly as on a node.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from kfval.embedded.errors import NotFoundError
from kfval.embedded.kubelet import downward
from kfval.embedded.kubelet.containers import Mount
from kfval.embedded.kubelet.environment import expand_one
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

DEFAULT_FILE_MODE = 0o644
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3607
"""What the ServiceAccount admission plugin asks for, and the API default of a projected token."""
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
READ_ONLY_PLUGIN_DIRS = frozenset(PLUGIN_DIRS[kind] for kind in ("configMap", "secret", "downwardAPI", "projected"))
_HOST_PATH_CHECKS = {"Directory": Path.is_dir, "File": Path.is_file, "Socket": Path.is_socket}
_HOST_PATH_WORDS = {"Directory": "a directory", "File": "a file", "Socket": "a socket"}

Payload = dict[str, tuple[bytes, int]]
"""Relative file path -> (content, file mode) of a volume made of files."""


class VolumeError(Exception):
    """A volume cannot be set up; `reason` and `message` are the kubelet's event words."""

    def __init__(self, message: str, *, reason: str = "FailedMount") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class _SetUpError(Exception):
    """The inner text of a `MountVolume.SetUp failed` message."""


class TokenSource(Protocol):
    """Issues service-account tokens the API server accepts (its token authority)."""

    def issue(self, account: Body, *, seconds: int) -> tuple[str, datetime]: ...


def _service_account_token(pod: Body, source: Mapping[str, Any], *, store: Store, tokens: TokenSource | None) -> bytes:
    """A fresh token of the pod's ServiceAccount, as the kubelet requests one for a projected volume."""
    namespace = pod["metadata"].get("namespace", "")
    account_name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    if tokens is None:
        raise _SetUpError("failed to fetch token: this node has no token issuer")
    try:
        account = store.get(store.catalog.lookup("", "v1", "serviceaccounts"), namespace, account_name)
    except NotFoundError as error:
        raise _SetUpError(f"failed to fetch token: {error.message}") from error
    seconds = int(source.get("expirationSeconds") or DEFAULT_TOKEN_EXPIRATION_SECONDS)
    token, _ = tokens.issue(account, seconds=seconds)
    return token.encode()


# -- payloads of file volumes ------------------------------------------------------------------


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def _object_data(store: Store, resource: str, *, namespace: str, name: str) -> dict[str, bytes] | None:
    """A Secret's or ConfigMap's keys as bytes, None when it does not exist."""
    try:
        body = store.get(store.catalog.lookup("", "v1", resource), namespace, name)
    except NotFoundError:
        return None
    data: dict[str, bytes] = {}
    if resource == "secrets":
        data.update({k: _decoded(v) for k, v in (body.get("data") or {}).items()})
        data.update({k: v.encode() for k, v in (body.get("stringData") or {}).items()})
    else:
        data.update({k: _decoded(v) for k, v in (body.get("binaryData") or {}).items()})
        data.update({k: v.encode() for k, v in (body.get("data") or {}).items()})
    return data


def _keyed_payload(source: Mapping[str, Any], *, kind: str, store: Store, namespace: str, mode: int) -> Payload:
    """configMap or secret source: one file per key, or per `items` entry."""
    name = source.get("secretName") or source.get("name") or ""
    resource = "secrets" if kind == "secret" else "configmaps"
    data = _object_data(store, resource, namespace=namespace, name=name)
    optional = bool(source.get("optional"))
    if data is None:
        if optional:
            return {}
        if kind == "configmap" and name == ROOT_CA_CONFIGMAP:
            data = {"ca.crt": b""}
        else:
            raise _SetUpError(f'{kind} "{name}" not found')
    items = source.get("items")
    if not items:
        return {key: (value, mode) for key, value in data.items()}
    payload: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            noun = "secret key" if kind == "secret" else "config key"
            raise _SetUpError(f"{kind} references non-existent {noun}: {key}")
        payload[item.get("path") or key] = (data[key], int(item.get("mode", mode)))
    return payload


def _downward_payload(pod: Body, items: list[Mapping[str, Any]], *, mode: int) -> Payload:
    payload: Payload = {}
    for item in items:
        try:
            if "fieldRef" in item:
                value = downward.field_value(pod, item["fieldRef"].get("fieldPath", ""))
            else:
                ref = item.get("resourceFieldRef") or {}
                value = downward.resource_value(
                    pod, ref.get("containerName", ""), resource=ref.get("resource", ""), divisor=ref.get("divisor")
                )
        except downward.DownwardError as error:
            raise _SetUpError(error.message) from error
        payload[item.get("path", "")] = (value.encode(), int(item.get("mode", mode)))
    return payload


def _projected_payload(
    pod: Body, source: Mapping[str, Any], *, store: Store, namespace: str, tokens: TokenSource | None
) -> Payload:
    mode = int(source.get("defaultMode", DEFAULT_FILE_MODE))
    payload: Payload = {}
    for part in source.get("sources") or []:
        if "configMap" in part:
            payload.update(
                _keyed_payload(part["configMap"], kind="configmap", store=store, namespace=namespace, mode=mode)
            )
        elif "secret" in part:
            payload.update(_keyed_payload(part["secret"], kind="secret", store=store, namespace=namespace, mode=mode))
        elif "downwardAPI" in part:
            payload.update(_downward_payload(pod, part["downwardAPI"].get("items") or [], mode=mode))
        elif "serviceAccountToken" in part:
            path = part["serviceAccountToken"].get("path") or "token"
            token_source = part["serviceAccountToken"]
            payload[path] = (_service_account_token(pod, token_source, store=store, tokens=tokens), mode)
    return payload


def _payload(pod: Body, kind: str, *, source: Mapping[str, Any], store: Store, tokens: TokenSource | None) -> Payload:
    namespace = pod["metadata"].get("namespace", "")
    mode = int(source.get("defaultMode", DEFAULT_FILE_MODE))
    if kind == "configMap":
        return _keyed_payload(source, kind="configmap", store=store, namespace=namespace, mode=mode)
    if kind == "secret":
        return _keyed_payload(source, kind="secret", store=store, namespace=namespace, mode=mode)
    if kind == "downwardAPI":
        return _downward_payload(pod, source.get("items") or [], mode=mode)
    return _projected_payload(pod, source, store=store, namespace=namespace, tokens=tokens)


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise _SetUpError(f"invalid path {path!r}: must be relative and may not contain '..'")
    return relative


def write_payload(directory: Path, payload: Payload) -> None:
    """Make `directory` hold exactly `payload`, keeping the directory itself (it may be bind-mounted)."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {directory.joinpath(*_safe_relative(path).parts): entry for path, entry in payload.items()}
    for existing in sorted(directory.rglob("*"), reverse=True):
        if existing.is_file() and existing not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(target.is_relative_to(existing) for target in wanted):
            existing.rmdir()
    for target, (content, mode) in wanted.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_bytes(content)
        target.chmod(mode & 0o777)


# -- host-backed volumes -----------------------------------------------------------------------


def _host_path(source: Mapping[str, Any]) -> Path:
    path, kind = Path(source.get("path", "")), source.get("type") or ""
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    elif kind in _HOST_PATH_CHECKS and not _HOST_PATH_CHECKS[kind](path):
        raise _SetUpError(f"hostPath type check failed: {path} is not {_HOST_PATH_WORDS[kind]}")
    return path


def _claim_path(store: Store, namespace: str, *, claim: str, volume: str) -> Path:
    """The bound PersistentVolume's directory; VolumeError while the claim is missing or Pending."""
    prefix = (
        f"Unable to attach or mount volumes: unmounted volumes=[{volume}]: error processing PVC {namespace}/{claim}"
    )
    try:
        pvc = store.get(store.catalog.lookup("", "v1", "persistentvolumeclaims"), namespace, claim)
    except NotFoundError as error:
        raise VolumeError(f"{prefix}: failed to fetch PVC from API server: {error.message}") from error
    pv_name = (pvc.get("spec") or {}).get("volumeName")
    if (pvc.get("status") or {}).get("phase") != "Bound" or not pv_name:
        raise VolumeError(f"{prefix}: PVC is not bound")
    try:
        pv = store.get(store.catalog.lookup("", "v1", "persistentvolumes"), None, pv_name)
    except NotFoundError as error:
        raise VolumeError(f"{prefix}: {error.message}") from error
    pv_spec = pv.get("spec") or {}
    path = (pv_spec.get("hostPath") or pv_spec.get("local") or {}).get("path")
    if not path:
        raise VolumeError(f"{prefix}: persistentvolume {pv_name} has no hostPath or local path")
    host = Path(path)
    host.mkdir(parents=True, exist_ok=True)
    return host


def _prepare_one(pod: Body, volume: Body, *, store: Store, pod_dir: Path, tokens: TokenSource | None) -> Path:
    name = str(volume.get("name", ""))
    namespace = pod["metadata"].get("namespace", "")
    for kind, plugin_dir in PLUGIN_DIRS.items():
        if kind in volume:
            directory = pod_dir / "volumes" / plugin_dir / name
            if kind == "emptyDir":
                directory.mkdir(parents=True, exist_ok=True)
            else:
                payload = _payload(pod, kind, source=volume[kind] or {}, store=store, tokens=tokens)
                write_payload(directory, payload)
            return directory
    if "hostPath" in volume:
        return _host_path(volume["hostPath"])
    if "persistentVolumeClaim" in volume:
        return _claim_path(store, namespace, claim=volume["persistentVolumeClaim"].get("claimName", ""), volume=name)
    if "ephemeral" in volume:
        return _claim_path(store, namespace, claim=f"{pod['metadata']['name']}-{name}", volume=name)
    kinds = sorted(key for key in volume if key != "name")
    raise _SetUpError(f"volume type {kinds} is not supported by the embedded kubelet")


async def prepare_volumes(
    pod: Body, *, store: Store, pod_dir: Path, tokens: TokenSource | None = None
) -> dict[str, Path]:
    """Set up every volume of the pod; volume name -> host path. Raises VolumeError (FailedMount).

    Without `tokens`, a projected serviceAccountToken cannot be set up (FailedMount).
    """
    prepared: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name", "")
        try:
            prepared[name] = _prepare_one(pod, volume, store=store, pod_dir=pod_dir, tokens=tokens)
        except _SetUpError as error:
            raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {error}') from error
        except OSError as error:
            raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {error}') from error
    return prepared


def _sub_path_expr(expression: str, env: Mapping[str, str]) -> str:
    """subPathExpr expanded as the kubelet does: a reference to an unset or empty variable is an error."""
    missing: set[str] = set()

    def look_up(name: str) -> str:
        if not env.get(name):
            missing.add(name)
        return env.get(name, "")

    expanded = expand_one(expression, look_up)
    if missing:
        raise VolumeError(f"missing value for {', '.join(sorted(missing))}", reason="CreateContainerConfigError")
    return expanded


def mounts_for(
    container: Body, volumes: Mapping[str, Path], *, env: Mapping[str, str] | None = None
) -> tuple[Mount, ...]:
    """The container's volumeMounts as binds; subPath (or subPathExpr against `env`) applied.

    Secret, ConfigMap, downward API and projected volumes are read-only, as on a real node.
    """
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        name = mount.get("name", "")
        if name not in volumes:
            raise VolumeError(f'volumeMount "{name}" of container "{container.get("name")}" has no volume')
        base = volumes[name]
        sub = mount.get("subPath") or _sub_path_expr(mount.get("subPathExpr") or "", env or {})
        plugin_read_only = base.parent.name in READ_ONLY_PLUGIN_DIRS
        source = base.joinpath(*PurePosixPath(sub).parts) if sub else base
        if sub and not plugin_read_only and not source.exists():
            source.mkdir(parents=True, exist_ok=True)
        read_only = bool(mount.get("readOnly")) or plugin_read_only
        mounts.append(Mount(source=source, target=mount.get("mountPath", ""), read_only=read_only))
    return tuple(mounts)


class NodeVolumes:
    """The node's volume plugin: `prepare_volumes` with the cluster's token issuer, `mounts_for` as is."""

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens

    async def prepare_volumes(self, pod: Body, *, store: Store, pod_dir: Path) -> dict[str, Path]:
        return await prepare_volumes(pod, store=store, pod_dir=pod_dir, tokens=self._tokens)

    def mounts_for(
        self, container: Body, volumes: Mapping[str, Path], *, env: Mapping[str, str] | None = None
    ) -> tuple[Mount, ...]:
        return mounts_for(container, volumes, env=env)
