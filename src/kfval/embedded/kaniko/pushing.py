"""After the build: the tarball, the push to each destination, and the files that name the digest.

The image is first exported as Docker v2s2 with gzip layers into a directory. The first push
copies it with skopeo, which (like Kaniko, which never recompresses a base image's layers) lets
the registry keep the layers it already has from the base image: the manifest the registry then
holds is the image's manifest, and its digest (`Docker-Content-Digest`) is what `--digest-file`
and the image-name files get. Further destinations are copied from the first unchanged, so every
destination has the same digest. Kaniko writes the digest file just before its push; here it is
written just after the first push, the only point where the registry's digest is known. Without
a push (`--no-push`), the exported manifest's digest is written.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfval.embedded.kaniko import remote
from kfval.embedded.kaniko.building import IMAGE
from kfval.embedded.kaniko.logs import Logger
from kfval.embedded.kaniko.releases import Release

DUMMY_DESTINATION = "temp_destination"
"""What Kaniko names a tarball's image when there is no destination (`--no-push --tar-path`)."""


class PushError(Exception):
    """Exporting or pushing failed; `str()` is Kaniko's message (without `error pushing image: `)."""


@dataclass(frozen=True)
class Outputs:
    """Where the results go, from the flags."""

    destinations: Sequence[str]
    no_push: bool
    digest_file: str = ""
    image_name_digest_file: str = ""
    image_name_tag_digest_file: str = ""
    tar_path: str = ""
    tls_verify: Mapping[str, bool] = field(default_factory=dict)
    """Destination -> whether to use TLS with certificate checks (false: plain HTTP allowed)."""


def run(argv: list[str], env: dict[str, str]) -> str:
    """Run a tool; its last output line when it fails (raised as PushError)."""
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        text = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
        raise PushError(text[-1] if text else f"{argv[0]} exited with code {done.returncode}")
    return done.stdout.decode(errors="replace")


def export(storage: list[str], directory: Path, env: dict[str, str]) -> str:
    """The built image as Docker v2s2 in `directory`; its manifest digest."""
    digest_file = directory.with_suffix(".digest")
    run(
        ["buildah", *storage, "push", "--quiet", "--format", "v2s2", "--compression-format", "gzip",
         "--digestfile", str(digest_file), IMAGE, f"dir:{directory}"],
        env,
    )  # fmt: skip
    return digest_file.read_text().strip()


def write(path: str, content: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.write_text(content)


def name_files(outputs: Outputs, digest: str) -> None:
    """--digest-file (no newline) and the image-name files (one `repo[:tag]@digest` line per destination)."""
    if outputs.digest_file:
        write(outputs.digest_file, digest)
    names = [remote.ImageName.parse(destination) for destination in outputs.destinations]
    if outputs.image_name_digest_file:
        write(outputs.image_name_digest_file, "".join(f"{n.registry}/{n.repository}@{digest}\n" for n in names))
    if outputs.image_name_tag_digest_file:
        lines = "".join(f"{n.registry}/{n.repository}:{n.tag}@{digest}\n" for n in names)
        write(outputs.image_name_tag_digest_file, lines)


def tarball(outputs: Outputs, image_dir: Path, env: dict[str, str]) -> None:
    """--tar-path: a docker tarball tagged with every destination (or Kaniko's dummy name)."""
    tags = [str(remote.ImageName.parse(d)) for d in outputs.destinations or [DUMMY_DESTINATION]]
    extra = [f"--additional-tag={tag}" for tag in tags[1:]]
    Path(outputs.tar_path).parent.mkdir(parents=True, exist_ok=True)
    Path(outputs.tar_path).unlink(missing_ok=True)
    run(["skopeo", "copy", "--quiet", *extra, f"dir:{image_dir}", f"docker-archive:{outputs.tar_path}:{tags[0]}"], env)


def push(outputs: Outputs, image_dir: Path, *, authfile: Path, log: Logger, release: Release) -> str:
    """Push to every destination in order, stopping at the first failure; the registry's digest."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
    digest_file = image_dir.with_suffix(".pushed")
    source, digest = f"dir:{image_dir}", ""
    for destination in outputs.destinations:
        name = remote.ImageName.parse(destination)
        if release.logs_push:
            log.info(f"Pushing image to {name}")
        argv = ["skopeo", "copy", "--quiet", "--authfile", str(authfile), "--dest-authfile", str(authfile)]
        verify = outputs.tls_verify.get(destination, True)
        argv += [f"--dest-tls-verify={str(verify).lower()}", "--src-tls-verify=false"]
        if digest:
            argv.append("--preserve-digests")
        try:
            run([*argv, "--digestfile", str(digest_file), source, f"docker://{name}"], env)
        except PushError as error:
            raise PushError(f"failed to push to destination {name}: {error}") from error
        if not digest:
            digest, source = digest_file.read_text().strip(), f"docker://{name}"
            name_files(outputs, digest)
        if release.logs_push:
            log.info(f"Pushed {name.registry}/{name.repository}@{digest}")
        else:
            log.info(f"{name}: digest: {digest} size: {(image_dir / 'manifest.json').stat().st_size}")
    return digest
