"""Running an image's process as its user (`USER 1000`, `runAsUser`), inside bubblewrap, as root.

bubblewrap run by root has no option to change the user, and a user namespace would map the
container's uid 1000 to the host's root (files written to volumes would belong to root). So the
container's command is started by util-linux `setpriv --reuid --regid --groups`, which drops to
the user after the sandbox is built, and the process holds the real uid, as under runc. The
image's root has no setpriv of its own, so the host's is bound at /.kfval with the libraries it
links, and run by the dynamic loader with `--library-path` (the image's /lib is not involved).
"""

from __future__ import annotations

import posixpath
import re

from kfval.embedded.kubelet.containers import RunAs

HELPER_DIR = "/.kfval"
LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(/\S+) \(0x[0-9a-f]+\)\s*$")


def linked_files(setpriv: str, ldd_output: str) -> dict[str, str]:
    """Name under HELPER_DIR -> host path: setpriv, its libraries and the loader (from `ldd setpriv`)."""
    files = {"setpriv": setpriv}
    for line in ldd_output.splitlines():
        match = LDD_LINE.match(line)
        if match:
            path = match.group(2)
            files[posixpath.basename(match.group(1) or path)] = path
    return files


def loader_name(files: dict[str, str]) -> str | None:
    return next((name for name in files if name.startswith("ld-linux")), None)


def bind_args(files: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, path in sorted(files.items()):
        args += ["--ro-bind", path, f"{HELPER_DIR}/{name}"]
    return args


def switch_argv(run_as: RunAs, files: dict[str, str]) -> list[str]:
    """The argv prefix that becomes `run_as` and then execs the container's command."""
    loader = loader_name(files)
    prefix = [f"{HELPER_DIR}/{loader}", "--library-path", HELPER_DIR] if loader else []
    groups = f"--groups={','.join(str(g) for g in run_as.groups)}" if run_as.groups else "--clear-groups"
    return [*prefix, f"{HELPER_DIR}/setpriv", f"--reuid={run_as.uid}", f"--regid={run_as.gid}", groups, "--"]
