"""A run's life: settings, the target cluster (the embedded one started here when target.kind is local),
the connection, the reports, and stopping it all on a normal end or on SIGTERM/SIGINT.

The terrain calls `start` before the first feature and `finish` after the last; `abort` is what a
termination signal runs, because radish skips its after-hooks when it is killed.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from kfval import settings, target
from kfval.bdd import reporting
from kfval.embedded import launch
from kfval.kube import client, errors, permissions
from kfval.kube.session import RunScope, new_run_id
from kfval.kubeflow import builds, helmengines, notebooks, preflight
from kfval.report.redaction import Redactor


@dataclass
class SuiteRun:
    """What the terrain keeps in `world.kfval` for the whole run."""

    settings: settings.Settings
    scope: RunScope
    redactor: Redactor
    started_cluster: Path | None = None
    problems: list[str] = field(default_factory=list)
    helm_engine: helmengines.Engine | None = None
    """The Helm engine, chosen by the first Helm step of the run."""
    preflight: preflight.Report | None = None
    """What the checks before the run found (None when they were off); what it lacks blocks scenarios."""


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
    started: bool
    """Whether this run started the embedded cluster (so it must stop it)."""
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
        return Connected(conn, False, kubeconfig)
    state_dir = config.target.state_dir
    info = launch.find(state_dir)
    started = info is None
    if info is None:
        try:
            info = launch.start(state_dir, die_with_parent=True)
        except launch.LaunchError as error:
            raise errors.SetupError(f"the embedded cluster did not start: {error}") from error
    try:
        conn = target.connect(config, cache_dir=cache_dir, embedded_kubeconfig=info.kubeconfig, features=features)
        return Connected(conn, started, info.kubeconfig, info.registry)
    except errors.KfvalError:
        if started:
            launch.stop(state_dir)
        raise


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
    """Reports first, so that even a run that cannot start leaves a report saying why."""
    try:
        reports = settings.load(settings.RADISH_INI, environ=os.environ, overrides=overrides).reports
    except errors.SetupError:
        reports = settings.Reports()
    redactor = Redactor()
    reporting.configure(
        cucumber_path=reports.cucumber,
        junit_path=reports.junit,
        html_path=reports.html,
        history_path=reports.history or reports.cucumber.parent / "history",
        redactor=redactor,
    )
    return redactor


def start(
    overrides: Mapping[str, str], redactor: Redactor, *, features: tuple[str, ...] = permissions.FEATURES
) -> SuiteRun:
    """Settings, target cluster and connection; raises KfvalError naming the cause when the run cannot start.

    `features` are the keys of the permissions table the run's selected features use."""
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
    )
    started_cluster = config.target.state_dir if connected.started else None
    run = SuiteRun(settings=config, scope=scope, redactor=redactor, started_cluster=started_cluster, preflight=checked)
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
    if connected.started:
        launch.stop(config.target.state_dir)
    raise errors.SetupError(
        "the cluster lacks what the selected features need (turn this check off with -u run.preflight=false):\n"
        + report.render()
    )


def finish(run: SuiteRun) -> list[str]:
    """Close what is still open and stop the embedded cluster; returns the problems met."""
    problems = list(run.problems)
    for session in list(run.scope.open_sessions):
        problems.extend(session.close(timeout_seconds=run.settings.timeouts.cleanup))
    run.scope.conn.close()
    if run.started_cluster is not None:
        launch.stop(run.started_cluster)
    reporting.flush()
    return problems


def _install_signal_handlers(run: SuiteRun) -> None:
    def abort(signum: int, _frame: FrameType | None) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):  # a second signal must not start a second cleanup
            signal.signal(ignored, signal.SIG_IGN)
        print(f"kfval: {signal.Signals(signum).name} received: cleaning up run {run.scope.run_id}", file=sys.stderr)
        try:
            reporting.flush()  # the partial reports first: cleanup may take a while
            for problem in finish(run):
                print(f"kfval: cleanup problem: {problem}", file=sys.stderr)
        except Exception as error:
            print(f"kfval: cleanup after {signal.Signals(signum).name} failed: {error}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, abort)
    signal.signal(signal.SIGINT, abort)
