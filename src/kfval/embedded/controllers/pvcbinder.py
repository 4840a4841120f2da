"""Provisions and binds volumes for PersistentVolumeClaims, as the persistentvolume-binder controller does.

Notebooks and training jobs mount claims and wait for them to be Bound. A claim of a class whose
provisioner is `kfval.dev/hostpath` (the default `standard`) gets a PersistentVolume backed by a
directory that the kubelet mounts for every pod of the claim, so RWX and RWO behave alike. A deleted
claim releases its volume; with reclaimPolicy Delete the volume and its directory go too, but only
once no pod uses the claim (the `kubernetes.io/pvc-protection` finalizer, as the real server does).
Removing a volume's directory can take long (a dataset, a checkpoint), so it happens off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from kfval.embedded.clock import Clock
from kfval.embedded.controllers.reactor import Watched, is_being_deleted, own_key
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.errors import AlreadyExistsError, NotFoundError
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body, ObjectKey, ResourceKey, WatchEvent

log = logging.getLogger(__name__)

PROVISIONER = "kfval.dev/hostpath"
DEFAULT_STORAGE_CLASS = "standard"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
ACCESS_MODES_PARAMETER = "accessModes"
"""A class's `parameters.accessModes` (comma-separated) restricts what it provisions, as a real
provisioner offers only some modes (local-path: ReadWriteOnce); without it every mode is offered."""
_CLAIMS = ResourceKey("", "persistentvolumeclaims")
_VOLUMES = ResourceKey("", "persistentvolumes")
_CLAIM_REF = ("namespace", "name", "uid", "resourceVersion")


def claims_of_pod(event: WatchEvent) -> list[ObjectKey]:
    """A pod coming or going may hold up the deletion of the claims it mounts."""
    volumes = (event.object.get("spec") or {}).get("volumes") or []
    names = [(v.get("persistentVolumeClaim") or {}).get("claimName") for v in volumes]
    return [ObjectKey(_CLAIMS, event.object["metadata"].get("namespace", ""), name) for name in names if name]


def claim_of_volume(event: WatchEvent) -> list[ObjectKey]:
    ref = (event.object.get("spec") or {}).get("claimRef") or {}
    claim = [ObjectKey(_CLAIMS, ref["namespace"], ref["name"])] if ref.get("name") else []
    return [*own_key(event), *claim]


class PvcBinderController:
    """Provisions a hostPath PersistentVolume per claim, binds the two, and reclaims released volumes."""

    name = "persistentvolume-binder-controller"

    def __init__(self, store: Store, clock: Clock, volumes_dir: Path) -> None:
        self._store = store
        self._volumes_dir = volumes_dir
        self._recorder = Recorder(store, clock, "persistentvolume-controller")
        self._claims = store.catalog.lookup("", "v1", "persistentvolumeclaims")
        self._volumes = store.catalog.lookup("", "v1", "persistentvolumes")
        self._classes = store.catalog.lookup("storage.k8s.io", "v1", "storageclasses")
        self._pods = store.catalog.lookup("", "v1", "pods")
        self.ensure_default_class()

    def watches(self) -> Sequence[Watched]:
        return [
            Watched("", "v1", "persistentvolumeclaims", self.claim_and_volume),
            Watched("", "v1", "persistentvolumes", claim_of_volume),
            Watched("", "v1", "pods", claims_of_pod),
            Watched("storage.k8s.io", "v1", "storageclasses", self.pending_claims),
        ]

    def claim_and_volume(self, event: WatchEvent) -> list[ObjectKey]:
        volume = (event.object.get("spec") or {}).get("volumeName")
        return [*own_key(event), *([ObjectKey(_VOLUMES, "", volume)] if volume else [])]

    def pending_claims(self, _event: WatchEvent) -> list[ObjectKey]:
        """A storage class appearing may unblock claims that named it."""
        claims, _ = self._store.list(self._claims, None, lambda c: not (c.get("spec") or {}).get("volumeName"))
        return [ObjectKey(_CLAIMS, c["metadata"]["namespace"], c["metadata"]["name"]) for c in claims]

    def ensure_default_class(self) -> None:
        """The cluster's default StorageClass, as kind's and minikube's addons install one."""
        body: Body = {
            "metadata": {"name": DEFAULT_STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        }
        try:
            self._store.create(self._classes, body)
        except AlreadyExistsError:
            return

    async def reconcile(self, key: ObjectKey) -> float | None:
        if key.resource == _VOLUMES:
            await self._reclaim(key.name)
            return None
        claim = self._store.get(self._claims, key.namespace, key.name)
        if is_being_deleted(claim):
            self._release_protection(claim)
            return None
        claim = self._prepare(claim)
        storage_class = None if claim["spec"].get("volumeName") else self._storage_class(claim)
        if storage_class is not None:
            self._provision(claim, storage_class)
        return None

    # -- claims ------------------------------------------------------------------------------------

    def _prepare(self, claim: Body) -> Body:
        """What the real API server's admission and defaulting add: pvc-protection, the default class, Pending."""
        meta, spec = claim["metadata"], claim.setdefault("spec", {})
        changed = False
        if PROTECTION_FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), PROTECTION_FINALIZER]
            changed = True
        if spec.get("storageClassName") is None:
            default = self._default_class_name()
            if default:
                spec["storageClassName"] = default
                changed = True
        claim = self._store.replace(self._claims, claim) if changed else claim
        if not (claim.get("status") or {}).get("phase"):
            claim["status"] = {"phase": "Pending"}
            claim = self._store.replace(self._claims, claim, subresource="status")
        return claim

    def _default_class_name(self) -> str | None:
        classes, _ = self._store.list(
            self._classes,
            None,
            lambda c: (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true",
        )
        return str(classes[0]["metadata"]["name"]) if classes else None

    def _storage_class(self, claim: Body) -> Body | None:
        name = claim["spec"].get("storageClassName")
        if not name:
            message = "no persistent volumes available for this claim and no storage class is set"
            self._recorder.event(claim, "Normal", "FailedBinding", message)
            return None
        try:
            storage_class = self._store.get(self._classes, None, name)
        except NotFoundError:
            message = f'storageclass.storage.k8s.io "{name}" not found'
            self._recorder.event(claim, "Warning", "ProvisioningFailed", message)
            return None
        if storage_class.get("provisioner") != PROVISIONER:
            waiting = (
                f"Waiting for a volume to be created by the external provisioner '{storage_class.get('provisioner')}'"
            )
            self._recorder.event(claim, "Normal", "ExternalProvisioning", waiting)
            return None
        return storage_class

    def _provision(self, claim: Body, storage_class: Body) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        name = f"pvc-{meta['uid']}"
        offered = (storage_class.get("parameters") or {}).get(ACCESS_MODES_PARAMETER)
        refused = [m for m in spec.get("accessModes") or [] if offered and m not in offered.split(",")]
        if refused:
            message = (
                f'failed to provision volume with StorageClass "{storage_class["metadata"]["name"]}": '
                f"access mode {', '.join(refused)} is not supported (supported: {offered})"
            )
            self._recorder.event(claim, "Warning", "ProvisioningFailed", message)
            return
        if not self._store.exists(self._volumes, None, name):
            path = self._volumes_dir / name
            path.mkdir(parents=True, exist_ok=True)
            self._store.create(self._volumes, self._volume_body(claim, storage_class, name, path))
            self._recorder.event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}")
        volume = self._store.get(self._volumes, None, name)
        annotations = meta.setdefault("annotations", {})
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
        annotations["volume.kubernetes.io/storage-provisioner"] = PROVISIONER
        spec["volumeName"] = name
        claim = self._store.replace(self._claims, claim)
        volume_spec = volume["spec"]
        claim["status"] = {
            "phase": "Bound",
            "accessModes": volume_spec["accessModes"],
            "capacity": volume_spec["capacity"],
        }
        self._store.replace(self._claims, claim, subresource="status")

    def _volume_body(self, claim: Body, storage_class: Body, name: str, path: Path) -> Body:
        meta, spec = claim["metadata"], claim["spec"]
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        return {
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "capacity": {"storage": requested},
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", **{k: meta[k] for k in _CLAIM_REF}},
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
            },
            "status": {"phase": "Bound"},
        }

    def _release_protection(self, claim: Body) -> None:
        """Drop pvc-protection once no running pod mounts the claim."""
        meta = claim["metadata"]
        if PROTECTION_FINALIZER not in (meta.get("finalizers") or []) or self._in_use(claim):
            return
        meta["finalizers"] = [f for f in meta["finalizers"] if f != PROTECTION_FINALIZER]
        self._store.replace(self._claims, claim)

    def _in_use(self, claim: Body) -> bool:
        name = claim["metadata"]["name"]

        def uses(pod: Body) -> bool:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return False
            volumes = (pod.get("spec") or {}).get("volumes") or []
            return any((v.get("persistentVolumeClaim") or {}).get("claimName") == name for v in volumes)

        pods, _ = self._store.list(self._pods, claim["metadata"]["namespace"], uses)
        return bool(pods)

    # -- volumes -----------------------------------------------------------------------------------

    async def _reclaim(self, name: str) -> None:
        """A volume whose claim is gone is Released; with reclaimPolicy Delete it is deleted with its directory."""
        try:
            volume = self._store.get(self._volumes, None, name)
        except NotFoundError:
            return
        ref = volume["spec"].get("claimRef")
        if is_being_deleted(volume) or not ref:
            return
        if self._claim_uid(ref) == ref.get("uid"):
            return
        if (volume.get("status") or {}).get("phase") != "Released":
            volume["status"] = {**(volume.get("status") or {}), "phase": "Released"}
            volume = self._store.replace(self._volumes, volume, subresource="status")
        if volume["spec"].get("persistentVolumeReclaimPolicy") != "Delete":
            return
        self._store.delete(self._volumes, None, name)
        await self._remove_directory(volume)

    def _claim_uid(self, ref: Body) -> str | None:
        try:
            return str(self._store.get(self._claims, ref.get("namespace"), ref.get("name", ""))["metadata"]["uid"])
        except NotFoundError:
            return None

    async def _remove_directory(self, volume: Body) -> None:
        """Remove a provisioned volume's directory, never anything outside the volumes directory."""
        path = Path((volume["spec"].get("hostPath") or {}).get("path", ""))
        provisioned = (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by")
        if provisioned != PROVISIONER or path.parent != self._volumes_dir:
            log.warning("not removing %s: not a volume this cluster provisioned", path)
            return
        await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
