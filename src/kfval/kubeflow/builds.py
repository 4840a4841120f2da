"""What the suite knows about building images in the cluster as Kubeflow Fairing's cluster builder does:
a Kaniko Job, its pod's outcome in Kaniko's words and exit codes, and what reached the registry.

Fairing (builders/cluster/cluster.py) sends a batch/v1 Job named by `generateName: fairing-builder-`,
labelled `fairing-builder: kaniko` and `fairing-build-id: <uuid1>`, with `backoffLimit: 0` and one
container `kaniko`; its PVC mutator mounts a claim as volume `fairing-volume-<claim>`, so the context
is a `dir://` path on the notebook's workspace. The builder writes the image digest to its
termination message (`--digest-file=/dev/termination-log`, as Kaniko's README suggests), so the
digest it pushed is read from the API, as any client of the cluster can.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfval.kube import checks, errors, guards, waiting
from kfval.kube.client import Body
from kfval.kube.errors import SetupError
from kfval.kube.session import ScenarioSession
from kfval.registry import Registry

BUILDER_LABEL = "fairing-builder"
BUILD_ID_LABEL = "fairing-build-id"
KANIKO_CONTAINER = "kaniko"
WORKSPACE_MOUNT = "/workspace"
"""Where the builder mounts the notebook's workspace claim (Kaniko's default context folder)."""
CONTEXTS_FOLDER = "builds"
"""The folder of the notebook's home (the workspace) that holds build contexts."""
CREDENTIALS_SECRET = "registry-credentials"
"""The scenario's dockerconfigjson Secret: the builder's credentials and its service account's pull secret."""
WORKSPACE_CLAIM = "workspace"
RUN_EXIT_CODE_SINCE = (1, 7, 0)
"""Kaniko passes a failing RUN's own exit code through from v1.7.0; earlier releases exit with 1."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TAG_VERSION = re.compile(r":v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Builder:
    """Where in-cluster image builds push and what they build with ([builder] of radish.ini; on the
    embedded cluster the empty registry keys are its own registry's, filled in when the run starts)."""

    registry: str = ""
    """The registry as pods name it in image references (`host[:port]`, no scheme)."""
    registry_address: str = ""
    """Where the suite itself reaches the registry to check what was pushed; empty: `registry`."""
    repository: str = "kfval"
    """The path images are pushed under: `<registry>/<repository>/<scenario namespace>-<image>`."""
    username: str = ""
    password: str = field(default="", repr=False)
    insecure: bool = False
    """Plain HTTP to the registry, for Kaniko (`--insecure`, `--insecure-pull`) and for the suite."""
    executor_image: str = "gcr.io/kaniko-project/executor:v1.23.2"
    base_image: str = ""
    """A non-root TensorFlow image the registry holds (Kubeflow's notebook images run as jovyan, uid 1000)."""
    service_account: str = "default-editor"
    """The service account builds and the built images run as: a Kubeflow profile's editor account, made
    in the scenario's namespace with the registry's pull secret."""

    def __post_init__(self) -> None:
        for key in ("registry", "registry_address"):
            value = getattr(self, key)
            if "://" in value or value.endswith("/"):
                raise SetupError(
                    f"builder.{key} is {value!r}; write the registry as image references name it: host[:port], "
                    "without scheme or path (builder.insecure = true for plain HTTP)"
                )

    def missing(self) -> list[str]:
        """The keys a build cannot do without that are still empty."""
        return [f"builder.{key}" for key in ("registry", "base_image") if not getattr(self, key)]

    @property
    def address(self) -> str:
        return self.registry_address or self.registry


@dataclass(frozen=True)
class Build:
    """One builder Job's outcome, as its pod reports it."""

    job: str
    pod: str
    phase: str
    exit_code: int | None
    termination_message: str
    log: str
    seconds: float

    @property
    def log_lines(self) -> list[str]:
        """The log without logrus' colour codes."""
        return [_ANSI.sub("", line) for line in self.log.splitlines()]

    @property
    def error_line(self) -> str | None:
        """Kaniko's last word when it failed: the last line of its log."""
        lines = [line for line in self.log_lines if line.strip()]
        return lines[-1] if lines else None

    def says(self, text: str) -> bool:
        return any(text in line for line in self.log_lines)


def context_files(folder: Path) -> dict[str, str]:
    """A build context of the project (`manifests/build-contexts/<name>/`) as the notebook saves it:
    workspace path -> text."""
    return {
        f"{CONTEXTS_FOLDER}/{folder.name}/{path.relative_to(folder)}": path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def context_url(name: str) -> str:
    return f"dir://{WORKSPACE_MOUNT}/{CONTEXTS_FOLDER}/{name}"


def workspace_path(path: str) -> str:
    """A path of the notebook's home as the builder sees it."""
    return f"{WORKSPACE_MOUNT}/{path}"


def repository(builder: Builder, session: ScenarioSession, image: str) -> str:
    """Where the scenario's `image` goes in the registry: unique to the scenario, so runs never meet."""
    return f"{builder.repository}/{session.namespace}-{image}"


def reference(builder: Builder, session: ScenarioSession, image: str, tag: str = "latest") -> str:
    return f"{builder.registry}/{repository(builder, session, image)}:{tag}"


def kaniko_args(builder: Builder, context: str, *, destination: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The arguments Fairing gives Kaniko, with the base image as a build argument and the digest as the
    container's termination message."""
    args = [
        "--dockerfile=Dockerfile",
        f"--context={context_url(context)}",
        f"--destination={destination}",
        f"--build-arg=BASE_IMAGE={builder.base_image}",
        "--digest-file=/dev/termination-log",
        *extra,
    ]
    return args + (["--insecure", "--insecure-pull"] if builder.insecure else [])


def docker_config(builder: Builder, *, password: str | None = None) -> str:
    """A docker config.json for the registry (base64, for a Secret's `data`), with `password` or the builder's."""
    secret = builder.password if password is None else password
    auth = base64.b64encode(f"{builder.username}:{secret}".encode()).decode()
    document = {"auths": {builder.registry: {"auth": auth}}}
    return base64.b64encode(json.dumps(document).encode()).decode()


def credential_forms(builder: Builder, *, password: str | None = None) -> list[str]:
    """What to redact for a password: itself and `user:password`, whose base64 is a config.json's `auth`."""
    secret = builder.password if password is None else password
    return [secret, f"{builder.username}:{secret}"] if secret else []


def registry(builder: Builder) -> Registry:
    return Registry(builder.address, builder.username, builder.password, plain_http=builder.insecure)


def grant_registry(session: ScenarioSession, manifest: Path, builder: Builder, *, password: str | None = None) -> None:
    """The credentials Secret and the service account that pulls with it (`password`: instead of the
    builder's); the credentials are masked in every report from now on."""
    for secret in credential_forms(builder, password=password):
        session.run.secrets.register(secret)
    variables = {"secret": CREDENTIALS_SECRET, "service_account": builder.service_account}
    session.apply(manifest, {**variables, "docker_config": docker_config(builder, password=password)})


def build(
    session: ScenarioSession,
    manifest: Path,
    builder: Builder,
    *,
    context: str,
    image: str,
    timeout: float,
    tarball: str | None = None,
    cache: str | None = None,
) -> Build:
    """Build the workspace's `context` with a builder Job from `manifest`, for the scenario's `image`: pushed,
    or written to the workspace's `tarball` instead; with `cache`, through that layer-cache repository.
    What it pushes is deleted from the registry at cleanup."""
    extra = ["--no-push", f"--tar-path={workspace_path(tarball)}"] if tarball else []
    if cache:
        extra += ["--cache=true", f"--cache-repo={builder.registry}/{repository(builder, session, cache)}"]
    forget_pushed(session, builder, [repository(builder, session, name) for name in (image, cache) if name])
    args = kaniko_args(builder, context, destination=reference(builder, session, image), extra=tuple(extra))
    variables = {
        "secret": CREDENTIALS_SECRET,
        "service_account": builder.service_account,
        "workspace": WORKSPACE_CLAIM,
        "executor_image": builder.executor_image,
        "args": json.dumps(args),
    }
    return run(session, manifest, variables, timeout=timeout)


def run(session: ScenarioSession, manifest: Path, variables: Mapping[str, str], *, timeout: float) -> Build:
    """Create a builder Job from `manifest` (with a new build id) and wait for it to finish either way."""
    build_id = str(uuid.uuid1())
    started = time.monotonic()
    selector = f"{BUILDER_LABEL}=kaniko,{BUILD_ID_LABEL}={build_id}"
    applied = session.apply(manifest, {**variables, "build_id": build_id})
    job = next(a.name for a in applied if a.kind == "Job")
    waiting.wait_until(
        session.conn,
        api_version="batch/v1",
        kind="Job",
        namespace=session.namespace,
        name=job,
        check=checks.job_finished("Complete", "Failed", failure_fails_wait=False),
        timeout_seconds=timeout,
        what=f'the builder Job "{job}" to finish',
        guard=guards.workload(
            session.conn,
            session.namespace,
            kind="Job",
            name=job,
            pods=selector,
            image_pull_grace_seconds=session.run.image_pull_grace_seconds,
        ),
        reporting=session.reporting(f"build {job}", lambda _seen: [session.pod_phases(selector)]),
    )
    seconds = time.monotonic() - started
    pods: list[Body] = session.conn.list("v1", "Pod", session.namespace, label_selector=selector)["items"]
    pod = pods[-1]
    terminated = _kaniko_terminated(pod)
    name = pod["metadata"]["name"]
    log = session.conn.pod_log(name, session.namespace, container=KANIKO_CONTAINER)
    return Build(
        job=job,
        pod=name,
        phase=str(pod["status"].get("phase")),
        exit_code=terminated.get("exitCode"),
        termination_message=str(terminated.get("message") or ""),
        log=log,
        seconds=seconds,
    )


def _kaniko_terminated(pod: Body) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == KANIKO_CONTAINER:
            return dict((status.get("state") or {}).get("terminated") or {})
    return {}


def run_failure_exit_code(executor_image: str, run_code: int) -> int:
    """The code the builder exits with when a RUN step exits with `run_code`, for the executor's release."""
    found = _TAG_VERSION.search(executor_image)
    if found is None:
        return run_code  # a tag without a version (latest, a digest) is a current release
    return run_code if tuple(int(part) for part in found.groups()) >= RUN_EXIT_CODE_SINCE else 1


def credential_leaks(builder: Builder, log: str, passwords: list[str], redact: Callable[[str], str]) -> list[str]:
    """Where any form of the passwords would show: in the builder's log, or unmasked by the reports' redaction."""
    problems = []
    for password in passwords:
        for form in credential_forms(builder, password=password):
            if form in log:
                problems.append("the builder's log carries registry credentials")
            if form in redact(f"[{form}]"):
                problems.append("the reports would show registry credentials: they are not registered for masking")
    return sorted(set(problems))


def expect_succeeded(build: Build) -> None:
    if build.phase != "Succeeded":
        raise errors.ExpectationError(
            f"builder pod {build.pod} is {build.phase} (exit code {build.exit_code}): {build.error_line}"
        )


def expect_failed(build: Build, *, exit_code: int, before_building: bool = False) -> None:
    """The builder pod failed with `exit_code`; `before_building`: before Kaniko fetched the base image."""
    problems = []
    if build.phase != "Failed":
        problems.append(f"builder pod {build.pod} is {build.phase}, expected Failed")
    if build.exit_code != exit_code:
        problems.append(f"container kaniko exited with {build.exit_code}, expected {exit_code}")
    if before_building and build.says("Retrieving image manifest"):
        problems.append("Kaniko started building (it retrieved the base image's manifest) before it failed")
    if problems:
        raise errors.ExpectationError("\n".join([*problems, f"its last log line: {build.error_line}"]))


def forget_pushed(session: ScenarioSession, builder: Builder, repositories: list[str]) -> None:
    """At cleanup, delete every image the scenario pushed to these repositories, where the registry allows."""

    def delete(_timeout: float) -> None:
        client = registry(builder)
        for name in repositories:
            for tag in client.tags(name):
                digest = client.manifest(name, tag).digest
                if not client.delete(name, digest):
                    refused = f"kfval: the registry {builder.registry} does not allow deletes; {name} stays"
                    print(refused, file=sys.stderr)
                    return

    what = f"the images pushed to {', '.join(repositories)}"
    if what not in (deferred for deferred, _action in session.deferred):
        session.defer(what, delete)
