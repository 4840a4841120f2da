"""The glue between radish's step objects and the suite: where a step finds its session, the settings,
its manifests and the report, and how it keeps a refusal for a later step.

Steps stay thin by calling one function here and one of `kfval.kubeflow` or `kfval.kube`; nothing here
waits for or judges a workload. State is the scenario's (`step.context`) or the run's (`world.kfval`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from radish import world

from kfval import settings as kfval_settings
from kfval.bdd import reporting, summary
from kfval.kube import errors, podtimes, usage
from kfval.kube.client import Connection
from kfval.kube.session import ScenarioSession
from kfval.kubeflow import builds, helmengines
from kfval.kubeflow import releases as kfval_releases
from kfval.report import dimensioning, measures, plots

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


def record_metric(
    step: Any, name: str, value: float, *, threshold: float | None = None, comparison: str | None = None
) -> None:
    """A metric as a JUnit property of the scenario and as a JSON embedding of the step (with the threshold
    it must respect, which the HTML metrics table and the Cucumber JSON keep beside it, and the end-of-run
    summary shows)."""
    metric = measures.Metric(name, value, threshold, comparison)
    if threshold is not None and comparison is not None:
        _keep_check(step, summary.MetricCheck(name, value, threshold, at_least=comparison.startswith(">")))
    reporting.add_property(step.parent, name, f"{value:.4f}")
    embedding = metric.embedding()
    reporting.attach(step, name=embedding.name or name, mime_type=embedding.mime_type, data=embedding.data)


def _keep_check(step: Any, checked: summary.MetricCheck) -> None:
    """A metric check kept in the scenario's context for the end-of-run summary."""
    step.context.metric_checks = [*getattr(step.context, "metric_checks", []), checked]


def record_against_threshold(
    step: Any, name: str, points: Sequence[plots.Point], *, threshold: float, comparison: str
) -> None:
    """The metric's final value recorded, and its values per epoch drawn against the threshold line."""
    record_metric(step, name, points[-1][1], threshold=threshold, comparison=comparison)
    image = plots.against_threshold(redacted(name), points, threshold=threshold, comparison=comparison)
    reporting.attach(step, name=f"{name} against its threshold", mime_type=plots.MIME_TYPE, data=image)


def record_loss_curves(step: Any, job: str, series: Mapping[str, Sequence[plots.Point]]) -> None:
    """The training loss of every rank (pod) that printed one, as one plot; nothing when none did."""
    drawn = {redacted(pod): points for pod, points in series.items() if points}
    if drawn:
        image = plots.loss_curves(drawn, title=redacted(f"{job}: training loss per rank"))
        reporting.attach(step, name=f"{job} training loss per rank", mime_type=plots.MIME_TYPE, data=image)


def attach_logs(step: Any, logs: Mapping[str, str], parse: Callable[[str], T]) -> dict[str, T]:
    """Each pod's log attached to the report, and parsed."""
    for pod, text in logs.items():
        attach_text(step, f"{pod} log", text)
    return {pod: parse(text) for pod, text in logs.items()}


def attach_outages(step_or_scenario: Any, conn: Connection, *, name: str = "API outages") -> None:
    """The API outages met since the last call (start, length, what was retried), as evidence of the step (or of
    the scenario's cleanup) and on the console, so that a pass through a blip is never silent."""
    found = conn.outages.drain()
    if not found:
        return
    lines = [outage.describe() for outage in found]
    for line in lines:
        print(f"kfval: {line}", file=sys.stderr)
    reporting.attach(step_or_scenario, name=name, mime_type="text/plain", data="\n".join(lines))


def record_pods(scenario: Any, scenario_session: ScenarioSession) -> None:
    """How long the scenario's pods ran (a JUnit property, for the suite-overhead figure) and their phase
    timeline (a Gantt chart), the pods it deleted included; 0 s and no chart when the pods cannot be read.
    The time is the pod history's, as the changes reached it, else the API's whole-second timestamps'."""
    try:
        pods = scenario_session.conn.list("v1", "Pod", scenario_session.namespace)["items"]
    except errors.KfvalError:
        reporting.add_property(scenario, "pods_ran_seconds", "0.0")
        return
    now = datetime.now(UTC)
    history = scenario_session.pod_history
    gone = history.gone({str(pod["metadata"].get("uid")) for pod in pods}) if history is not None else []
    spans = podtimes.phase_spans(pods, now=now)
    for pod, seen in gone:
        spans += podtimes.phase_spans([_deleted(pod)], now=seen)
    if history is not None and history.problem is None:
        ran = history.ran_seconds(now)
    else:
        runs = podtimes.intervals(pods, now=now)
        for pod, seen in gone:
            runs += podtimes.intervals([pod], now=seen)
        ran = podtimes.busy_seconds(runs)
    reporting.add_property(scenario, "pods_ran_seconds", f"{ran:.2f}")
    if not spans:
        return
    origin = min(span.start for span in spans)
    rows = [
        (redacted(span.pod), span.phase, (span.start - origin).total_seconds(), (span.end - origin).total_seconds())
        for span in spans
    ]
    image = plots.phase_timeline(rows, title="pod phases")
    reporting.attach(scenario, name="pod phases", mime_type=plots.MIME_TYPE, data=image)


def _deleted(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The pod named as deleted, for the timeline: its successor (a notebook's, a job's) may have its name."""
    metadata = pod["metadata"]
    return {**pod, "metadata": {**metadata, "name": f"{metadata['name']} (deleted)"}}


def block(scenario: Any, reason: str, *, skip: bool) -> None:
    """A scenario the cluster cannot run (what preflight found missing): failed at its first step with
    `reason`, or, with `skip`, every step skipped with it; either way no step acts on the cluster.

    radish 0.18 cannot skip or fail a scenario from a hook, so each step's definition is replaced by
    one that does so (radish then reports a skipped step as skipped, and skips what follows a failure).
    """
    steps = scenario.all_steps if world.config.expand else scenario.steps
    print(f"    {'skipped' if skip else 'failed'}: {reason}")
    for step in steps:
        step.definition_func = _skipper(reason) if skip else _refuser(reason)


def _skipper(reason: str) -> Callable[..., None]:
    def skipped(step: Any, *_args: Any, **_kwargs: Any) -> None:
        reporting.skip(step, reason)

    return skipped


def _refuser(reason: str) -> Callable[..., None]:
    def refused(_step: Any, *_args: Any, **_kwargs: Any) -> None:
        raise errors.SetupError(reason)

    return refused


def _row(record: usage.ContainerUsage) -> dimensioning.Row:
    return dimensioning.Row(**{**record.figures(), "pod": redacted(record.pod)})


def dimensioning_rows(scenario_session: ScenarioSession) -> list[dimensioning.Row]:
    """The scenario's pods as the dimensioning table shows them, after one more reading taken now.

    A sampler that could not read the metrics API says why (on a real cluster: metrics-server is missing).
    """
    sampler = scenario_session.usage
    if sampler is None:
        return []
    sampler.sample()
    if sampler.problem is not None:
        raise errors.ExpectationError(sampler.problem)
    return [_row(record) for record in sampler.records()]


def record_dimensioning(scenario: Any, scenario_session: ScenarioSession) -> None:
    """Stop sampling and attach the dimensioning table (JSON for the reports, text for a reader, JUnit
    properties); nothing when the scenario ran no pod."""
    sampler = scenario_session.usage
    if sampler is None:
        return
    sampler.stop()
    rows = [_row(record) for record in sampler.records()]
    if not rows:
        return
    table = dimensioning.embedding(rows)
    reporting.attach(scenario, name=dimensioning.EMBEDDING_NAME, mime_type=table.mime_type, data=table.data)
    text = dimensioning.text(rows)
    if sampler.problem is not None:
        text += f"\n{sampler.problem}"
    reporting.attach(scenario, name="dimensioning table", mime_type="text/plain", data=text)
    for name, value in dimensioning.properties(rows):
        reporting.add_property(scenario, name, value)
