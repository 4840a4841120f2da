"""The build context and the Dockerfile, found as Kaniko finds them.

`--context` is a directory (`dir://` or a plain path) or a gzipped tarball (`tar://`, unpacked to
/kaniko/buildcontext/). Buckets, S3, Azure, git and HTTPS contexts need a network this node does
not have, and fail the way an unreachable source fails. The Dockerfile is taken as given when it
exists, else relative to the context, then copied to /kaniko/Dockerfile, where Kaniko reads it.
Its `FROM` lines are read here too: the base images, the stages, and which public names the
cluster's registry answers for (its aliases).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kfval.embedded.images import dockerfile

KNOWN_PREFIXES = ("gs://", "dir://", "tar://", "s3://", "git://", "https://")
BUILD_CONTEXT_DIR = "buildcontext"


class ContextError(Exception):
    """The context or the Dockerfile cannot be had; `str()` is Kaniko's message."""


def resolve_context(context: str, *, kaniko_dir: Path, sub_path: str = "") -> Path:
    """The directory the build reads its files from."""
    if "://" not in context:
        found = Path(context)
    elif context.startswith("dir://"):
        found = Path(context.removeprefix("dir://"))
    elif context.startswith("tar://"):
        found = unpack(Path(context.removeprefix("tar://")), kaniko_dir / BUILD_CONTEXT_DIR)
    elif context.startswith(KNOWN_PREFIXES):
        scheme = context.split("://", 1)[0]
        raise ContextError(f"{scheme} build context {context} cannot be fetched: this node reaches no network")
    else:
        raise ContextError(
            "unknown build context prefix provided, please use one of the following: "
            "gs://, dir://, tar://, s3://, git://, https://"
        )
    if sub_path:
        found = found / sub_path
        if not found.exists():
            raise ContextError(f"stat {found}: no such file or directory")
    return found


def unpack(archive: Path, target: Path) -> Path:
    """A `tar://` context: a gzipped tarball unpacked into the build context directory."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, mode="r:gz") as opened:
            opened.extractall(target, filter="tar")
    except (OSError, tarfile.TarError) as error:
        raise ContextError(f"{error}") from error
    return target


def resolve_dockerfile(given: str, context: Path, *, kaniko_dir: Path) -> Path:
    """The Dockerfile (as given, else inside the context), copied to <kaniko dir>/Dockerfile."""
    for candidate in (Path(given), context / given):
        if candidate.is_file():
            copy = kaniko_dir / "Dockerfile"
            if candidate.resolve() != copy.resolve():
                shutil.copyfile(candidate, copy)
                ignore = Path(f"{candidate}.dockerignore")
                if ignore.is_file():
                    shutil.copyfile(ignore, Path(f"{copy}.dockerignore"))
            return copy
    raise ContextError("please provide a valid path to a Dockerfile within the build context with --dockerfile")


@dataclass(frozen=True)
class Stage:
    """One FROM of the Dockerfile: its base as written, its name, the instructions after it."""

    base: str
    name: str | None
    instructions: tuple[str, ...]


def stages(text: str, build_args: Mapping[str, str]) -> list[Stage]:
    """The Dockerfile's stages, with ARGs before the first FROM substituted into the bases."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    current: list[str] | None = None
    for _line, instruction in dockerfile.logical_lines(text):
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() == "FROM":
            words = dockerfile.substitute(rest.strip(), {**global_args, **build_args}).split()
            words = [word for word in words if not word.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            current = []
            found.append(Stage(words[0] if words else "", name, ()))
        elif current is None and keyword.upper() == "ARG":
            key, equals, default = rest.strip().partition("=")
            global_args.setdefault(key, default if equals else "")
        elif current is not None:
            current.append(instruction)
            found[-1] = Stage(found[-1].base, found[-1].name, tuple(current))
    return found


def rewrite_bases(text: str, aliases: Mapping[str, str]) -> str:
    """The Dockerfile with aliased base images replaced by their registry references (line by line)."""
    lines = []
    for line in text.splitlines(keepends=True):
        words = line.split()
        base = next((word for word in words[1:] if not word.startswith("--")), "") if words else ""
        if words and words[0].upper() == "FROM" and base in aliases:
            lines.append(line.replace(base, aliases[base], 1))
        else:
            lines.append(line)
    return "".join(lines)


def aliases_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The cluster's registry aliases (public reference -> registry reference), from the image ENV."""
    raw = (os.environ if env is None else env).get("KFVAL_REGISTRY_ALIASES", "")
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(key): str(value) for key, value in parsed.items()} if isinstance(parsed, dict) else {}
