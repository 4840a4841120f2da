"""Helm releases of a Kubeflow installation: install, upgrade, roll back, uninstall, and read them back.

A team that installs Kubeflow with Helm validates an upgrade the way the original validation did
(`helm upgrade ... -f values.yaml --set ... --wait --timeout`), so the suite drives Helm itself rather
than imitating it. Two engines sit behind one interface: the `helm` CLI when it is on PATH, else the
helm-python-sdk (Helm's Go code in a shared library), always in a child process (helmengines.py), so a Go panic or
a hang ends the child, never the suite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfval.kube import checks, errors, quantities, waiting
from kfval.kube.client import Body
from kfval.kube.session import ScenarioSession
from kfval.kubeflow import helmengines
from kfval.kubeflow.helmengines import Engine

UNPULLABLE_IMAGE = "registry.invalid/kfval/no-such-image:1.0"
"""An image no registry serves: an upgrade to it can never become ready."""


@dataclass(frozen=True)
class Revision:
    """One revision of a release, as `helm history` lists it."""

    number: int
    status: str
    chart_name: str
    chart_version: str
    app_version: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Revision:
        return cls(
            int(body["revision"]),
            str(body["status"]),
            str(body.get("chart_name", "")),
            str(body.get("chart_version", "")),
            str(body.get("app_version", "")),
        )


@dataclass(frozen=True)
class Change:
    """What an install or upgrade is asked to do."""

    chart: str
    values_files: Sequence[Path] = ()
    settings: Sequence[str] = ()
    """`--set` pairs (`componentResources.limits.cpu=500m`), applied over the values files."""
    wait: bool = True
    rollback_on_failure: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


class Releases:
    """The releases of one scenario's namespace, through whichever engine this machine has."""

    def __init__(self, engine: Engine, namespace: str, watch: helmengines.Watch | None = None) -> None:
        self.engine = engine
        self.namespace = namespace
        self.watch = watch
        """Who hears how an action is getting on while Helm waits (none: nobody)."""

    def _run(self, action: str, release: str, *, timeout: float, **request: Any) -> Any:
        return self.engine.run(
            {"action": action, "release": release, "namespace": self.namespace, **request},
            timeout=timeout,
            watch=self.watch,
        )

    def install(self, release: str, change: Change, *, timeout: float) -> Revision:
        return Revision.of(self._run("install", release, timeout=timeout, **_change(change)))

    def upgrade(self, release: str, change: Change, *, timeout: float) -> Revision:
        return Revision.of(self._run("upgrade", release, timeout=timeout, **_change(change)))

    def rollback(self, release: str, revision: int, *, timeout: float) -> Revision:
        return Revision.of(self._run("rollback", release, timeout=timeout, revision=revision, wait=True))

    def uninstall(self, release: str, *, timeout: float, missing_ok: bool = False) -> None:
        self._run("uninstall", release, timeout=timeout, wait=True, missing_ok=missing_ok)

    def status(self, release: str, *, timeout: float) -> Revision:
        return Revision.of(self._run("status", release, timeout=timeout))

    def history(self, release: str, *, timeout: float) -> list[Revision]:
        return [Revision.of(item) for item in self._run("history", release, timeout=timeout)]

    def values(self, release: str, *, timeout: float) -> dict[str, Any]:
        return dict(self._run("values", release, timeout=timeout) or {})

    def manifest(self, release: str, *, timeout: float) -> str:
        return str(self._run("manifest", release, timeout=timeout))


def _change(change: Change) -> dict[str, Any]:
    """A change as the engines take it: the values files merged in order (later wins), the pairs apart."""
    values: dict[str, Any] = {}
    for path in change.values_files:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise errors.ManifestError(f"{path}: the values file cannot be read: {error}") from error
        values = helmengines.merge(values, loaded)
    return {
        "chart": change.chart,
        "values": values,
        "set": list(change.settings),
        "wait": change.wait,
        "rollback_on_failure": change.rollback_on_failure,
        "labels": dict(change.labels),
    }


def release_pods(session: ScenarioSession, release: str, *, label: str) -> list[Body]:
    """The release's pods that are not on their way out, found by the chart's instance label."""
    items = session.conn.list("v1", "Pod", session.namespace, label_selector=f"{label}={release}")["items"]
    return [pod for pod in items if not pod["metadata"].get("deletionTimestamp")]


def _pod_name(pod: Body) -> str:
    return str(pod["metadata"]["name"])


def wait_pods_ready(session: ScenarioSession, release: str, *, label: str, timeout: float) -> list[Body]:
    """Every pod of the release Running and Ready, and none left of an older ReplicaSet."""

    def check(pods: Mapping[str, Body]) -> checks.Verdict:
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        unready = [p["metadata"]["name"] for p in live if checks.true_condition(p, "Ready") is None]
        leaving = len(pods) - len(live)
        done = bool(live) and not unready and not leaving
        unmet = tuple(f"pod {name}: status.conditions[type=Ready].status: want True" for name in unready)
        grace = session.run.image_pull_grace_seconds
        failures = (checks.pod_failure(p, image_pull_grace_seconds=grace) for p in sorted(live, key=_pod_name))
        return checks.Verdict(
            done,
            next((failure for failure in failures if failure), None),
            "every pod of the release Ready",
            unmet + ((f"{leaving} pod(s) terminating",) if leaving else ()),
        )

    found = waiting.wait_until(
        session.conn,
        api_version="v1",
        kind="Pod",
        namespace=session.namespace,
        label_selector=f"{label}={release}",
        check=check,
        timeout_seconds=timeout,
        what=f'the pods of release "{release}" to be Ready',
        reporting=session.reporting(f"release {release}"),
    )
    return list(found.values())


def resource_mismatches(pods: Sequence[Body], expected: Mapping[str, tuple[str, str]]) -> list[str]:
    """Every container of every pod against {resource: (limit, request)}, compared as quantities."""
    problems = []
    for pod in pods:
        for container in pod["spec"]["containers"]:
            resources = container.get("resources") or {}
            for resource, (limit, request) in expected.items():
                for kind, want in (("limits", limit), ("requests", request)):
                    have = (resources.get(kind) or {}).get(resource)
                    if have is None or quantities.parse(have) != quantities.parse(want):
                        where = f"pod {pod['metadata']['name']} container {container['name']}"
                        problems.append(f"{where}: {kind}.{resource} is {have!r}, expected {want!r}")
    return problems


def pods_not_running(session: ScenarioSession, release: str, *, label: str) -> list[str]:
    """Why the release's pods are not ready, one line per pod: the container waiting reasons and messages."""
    lines = []
    for pod in release_pods(session, release, label=label):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting_state = (status.get("state") or {}).get("waiting")
            if waiting_state:
                lines.append(
                    f"pod {pod['metadata']['name']}: {waiting_state.get('reason')}: {waiting_state.get('message', '')}"
                )
    return lines


def resource_values(key: str, rows: Sequence[Mapping[str, str]]) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """A table of resource / limit / request as `--set <key>.limits.cpu=...` pairs, and as what pods must carry."""
    pairs = [
        f"{key}.{kind}.{row['resource']}={row[column]}"
        for row in rows
        for kind, column in (("limits", "limit"), ("requests", "request"))
    ]
    return pairs, {row["resource"]: (row["limit"], row["request"]) for row in rows}


def chart_version(chart: str) -> str | None:
    """The version a chart folder declares (None for an archive or a repository reference)."""
    declared = Path(chart) / "Chart.yaml"
    if not declared.is_file():
        return None
    return str((yaml.safe_load(declared.read_text(encoding="utf-8")) or {}).get("version"))


RELEASE_KINDS = (
    ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("v1", "Pod"),
    ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"),
)  # fmt: skip
"""The kinds a release's objects (and what their controllers make) are looked for among after uninstall."""
RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"
"""Helm 3 writes it on every object of a release: the namespace the release lives in."""


def objects_left(session: ScenarioSession, release: str, *, label: str) -> list[str]:
    """What is left of the release that lives in the scenario's namespace: its Helm storage and the objects
    with its label there, and objects with its label elsewhere that Helm made for it (annotated with
    `meta.helm.sh/release-namespace`). A release of the same name in another namespace is another release:
    an earlier scenario's, whose namespace is still going, or a real installation's."""
    left = []
    for api_version, kind in RELEASE_KINDS:
        for selector in (f"{label}={release}", f"owner=helm,name={release}"):
            for item in session.conn.list(api_version, kind, None, label_selector=selector)["items"]:
                meta = item["metadata"]
                ours = session.namespace in (
                    meta.get("namespace"),
                    (meta.get("annotations") or {}).get(RELEASE_NAMESPACE_ANNOTATION),
                )
                if ours and not meta.get("deletionTimestamp"):
                    left.append(f"{kind} {meta.get('namespace')}/{meta['name']}")
    return sorted(set(left))
