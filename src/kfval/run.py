"""A run's life: settings, the target cluster (the embedded one started here when target.kind is local),
the connection, the reports, and stopping it all on a normal end or on SIGTERM/SIGINT.

The terrain calls `start` before the first feature and `finish` after the last; `abort` is what a
termination signal runs, because radish skips its after-hooks when it is killed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from kfval import reporting, settings
from kfval.embedded import launch
from kfval.kube import client, errors
from kfval.kube.session import Run, new_run_id
from kfval.report.redaction import Redactor

log = logging.getLogger(__name__)
RADISH_INI = Path("radish.ini")
CACHE_DIR = Path(".state/client-cache")


@dataclass
class RunState:
    """What the terrain keeps in `world.kfval` for the whole run."""

    settings: settings.Settings
    run: Run
    redactor: Redactor
    started_cluster: Path | None = None
    problems: list[str] = field(default_factory=list)


def connect(config: settings.Settings, *, cache_dir: Path, start_embedded: bool) -> tuple[client.Connection, bool]:
    """Connect to the configured target; with target.kind local, start the embedded cluster or find it.

    Returns the connection and whether this call started the embedded cluster (so it must stop it).
    """
    target = config.target
    if target.kind != "local":
        return client.connect(
            kubeconfig=target.kubeconfig, context=target.context, in_cluster=target.in_cluster, cache_dir=cache_dir
        ), False
    info = launch.find(target.state_dir)
    started = False
    if info is None and start_embedded:
        try:
            info = launch.start(target.state_dir, die_with_parent=True)
        except launch.LaunchError as error:
            raise errors.SetupError(f"the embedded cluster did not start: {error}") from error
        started = True
    if info is None:
        raise errors.SetupError(f"no embedded cluster runs from {target.state_dir}; it keeps nothing once stopped")
    try:
        conn = client.connect(kubeconfig=info.kubeconfig, context=None, in_cluster=False, cache_dir=cache_dir)
    except errors.KfvalError:
        if started:
            launch.stop(target.state_dir)
        raise
    return conn, started


def configure_reports(overrides: Mapping[str, str]) -> Redactor:
    """Reports first, so that even a run that cannot start leaves a report saying why."""
    try:
        paths = settings.load(RADISH_INI, environ=os.environ, overrides=overrides).reports
    except errors.SetupError:
        paths = settings.Reports()
    redactor = Redactor()
    reporting.configure(cucumber_path=paths.cucumber, junit_path=paths.junit, html_path=paths.html, redactor=redactor)
    return redactor


def start(overrides: Mapping[str, str], redactor: Redactor) -> RunState:
    """Settings, target cluster and connection; raises KfvalError naming the cause when the run cannot start."""
    config = settings.load(RADISH_INI, environ=os.environ, overrides=overrides)
    run_id = new_run_id()
    conn, started = connect(config, cache_dir=CACHE_DIR / run_id, start_embedded=True)
    run = Run(
        conn=conn,
        run_id=run_id,
        namespace_prefix=config.target.namespace_prefix,
        secrets=redactor,
        variables=dict(config.variables),
    )
    state = RunState(
        settings=config, run=run, redactor=redactor, started_cluster=config.target.state_dir if started else None
    )
    _install_signal_handlers(state)
    print(f"kfval run {run_id} against {conn.server} (context {conn.context!r})", file=sys.stderr)
    return state


def finish(state: RunState) -> list[str]:
    """Close what is still open and stop the embedded cluster; returns the problems met."""
    problems = list(state.problems)
    for session in list(state.run.open_sessions):
        problems.extend(session.close(timeout_seconds=state.settings.timeouts.cleanup))
    state.run.conn.close()
    if state.started_cluster is not None:
        launch.stop(state.started_cluster)
    reporting.flush()
    return problems


def _install_signal_handlers(state: RunState) -> None:
    def abort(signum: int, _frame: FrameType | None) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):  # a second signal must not start a second cleanup
            signal.signal(ignored, signal.SIG_IGN)
        print(f"kfval: {signal.Signals(signum).name} received: cleaning up run {state.run.run_id}", file=sys.stderr)
        try:
            reporting.flush()  # the partial reports first: cleanup may take a while
            for problem in finish(state):
                print(f"kfval: cleanup problem: {problem}", file=sys.stderr)
        except Exception as error:
            print(f"kfval: cleanup after {signal.Signals(signum).name} failed: {error}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, abort)
    signal.signal(signal.SIGINT, abort)
