"""Volumes become host directories laid out as a kubelet lays them out."""

from __future__ import annotations

import asyncio
import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.apiserver import auth
from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import volumes
from kfval.embedded.kubelet.volumes import VolumeError, mounts_for, prepare_volumes
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

NS = "team"


@pytest.fixture
def store() -> Store:
    store = Store(Catalog(), SystemClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": NS}})
    return store


def _create(store: Store, resource: str, body: Body, *, namespace: str | None = NS) -> Body:
    return store.create(store.catalog.lookup("", "v1", resource), body, namespace=namespace)


def _prepare(pod: Body, *, store: Store, pod_dir: Path) -> dict[str, Path]:
    return asyncio.run(prepare_volumes(pod, store=store, pod_dir=pod_dir))


def _pod(*vols: Body, **meta: Any) -> Body:
    return {
        "metadata": {"name": "p", "namespace": NS, "uid": "uid-1", "labels": {"b": "2", "a": 'say "hi"'}, **meta},
        "spec": {"containers": [{"name": "main", "resources": {"limits": {"memory": "64Mi"}}}], "volumes": list(vols)},
    }


def test_empty_dir_survives_a_second_preparation(store: Store, tmp_path: Path) -> None:
    pod = _pod({"name": "scratch", "emptyDir": {"medium": "Memory"}})
    prepared = _prepare(pod, store=store, pod_dir=tmp_path)
    assert prepared["scratch"] == tmp_path / "volumes" / "kubernetes.io~empty-dir" / "scratch"
    (prepared["scratch"] / "checkpoint").write_text("epoch 3")
    again = _prepare(pod, store=store, pod_dir=tmp_path)
    assert (again["scratch"] / "checkpoint").read_text() == "epoch 3"


def test_secret_files_are_decoded_with_modes(store: Store, tmp_path: Path) -> None:
    data = {"user": base64.b64encode(b"admin").decode(), "pass": base64.b64encode(b"pw\n").decode()}
    _create(store, "secrets", {"metadata": {"name": "creds"}, "data": data})
    pod = _pod(
        {"name": "all", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {"name": "some", "secret": {"secretName": "creds", "items": [{"key": "pass", "path": "dir/p", "mode": 0o600}]}},
    )
    prepared = _prepare(pod, store=store, pod_dir=tmp_path)
    assert prepared["all"].parent.name == "kubernetes.io~secret"
    assert (prepared["all"] / "user").read_bytes() == b"admin"
    assert stat.S_IMODE((prepared["all"] / "user").stat().st_mode) == 0o400
    assert sorted(p.name for p in prepared["some"].iterdir()) == ["dir"]
    assert (prepared["some"] / "dir" / "p").read_bytes() == b"pw\n"
    assert stat.S_IMODE((prepared["some"] / "dir" / "p").stat().st_mode) == 0o600


def test_configmap_files_and_stale_keys_removed(store: Store, tmp_path: Path) -> None:
    cm = _create(store, "configmaps", {"metadata": {"name": "cfg"}, "data": {"a.yaml": "x: 1", "b": "2"}})
    pod = _pod({"name": "cfg", "configMap": {"name": "cfg"}})
    prepared = _prepare(pod, store=store, pod_dir=tmp_path)
    assert (prepared["cfg"] / "a.yaml").read_text() == "x: 1"
    assert stat.S_IMODE((prepared["cfg"] / "b").stat().st_mode) == 0o644
    cm["data"] = {"a.yaml": "x: 2"}
    store.replace(store.catalog.lookup("", "v1", "configmaps"), cm)
    _prepare(pod, store=store, pod_dir=tmp_path)
    assert sorted(p.name for p in prepared["cfg"].iterdir()) == ["a.yaml"]
    assert (prepared["cfg"] / "a.yaml").read_text() == "x: 2"


def test_missing_secret_fails_mount_in_kubelet_words(store: Store, tmp_path: Path) -> None:
    pod = _pod({"name": "x", "secret": {"secretName": "y"}})
    with pytest.raises(VolumeError) as caught:
        _prepare(pod, store=store, pod_dir=tmp_path)
    assert caught.value.reason == "FailedMount"
    assert caught.value.message == 'MountVolume.SetUp failed for volume "x" : secret "y" not found'


def test_optional_missing_configmap_is_an_empty_dir(store: Store, tmp_path: Path) -> None:
    pod = _pod({"name": "x", "configMap": {"name": "nope", "optional": True}})
    prepared = _prepare(pod, store=store, pod_dir=tmp_path)
    assert list(prepared["x"].iterdir()) == []


def test_missing_item_key_fails(store: Store, tmp_path: Path) -> None:
    _create(store, "configmaps", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    pod = _pod({"name": "x", "configMap": {"name": "cfg", "items": [{"key": "zz", "path": "zz"}]}})
    with pytest.raises(VolumeError, match="configmap references non-existent config key: zz"):
        _prepare(pod, store=store, pod_dir=tmp_path)


def test_downward_api_files(store: Store, tmp_path: Path) -> None:
    items = [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "main", "resource": "limits.memory", "divisor": "1Mi"}},
    ]
    prepared = _prepare(_pod({"name": "info", "downwardAPI": {"items": items}}), store=store, pod_dir=tmp_path)
    assert (prepared["info"] / "name").read_text() == "p"
    assert (prepared["info"] / "labels").read_text() == 'a="say \\"hi\\""\nb="2"'
    assert (prepared["info"] / "mem").read_text() == "64"


def test_projected_kube_api_access(store: Store, tmp_path: Path) -> None:
    _create(store, "serviceaccounts", {"metadata": {"name": "runner"}})
    _create(store, "configmaps", {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "PEM"}})
    authority = auth.TokenAuthority("admin-token", store)
    sources = [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]
    pod = _pod({"name": "kube-api-access-abcde", "projected": {"sources": sources, "defaultMode": 420}})
    pod["spec"]["serviceAccountName"] = "runner"
    prepared = asyncio.run(volumes.NodeVolumes(authority).prepare_volumes(pod, store=store, pod_dir=tmp_path))
    directory = prepared["kube-api-access-abcde"]
    assert directory.parent.name == "kubernetes.io~projected"
    assert authority.user_of((directory / "token").read_text()).name == f"system:serviceaccount:{NS}:runner"
    assert (directory / "namespace").read_text() == NS
    assert (directory / "ca.crt").read_text() == "PEM"


def test_a_projected_token_waits_for_its_service_account(store: Store, tmp_path: Path) -> None:
    sources = [{"serviceAccountToken": {"path": "token"}}]
    pod = _pod({"name": "kube-api-access-abcde", "projected": {"sources": sources}})
    node = volumes.NodeVolumes(auth.TokenAuthority("admin-token", store))
    with pytest.raises(VolumeError, match='failed to fetch token: serviceaccounts "default" not found'):
        asyncio.run(node.prepare_volumes(pod, store=store, pod_dir=tmp_path))


def test_pvc_resolves_to_bound_volume_host_path(store: Store, tmp_path: Path) -> None:
    pvc_rt = store.catalog.lookup("", "v1", "persistentvolumeclaims")
    target = tmp_path / "pv-data"
    _create(
        store,
        "persistentvolumes",
        {"metadata": {"name": "pv-1"}, "spec": {"hostPath": {"path": str(target)}}},
        namespace=None,
    )
    claim = _create(store, "persistentvolumeclaims", {"metadata": {"name": "data"}, "spec": {}})
    pod = _pod({"name": "d", "persistentVolumeClaim": {"claimName": "data"}})
    with pytest.raises(VolumeError, match=f"error processing PVC {NS}/data: PVC is not bound"):
        _prepare(pod, store=store, pod_dir=tmp_path)
    claim["spec"]["volumeName"] = "pv-1"
    claim = store.replace(pvc_rt, claim)
    claim["status"] = {"phase": "Bound"}
    store.replace(pvc_rt, claim, subresource="status")
    prepared = _prepare(pod, store=store, pod_dir=tmp_path)
    assert prepared["d"] == target
    assert target.is_dir()


def test_missing_pvc(store: Store, tmp_path: Path) -> None:
    pod = _pod({"name": "d", "persistentVolumeClaim": {"claimName": "nope"}})
    with pytest.raises(VolumeError, match='persistentvolumeclaims "nope" not found'):
        _prepare(pod, store=store, pod_dir=tmp_path)


def test_host_path_types(store: Store, tmp_path: Path) -> None:
    made = tmp_path / "made" / "deep"
    pod = _pod({"name": "h", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}})
    assert (_prepare(pod, store=store, pod_dir=tmp_path))["h"] == made
    assert made.is_dir()
    bad = _pod({"name": "h", "hostPath": {"path": str(tmp_path / "absent"), "type": "Directory"}})
    with pytest.raises(VolumeError, match=r"hostPath type check failed: .* is not a directory"):
        _prepare(bad, store=store, pod_dir=tmp_path)


def test_mounts_apply_sub_path_and_read_only(tmp_path: Path) -> None:
    config = tmp_path / "volumes" / "kubernetes.io~configmap" / "cfg"
    scratch = tmp_path / "volumes" / "kubernetes.io~empty-dir" / "scratch"
    config.mkdir(parents=True)
    scratch.mkdir(parents=True)
    container = {
        "name": "c",
        "volumeMounts": [
            {"name": "cfg", "mountPath": "/etc/app/a.yaml", "subPath": "a.yaml"},
            {"name": "scratch", "mountPath": "/work"},
            {"name": "scratch", "mountPath": "/out", "subPathExpr": "$(POD)/out", "readOnly": True},
        ],
    }
    mounts = mounts_for(container, {"cfg": config, "scratch": scratch}, env={"POD": "p-0"})
    assert [(m.source, m.target, m.read_only) for m in mounts] == [
        (config / "a.yaml", "/etc/app/a.yaml", True),
        (scratch, "/work", False),
        (scratch / "p-0" / "out", "/out", True),
    ]
    assert (scratch / "p-0" / "out").is_dir()


def test_sub_path_expr_with_unset_variable_fails(tmp_path: Path) -> None:
    container = {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPathExpr": "$(NOPE)"}]}
    with pytest.raises(VolumeError, match="missing value for NOPE"):
        mounts_for(container, {"v": tmp_path}, env={})
