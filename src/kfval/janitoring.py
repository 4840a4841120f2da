"""`kfval janitor --run-id ID`: remove what one run left behind (after a SIGKILL, a lost CI node), and
nothing that another run or a person made: only namespaces labelled with that run id and kfval.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kfval import settings, target
from kfval.kube import cleanup, errors, session


def sweep(run_id: str, config: settings.Settings, *, embedded_kubeconfig: Path | None) -> int:
    """Delete the run's namespaces; 0 when nothing of it is left, 1 when a deletion did not finish.

    Raises SetupError, before connecting, for a run id that no run could have had.
    """
    if not session.is_run_id(run_id):
        raise errors.SetupError(
            f"--run-id {run_id!r} is not a run id: a run prints its id (r and {2 * session.RUN_ID_BYTES} hex digits, "
            "e.g. r1a2b3c4d) at the start, in 'kfval run <id> against <server>'"
        )
    conn = target.connect(
        config, cache_dir=target.CACHE_DIR / f"janitor-{run_id}", embedded_kubeconfig=embedded_kubeconfig
    )
    deleted, problems = cleanup.janitor(conn, run_id, timeout_seconds=config.timeouts.cleanup)
    for name in deleted:
        print(f"deleted namespace {name}")
    for problem in problems:
        print(f"kfval janitor: {problem}", file=sys.stderr)
    if not deleted:
        print(f"nothing of run {run_id} is left in {conn.server}")
    return 1 if problems else 0
