"""One run of the executor, in Kaniko's order: check the flags, find the context and the Dockerfile,
check push permission, build, then write the digest files and push.

Two kinds of failure, as in Kaniko: a usage problem found while checking the flags (cobra prints
`Error: ...` and the usage on stderr), and a failure of the run itself (Kaniko prints the error
on stdout and exits with 1, or with a failing RUN's own code from v1.7.0).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kfval.embedded.images import hostruntime
from kfval.embedded.kaniko import building, contexts, credentials, pushing, remote
from kfval.embedded.kaniko.flags import Options
from kfval.embedded.kaniko.logs import Logger
from kfval.embedded.kaniko.releases import Release

PUSH_PERMISSION = (
    "error checking push permissions -- make sure you entered the correct tag name, "
    "and that you are authenticated correctly, and try again"
)
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class UsageError(Exception):
    """Refused before the run starts (cobra's PersistentPreRunE)."""


@dataclass
class RunError(Exception):
    message: str
    exit_code: int = 1


@dataclass(frozen=True)
class Prepared:
    """What the checks before the run found."""

    context: Path
    dockerfile: Path
    cache_repo: str


def prepare(options: Options, kaniko_dir: Path) -> Prepared:
    """The checks Kaniko makes before running, in its order, with its messages."""
    destinations = options.destinations
    if not options.flag("no-push") and not destinations:
        raise UsageError("you must provide --destination, or use --no-push")
    cache_repo = options.text("cache-repo") if options.flag("cache") else ""
    if options.flag("cache") and not cache_repo:
        if options.flag("no-push"):
            raise UsageError("cache flags invalid: if using cache with --no-push, specify cache repo with --cache-repo")
        name = remote.ImageName.parse(destinations[0])
        cache_repo = f"{name.registry}/{name.repository}/cache"
    try:
        context = contexts.resolve_context(
            options.text("context"), kaniko_dir=kaniko_dir, sub_path=options.text("context-sub-path")
        )
    except contexts.ContextError as error:
        raise UsageError(f"error resolving source context: {error}") from error
    try:
        dockerfile = contexts.resolve_dockerfile(options.text("dockerfile"), context, kaniko_dir=kaniko_dir)
    except contexts.ContextError as error:
        raise UsageError(f"error resolving dockerfile path: {error}") from error
    if not destinations and options.text("image-name-with-digest-file"):
        raise UsageError("you must provide --destination if setting ImageNameDigestFile")
    return Prepared(context, dockerfile, cache_repo)


def access(options: Options, registry: str, *, push: bool) -> remote.Access:
    """Plain HTTP and certificate checks for one registry, from `--insecure*` and `--skip-tls-verify*`."""
    insecure = options.flag("insecure" if push else "insecure-pull") or registry in options.items("insecure-registry")
    skip = options.flag("skip-tls-verify" if push else "skip-tls-verify-pull")
    skip = skip or registry in options.items("skip-tls-verify-registry")
    return remote.Access(plain=remote.plain_http(registry, insecure), verify=not skip)


def check_push(options: Options, keychain: credentials.Keychain) -> None:
    checked: set[str] = set()
    for destination in options.destinations:
        name = remote.ImageName.parse(destination)
        if f"{name.registry}/{name.repository}" in checked:
            continue
        try:
            remote.Registry(
                name, keychain.resolve(name.registry), access(options, name.registry, push=True)
            ).check_push()
        except remote.RemoteError as error:
            raise RunError(f'{PUSH_PERMISSION}: checking push permission for "{name}": {error}') from error
        checked.add(f"{name.registry}/{name.repository}")


def base_images(
    stages: list[contexts.Stage], *, options: Options, keychain: credentials.Keychain, log: Logger
) -> tuple[str, ...]:
    """Retrieve each base image's config as Kaniko does (logged); the host runtime paths their labels ask for."""
    aliases = contexts.aliases_from_env()
    names = {stage.name for stage in stages if stage.name}
    runtime: list[str] = []
    for stage in stages:
        if stage.base in names or stage.base.lower() == "scratch":
            continue
        shown = remote.ImageName.parse(stage.base)
        log.info(f"Retrieving image manifest {stage.base}")
        log.info(f"Retrieving image {shown} from registry {shown.registry}")
        actual = remote.ImageName.parse(aliases.get(stage.base, stage.base))
        how = access(options, actual.registry, push=False)
        try:
            config = remote.Registry(actual, keychain.resolve(actual.registry), how).config()
        except remote.RemoteError as error:
            raise RunError(f"error building image: {error}") from error
        runtime += hostruntime.declared((config.get("config") or {}).get("Labels"))
    log.info("Built cross stage deps: map[]")
    return tuple(dict.fromkeys(runtime))


def registries(options: Options, stages: list[contexts.Stage], cache_repo: str) -> set[str]:
    """Every registry the build talks to (bases, destinations, cache), for the authfile."""
    aliases = contexts.aliases_from_env()
    references = [aliases.get(stage.base, stage.base) for stage in stages]
    references += [*options.destinations, *([cache_repo] if cache_repo else [])]
    return {remote.ImageName.parse(reference).registry for reference in references if reference.lower() != "scratch"}


def execute(options: Options, release: Release, log: Logger) -> None:
    """The whole run; UsageError or RunError when it fails."""
    kaniko_dir = Path(os.environ.get("KANIKO_DIR") or options.text("kaniko-dir"))
    kaniko_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepare(options, kaniko_dir)
    try:
        keychain = credentials.Keychain.load(credentials.config_path())
    except credentials.CredentialsError as error:
        raise RunError(f"{PUSH_PERMISSION}: {error}") from error
    if not options.flag("no-push") and not options.flag("skip-push-permission-check"):
        check_push(options, keychain)
    text = prepared.dockerfile.read_text()
    build_args = dict(arg.partition("=")[::2] for arg in options.items("build-arg"))
    stages = contexts.stages(text, build_args)
    runtime = base_images(stages, options=options, keychain=keychain, log=log)
    prepared.dockerfile.write_text(contexts.rewrite_bases(text, contexts.aliases_from_env()))
    work = Path(tempfile.mkdtemp(prefix="kaniko-"))
    env = {**os.environ, "PATH": TOOL_PATH, "TMPDIR": str(work)}
    try:
        authfile = keychain.write_authfile(work / "auth.json", registries(options, stages, prepared.cache_repo))
        plan = building.BuildPlan(
            dockerfile=prepared.dockerfile,
            context=prepared.context,
            storage=work / "storage",
            authfile=authfile,
            tls_verify=all(
                access(options, registry, push=False).tls_verify
                for registry in registries(options, stages, prepared.cache_repo)
            ),
            build_args=options.items("build-arg"),
            target=options.text("target"),
            labels=options.items("label"),
            single_snapshot=options.flag("single-snapshot"),
            cache_repo=prepared.cache_repo,
            volumes=runtime,
        )
        try:
            building.build(plan, stages, log=log, release=release, env=env)
        except building.BuildError as failure:
            raise RunError(f"error building image: {failure.message}", exit_code(failure, release)) from failure
        deliver(options, plan, authfile=authfile, log=log, release=release, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def exit_code(failure: building.BuildError, release: Release) -> int:
    """A failing RUN's own code from v1.7.0 (Kaniko passes exec.ExitError through), 1 otherwise."""
    return failure.exit_code if failure.exit_code is not None and release.passes_run_exit_code else 1


def deliver(
    options: Options, plan: building.BuildPlan, *, authfile: Path, log: Logger, release: Release, env: dict[str, str]
) -> None:
    """Digest files, tarball, then the push (or the note that there is none)."""
    outputs = pushing.Outputs(
        destinations=options.destinations,
        no_push=options.flag("no-push"),
        digest_file=options.text("digest-file"),
        image_name_digest_file=options.text("image-name-with-digest-file"),
        image_name_tag_digest_file=options.text("image-name-tag-with-digest-file"),
        tar_path=options.tar_path,
        tls_verify={
            d: access(options, remote.ImageName.parse(d).registry, push=True).tls_verify for d in options.destinations
        },
    )
    storage = building.storage_args(plan)
    image_dir = plan.storage.parent / "image"
    try:
        digest = pushing.export(storage, image_dir, env)
        if outputs.tar_path:
            pushing.tarball(outputs, image_dir, env)
        if outputs.no_push:
            pushing.name_files(outputs, digest)
            log.info("Skipping push to container registry due to --no-push flag")
            return
        pushing.push(outputs, image_dir, authfile=authfile, log=log, release=release)
    except pushing.PushError as error:
        raise RunError(f"error pushing image: {error}") from error
