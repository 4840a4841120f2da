"""Base images pushed into the registry at every start, since no public registry can be reached.

A Kaniko build needs its `FROM` image in a registry, and Kubeflow's builds start from non-root
images (user `jovyan`, uid 1000, gid 100, as Kubeflow's notebook images). Two bases are seeded:
`base/python:3.11` and `base/tensorflow:2.21.0`. Both share one small layer made here (busybox
from Debian's busybox-static as /bin/sh and the usual tools, /etc/passwd and /etc/group with
root and jovyan, /home/jovyan owned by jovyan, /tmp, empty /usr/lib and /usr/lib64 with the
merged-/usr symlinks); the host's runtime stands in for the heavy layers (images/hostruntime.py).
The layer is written as an OCI layout with fixed timestamps, so it is the same blob on every
start, and `skopeo copy` pushes it as Docker v2s2, as Kaniko would have pushed it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kfval.embedded.dockerconfig import Credential, write_authfile
from kfval.embedded.images import hostruntime
from kfval.embedded.kubelet import node, sandbox
from kfval.embedded.registry.serving import RegistryAccess, RegistryError

BUSYBOX = "/bin/busybox"
JOVYAN_UID = 1000
USERS_GID = 100
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    f"jovyan:x:{JOVYAN_UID}:{USERS_GID}::/home/jovyan:/bin/sh\n"
)
GROUP = "root:x:0:\nusers:x:100:jovyan\nnogroup:x:65534:\n"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class BaseImage:
    """One seeded base: where it goes in the registry and the config it adds to the shared layer."""

    repository: str
    tag: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


BASE_IMAGES = (
    BaseImage("base/python", "3.11"),
    BaseImage("base/tensorflow", "2.21.0", {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}),
)
ALIASES: Mapping[str, str] = {"gcr.io/kubeflow-images-public/fairing:dev": "base/python:3.11"}
"""Public references that name a seeded base instead (Fairing's default base image)."""


def entry(name: str, kind: bytes, *, mode: int, uid: int = 0, gid: int = 0, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, gid, target
    info.uname = info.gname = ""
    return info


def layer_entries(applets: list[str]) -> Iterator[tuple[tarfile.TarInfo, bytes]]:
    """The shared layer's files, parents first."""
    directories = [("bin", 0o755), ("etc", 0o755), ("home", 0o755), ("root", 0o711), ("tmp", 0o1777)]
    directories += [("usr", 0o755), ("usr/lib", 0o755), ("usr/lib64", 0o755), ("usr/local", 0o755)]
    directories += [("usr/local/bin", 0o755), ("var", 0o755), ("var/tmp", 0o1777)]
    for name, mode in directories:
        yield entry(name, tarfile.DIRTYPE, mode=mode), b""
    yield entry("home/jovyan", tarfile.DIRTYPE, mode=0o755, uid=JOVYAN_UID, gid=USERS_GID), b""
    busybox = Path(BUSYBOX).read_bytes()
    info = entry("bin/busybox", tarfile.REGTYPE, mode=0o755)
    info.size = len(busybox)
    yield info, busybox
    for applet in sorted(set(applets) - {"busybox"}):
        yield entry(f"bin/{applet}", tarfile.SYMTYPE, mode=0o777, target="busybox"), b""
    for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
        info = entry(name, tarfile.REGTYPE, mode=0o644)
        info.size = len(text)
        yield info, text.encode()
    yield entry("lib", tarfile.SYMTYPE, mode=0o777, target="usr/lib"), b""
    yield entry("lib64", tarfile.SYMTYPE, mode=0o777, target="usr/lib64"), b""


def layer_tar(applets: list[str]) -> bytes:
    """The uncompressed layer, byte-for-byte the same on every start (mtime 0, fixed order)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in layer_entries(applets):
            archive.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def image_config(base: BaseImage, diff_id: str) -> dict[str, object]:
    path = f"{hostruntime.python_bin()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env = {"PATH": path, "HOME": "/home/jovyan", "NB_USER": "jovyan", "NB_UID": str(JOVYAN_UID), **base.env}
    return {
        "created": EPOCH,
        "architecture": node.architecture(),
        "os": "linux",
        "config": {
            "User": str(JOVYAN_UID),
            "Env": [f"{key}={value}" for key, value in env.items()],
            "WorkingDir": "/home/jovyan",
            "Cmd": ["python3"],
            "Labels": {hostruntime.HOST_RUNTIME_LABEL: hostruntime.label_value()},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": "kfval: busybox and the jovyan user; host runtime stands in"}],
    }


class Layout:
    """An OCI image layout on disk, written blob by blob."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.manifests: list[dict[str, object]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def add(self, tag: str, config: dict[str, object], layer: dict[str, object]) -> None:
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(json.dumps(config, sort_keys=True).encode(), OCI_CONFIG),
            "layers": [layer],
        }
        described = self.blob(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST)
        self.manifests.append({**described, "annotations": {"org.opencontainers.image.ref.name": tag}})
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.manifests}))


async def busybox_applets() -> list[str]:
    code, output = await sandbox.run_host([BUSYBOX, "--list"])
    if code != 0:
        raise RegistryError(f"{BUSYBOX} --list failed: {output.decode(errors='replace').strip()}")
    return output.decode().split()


async def seed(access: RegistryAccess, work_dir: Path) -> tuple[str, ...]:
    """Push every base image into the registry; the references pushed (`repo:tag`)."""
    if not Path(BUSYBOX).is_file():
        raise RegistryError(f"{BUSYBOX} is missing (Debian package busybox-static): no base images to seed")
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        raise RegistryError("skopeo is not installed (Debian package skopeo)")
    shutil.rmtree(work_dir, ignore_errors=True)
    layout = Layout(work_dir / "layout")
    raw = layer_tar(await busybox_applets())
    layer = layout.blob(gzip.compress(raw, mtime=0), OCI_LAYER)
    diff_id = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    login = {access.address: Credential(access.username, access.password)}
    credentials = write_authfile(work_dir / "auth.json", login)
    try:
        for base in BASE_IMAGES:
            layout.add(base.reference, image_config(base, diff_id), layer)
            source = f"oci:{layout.root}:{base.reference}"
            target = f"docker://{access.address}/{base.reference}"
            argv = [skopeo, "copy", "--quiet", "--format", "v2s2", "--dest-tls-verify=false"]
            code, output = await sandbox.run_host([*argv, "--dest-authfile", str(credentials), source, target])
            if code != 0:
                raise RegistryError(f"seeding {base.reference} failed: {output.decode(errors='replace').strip()}")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return tuple(base.reference for base in BASE_IMAGES)
