"""Images of the cluster's registry, pulled with skopeo and unpacked with umoci, as a node's runtime does.

An image that the Kaniko executor pushed has to run as itself: its own rootfs, user, env,
working directory, entrypoint and cmd. The kubelet pulls it by reference (tag or digest) with the
pod's pull secrets, so a missing or wrong secret fails as on a node, with the registry's words.
The manifest's digest (sha256 of the registry's bytes, the one `Docker-Content-Digest` names) keys
a cache of unpacked bundles, so a second pod of the same image unpacks nothing. Pods name the
registry by its cluster name; the kubelet, on the host, reaches it at its address. skopeo and
umoci run through `sandbox.run_host`, the cluster's only process starter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfval.embedded.dockerconfig import Credential, write_authfile
from kfval.embedded.images import hostruntime
from kfval.embedded.images.resolving import Identity, ImageContent
from kfval.embedded.kubelet import sandbox

PULL_TIMEOUT_SECONDS = 300.0
SKOPEO_REASON = re.compile(r'msg="(?:.*?): (?:reading manifest|reading blob).*? in [^ ]+: (.*)"\s*$')
DENIED = ("unauthorized", "denied", "forbidden")


class ImagePullError(Exception):
    """The registry refused the image or has none; `message` is what the kubelet reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reference:
    """An image reference of the cluster's registry: repository, and a tag or a digest."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def text(self) -> str:
        return f"{self.registry}/{self.repository}" + (f"@{self.digest}" if self.digest else f":{self.tag}")


def parse(reference: str) -> Reference:
    """`host:port/team/app:1` or `host:port/team/app@sha256:...` in parts (no tag and no digest: `latest`)."""
    name, _, digest = reference.partition("@")
    registry, _, path = name.partition("/")
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    if tag is None and not digest:
        tag = "latest"
    return Reference(registry, path, tag, digest or None)


def registry_words(output: bytes) -> str:
    """The registry's own error text out of skopeo's fatal line (`unauthorized: authentication required`)."""
    text = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
    match = SKOPEO_REASON.search(text[0])
    return (match.group(1) if match else text[0]).replace('\\"', '"')


def pull_error(reference: str, normalized: str, words: str) -> ImagePullError:
    """What containerd says through the kubelet: NotFound for no such image, access denied otherwise."""
    if any(word in words.lower() for word in DENIED):
        reason = f"pull access denied, repository does not exist or may require authorization: server message: {words}"
        code = "Unknown"
    elif "unknown" in words.lower():
        reason, code = f"{normalized}: not found", "NotFound"
    else:
        reason, code = words, "Unknown"
    return ImagePullError(
        f'Failed to pull image "{reference}": rpc error: code = {code} desc = failed to pull and unpack image '
        f'"{normalized}": failed to resolve reference "{normalized}": {reason}'
    )


class RegistryImages:
    """Pulls and unpacks images of the cluster's registry into `cache_dir`, keyed by manifest digest."""

    def __init__(self, cache_dir: Path, *, name: str, address: str, aliases: Mapping[str, str]) -> None:
        self.cache_dir = cache_dir
        self.name = name
        self.address = address
        self.aliases = dict(aliases)
        self._by_reference: dict[str, ImageContent] = {}

    @property
    def hosts(self) -> set[str]:
        """The registry as pull secrets may name it: its cluster name or its address."""
        return {self.name.lower(), self.address.lower()}

    def target(self, reference: str) -> Reference | None:
        """The registry reference `reference` means (aliases applied); None when it is another registry's."""
        for alias, seeded in self.aliases.items():
            if reference == alias:
                return parse(f"{self.name}/{seeded}")
        parsed = parse(reference)
        return parsed if parsed.registry.lower() in self.hosts else None

    def cached(self, reference: str) -> ImageContent | None:
        return self._by_reference.get(reference)

    async def pull(self, reference: str, credentials: Sequence[Credential]) -> ImageContent:
        """Pull `reference` with the first credential that works (anonymously without any)."""
        target = self.target(reference)
        assert target is not None, reference
        failure: ImagePullError | None = None
        attempts: list[Credential | None] = [*credentials] or [None]
        for credential in attempts:
            try:
                content = await self._pull(reference, target, credential)
            except ImagePullError as error:
                failure = error
                continue
            self._by_reference[reference] = content
            return content
        assert failure is not None
        raise failure

    async def _pull(self, reference: str, target: Reference, credential: Credential | None) -> ImageContent:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        source = f"docker://{self.address}/{target.repository}"
        with self._authfile(credential) as auth:
            code, output = await self._skopeo(["inspect", "--raw", *auth, f"{source}{_suffix(target)}"])
            if code != 0:
                raise pull_error(reference, target.text, registry_words(output))
            digest = "sha256:" + hashlib.sha256(output).hexdigest()
            if target.digest is not None and target.digest != digest:
                raise pull_error(reference, target.text, f"manifest digest {digest} does not match {target.digest}")
            bundle = self.cache_dir / "bundles" / digest.split(":", 1)[1]
            if not (bundle / "image-config.json").exists():
                await self._unpack(reference, target, f"{source}@{digest}", bundle, auth)
        config = json.loads((bundle / "image-config.json").read_text())
        return content_of(reference, config, bundle / "rootfs", image_id=f"{self.name}/{target.repository}@{digest}")

    async def _unpack(self, reference: str, target: Reference, source: str, bundle: Path, auth: list[str]) -> None:
        layout = self.cache_dir / "layouts" / uuid.uuid4().hex
        partial = bundle.with_name(bundle.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        layout.parent.mkdir(parents=True, exist_ok=True)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        try:
            code, output = await self._skopeo(["copy", "--quiet", *auth, source, f"oci:{layout}:image"])
            if code != 0:
                raise pull_error(reference, target.text, registry_words(output))
            umoci = shutil.which("umoci") or "umoci"
            code, output = await sandbox.run_host(
                [umoci, "unpack", "--image", f"{layout}:image", str(partial)], timeout_seconds=PULL_TIMEOUT_SECONDS
            )
            if code != 0:
                raise pull_error(reference, target.text, output.decode(errors="replace").strip())
            (partial / "image-config.json").write_bytes(layout_config(layout))
            os.replace(partial, bundle)
        finally:
            shutil.rmtree(layout, ignore_errors=True)
            shutil.rmtree(partial, ignore_errors=True)

    async def _skopeo(self, args: list[str]) -> tuple[int, bytes]:
        skopeo = shutil.which("skopeo") or "skopeo"
        tls = "--src-tls-verify=false" if args[0] == "copy" else "--tls-verify=false"
        return await sandbox.run_host([skopeo, args[0], tls, *args[1:]], timeout_seconds=PULL_TIMEOUT_SECONDS)

    @contextlib.contextmanager
    def _authfile(self, credential: Credential | None) -> Any:
        """skopeo arguments naming a private authfile with `credential` (none for anonymous pulls)."""
        if credential is None:
            yield []
            return
        path = write_authfile(self.cache_dir / f"auth-{uuid.uuid4().hex}.json", {self.address: credential})
        try:
            yield ["--authfile", str(path)]
        finally:
            path.unlink(missing_ok=True)


def _suffix(target: Reference) -> str:
    return f"@{target.digest}" if target.digest else f":{target.tag}"


def layout_config(layout: Path) -> bytes:
    """The image config blob of the one image in an OCI layout."""
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":", 1)[1]).read_text())
    config_digest = str(manifest["config"]["digest"]).split(":", 1)[1]
    return (blobs / config_digest).read_bytes()


def identity(user: str, rootfs: Path) -> Identity:
    """The image's USER as uid, gid and supplementary groups, read from its own /etc/passwd and /etc/group."""
    name, _, group = (user or "0").partition(":")
    passwd = _table(rootfs / "etc" / "passwd")
    entry = next((row for row in passwd if name in (row[0], row[2])), None)
    uid = int(entry[2]) if entry else int(name) if name.isdigit() else 0
    gid = int(entry[3]) if entry else 0
    groups = _table(rootfs / "etc" / "group")
    if group:
        found = next((row for row in groups if group in (row[0], row[2])), None)
        gid = int(found[2]) if found else int(group) if group.isdigit() else gid
    login = entry[0] if entry else None
    extra = tuple(sorted({int(row[2]) for row in groups if login and login in row[3].split(",")} - {gid}))
    home = entry[5] if entry and len(entry) > 5 else "/"
    return Identity(uid=uid, gid=gid, groups=extra, home=home)


def _table(path: Path) -> list[list[str]]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line.split(":") for line in lines if line.count(":") >= 3 and not line.startswith("#")]


def content_of(reference: str, config: Mapping[str, Any], rootfs: Path, *, image_id: str) -> ImageContent:
    """What a container of this image starts from: rootfs, user, env (HOME from passwd), command."""
    settings = config.get("config") or {}
    env = dict(item.split("=", 1) for item in settings.get("Env") or [] if "=" in item)
    user = identity(str(settings.get("User") or ""), rootfs)
    env.setdefault("HOME", user.home)
    entrypoint, cmd = settings.get("Entrypoint"), settings.get("Cmd")
    return ImageContent(
        name=reference,
        env=env,
        workdir=settings.get("WorkingDir") or None,
        entrypoint=tuple(entrypoint) if entrypoint else None,
        cmd=tuple(cmd) if cmd else None,
        rootfs=rootfs,
        user=user,
        runtime_paths=hostruntime.declared(settings.get("Labels")),
        image_id=image_id,
    )
