"""How a container's command, environment and working directory come out of its image and its spec.

Kubernetes has precise rules for combining a container with its image (`command` replaces the
ENTRYPOINT, `args` replace the CMD, `command` alone drops the CMD; the container's env wins over the
image's) and workloads depend on them. Keeping the rules here, as pure functions, lets them be
tested without starting anything. Image references are normalised the way containerd reports them.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kfval.embedded import quantities
from kfval.embedded.kubelet.containers import Mount, RunAs
from kfval.embedded.kubelet.podservices import ImageContent
from kfval.embedded.types import Body

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
Expander = Callable[[Sequence[str], Mapping[str, str]], list[str]]


class MissingCommandError(Exception):
    """Neither the container nor its image names a command: the runtime cannot create the container."""


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)
NAME_TOTAL_LENGTH_MAX = 255


def reference_error(reference: str) -> str | None:
    """Why the kubelet cannot even parse the image reference (its InvalidImageName message), or None.

    The grammar is distribution/reference's, as the kubelet applies it before pulling
    (`reference.ParseNormalizedNamed`): lowercase path components, an optional registry host first,
    a tag of at most 128 characters, an optional digest.
    """
    name = reference.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    why = None
    if not _REFERENCE.match(reference):
        why = "invalid reference format"
        if _REFERENCE.match(reference.lower()) or _REFERENCE.match(_lower_path(reference)):
            why += ": repository name must be lowercase"
    elif len(name) > NAME_TOTAL_LENGTH_MAX:
        why = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
    if why is None:
        return None
    return f'Failed to apply default image tag "{reference}": couldn\'t parse image reference "{reference}": {why}'


def _lower_path(reference: str) -> str:
    """The reference with its repository path lowercased (the registry host and the tag keep their case)."""
    first, slash, rest = reference.partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        first, rest, slash = "", reference, ""
    path, colon, tag = rest.partition(":")
    return f"{first}{slash}{path.lower()}{colon}{tag}"


def normalized_reference(reference: str) -> str:
    """`busybox` -> `docker.io/library/busybox:latest`, as containerd names images in statuses."""
    name, _, digest = reference.partition("@")
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name = f"{name}:latest"
    return name


def image_id(reference: str) -> str:
    """A stable `repo@sha256:...` for `imageID`, derived from the normalised reference."""
    full = normalized_reference(reference)
    repository = full.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(full.encode()).hexdigest()}"


def argv(container: Body, image: ImageContent, *, env: Mapping[str, str], expand: Expander) -> tuple[str, ...]:
    """The process argv: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD, $(VAR) expanded."""
    command = container.get("command")
    args = container.get("args")
    if command:
        words = [*expand(command, env), *(expand(args, env) if args else [])]
    else:
        entrypoint = list(image.entrypoint or [])
        words = [*entrypoint, *(expand(args, env) if args else list(image.cmd or []))]
    if not words:
        raise MissingCommandError("no command specified")
    return tuple(words)


def environment(image: ImageContent, container_env: Mapping[str, str], *, hostname: str) -> dict[str, str]:
    """The image's ENV, then the container's (which wins), with the cluster's Python first on PATH."""
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, **image.env, **container_env}
    python_dir = os.path.dirname(sys.executable)
    parts = env["PATH"].split(":")
    if python_dir not in parts:
        env["PATH"] = ":".join([python_dir, *parts])
    return env


def working_dir(container: Body, image: ImageContent) -> str:
    return str(container.get("workingDir") or image.workdir or "/")


def memory_limit_bytes(container: Body) -> int | None:
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return None if limit is None else quantities.to_bytes(limit)


def termination_message_path(container: Body) -> str:
    return str(container.get("terminationMessagePath") or DEFAULT_TERMINATION_MESSAGE_PATH)


def falls_back_to_logs(container: Body) -> bool:
    return container.get("terminationMessagePolicy") == "FallbackToLogsOnError"


_RUNTIME_ROOTS = (
    sys.prefix,
    sys.base_prefix,
    os.path.dirname(sys.executable),
    str(Path(__file__).resolve().parents[2]),  # the kfval package: host images' tool shims live in it
)


def runtime_mounts(scratch_dirs: Sequence[str], *, roots: Sequence[str] | None = None) -> tuple[Mount, ...]:
    """Read-only binds that keep the cluster's own Python (and package) visible when under a scratch dir.

    Containers run the cluster's interpreter (it is first on PATH), but each gets an empty tmpfs over
    /tmp: a project checked out under /tmp (as CI clones are) would otherwise lose its virtualenv and
    every `python` container would fail with "executable file not found".
    """
    found = {os.path.realpath(p) for p in (roots or _RUNTIME_ROOTS)}
    hidden = [root for root in sorted(found) if any(_under(root, scratch) for scratch in scratch_dirs)]
    outermost = [root for root in hidden if not any(root != other and _under(root, other) for other in hidden)]
    return tuple(Mount(Path(root), root, read_only=True) for root in outermost)


def _under(path: str, directory: str) -> bool:
    directory = directory.rstrip("/") or "/"
    return path == directory or path.startswith(directory + "/")


def run_as(pod: Body, container: Body, image: ImageContent) -> RunAs | None:
    """Who an image's process runs as: `runAsUser`/`runAsGroup` (container over pod) over the image's USER.

    Only images with a root of their own have users; supplemental groups and fsGroup join the
    image's own groups for the user, as the runtime adds them.
    """
    if image.rootfs is None:
        return None
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    context = {**pod_context, **(container.get("securityContext") or {})}
    user = image.user
    uid = context.get("runAsUser", user.uid if user is not None else 0)
    same = user is not None and user.uid == uid
    gid = context.get("runAsGroup", user.gid if same and user is not None else 0)
    groups = list(user.groups) if same and user is not None else []
    groups += [int(g) for g in pod_context.get("supplementalGroups") or []]
    if pod_context.get("fsGroup") is not None:
        groups.append(int(pod_context["fsGroup"]))
    return RunAs(int(uid), int(gid), tuple(dict.fromkeys(g for g in groups if g != gid)))
