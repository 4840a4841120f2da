"""Small stand-ins for the tools busybox and alpine images carry but this host may not.

Host images run on the host's runtime, so a command the real image has (busybox's `nslookup`)
can be missing, and where the host has it, it would ask a DNS server the embedded cluster does
not run. The training operator's `init-pytorch` container (alpine) loops on `nslookup
<job>-master-0` until the master's name resolves; the shims shipped in `hostbin/` answer such
questions from the pod's /etc/hosts, which is how names resolve here. They reach a container by
being first on the image's PATH: the package's folder is visible inside the sandbox (the host
root is; a checkout under /tmp is bound back by kubelet/containerspec.runtime_mounts), so nothing else needs
mounting and the unsandboxed fallback gets them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources as package_files
from pathlib import Path

SHIMMED_IMAGES = frozenset({"busybox", "alpine"})
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH the busybox and alpine images declare."""


def shims_dir() -> Path:
    """The folder of shim executables, inside the installed package."""
    return Path(str(package_files.files("kfval.embedded.images").joinpath("hostbin")))


def image_env(repository: str) -> Mapping[str, str]:
    """The ENV a host image declares: the shims first on PATH for busybox and alpine, else nothing."""
    if repository not in SHIMMED_IMAGES:
        return {}
    return {"PATH": f"{shims_dir()}:{IMAGE_PATH}"}
