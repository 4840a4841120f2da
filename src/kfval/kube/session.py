"""A scenario's hold on the cluster: its own namespace, the run-scoped labels, what it applied, and
its cleanup.

The terrain opens one session per scenario and keeps it in radish's `step.context`; steps reach the
cluster only through it. Everything a session creates carries `app.kubernetes.io/managed-by: kfval`,
`kfval.dev/run-id` and `kfval.dev/scenario`, so a crashed run can be cleaned by `kfval janitor`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kfval.kube import applying, checks, cleanup, manifests, podhistory, progress, usage, waiting
from kfval.kube.cleanup import Created
from kfval.kube.client import Body, Connection
from kfval.kube.errors import KfvalError


class SecretSink(Protocol):
    """Where secret values go to be redacted from every report (kfval.report.redaction.Redactor)."""

    def register(self, value: str) -> None: ...


RUN_ID_BYTES = 4
NAMESPACE_NAME_MAX_CHARACTERS = 63
"""A namespace name is a DNS label (RFC 1123)."""
NAMESPACE_SUFFIX_MAX_CHARACTERS = len("-r") + 2 * RUN_ID_BYTES + len("-9999")
"""What a scenario's namespace adds to the prefix, `-<run id>-<n>`, with room for 9,999 scenarios a run."""
_DNS_LABEL_START = re.compile(r"[a-z0-9][-a-z0-9]*")


def new_run_id() -> str:
    """Short, label-safe and unique enough to tell runs apart on a shared cluster."""
    return f"r{secrets.token_hex(RUN_ID_BYTES)}"


def is_run_id(text: str) -> bool:
    """Whether `text` is a run id as `new_run_id` makes them (so a typo cannot select another run's objects)."""
    return re.fullmatch(rf"r[0-9a-f]{{{2 * RUN_ID_BYTES}}}", text) is not None


def namespace_prefix_problem(prefix: str) -> str | None:
    """Why `<prefix>-<run id>-<n>` would not be a namespace name, in a QA engineer's words; None when it would.

    Checked when the settings load, so a bad prefix stops the run before the cluster refuses the first
    namespace with a 422.
    """
    longest = NAMESPACE_NAME_MAX_CHARACTERS - NAMESPACE_SUFFIX_MAX_CHARACTERS
    if not _DNS_LABEL_START.fullmatch(prefix):
        fixed = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:longest] or "kfval"
        return (
            "a namespace name is a DNS label: lowercase letters, digits and '-', starting with a letter or a "
            f"digit; write e.g. {fixed!r}"
        )
    if len(prefix) > longest:
        return (
            f"it has {len(prefix)} characters, and the suite adds -<run id>-<n> (up to "
            f"{NAMESPACE_SUFFIX_MAX_CHARACTERS}) to name each scenario's namespace, which may not pass "
            f"{NAMESPACE_NAME_MAX_CHARACTERS}: use at most {longest}"
        )
    return None


def label_value(text: str) -> str:
    """A Kubernetes label value: alphanumerics, `-`, `_`, `.`, at most 63, starting and ending alphanumeric."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")[:63].strip("-_.")
    return cleaned or "scenario"


@dataclass
class RunScope:
    """What every scenario session of one run shares: the connection, the run id, the secrets sink."""

    conn: Connection
    run_id: str
    namespace_prefix: str
    secrets: SecretSink
    variables: Mapping[str, str] = field(default_factory=dict)
    apply_timeout_seconds: float = applying.DEFAULT_TIMEOUT_SECONDS
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels every scenario namespace gets beside the run's, e.g. a Kubeflow profile's."""
    image_pull_grace_seconds: float = checks.IMAGE_PULL_GRACE_SECONDS
    """How long a wait lets a pod keep failing to pull its image (radish.ini `timeouts.image_pull`)."""
    kubeconfig: Path | None = None
    """The kubeconfig the connection came from (None in-cluster), for tools that connect on their own (Helm)."""
    context: str | None = None
    progress: progress.Progress = progress.SILENT
    """Where the run's waits tell how far they have come (the console, or nowhere)."""
    deletions_awaited_at_end: bool = False
    """Whether a scenario's cleanup only asks for its objects' deletion and the run awaits them before it ends
    (`run.deletions_awaited_at_end`): scenario N's namespace goes while scenario N+1 runs."""
    sessions_opened: int = 0
    open_sessions: list[ScenarioSession] = field(default_factory=list)
    pending_deletions: list[PendingDeletion] = field(default_factory=list)

    def await_deletions(self) -> list[AwaitedDeletion]:
        """Wait for every deletion the scenarios left pending, each by its own deadline: how each ended."""
        awaited = []
        while self.pending_deletions:
            pending = self.pending_deletions.pop(0)
            started = time.monotonic()
            problems = cleanup.await_deletion(self.conn, pending.deletion, sink=self.progress)
            awaited.append(AwaitedDeletion(pending.namespace, problems, time.monotonic() - started))
        return awaited


@dataclass(frozen=True)
class PendingDeletion:
    """A scenario's objects whose deletion was asked for at its cleanup and is still to be awaited."""

    namespace: str
    """The scenario's namespace, which names the scenario to the run."""
    deletion: cleanup.Deletion


@dataclass(frozen=True)
class AwaitedDeletion:
    """How a pending deletion ended: the problems (empty when everything went in time) and the wait it cost."""

    namespace: str
    problems: list[str]
    seconds: float


class ScenarioSession:
    """One scenario's namespace and the objects it created."""

    def __init__(self, run: RunScope, scenario: str) -> None:
        run.sessions_opened += 1
        self.run = run
        self.conn = run.conn
        self.namespace = f"{run.namespace_prefix}-{run.run_id}-{run.sessions_opened}"
        self.labels = {
            cleanup.MANAGED_BY_LABEL: cleanup.MANAGED_BY,
            cleanup.RUN_ID_LABEL: run.run_id,
            cleanup.SCENARIO_LABEL: label_value(scenario),
        }
        self.created: list[Created] = []
        self.deferred: list[tuple[str, Callable[[float], None]]] = []
        self.usage: usage.UsageSampler | None = None
        """Samples the pods' CPU and memory from the namespace's creation to cleanup."""
        self.pod_history: podhistory.PodHistory | None = None
        """Every pod of the namespace as last seen, deleted ones too, from its creation to cleanup."""

    def defer(self, what: str, action: Callable[[float], None]) -> None:
        """Run `action(timeout_seconds)` at cleanup, before the scenario's objects are deleted (newest
        first): what no object deletion undoes, such as uninstalling a Helm release."""
        self.deferred.append((what, action))

    def reporting(self, subject: str | None = None, facts: progress.Facts | None = None) -> waiting.Reporting:
        """How a wait of this scenario tells its progress: to the run's sink, under `subject`, with `facts`."""
        return waiting.Reporting(self.run.progress, subject, facts)

    def pod_phases(self, label_selector: str) -> str:
        """The scenario's pods with these labels by phase (`2/2 pods Running`), for a progress line."""
        pods = self.conn.list("v1", "Pod", self.namespace, label_selector=label_selector)["items"]
        return progress.pod_phases(sorted(pods, key=lambda pod: str(pod["metadata"]["name"])))

    def open(self) -> None:
        """Create the scenario's namespace (the first thing the session owns, the last it deletes)."""
        body: Body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {**self.run.namespace_labels, **self.labels}},
        }
        self.conn.create(body)
        self.created.append(Created("v1", "Namespace", self.namespace, None))
        self.run.open_sessions.append(self)
        self.usage = usage.UsageSampler(self.conn, self.namespace)
        self.usage.start()
        self.pod_history = podhistory.PodHistory(self.conn, self.namespace)
        self.pod_history.start()

    def variables(self, extra: Mapping[str, str]) -> dict[str, str]:
        return {**self.run.variables, "namespace": self.namespace, **extra}

    def apply(self, manifest: Path, extra: Mapping[str, str]) -> list[applying.Applied]:
        """Render and apply a manifest into the scenario's namespace; its Secrets are redacted from now on."""
        documents = manifests.load(manifest, self.variables(extra))
        for value in applying.secret_values(documents):
            self.run.secrets.register(value)
        applied = applying.apply(
            self.conn,
            documents,
            namespace=self.namespace,
            labels=self.labels,
            timeout_seconds=self.run.apply_timeout_seconds,
        )
        self.created.extend(Created(a.api_version, a.kind, a.name, a.namespace) for a in applied)
        return applied

    def close(self, *, timeout_seconds: float) -> list[str]:
        """Delete what this scenario made, newest first; returns the problems, never raises. With
        `deletions_awaited_at_end` the deletion is asked for here and awaited by `RunScope.await_deletions`."""
        if self in self.run.open_sessions:
            self.run.open_sessions.remove(self)
        if self.usage is not None:
            self.usage.stop()
        if self.pod_history is not None:
            self.pod_history.stop()
        problems = []
        deferred, self.deferred = self.deferred, []
        for what, action in reversed(deferred):
            try:
                action(timeout_seconds)
            except KfvalError as error:
                problems.append(f"cannot clean up {what}: {error}")
        created, self.created = self.created, []
        requested, deletion = cleanup.request_deletion(self.conn, created, timeout_seconds=timeout_seconds)
        problems += requested
        if deletion is None:
            return problems
        if self.run.deletions_awaited_at_end:
            self.run.pending_deletions.append(PendingDeletion(self.namespace, deletion))
            return problems
        return problems + cleanup.await_deletion(self.conn, deletion, sink=self.run.progress)
