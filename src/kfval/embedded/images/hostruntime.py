"""The host's Python runtime, standing in for the heavy layers of the registry's base images.

The registry is seeded at every start, so its base images must be small: a real Python or
TensorFlow base is hundreds of megabytes. Each seeded base therefore carries only its own small
rootfs (busybox, the `jovyan` user, an empty /usr/lib) and names, in the label
`dev.kfval.host-runtime`, the host directories that stand in for the rest: the shared
libraries, the interpreter's prefix and the cluster's virtualenv (with torch and TensorFlow when
`.[local]` is installed). Whoever runs such an image binds those directories read-only at the
same paths: the kubelet for containers, the Kaniko executor for RUN steps. Only the paths this
host offers are honoured, so a pushed image cannot ask for anything else of the host.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

HOST_RUNTIME_LABEL = "dev.kfval.host-runtime"
LIBRARY_DIRS = ("/usr/lib", "/usr/lib64")


def runtime_paths() -> tuple[str, ...]:
    """The host directories a seeded base stands on: libraries, the interpreter, the virtualenv."""
    candidates = (*LIBRARY_DIRS, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix))
    unique = dict.fromkeys(path for path in candidates if os.path.isdir(path))
    return tuple(unique)


def python_bin() -> str:
    """The virtualenv's bin directory, first on a seeded base's PATH (so `python3` is the venv's)."""
    return os.path.join(os.path.realpath(sys.prefix), "bin")


def label_value() -> str:
    return json.dumps(list(runtime_paths()))


def declared(labels: Mapping[str, str] | None) -> tuple[str, ...]:
    """The host paths an image's labels ask for that this host offers (others are ignored)."""
    raw = (labels or {}).get(HOST_RUNTIME_LABEL)
    if not raw:
        return ()
    try:
        wanted = json.loads(raw)
    except ValueError:
        return ()
    offered = runtime_paths()
    return (
        tuple(path for path in wanted if isinstance(path, str) and path in offered) if isinstance(wanted, list) else ()
    )
