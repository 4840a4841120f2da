"""What a build made, judged where its users meet it: the image in the registry (digest and config), the app
it runs, and an image tarball left on the workspace.

The registry is read through its HTTP API at the address the suite reaches it (`kfval.registry`); the
app and the tarball are read from pods' output, so every judgement works on a real cluster too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kfval.kubeflow.builds import Builder, registry
from kfval.registry import RegistryError


def _split(builder: Builder, image_reference: str) -> tuple[str, str]:
    """`<registry>/<repository>:<tag>` -> (repository, tag)."""
    path = image_reference.removeprefix(f"{builder.registry}/")
    name, _, tag = path.rpartition(":")
    return name, tag


def pushed_config(builder: Builder, image_reference: str) -> dict[str, Any]:
    """The image config of what the registry holds under `image_reference`."""
    return registry(builder).image_config(*_split(builder, image_reference))


def pushed_digest(builder: Builder, image_reference: str) -> str | None:
    """The registry's digest for `image_reference`; None when it holds no such image."""
    name, tag = _split(builder, image_reference)
    try:
        return registry(builder).manifest(name, tag).digest
    except RegistryError as error:
        if error.status == 404:
            return None
        raise


def config_mismatches(config: Mapping[str, Any], *, cmd: str, workdir: str, env: Mapping[str, str]) -> list[str]:
    """How a pushed image's config differs from what its Dockerfile asks, on a non-root base."""
    problems = []
    user = str(config.get("User") or "")
    if user.split(":", 1)[0] in ("", "0", "root"):
        problems.append(f"config.User is {user!r}: the image runs as root")
    if " ".join(config.get("Cmd") or []) != cmd:
        problems.append(f"config.Cmd is {config.get('Cmd')!r}, expected {cmd!r}")
    if str(config.get("WorkingDir") or "").rstrip("/") != workdir.rstrip("/"):
        problems.append(f"config.WorkingDir is {config.get('WorkingDir')!r}, expected {workdir!r}")
    environment = dict(item.split("=", 1) for item in config.get("Env") or [])
    for variable, value in env.items():
        if environment.get(variable) != value:
            problems.append(f"config.Env {variable} is {environment.get(variable)!r}, expected {value!r}")
    return problems


def app_report(log: str) -> dict[str, Any]:
    """What the built app printed about itself: the JSON object on its last line."""
    lines = [line for line in log.splitlines() if line.strip()]
    if not lines:
        return {}
    try:
        found = json.loads(lines[-1])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def app_mismatches(report: Mapping[str, Any]) -> list[str]:
    """What the built app says about its image, against what the app context's Dockerfile put there."""
    if not report:
        return ["the app printed no JSON line about its image"]
    problems = []
    uid = report.get("uid")
    if uid in (None, 0):
        problems.append(f"the app runs as uid {uid}, not as a non-root user")
    if report.get("run_step") != f"written by the RUN step as uid {uid}":
        problems.append(f"/app/run-step.txt says {report.get('run_step')!r}: the RUN step ran as another user, or not")
    if report.get("cwd") != "/app":
        problems.append(f"the app runs in {report.get('cwd')!r}, not in its WORKDIR /app")
    if report.get("fairing_runtime") != "1":
        problems.append(f"FAIRING_RUNTIME is {report.get('fairing_runtime')!r} in the app, not 1")
    if not report.get("tensorflow"):
        problems.append("the app finds no TensorFlow: the image is not built on the TensorFlow base")
    return problems


def tarball_mismatches(listed: str, reference: str) -> list[str]:
    """A `docker save` manifest.json (printed by a pod) against the image name the build gave it."""
    try:
        entries = json.loads(listed)
    except ValueError:
        return [f"the tarball's manifest.json is not JSON: {listed[:200]!r}"]
    tags = [tag for entry in entries for tag in entry.get("RepoTags") or []]
    layers = [layer for entry in entries for layer in entry.get("Layers") or []]
    problems = [] if reference in tags else [f"the tarball names {tags}, not {reference}"]
    return problems + ([] if layers else ["the tarball's manifest lists no layers"])
