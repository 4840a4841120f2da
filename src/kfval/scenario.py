"""The glue between radish's step objects and the suite: where a step finds its session, the settings
and the report, and the waits and expectations that several steps share.

Steps stay thin by calling one function here; everything that talks to the cluster lives in
kfval.kube and kfval.training. State is the scenario's (`step.context`) or the run's (`world.kfval`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from radish import world

from kfval import reporting, training
from kfval.kube import checks, errors, podtimes, waiting
from kfval.kube.client import Body
from kfval.kube.session import ScenarioSession
from kfval.settings import Settings

MANIFESTS = Path("manifests")
T = TypeVar("T")


def session(step: Any) -> ScenarioSession:
    """The scenario's session; when the run could not start, the reason, raised in the first step."""
    found: ScenarioSession | None = step.context.session
    if found is None:
        raise step.context.setup_error
    return found


def settings(step: Any) -> Settings:
    if world.kfval is None:
        raise step.context.setup_error
    found: Settings = world.kfval.settings
    return found


def manifest(name: str) -> Path:
    """A manifest of `manifests/` by file name, or any file by a path with a folder in it."""
    path = Path(name) if "/" in name else MANIFESTS / name
    if not path.exists():
        raise errors.ManifestError(f"{path} does not exist; manifests live in {MANIFESTS.resolve()}")
    return path


def attempt(step: Any, action: Callable[[], object]) -> None:
    """Run an action the scenario expects the cluster to refuse; keep the refusal for a later step."""
    try:
        action()
    except errors.InvalidError as refusal:
        step.context.refusal = refusal
        return
    step.context.refusal = None


def expect_refusal(step: Any) -> errors.InvalidError:
    refusal: errors.InvalidError | None = getattr(step.context, "refusal", None)
    if refusal is None:
        raise errors.ExpectationError("the cluster accepted what the scenario expected it to refuse")
    return refusal


def _job(step: Any, kind: str, name: str) -> Body:
    return session(step).conn.get(training.API_VERSION, kind, name, session(step).namespace)


def pods_start(step: Any, name: str, *, kind: str) -> None:
    count = training.replica_count(_job(step, kind, name))
    training.wait_for_pods(
        session(step),
        name,
        checks.pods_in_phase(("Running", "Succeeded"), count),
        count=count,
        timeout=settings(step).timeouts.pod_start,
        what=f'{kind} "{name}" to run',
    )


def pods_completed(step: Any, name: str, *, kind: str) -> None:
    count = training.replica_count(_job(step, kind, name))
    training.wait_for_pods(
        session(step),
        name,
        checks.pods_completed(count),
        count=count,
        timeout=settings(step).timeouts.training,
        what=f'{kind} "{name}" to complete',
    )


def pods_gone(step: Any, name: str) -> None:
    training.wait_for_pods(
        session(step),
        name,
        checks.gone(),
        count=0,
        timeout=settings(step).timeouts.cleanup,
        what=f'the pods of "{name}" to be removed',
    )


def job_succeeded(step: Any, kind: str, name: str) -> Body:
    """First the job's pods must start (a pod that never can fails this at once), then the job must succeed."""
    pods_start(step, name, kind=kind)
    return training.expect_succeeded(session(step), kind, name, timeout=settings(step).timeouts.training)


def job_finished(step: Any, kind: str, name: str) -> Body:
    return training.wait_finished(session(step), kind, name, timeout=settings(step).timeouts.training)


def _rows(table: Any) -> list[dict[str, str]]:
    """radish gives a step's table as one dict per data row, keyed by the header."""
    return [dict(row) for row in table]


def _expect_none(problems: list[str]) -> None:
    if problems:
        raise errors.ExpectationError("\n".join(problems))


def expect_pod_labels(step: Any, name: str, table: Any) -> None:
    _expect_none(training.label_mismatches(session(step), name, _rows(table)))


def expect_pod_environment(step: Any, name: str, table: Any) -> None:
    _expect_none(training.environment_mismatches(session(step), name, _rows(table)))


def expect_master_resolved(step: Any, name: str) -> None:
    _expect_none(training.master_address_mismatches(session(step), name))


def attach_text(step: Any, name: str, text: str) -> None:
    reporting.attach(step, name=name, mime_type="text/plain", data=text)


def record_metric(step: Any, name: str, value: float) -> None:
    """A metric as a JUnit property of the scenario and as a JSON embedding of the step."""
    reporting.add_property(step.parent, name, f"{value:.4f}")
    reporting.attach(step, name=f"metric {name}", mime_type="application/json", data=json.dumps({name: value}))


def scenario_pod_seconds(scenario_session: ScenarioSession) -> float:
    """How long the scenario's pods ran (for the suite-overhead figure); 0 when they cannot be read."""
    try:
        pods = scenario_session.conn.list("v1", "Pod", scenario_session.namespace)["items"]
    except errors.KfvalError:
        return 0.0
    return podtimes.busy_seconds(podtimes.intervals(pods, now=datetime.now(UTC)))


def parsed_logs(step: Any, name: str, replica_type: str, parse: Callable[[str], T]) -> dict[str, T]:
    """Each pod of one replica type: its log attached to the report, and parsed."""
    logs = training.replica_logs(session(step), name, replica_type)
    for pod, text in logs.items():
        attach_text(step, f"{pod} log", text)
    return {pod: parse(text) for pod, text in logs.items()}


def expect_tf_config(step: Any, name: str, table: Any) -> None:
    _expect_none(training.tf_config_mismatches(session(step), name, _rows(table)))


def expect_replicas_running(step: Any, name: str, replica_type: str) -> None:
    found = training.replica_pods(session(step), name, replica_type)
    problems = [
        f"pod {p['metadata']['name']} is {p['status'].get('phase')}"
        for p in found
        if p["status"].get("phase") != "Running"
    ]
    _expect_none(problems if found else [f"the job has no {replica_type} pods"])


def replicas_gone(step: Any, name: str, replica_type: str) -> None:
    waiting.wait_until(
        session(step).conn,
        api_version="v1",
        kind="Pod",
        namespace=session(step).namespace,
        label_selector=f"{training.selector(name)},{training.REPLICA_TYPE_LABEL}={replica_type}",
        check=checks.gone(),
        timeout_seconds=settings(step).timeouts.cleanup,
        what=f"the {replica_type} pods of {name} to be removed",
    )
