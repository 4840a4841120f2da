"""Go's `%#v` of the core/v1 structs Kubeflow's PodDefault webhook prints in its refusals.

The webhook words a conflict as `merging env for <pd> has a conflict on <NAME>: \\n%#v\\ndoes not
match\\n%#v\\n in container`, so what a QA engineer reads in a refused pod's events is Go syntax:
`v1.EnvVar{Name:"X", Value:"a", ValueFrom:(*v1.EnvVarSource)(nil)}`. Each struct is a field table
in Go's declaration order (k8s.io/api v0.29, what the v1.9 webhook is built with). A pointer that is
set prints as an address in Go; the address here is a fixed stand-in, since no reader can use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

POINTER = "0xc000010000"
"""What a non-nil pointer prints as: Go shows a heap address, which differs on every run anyway."""

STRING, BOOL = "string", "bool"

# (Go field name, JSON name, Go type): a type starting with `*` is a pointer.
STRUCTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "EnvVar": (("Name", "name", STRING), ("Value", "value", STRING), ("ValueFrom", "valueFrom", "*v1.EnvVarSource")),
    "VolumeMount": (
        ("Name", "name", STRING),
        ("ReadOnly", "readOnly", BOOL),
        ("RecursiveReadOnly", "recursiveReadOnly", "*v1.RecursiveReadOnlyMode"),
        ("MountPath", "mountPath", STRING),
        ("SubPath", "subPath", STRING),
        ("MountPropagation", "mountPropagation", "*v1.MountPropagationMode"),
        ("SubPathExpr", "subPathExpr", STRING),
    ),
    "Toleration": (
        ("Key", "key", STRING),
        ("Operator", "operator", "v1.TolerationOperator"),
        ("Value", "value", STRING),
        ("Effect", "effect", "v1.TaintEffect"),
        ("TolerationSeconds", "tolerationSeconds", "*int64"),
    ),
    "LocalObjectReference": (("Name", "name", STRING),),
}

VOLUME_SOURCES = (
    ("HostPath", "hostPath"), ("EmptyDir", "emptyDir"), ("GCEPersistentDisk", "gcePersistentDisk"),
    ("AWSElasticBlockStore", "awsElasticBlockStore"), ("GitRepo", "gitRepo"), ("Secret", "secret"), ("NFS", "nfs"),
    ("ISCSI", "iscsi"), ("Glusterfs", "glusterfs"), ("PersistentVolumeClaim", "persistentVolumeClaim"),
    ("RBD", "rbd"), ("FlexVolume", "flexVolume"), ("Cinder", "cinder"), ("CephFS", "cephfs"), ("Flocker", "flocker"),
    ("DownwardAPI", "downwardAPI"), ("FC", "fc"), ("AzureFile", "azureFile"), ("ConfigMap", "configMap"),
    ("VsphereVolume", "vsphereVolume"), ("Quobyte", "quobyte"), ("AzureDisk", "azureDisk"),
    ("PhotonPersistentDisk", "photonPersistentDisk"), ("Projected", "projected"), ("PortworxVolume", "portworxVolume"),
    ("ScaleIO", "scaleIO"), ("StorageOS", "storageos"), ("CSI", "csi"), ("Ephemeral", "ephemeral"),
)  # fmt: skip
"""VolumeSource's pointer fields, each `(*v1.<Name>VolumeSource)`-typed, in declaration order."""

SOURCE_TYPES = {
    "GCEPersistentDisk": "GCEPersistentDiskVolumeSource", "AWSElasticBlockStore": "AWSElasticBlockStoreVolumeSource",
    "PersistentVolumeClaim": "PersistentVolumeClaimVolumeSource", "DownwardAPI": "DownwardAPIVolumeSource",
    "ConfigMap": "ConfigMapVolumeSource", "Secret": "SecretVolumeSource", "Projected": "ProjectedVolumeSource",
    "CSI": "CSIVolumeSource", "Ephemeral": "EphemeralVolumeSource", "HostPath": "HostPathVolumeSource",
    "EmptyDir": "EmptyDirVolumeSource",
}  # fmt: skip


def _field(value: Any, go_type: str) -> str:
    if go_type.startswith("*"):
        return f"({go_type})({POINTER if value is not None else 'nil'})"
    if go_type == BOOL:
        return "true" if value else "false"
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


def struct(name: str, body: Mapping[str, Any]) -> str:
    """`v1.<name>{Field:value, ...}` for one of the structs in STRUCTS."""
    fields = ", ".join(f"{go}:{_field(body.get(key), kind)}" for go, key, kind in STRUCTS[name])
    return f"v1.{name}{{{fields}}}"


def volume(body: Mapping[str, Any]) -> str:
    """`v1.Volume{Name:"x", VolumeSource:v1.VolumeSource{HostPath:(*v1.HostPathVolumeSource)(nil), ...}}`."""
    sources = ", ".join(
        f"{go}:(*v1.{SOURCE_TYPES.get(go, go + 'VolumeSource')})({POINTER if key in body else 'nil'})"
        for go, key in VOLUME_SOURCES
    )
    return f"v1.Volume{{Name:{_field(body.get('name'), STRING)}, VolumeSource:v1.VolumeSource{{{sources}}}}}"


def container(body: Mapping[str, Any]) -> str:
    """A container, by the fields that tell two apart (Go prints all forty; these are the ones that differ)."""
    command: Sequence[str] = body.get("command") or []
    shown = "[]string(nil)" if not command else "[]string{" + ", ".join(json.dumps(c) for c in command) + "}"
    name, image = _field(body.get("name"), STRING), _field(body.get("image"), STRING)
    return f"v1.Container{{Name:{name}, Image:{image}, Command:{shown}, ...}}"


def string(value: Any) -> str:
    """A Go string with `%#v`: double-quoted, escaped."""
    return _field(value, STRING)
