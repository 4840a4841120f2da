"""From an image reference in a pod spec to what the container gets from that image.

A reference names either a project image (the folder `images/<name>/` with its Dockerfile, as
`kfval/<name>[:tag]` or `localhost/kfval/<name>`, or one built from the project folder with a
Dockerfile elsewhere, such as the suite's runner image `kfval/runner` from deploy/runner/), a
well-known base image that the host's runtime stands in for (busybox, alpine, debian, ubuntu,
python: no files of their own), the Kaniko executor (`kaniko_executor`), or an alias from the
configuration (a reference prefix mapped to a project image, or to "host"). Those need no pull.
Images of the cluster's registry are pulled by the kubelet (kubelet/unpacking.py); anything else
is unknown, and the kubelet reports ErrImagePull as a node would for an image no registry has.
"""

from __future__ import annotations

import glob
import logging
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources as package_files
from pathlib import Path

from kfval.embedded.images import datasetmounts, dockerfile, hosttools

log = logging.getLogger(__name__)

HOST = "host"
"""Alias target meaning "the host's runtime stands in for this image": no files of its own."""
HOST_IMAGE_COMMANDS: Mapping[str, tuple[str, ...]] = {
    "busybox": ("sh",),
    "alpine": ("/bin/sh",),
    "debian": ("bash",),
    "ubuntu": ("/bin/bash",),
    "python": ("python3",),
}
"""The base images the host stands in for, with the CMD their real images declare."""
KANIKO_EXECUTOR = "gcr.io/kaniko-project/executor"
KANIKO_SCRATCH_DIRS = ("/tmp", "/var/tmp", "/run", "/var/lib/containers", "/kaniko")
"""A real container's root is writable; the executor's buildah writes to these, so each gets a tmpfs."""
REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "library/")
PROJECT_PREFIXES = ("kfval/", "localhost/kfval/")


@dataclass(frozen=True)
class ImageFile:
    """A file or directory of the image folder, laid over the runtime at `target`."""

    source: Path
    target: str


@dataclass(frozen=True)
class Identity:
    """Who an image's processes run as: its USER resolved against its own /etc/passwd and /etc/group."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    home: str = "/"


@dataclass(frozen=True)
class ImageContent:
    """What an image gives a container: its files, and the config a container inherits.

    Project and host images lay `mounts` over the host's root; an image of the registry brings
    its own `rootfs` (with `runtime_paths` of the host bound into it) and the `user` it runs as.
    """

    name: str
    mounts: tuple[ImageFile, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    rootfs: Path | None = None
    user: Identity | None = None
    runtime_paths: tuple[str, ...] = ()
    scratch_dirs: tuple[str, ...] | None = None
    """Where the container gets an empty tmpfs, when not the node's default (/tmp)."""
    image_id: str | None = None
    """`repo@sha256:...` of a pulled image, for the container status' imageID."""


def repository(reference: str) -> str:
    """The reference without tag, digest and Docker Hub prefixes: `docker.io/library/python:3.11` -> `python`."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    for prefix in REGISTRY_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


class ImageResolver:
    """Resolves image references against the project's `images/` folder, the host and the aliases."""

    def __init__(
        self,
        images_dir: Path,
        aliases: Mapping[str, str] | None = None,
        *,
        datasets_dir: Path | None = None,
        outside_images: Mapping[str, tuple[Path, Path]] | None = None,
    ) -> None:
        self.images_dir = images_dir
        self.outside_images = dict(outside_images or {})
        """Project images built outside `images/`: name -> (Dockerfile, build context folder)."""
        self.aliases = dict(aliases or {})
        self.datasets_dir = datasets_dir
        """Offline data sets, bound where a project image's `dev.kfval.dataset.<name>` label asks."""
        self.kaniko_env: dict[str, str] = {}
        """What the cluster tells the Kaniko executor (its registry's aliases), as image ENV."""

    def resolve(self, reference: str) -> ImageContent | None:
        """The content of `reference`; None for an unknown image or a project image that cannot be used."""
        try:
            return self._resolve(reference)
        except dockerfile.DockerfileError as error:
            log.error("image %s cannot be used: %s", reference, error)
            return None

    def _resolve(self, reference: str) -> ImageContent | None:
        name = repository(reference)
        if name == KANIKO_EXECUTOR:
            return kaniko_executor(reference, self.kaniko_env)
        target = self.alias_for(reference, name)
        if target == HOST:
            return ImageContent(name=reference)
        if target is not None:
            return self.load(target)
        for prefix in PROJECT_PREFIXES:
            if not name.startswith(prefix):
                continue
            project_name = name[len(prefix) :]
            if project_name in self.outside_images:
                return self.load(project_name)
            if (self.images_dir / project_name / "Dockerfile").is_file():
                return self.load(project_name)
        if name in HOST_IMAGE_COMMANDS:
            return ImageContent(name=reference, env=hosttools.image_env(name), cmd=HOST_IMAGE_COMMANDS[name])
        return None

    def present(self) -> list[str]:
        """The project images, as a node lists the images it holds: they are here without a pull."""
        names = sorted({*(p.parent.name for p in self.images_dir.glob("*/Dockerfile")), *self.outside_images})
        return [f"{PROJECT_PREFIXES[0]}{name}:latest" for name in names]

    def alias_for(self, reference: str, name: str) -> str | None:
        """The alias target of the longest matching prefix (raw, or without Docker Hub prefixes)."""
        for prefix in sorted(self.aliases, key=len, reverse=True):
            if reference.startswith(prefix) or name.startswith(repository(prefix)):
                return self.aliases[prefix]
        return None

    def load(self, name: str) -> ImageContent:
        """The project image `images/<name>/` (or built outside it); DockerfileError when its Dockerfile
        cannot be applied."""
        dockerfile_path, folder = self.outside_images.get(
            name, (self.images_dir / name / "Dockerfile", self.images_dir / name)
        )
        try:
            text = dockerfile_path.read_text()
        except OSError as error:
            raise dockerfile.DockerfileError(f"no Dockerfile for project image {name!r}: {error}") from error
        parsed = dockerfile.parse(text)
        mounts: list[ImageFile] = []
        for copy in parsed.copies:
            if copy.from_stage is not None:
                log.warning("image %s: COPY --from=%s skipped (no other stages here)", name, copy.from_stage)
                continue
            mounts.extend(copied_files(folder, copy))
        try:
            datasets = datasetmounts.dataset_mounts(parsed.labels, datasets_dir=self.datasets_dir, image=name)
        except datasetmounts.DatasetLabelError as error:
            raise dockerfile.DockerfileError(str(error)) from error
        mounts.extend(ImageFile(dataset.source, dataset.target) for dataset in datasets)
        return ImageContent(
            name=name,
            mounts=tuple(mounts),
            env=parsed.env,
            workdir=parsed.workdir,
            entrypoint=parsed.entrypoint,
            cmd=parsed.cmd,
        )


def copied_files(folder: Path, copy: dockerfile.Copy) -> Iterator[ImageFile]:
    """The files one COPY lays over the runtime, following Docker's rules for where each one lands."""
    context = folder.resolve()
    for source in copy.sources:
        matches = sorted(glob.glob(str(context / source.lstrip("/")))) if glob.has_magic(source) else []
        paths = [Path(match) for match in matches] or [context / source.lstrip("/")]
        for path in paths:
            resolved = path.resolve()
            if not resolved.is_relative_to(context):
                raise dockerfile.DockerfileError(f"line {copy.line}: COPY {source}: outside the image folder")
            if not resolved.exists():
                raise dockerfile.DockerfileError(f"line {copy.line}: COPY {source}: no such file in {folder}")
            if resolved.is_dir():
                yield from merged(resolved, copy.destination.rstrip("/") or "/")
            elif copy.into_directory or len(paths) > 1:
                yield ImageFile(resolved, posixpath.join(copy.destination, resolved.name))
            else:
                yield ImageFile(resolved, copy.destination)


def merged(directory: Path, target: str) -> Iterator[ImageFile]:
    """A directory's contents at `target`: bound whole where the host has nothing there, else entry by entry.

    Binding a folder over an existing host directory (`COPY bin/ /usr/local/bin/`) would hide
    the runtime's own files; Docker merges, so existing directories are descended into.
    """
    if target == "/" or os.path.isdir(target):
        for entry in sorted(directory.iterdir()):
            child = posixpath.join(target, entry.name)
            if entry.is_dir():
                yield from merged(entry, child)
            else:
                yield ImageFile(entry, child)
    else:
        yield ImageFile(directory, target)


def kaniko_executor(reference: str, settings: Mapping[str, str]) -> ImageContent:
    """The Kaniko executor image, any tag: `/kaniko/executor` is the stand-in in `kfval.embedded.kaniko`.

    The ENV is the real image's (DOCKER_CONFIG=/kaniko/.docker/ is where credentials are read)
    plus what the stand-in needs: the tag (which Kaniko release to behave as), where its Python
    package is, and the cluster's `settings` (the registry's aliases).
    """
    package = Path(str(package_files.files("kfval.embedded.kaniko")))
    last = reference.partition("@")[0].rsplit("/", 1)[-1]
    tag = last.rpartition(":")[2] if ":" in last else "latest"
    env = {
        "HOME": "/root",
        "USER": "root",
        "PATH": "/usr/local/bin:/kaniko",
        "SSL_CERT_DIR": "/kaniko/ssl/certs",
        "DOCKER_CONFIG": "/kaniko/.docker/",
        "KFVAL_KANIKO_VERSION": tag,
        "PYTHONPATH": str(package.parents[2]),
        **settings,
    }
    return ImageContent(
        name=reference,
        mounts=(ImageFile(package / "executor", "/kaniko/executor"),),
        env=env,
        workdir="/workspace",
        entrypoint=("/kaniko/executor",),
        scratch_dirs=KANIKO_SCRATCH_DIRS,
    )
