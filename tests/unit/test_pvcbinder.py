"""The persistentvolume binder against a real store and a real directory: provisioning, binding, reclaiming."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.pvcbinder import PvcBinderController
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body
from tests.support.cluster import Harness, running
from tests.support.loop import on_loop
from tests.support.polling import eventually

real_rmtree = shutil.rmtree


def claim(name: str, *, storage_class: str | None = None, modes: tuple[str, ...] = ("ReadWriteMany",)) -> Body:
    spec: Body = {"accessModes": list(modes), "resources": {"requests": {"storage": "2Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": spec}


def binder(volumes_dir: Path) -> Callable[[Store, Clock], PvcBinderController]:
    def factory(store: Store, clock: Clock) -> PvcBinderController:
        return PvcBinderController(store, clock, volumes_dir)

    return factory


def phase(h: Harness, name: str) -> str | None:
    body = h.store.get(h.pvcs, "vol", name)
    return (body.get("status") or {}).get("phase")


@on_loop
async def test_claim_is_provisioned_bound_and_reclaimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    removers: list[int] = []

    def remove_tree(path: str | Path, ignore_errors: bool = False) -> None:
        removers.append(threading.get_ident())
        real_rmtree(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(shutil, "rmtree", remove_tree)
    async with running(binder(tmp_path)) as h:
        store = h.store
        claims, volumes, pods = h.rt("persistentvolumeclaims"), h.rt("persistentvolumes"), h.rt("pods")
        storage_class = store.get(h.rt("storageclasses", "storage.k8s.io/v1"), None, "standard")
        assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        h.make_namespace("vol")
        created = store.create(claims, claim("data"), namespace="vol")
        await eventually(lambda: phase(h, "data") == "Bound", "claim Bound")

        bound = store.get(claims, "vol", "data")
        pv_name = f"pvc-{created['metadata']['uid']}"
        assert bound["spec"]["volumeName"] == pv_name
        assert bound["spec"]["storageClassName"] == "standard"
        assert bound["status"]["capacity"] == {"storage": "2Gi"}
        assert bound["status"]["accessModes"] == ["ReadWriteMany"]
        assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
        assert bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
        pv = store.get(volumes, None, pv_name)
        assert pv["status"]["phase"] == "Bound"
        assert pv["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert pv["spec"]["hostPath"] == {"path": str(tmp_path / pv_name), "type": "DirectoryOrCreate"}
        assert (tmp_path / pv_name).is_dir()

        user = {
            "metadata": {"name": "user"},
            "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]},
        }
        store.create(pods, user, namespace="vol")
        store.delete(claims, "vol", "data")
        await h.settle()
        assert store.exists(claims, "vol", "data"), "pvc-protection keeps a claim a pod still uses"
        assert (tmp_path / pv_name).is_dir()
        store.delete(pods, "vol", "user")
        await eventually(lambda: h.gone(claims, "vol", "data"), "claim deleted")
        await eventually(lambda: h.gone(volumes, None, pv_name), "volume reclaimed")
        await eventually(lambda: not (tmp_path / pv_name).exists(), "directory removed")
        assert removers, "the directory was removed"
        assert threading.get_ident() not in removers, "rmtree ran on the event loop's thread"


@on_loop
async def test_unknown_storage_class_leaves_the_claim_pending(tmp_path: Path) -> None:
    async with running(binder(tmp_path)) as h:
        store = h.store
        events = h.rt("events")
        h.make_namespace("vol")
        store.create(h.rt("persistentvolumeclaims"), claim("fast", storage_class="fast"), namespace="vol")

        def failures() -> list[Body]:
            items, _ = store.list(events, "vol", lambda e: e["reason"] == "ProvisioningFailed")
            return items

        (event,) = await eventually(failures, "ProvisioningFailed event")
        assert event["type"] == "Warning"
        assert event["message"] == 'storageclass.storage.k8s.io "fast" not found'
        assert phase(h, "fast") == "Pending"
        assert not list(tmp_path.iterdir())

        fast = {"metadata": {"name": "fast"}, "provisioner": "kfval.dev/hostpath", "reclaimPolicy": "Retain"}
        store.create(h.rt("storageclasses", "storage.k8s.io/v1"), fast)
        await eventually(lambda: phase(h, "fast") == "Bound", "bound once the class exists")


@on_loop
async def test_a_class_that_does_not_offer_an_access_mode_leaves_the_claim_pending_and_says_why(tmp_path: Path) -> None:
    async with running(binder(tmp_path), namespace="vol") as h:
        classes = h.rt("storageclasses", "storage.k8s.io/v1")
        body = {
            "metadata": {"name": "local-rwo"},
            "provisioner": "kfval.dev/hostpath",
            "parameters": {"accessModes": "ReadWriteOnce"},
        }
        h.store.create(classes, body)
        h.store.create(h.pvcs, claim("shared", storage_class="local-rwo"), namespace="vol")
        h.store.create(h.pvcs, claim("own", storage_class="local-rwo", modes=("ReadWriteOnce",)), namespace="vol")
        await eventually(lambda: phase(h, "own") == "Bound", "the RWO claim bound")
        await h.settle()
        assert phase(h, "shared") == "Pending"
        assert (
            "ProvisioningFailed",
            'failed to provision volume with StorageClass "local-rwo": access mode ReadWriteMany is not supported '
            "(supported: ReadWriteOnce)",
        ) in h.reasons()
