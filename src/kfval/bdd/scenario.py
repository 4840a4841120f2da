"""The glue between radish's step objects and the suite: where a step finds its session, the settings,
its manifests and the report, and how it keeps a refusal for a later step.

Steps stay thin by calling one function here and one of `kfval.kubeflow` or `kfval.kube`; nothing here
waits for or judges a workload. State is the scenario's (`step.context`) or the run's (`world.kfval`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from radish import world

from kfval import settings as kfval_settings
from kfval.bdd import reporting, summary
from kfval.kube import errors, podtimes
from kfval.kube.session import ScenarioSession
from kfval.kubeflow import builds, helmengines
from kfval.kubeflow import releases as kfval_releases

MANIFESTS = Path("manifests")
T = TypeVar("T")


def session(step: Any) -> ScenarioSession:
    """The scenario's session; when the run could not start, the reason, raised in the first step."""
    found: ScenarioSession | None = step.context.session
    if found is None:
        raise step.context.setup_error
    return found


def settings(step: Any) -> kfval_settings.Settings:
    if world.kfval is None:
        raise step.context.setup_error
    found: kfval_settings.Settings = world.kfval.settings
    return found


def timeouts(step: Any) -> kfval_settings.Timeouts:
    """Seconds per kind of wait, as radish.ini and the command line set them."""
    return settings(step).timeouts


def builder(step: Any) -> builds.Builder:
    """[builder] settings, complete enough to build with (the embedded cluster fills them in itself)."""
    found = settings(step).builder
    missing = found.missing()
    if missing:
        raise errors.SetupError(
            f"{' and '.join(missing)} not set: in-cluster builds need a registry and a non-root base image "
            'in it; set them in [builder] of radish.ini (README, "Container builds")'
        )
    return found


def redacted(text: str) -> str:
    """`text` as every report and console line will show it."""
    found: str = world.kfval.redactor.redact(text)
    return found


def releases(step: Any) -> kfval_releases.Releases:
    """Helm releases in the scenario's namespace, through the engine this machine has (chosen once a run)."""
    if world.kfval.helm_engine is None:
        scope = session(step).run
        target = helmengines.HelmTarget(scope.kubeconfig, scope.context)
        world.kfval.helm_engine = helmengines.select(target)
    scenario_session, label = session(step), settings(step).helm.instance_label
    watch = helmengines.Watch(
        scenario_session.run.progress, lambda release: [scenario_session.pod_phases(f"{label}={release}")]
    )
    return kfval_releases.Releases(world.kfval.helm_engine, scenario_session.namespace, watch)


def overrides() -> dict[str, str]:
    """The run's `-u` settings, for a child run of the suite that must see what this one sees."""
    return dict(world.config.user_data)


def manifest(name: str) -> Path:
    """A manifest of `manifests/` by file name, or any file by a path with a folder in it."""
    path = Path(name) if "/" in name else MANIFESTS / name
    if not path.exists():
        raise errors.ManifestError(f"{path} does not exist; manifests live in {MANIFESTS.resolve()}")
    return path


def attempt(
    step: Any, action: Callable[[], object], *, refused: tuple[type[errors.KfvalError], ...] = (errors.InvalidError,)
) -> None:
    """Run an action the scenario expects to be refused (by the cluster, or by Helm with ReleaseError);
    keep the refusal for a later step."""
    try:
        action()
    except refused as refusal:
        step.context.refusal = refusal
        return
    step.context.refusal = None


def expect_refusal(step: Any) -> errors.KfvalError:
    refusal: errors.KfvalError | None = getattr(step.context, "refusal", None)
    if refusal is None:
        raise errors.ExpectationError("the cluster accepted what the scenario expected it to refuse")
    return refusal


def rows(table: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """radish gives a step's table as one dict per data row, keyed by the header."""
    return [dict(row) for row in table]


def expect_none(problems: list[str]) -> None:
    """Fail the step with every mismatch a comparison found, one per line."""
    if problems:
        raise errors.ExpectationError("\n".join(problems))


def skip(step: Any, reason: str) -> None:
    """The scenario cannot be judged on this target (e.g. its image lacks a kernel): skipped, not failed."""
    print(f"    skipped: {reason}")
    reporting.skip(step, reason)


def attach_text(step: Any, name: str, text: str) -> None:
    reporting.attach(step, name=name, mime_type="text/plain", data=text)


def record_metric(step: Any, name: str, value: float) -> None:
    """A metric as a JUnit property of the scenario and as a JSON embedding of the step."""
    reporting.add_property(step.parent, name, f"{value:.4f}")
    reporting.attach(step, name=f"metric {name}", mime_type="application/json", data=json.dumps({name: value}))


def check_metric(step: Any, name: str, value: float, threshold: float, *, at_least: bool) -> None:
    """A metric a step judges against its threshold: recorded as any metric, and kept in the scenario's
    context for the end-of-run summary (`at_least`: the value must reach it, else stay below it)."""
    record_metric(step, name, value)
    checked = summary.MetricCheck(name, value, threshold, at_least)
    step.context.metric_checks = [*getattr(step.context, "metric_checks", []), checked]


def attach_logs(step: Any, logs: Mapping[str, str], parse: Callable[[str], T]) -> dict[str, T]:
    """Each pod's log attached to the report, and parsed."""
    for pod, text in logs.items():
        attach_text(step, f"{pod} log", text)
    return {pod: parse(text) for pod, text in logs.items()}


def scenario_pod_seconds(scenario_session: ScenarioSession) -> float:
    """How long the scenario's pods ran (for the suite-overhead figure); 0 when they cannot be read."""
    try:
        pods = scenario_session.conn.list("v1", "Pod", scenario_session.namespace)["items"]
    except errors.KfvalError:
        return 0.0
    return podtimes.busy_seconds(podtimes.intervals(pods, now=datetime.now(UTC)))
