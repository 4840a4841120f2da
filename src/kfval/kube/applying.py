"""Put a scenario's manifests into its namespace so that everything they create can be found and removed.

Applying is server-side (`kubectl apply --server-side --force-conflicts`), in document order; an object
named by `generateName` alone is created instead, as `kubectl create` does. Before
anything is sent, every kind is resolved through discovery, so a manifest for a component the
cluster lacks fails at once and names the file, the line and the component to install. Each object
gets the scenario's namespace and the run's labels; the labels also go into every pod template the
object carries, so the pods a controller makes (Deployment, Job, PyTorchJob, TFJob, Notebook...) are
labelled as well and the janitor can find them. A rejection by the cluster keeps its type
(InvalidError), so a step can expect one, and its message names the document.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kfval.kube import client, errors
from kfval.kube.manifests import Document

DEFAULT_TIMEOUT_SECONDS = 30.0
"""How long a kind defined by a CustomResourceDefinition of the same manifest may take to be served."""
CRD_DISCOVERY_PAUSE_SECONDS = 0.5
_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
LABELS_COPIED_TO_PODS = frozenset({("kubeflow.org", "Notebook")})
"""Kinds whose pod template declares no `metadata` (server-side apply refuses one there) and whose
controller copies the object's own labels onto its pods: only the object itself is labelled."""


@dataclass(frozen=True)
class Applied:
    """One object the cluster accepted: enough to read it back or delete it."""

    api_version: str
    kind: str
    name: str
    namespace: str | None


def apply(
    conn: client.Connection,
    documents: Sequence[Document],
    *,
    namespace: str,
    labels: Mapping[str, str],
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    field_manager: str = "kfval",
) -> list[Applied]:
    """Apply the documents into `namespace` with `labels`; nothing is sent if a kind is not served.

    `timeout_seconds` (radish.ini `timeouts.apply`) bounds the wait for a kind that a
    CustomResourceDefinition earlier in the same manifest introduces.
    """
    defined_here = {_defined_kind(document.body) for document in documents} - {None}
    kinds = {
        index: _served_kind(conn, document)
        for index, document in enumerate(documents)
        if _group_kind(document.body) not in defined_here
    }
    applied: list[Applied] = []
    for index, document in enumerate(documents):
        kind = kinds[index] if index in kinds else _served_kind_after_crd(conn, document, timeout_seconds)
        body = labelled(document, kind=kind, namespace=namespace, labels=labels)
        target = namespace if kind.namespaced else None
        try:
            name = _send(conn, body, target, field_manager=field_manager)
        except errors.InvalidError as error:
            message = (
                f'{document.where}: the cluster refused {kind.kind} "{_shown_name(body)}": {_server_message(error)}'
            )
            raise errors.InvalidError(message, status=error.status, reason=error.reason) from error
        applied.append(Applied(kind.api_version, kind.kind, name, target))
    return applied


def _send(conn: client.Connection, body: client.Body, namespace: str | None, *, field_manager: str) -> str:
    """Apply the object server-side; one named by `generateName` alone is created (POST), as `kubectl create`
    does and as Kubeflow's SDKs send theirs, since a name the server has yet to make cannot be applied.
    Returns the object's name."""
    metadata = body["metadata"]
    if "name" not in metadata and metadata.get("generateName"):
        return str(conn.create(body, namespace)["metadata"]["name"])
    conn.apply(body, namespace, field_manager=field_manager)
    return str(metadata["name"])


def _shown_name(body: client.Body) -> str:
    metadata = body.get("metadata") or {}
    return str(metadata.get("name") or f"{metadata.get('generateName', '')}*")


def labelled(document: Document, *, kind: client.Kind, namespace: str, labels: Mapping[str, str]) -> client.Body:
    """A copy of the document's body placed in `namespace` (when namespaced) and carrying `labels`.

    The run's labels win over labels of the same key in the manifest: cleanup depends on them.
    """
    body = copy.deepcopy(document.body)
    metadata = body.setdefault("metadata", {})
    written = metadata.get("namespace")
    if not kind.namespaced:
        metadata.pop("namespace", None)
    elif written not in (None, namespace):
        raise errors.ManifestError(
            f'{document.where}: {kind.kind} "{_shown_name(body)}" names namespace "{written}", but the scenario '
            f'owns namespace "{namespace}"; remove metadata.namespace (the suite sets it)'
        )
    else:
        metadata["namespace"] = namespace
    _merge_labels(metadata, labels)
    if (kind.api_version.split("/")[0], kind.kind) not in LABELS_COPIED_TO_PODS:
        _label_templates({key: value for key, value in body.items() if key != "metadata"}, labels)
    return body


def secret_values(documents: Sequence[Document]) -> list[str]:
    """Every value a Secret in the documents holds, decoded and as written, for the report's redaction."""
    values: dict[str, None] = {}
    for document in documents:
        body = document.body
        if body.get("kind") != "Secret" or body.get("apiVersion") != "v1":
            continue
        for encoded in _string_values(body.get("data")):
            values[encoded] = None
            decoded = _base64_text(encoded)
            if decoded is not None:
                values[decoded] = None
        for plain in _string_values(body.get("stringData")):
            values[plain] = None
    return [value for value in values if value]


def _served_kind(conn: client.Connection, document: Document) -> client.Kind:
    api_version, kind = document.body["apiVersion"], document.body["kind"]
    try:
        return conn.kind(api_version, kind)
    except errors.MissingKindError as error:
        raise errors.MissingKindError(f"{document.where}: {client.missing_kind_message(api_version, kind)}") from error


def _served_kind_after_crd(conn: client.Connection, document: Document, timeout_seconds: float) -> client.Kind:
    """A kind whose CustomResourceDefinition came earlier in the same manifest: discovery may lag behind."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            return _served_kind(conn, document)
        except errors.MissingKindError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(CRD_DISCOVERY_PAUSE_SECONDS)


def _group_kind(body: client.Body) -> tuple[str, str]:
    return str(body["apiVersion"]).rpartition("/")[0], str(body["kind"])


def _defined_kind(body: client.Body) -> tuple[str, str] | None:
    """The (group, kind) a CustomResourceDefinition document introduces, if the document is one."""
    if _group_kind(body) != _CRD:
        return None
    spec = body.get("spec")
    names = spec.get("names") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(names, dict):
        return None
    return str(spec.get("group", "")), str(names.get("kind", ""))


def _merge_labels(metadata: dict[str, Any], labels: Mapping[str, str]) -> None:
    existing = metadata.get("labels")
    metadata["labels"] = {**(existing if isinstance(existing, dict) else {}), **labels}


def _label_templates(node: object, labels: Mapping[str, str]) -> None:
    """Label every pod template below `node`: any mapping under a key `template` that holds a `spec`."""
    if isinstance(node, list):
        for item in node:
            _label_templates(item, labels)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "template" and isinstance(value, dict) and "spec" in value:
            metadata = value.get("metadata")
            if not isinstance(metadata, dict):
                metadata = value["metadata"] = {}
            _merge_labels(metadata, labels)
        _label_templates(value, labels)


def _string_values(section: object) -> list[str]:
    return [str(value) for value in section.values() if value is not None] if isinstance(section, dict) else []


def _base64_text(encoded: str) -> str | None:
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _server_message(error: errors.InvalidError) -> str:
    """The API server's own words (`Pod "x" is invalid: spec.containers[0].image: Required value`).

    The Status body travels on the client's exception that caused the InvalidError; without it the
    suite's message is the best there is.
    """
    body = getattr(error.__cause__, "body", None)
    try:
        status: Any = json.loads(body) if body else None
    except (TypeError, ValueError):
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return str(error)
