"""The build itself: buildah in chroot isolation, told and reported in Kaniko's terms.

buildah builds the Dockerfile (Docker format, as Kaniko's images are) in storage made fresh for
this build (overlay, on the sandbox's own tmpfs: its mounts go with the sandbox), one layer per
instruction that changes files (`--layers`), as Kaniko snapshots; nothing
is cached between builds unless `--cache` names a cache repository, which becomes buildah's
`--cache-from`/`--cache-to`. buildah's step lines are turned into the lines
Kaniko prints for the same instructions; what the RUN commands print passes through unchanged.
A failing RUN keeps its exit code, for the release to pass on or not.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kfval.embedded.kaniko import contexts
from kfval.embedded.kaniko.logs import Logger
from kfval.embedded.kaniko.releases import Release

IMAGE = "localhost/kaniko-build:latest"
STEP = re.compile(r"^STEP \d+/\d+: (.*)$")
FAILED_STEP = re.compile(r'^(?:Error: )?(?:error )?building at STEP "(.*)": (.*)$')
NOISE = re.compile(
    r"^(Trying to pull |Getting image source signatures|Copying (blob|config) |Writing manifest|Storing signatures|"
    r"COMMIT|Successfully tagged |--> [0-9a-f]{11}$|[0-9a-f]{64}$|--> Using cache [0-9a-f]+$|"
    r"subprocess exited with status \d+$)"
)
"""buildah's own lines, which Kaniko has no counterpart for (a failed RUN's `subprocess exited with status`
comes from buildah's chroot runner, twice)."""
CACHE_PULLED = re.compile(r"^--> Cache pulled from remote (\S+)$")
CACHE_PUSHED = re.compile(r"^--> Pushing cache (\S+)$")
RUN_FAILED = re.compile(r"exit status (\d+)")


@dataclass(frozen=True)
class BuildPlan:
    """Everything one build needs."""

    dockerfile: Path
    context: Path
    storage: Path
    authfile: Path
    tls_verify: bool
    build_args: Sequence[str] = ()
    target: str = ""
    labels: Sequence[str] = ()
    single_snapshot: bool = False
    cache_repo: str = ""
    volumes: Sequence[str] = ()
    """Host runtime directories the bases stand on, bound read-only into RUN steps."""


@dataclass
class BuildError(Exception):
    message: str
    exit_code: int | None = None
    """The RUN command's own exit code, when a RUN failed."""


def storage_args(plan: BuildPlan) -> list[str]:
    """buildah's global flags for this build's own storage."""
    root, run = str(plan.storage / "root"), str(plan.storage / "run")
    return ["--root", root, "--runroot", run, "--storage-driver", "overlay"]


def command(plan: BuildPlan) -> list[str]:
    argv = [
        "buildah",
        *storage_args(plan),
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--pull-always",
        "--layers",
    ]
    argv += [
        "-f",
        str(plan.dockerfile),
        "--authfile",
        str(plan.authfile),
        f"--tls-verify={str(plan.tls_verify).lower()}",
    ]
    argv += ["-t", IMAGE]
    for arg in plan.build_args:
        argv += ["--build-arg", arg]
    for label in plan.labels:
        argv += ["--label", label]
    for path in plan.volumes:
        argv += ["--volume", f"{path}:{path}:ro"]
    if plan.target:
        argv += ["--target", plan.target]
    if plan.single_snapshot:
        argv.append("--squash")
    if plan.cache_repo:
        argv += ["--cache-from", plan.cache_repo, "--cache-to", plan.cache_repo]
    return [*argv, str(plan.context)]


def run_words(instruction: str) -> tuple[str, list[str]]:
    """RUN's Cmd and Args as Kaniko logs them: the shell form runs `/bin/sh -c`."""
    body = instruction.partition(" ")[2].strip()
    if body.startswith("["):
        try:
            words = [str(word) for word in json.loads(body)]
            return words[0], words[1:]
        except (ValueError, IndexError):
            pass
    return "/bin/sh", ["-c", body]


@dataclass
class Narrator:
    """Turns buildah's output into Kaniko's lines for the same instructions."""

    log: Logger
    release: Release
    cache: bool
    stages: Sequence[contexts.Stage] = ()
    stage: int = -1
    current: str = ""
    snapshotter_ready: bool = False
    pending_cache: bool = False
    passthrough: list[str] = field(default_factory=list)

    def step(self, instruction: str) -> None:
        self.current = instruction
        keyword = instruction.split(" ", 1)[0].upper()
        if keyword == "FROM":
            self.snapshotter_ready = False
            self.stage += 1
            self.begin_stage()
            return
        if keyword == "RUN" and self.cache:
            self.pending_cache = True
            return
        self.begin(instruction, keyword)

    def begin_stage(self) -> None:
        """Kaniko's lines at the start of a stage: triggers, the stage, whether the rootfs is unpacked."""
        if self.stage >= len(self.stages):
            return
        stage = self.stages[self.stage]
        self.log.info("Executing 0 build triggers")
        if self.release.logs_stages:
            self.log.info(f"Building stage '{stage.base}' [idx: '{self.stage}', base-idx: '-1']")
        first_run = next((i for i in stage.instructions if i.split(" ", 1)[0].upper() == "RUN"), None)
        if first_run is not None:
            self.log.info(f"Unpacking rootfs as cmd {first_run} requires it.")
        else:
            self.log.info("Skipping unpacking as no commands require it.")

    def begin(self, instruction: str, keyword: str) -> None:
        self.log.info(instruction)
        if keyword == "RUN":
            if self.release.logs_stages and not self.snapshotter_ready:
                self.log.info("Initializing snapshotter ...")
                self.snapshotter_ready = True
            self.log.info("Taking snapshot of full filesystem...")
            cmd, args = run_words(instruction)
            self.log.info(f"Cmd: {cmd}")
            self.log.info(f"Args: [{' '.join(args)}]")
            self.log.info(f"Running: [{' '.join([cmd, *args])}]")
        elif keyword == "WORKDIR":
            directory = instruction.partition(" ")[2].strip()
            self.log.info("Cmd: workdir")
            self.log.info(f"Changed working directory to {directory}")
            self.log.info("Taking snapshot of files...")
        elif keyword in ("COPY", "ADD"):
            self.log.info("Taking snapshot of files...")

    def line(self, text: str) -> None:
        pulled = CACHE_PULLED.match(text)
        if self.pending_cache:
            self.pending_cache = False
            if pulled:
                self.log.info(f"Checking for cached layer {pulled.group(1)}...")
                self.log.info(f"Using caching version of cmd: {self.current}")
                return
            self.log.info(f"No cached layer found for cmd {self.current}")
            self.begin(self.current, "RUN")
        pushed = CACHE_PUSHED.match(text)
        if pushed:
            if self.current.upper().startswith("RUN"):
                self.log.info(f"Pushing layer {pushed.group(1)} to cache now")
            return
        if pulled or NOISE.match(text) or FAILED_STEP.match(text):
            return
        print(text, flush=True)

    def finish(self) -> None:
        if self.pending_cache:
            self.pending_cache = False
            self.log.info(f"No cached layer found for cmd {self.current}")
            self.begin(self.current, "RUN")


def lines(process: subprocess.Popen[bytes]) -> Iterator[str]:
    assert process.stdout is not None
    for raw in process.stdout:
        yield raw.decode(errors="replace").rstrip("\n")


def build(
    plan: BuildPlan, stages: Sequence[contexts.Stage], *, log: Logger, release: Release, env: dict[str, str]
) -> None:
    """Run the build; BuildError with Kaniko's wording (and a RUN's exit code) when it fails."""
    narrator = Narrator(log, release, cache=bool(plan.cache_repo), stages=stages)
    failure = ""
    with subprocess.Popen(
        command(plan), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    ) as process:
        for text in lines(process):
            step = STEP.match(text)
            failed = FAILED_STEP.match(text)
            if step:
                narrator.step(step.group(1))
            elif failed:
                failure = failed.group(2)
                narrator.line(text)
            elif text.startswith("Error: "):
                failure = failure or text.removeprefix("Error: ")
            else:
                narrator.line(text)
        code = process.wait()
    narrator.finish()
    if code == 0:
        return
    run_code = RUN_FAILED.search(failure) if narrator.current.upper().startswith("RUN") else None
    if run_code is not None:
        status = run_code.group(1)
        raise BuildError(
            f"error building stage: failed to execute command: waiting for process to exit: exit status {status}",
            int(status),
        )
    raise BuildError(f"error building stage: {failure or f'buildah exited with code {code}'}")
