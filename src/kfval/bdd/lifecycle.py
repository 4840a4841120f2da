"""A run's life: settings, the target cluster (the embedded one started here when target.kind is local),
the connection, the reports, and stopping it all on a normal end or on SIGTERM/SIGINT.

The terrain calls `start` before the first feature and `finish` after the last; `abort` is what a
termination signal runs, because radish skips its after-hooks when it is killed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from kfval import settings, target
from kfval.bdd import console, reporting, summary
from kfval.embedded import launch
from kfval.kube import client, errors, outages, permissions
from kfval.kube.session import RunScope, new_run_id
from kfval.kubeflow import builds, helmengines, notebooks, preflight
from kfval.report.redaction import Redactor


@dataclass
class SuiteRun:
    """What the terrain keeps in `world.kfval` for the whole run."""

    settings: settings.Settings
    scope: RunScope
    redactor: Redactor
    cluster_lease: launch.Lease | None = None
    """This run's use of the embedded cluster (target.kind local), released when the run ends."""
    problems: list[str] = field(default_factory=list)
    helm_engine: helmengines.Engine | None = None
    """The Helm engine, chosen by the first Helm step of the run."""
    preflight: preflight.Report | None = None
    """What the checks before the run found (None when they were off); what it lacks blocks scenarios."""
    scenarios: dict[str, Any] = field(default_factory=dict)
    """Each scenario (radish's object) by its namespace: where a deletion awaited at the end reports."""


def blocked_by(run: SuiteRun, tags: Iterable[str]) -> str | None:
    """Why a scenario with these tags cannot run on this cluster, or None: what preflight found missing for it."""
    if run.preflight is None:
        return None
    missing = run.preflight.blocking(tags)
    if not missing:
        return None
    return "the cluster lacks what this scenario needs (kfval preflight): " + "; ".join(f.explain() for f in missing)


@dataclass(frozen=True)
class Connected:
    """The target a run talks to."""

    conn: client.Connection
    lease: launch.Lease | None
    """The run's use of the embedded cluster, which it may have started (target.kind local only)."""
    kubeconfig: Path | None
    """The kubeconfig the connection came from (None in-cluster)."""
    registry: launch.RegistryInfo | None = None
    """The embedded cluster's image registry (target.kind local only)."""


def connect(
    config: settings.Settings, *, cache_dir: Path, features: tuple[str, ...] = permissions.FEATURES
) -> Connected:
    """Connect to the configured target; with target.kind local, find the embedded cluster or start it.

    `features` are the run's keys of the permissions table: with `run.strict_permissions` the connection
    refuses any request they do not grant."""
    if config.target.kind != "local":
        kubeconfig = None if config.target.in_cluster else config.target.kubeconfig
        conn = target.connect(config, cache_dir=cache_dir, embedded_kubeconfig=None, features=features)
        return Connected(conn, None, kubeconfig)
    try:
        lease = launch.share(config.target.state_dir, die_with_parent=True)
    except launch.LaunchError as error:
        raise errors.SetupError(f"the embedded cluster did not start: {error}") from error
    info = lease.info
    try:
        conn = target.connect(
            config,
            cache_dir=cache_dir,
            embedded_kubeconfig=info.kubeconfig,
            features=features,
            vanished=vanished(info),
        )
        return Connected(conn, lease, info.kubeconfig, info.registry)
    except errors.KfvalError:
        launch.release(lease)
        raise


def vanished(info: launch.ClusterInfo) -> outages.Vanished:
    """Whether the embedded cluster is gone for good: its recorded process is dead (killed, crashed) or another
    one runs from its state dir now. Such a cluster never answers again, so the run stops at once."""

    def gone() -> str | None:
        running = launch.find(info.state_dir)
        if running is not None and running.pid == info.pid:
            return None
        return (
            f"the embedded cluster's process (pid {info.pid}, recorded in {info.state_dir / 'cluster.json'}) "
            f"is dead; its log is {info.log_path}"
        )

    return gone


def with_embedded_registry(builder: builds.Builder, registry: launch.RegistryInfo | None) -> builds.Builder:
    """[builder] with the embedded registry where radish.ini leaves the registry empty: its name for pods, its
    address for the suite, its credentials (plain HTTP) and its seeded non-root TensorFlow base."""
    if registry is None or builder.registry:
        return builder
    return dataclasses.replace(
        builder,
        registry=registry.name,
        registry_address=registry.address,
        username=registry.username,
        password=registry.password,
        insecure=True,
        base_image=builder.base_image or registry.tensorflow_base,
    )


def configure_reports(overrides: Mapping[str, str]) -> Redactor:
    """Reports first, so that even a run that cannot start leaves a report saying why; raises SetupError
    when another run is writing the same report files (this run must not overwrite them)."""
    try:
        reports = settings.load(settings.RADISH_INI, environ=os.environ, overrides=overrides).reports
    except errors.SetupError:
        reports = settings.Reports()
    claim_reports(report_files(reports))
    redactor = Redactor()
    reporting.configure(
        cucumber_path=reports.cucumber,
        junit_path=reports.junit,
        html_path=reports.html,
        history_path=reports.history or reports.cucumber.parent / "history",
        redactor=redactor,
    )
    return redactor


_claims: dict[Path, IO[str]] = {}
"""The lock files of the reports this process writes, held open (and locked) until it ends."""


def claim_reports(reports: dict[str, Path]) -> None:
    """Lock each report file (by a `.<name>.lock` beside it) for the rest of this process, so that a second
    run naming the same file is refused instead of overwriting this run's report after every scenario.

    `reports` maps each setting (`reports.cucumber`) to its path; raises SetupError naming the setting,
    the file and the process that writes it. The lock goes when the process ends or execs.
    """
    for setting, path in reports.items():
        lock_path = path.parent / f".{path.name}.lock"
        if lock_path in _claims:
            continue
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise errors.SetupError(
                f"{setting} is {str(path)!r}, which another run (pid {holder}) is writing; give this run "
                "report files of its own, e.g. -u reports.cucumber=reports/mine/cucumber.json and the same "
                "for reports.junit and reports.html"
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        _claims[lock_path] = lock


def report_files(reports: settings.Reports) -> dict[str, Path]:
    """Each report file by the setting that names it."""
    return {f"reports.{name}": getattr(reports, name) for name in settings.REPORT_FILES}


def start(
    overrides: Mapping[str, str],
    redactor: Redactor,
    *,
    features: tuple[str, ...] = permissions.FEATURES,
    ansi: bool = False,
) -> SuiteRun:
    """Settings, target cluster and connection; raises KfvalError naming the cause when the run cannot start.

    `features` are the keys of the permissions table the run's selected features use. `ansi` says whether
    radish draws on the console with ANSI sequences (a terminal, no `--no-ansi`): only then is the progress
    line drawn in place.
    """
    config = settings.load(settings.RADISH_INI, environ=os.environ, overrides=overrides)
    run_id = new_run_id()
    connected = connect(config, cache_dir=target.CACHE_DIR / run_id, features=features)
    conn = connected.conn
    config = dataclasses.replace(config, builder=with_embedded_registry(config.builder, connected.registry))
    checked = _preflight(config, connected, features) if config.run.preflight else None
    for secret in builds.credential_forms(config.builder):
        redactor.register(secret)
    scope = RunScope(
        conn=conn,
        run_id=run_id,
        namespace_prefix=config.target.namespace_prefix,
        secrets=redactor,
        variables=dict(config.variables),
        apply_timeout_seconds=config.timeouts.apply,
        image_pull_grace_seconds=config.timeouts.image_pull,
        namespace_labels=notebooks.PROFILE_LABELS if config.notebooks.profile_namespace else {},
        kubeconfig=connected.kubeconfig,
        context=None if config.target.kind == "local" else config.target.context,
        progress=console.progress_sink(enabled=config.console.progress, ansi=ansi),
        deletions_awaited_at_end=config.run.deletions_awaited_at_end,
    )
    run = SuiteRun(settings=config, scope=scope, redactor=redactor, cluster_lease=connected.lease, preflight=checked)
    _install_signal_handlers(run)
    print(f"kfval run {run_id} against {conn.server} (context {conn.context!r})", file=sys.stderr)
    return run


def _preflight(config: settings.Settings, connected: Connected, features: tuple[str, ...]) -> preflight.Report:
    """The run stops before its first scenario when the cluster lacks what every scenario needs; what only some
    features or capabilities need is announced here and blocks just their scenarios."""
    report = preflight.check(
        connected.conn,
        features,
        storage_class=config.notebooks.storage_class,
        registry=config.builder.registry,
        images=config.images,
    )
    if report.ok:
        print(f"kfval preflight: nothing missing ({len(report.findings)} checks)", file=sys.stderr)
        return report
    if not report.missing_for_the_run():
        outcome = "are skipped" if config.run.skip_missing else "fail at once (-u run.skip_missing=true skips them)"
        print(f"{report.render()}\nkfval preflight: the scenarios that need it {outcome}", file=sys.stderr)
        return report
    connected.conn.close()
    if connected.lease is not None:
        launch.release(connected.lease)
    raise errors.SetupError(
        "the cluster lacks what the selected features need (turn this check off with -u run.preflight=false):\n"
        + report.render()
    )


def finish(run: SuiteRun, *, interrupted: bool = False) -> list[str]:
    """Close what is still open and release the embedded cluster (the run that started it stops it, once
    the other runs that use it have ended, or at once when `interrupted`); returns the problems met."""
    problems = list(run.problems)
    for session in list(run.scope.open_sessions):
        problems.extend(session.close(timeout_seconds=run.settings.timeouts.cleanup))
    problems += _awaited_deletions(run)
    run.scope.conn.close()
    lease = run.cluster_lease
    if lease is not None and not launch.release(lease, wait_for_others=not interrupted):
        left = launch.reap(lease.info.state_dir)  # it died under the run: what it was starting may live on
        if left:
            print(f"kfval: the embedded cluster died during the run; killed what it left: {left}", file=sys.stderr)
    reporting.flush()
    return problems


def _awaited_deletions(run: SuiteRun) -> list[str]:
    """Await what the scenarios' cleanups left going; a deletion that did not finish fails its scenario in the
    reports (an `after` hook, `namespace deleted`) and the run."""
    problems = []
    for awaited in run.scope.await_deletions():
        if not awaited.problems:
            continue
        scenario = run.scenarios.get(awaited.namespace)
        error = "\n".join(awaited.problems)
        if scenario is not None:
            reporting.record_hook(
                scenario, kind="after", name="namespace deleted", error=error, duration_seconds=awaited.seconds
            )
        name = f"{scenario.sentence}: " if scenario is not None else ""
        problems += [f"{name}{problem}" for problem in awaited.problems]
    return problems


def summary_text(run: SuiteRun | None, problems: list[str]) -> str:
    """The end-of-run summary: each scenario as the reports have it, the run id, the reports, the janitor."""
    return summary.render(
        reporting.scenarios(),
        run_id=run.scope.run_id if run is not None else None,
        reports=reporting.report_paths(),
        cleanup_problems=problems,
    )


def _install_signal_handlers(run: SuiteRun) -> None:
    def abort(signum: int, _frame: FrameType | None) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):  # a second signal must not start a second cleanup
            signal.signal(ignored, signal.SIG_IGN)
        run.scope.progress.finished()  # the interrupted wait's line goes before the cleanup says anything
        print(f"kfval: {signal.Signals(signum).name} received: cleaning up run {run.scope.run_id}", file=sys.stderr)
        try:
            reporting.flush()  # the partial reports first: cleanup may take a while
            for problem in finish(run, interrupted=True):
                print(f"kfval: cleanup problem: {problem}", file=sys.stderr)
        except Exception as error:
            print(f"kfval: cleanup after {signal.Signals(signum).name} failed: {error}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, abort)
    signal.signal(signal.SIGINT, abort)
