"""`kfval janitor --run-id ID`: remove what one run left behind (after a SIGKILL, a lost CI node), and
nothing that another run or a person made: only namespaces labelled with that run id and kfval.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from kfval import run as kfval_run
from kfval import settings
from kfval.kube import cleanup
from kfval.kube.errors import SetupError


def sweep(run_id: str, overrides: Mapping[str, str]) -> int:
    config = settings.load(kfval_run.RADISH_INI, environ=os.environ, overrides=overrides)
    try:
        conn, _started = kfval_run.connect(config, cache_dir=kfval_run.CACHE_DIR / "janitor", start_embedded=False)
    except SetupError as error:
        if config.target.kind != "local":
            raise
        print(f"kfval janitor: {error}")
        return 0
    deleted, problems = cleanup.janitor(conn, run_id, timeout_seconds=config.timeouts.cleanup)
    for name in deleted:
        print(f"deleted namespace {name}")
    for problem in problems:
        print(f"kfval janitor: {problem}", file=sys.stderr)
    if not deleted:
        print(f"nothing of run {run_id} is left in {conn.server}")
    return 1 if problems else 0
