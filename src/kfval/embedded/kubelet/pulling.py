"""Image pulls as a node performs them: events, pull errors and the pull back-off.

A workload whose image does not exist must look exactly like it does on a real node (Pulling, then
ErrImagePull and ImagePullBackOff with back-off retries), because the suite fails a step at once on
those reasons and QA reads the events. An image that appears later (pushed by the builder) is
picked up at the next retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kfval.embedded.clock import Clock
from kfval.embedded.kubelet import backoff, containerspec, podstatus, pullsecrets, unpacking
from kfval.embedded.kubelet.podservices import ImageContent, Images, PodServices
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

StateReport = Callable[[Body], None]


def image_size(content: ImageContent) -> int:
    """Bytes of the files an image brings (the `Image size` of the Pulled event)."""
    total = 0
    sources = [Path(item.source) for item in content.mounts]
    for path in [*sources, *([content.rootfs] if content.rootfs is not None else [])]:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
        total += sum(f.lstat().st_size for f in files)
    return total


def pull_policy(container: Body) -> str:
    """imagePullPolicy, defaulted as the API server does: Always for `:latest` or no tag."""
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    reference = containerspec.normalized_reference(container.get("image", ""))
    return "Always" if reference.endswith(":latest") else "IfNotPresent"


def pull_failure(reference: str) -> str:
    """The message containerd gives for an image no registry has."""
    full = containerspec.normalized_reference(reference)
    return (
        f'Failed to pull image "{reference}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{full}": failed to resolve reference "{full}": {full}: not found'
    )


class ImagePuller:
    """Resolves container images for every pod of the node, remembering what it already pulled."""

    def __init__(
        self,
        services: PodServices,
        clock: Clock,
        back_off: backoff.BackOff,
        *,
        store: Store | None = None,
        registry: unpacking.RegistryImages | None = None,
    ) -> None:
        self._images: Images = services.images
        self._events = services.events
        self._clock = clock
        self._back_off = back_off
        self._store = store
        self._registry = registry
        self._present: set[str] = set()

    def _known(self, reference: str) -> ImageContent | None:
        """The image as the node has it now, without pulling (a registry image only once pulled)."""
        if self._registry is not None and self._registry.target(reference) is not None:
            return self._registry.cached(reference)
        return self._images.resolve(reference)

    async def _fetch(self, pod: Body, reference: str) -> tuple[ImageContent | None, str]:
        """Pull the image (from the registry with the pod's pull secrets); the content or why not."""
        if self._registry is None or self._registry.target(reference) is None:
            content = self._images.resolve(reference)
            return content, "" if content is not None else pull_failure(reference)
        found = (
            list(pullsecrets.credentials_for(pod, self._registry.hosts, store=self._store))
            if self._store is not None
            else []
        )
        try:
            return await self._registry.pull(reference, found), ""
        except unpacking.ImagePullError as error:
            return None, error.message

    async def pull(
        self, pod: Body, container: Body, *, field_path: str, report: StateReport, stopping: asyncio.Event
    ) -> ImageContent | None:
        """The container's image once it can be had; None when the pod stops first."""
        reference = str(container.get("image", ""))
        key = f"{pod['metadata'].get('uid')}_{reference}"
        policy = pull_policy(container)
        invalid = containerspec.reference_error(reference)
        if invalid is not None:
            await self._refuse_reference(pod, field_path, invalid, report, stopping)
            return None
        while not stopping.is_set():
            content = self._known(reference)
            if content is not None and (policy == "Never" or (policy != "Always" and reference in self._present)):
                self._event(
                    pod, field_path, "Normal", "Pulled", f'Container image "{reference}" already present on machine'
                )
                return content
            if policy == "Never":
                message = f'Container image "{reference}" is not present with pull policy of Never'
                report(podstatus.waiting("ErrImageNeverPull", message))
                self._event(pod, field_path, "Warning", "ErrImageNeverPull", message)
            elif self._back_off.in_back_off_since(key, self._clock.monotonic()):
                self._backing_off(pod, field_path, reference, report)
            else:
                content = await self._attempt(pod, field_path, reference, report, key)
                if content is not None:
                    return content
                continue
            if await backoff.sleep_unless(
                self._clock, stopping, self._back_off.remaining(key, self._clock.monotonic()) or 1.0
            ):
                return None
        return None

    async def _refuse_reference(
        self, pod: Body, field_path: str, message: str, report: StateReport, stopping: asyncio.Event
    ) -> None:
        """A reference no registry can be asked for: InvalidImageName until the pod goes, as the kubelet
        reports it on every sync (its InspectFailed event once)."""
        report(podstatus.waiting("InvalidImageName", message))
        self._event(pod, field_path, "Warning", "InspectFailed", message)
        await stopping.wait()

    def _backing_off(self, pod: Body, field_path: str, reference: str, report: StateReport) -> None:
        message = f'Back-off pulling image "{reference}"'
        report(podstatus.waiting("ImagePullBackOff", message))
        self._event(pod, field_path, "Normal", "BackOff", message)
        self._event(pod, field_path, "Warning", "Failed", "Error: ImagePullBackOff")

    async def _attempt(
        self, pod: Body, field_path: str, reference: str, report: StateReport, key: str
    ) -> ImageContent | None:
        self._event(pod, field_path, "Normal", "Pulling", f'Pulling image "{reference}"')
        began = self._clock.monotonic()
        content, message = await self._fetch(pod, reference)
        if content is None:
            self._event(pod, field_path, "Warning", "Failed", message)
            self._event(pod, field_path, "Warning", "Failed", "Error: ErrImagePull")
            report(podstatus.waiting("ErrImagePull", message))
            self._back_off.next(key, self._clock.monotonic())
            return None
        took = backoff.go_duration(self._clock.monotonic() - began)
        self._present.add(reference)
        self._back_off.forget(key)
        self._event(
            pod,
            field_path,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{reference}" in {took} ({took} including waiting). '
            f"Image size: {image_size(content)} bytes.",
        )
        return content

    def _event(self, pod: Body, field_path: str, type_: str, reason: str, message: str) -> None:
        self._events.event(pod, type_, reason, message, field_path=field_path)
