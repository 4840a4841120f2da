"""Waiting for a state, watch-based, with a timeout that explains itself.

Steps wait for pods to run, jobs to finish and objects to go away. A wait here reacts to the
change the moment the watch delivers it (no polling interval adds to a step's duration), fails at
once when a check says the state can no longer be reached (an image that cannot be pulled, a job
that Failed), and, when time runs out, says in one message what it waited for and for how long,
the last state it saw, what was still unmet as field-path differences, the objects' last events
and how long each object spent in each phase (as Chainsaw keeps the last mismatch).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kfval.kube import checks, errors, evidence, guards, progress, watching
from kfval.kube.client import Body, Connection

EVENTS_PER_OBJECT = 5
OBJECTS_IN_MESSAGE = 8
GONE = "(deleted)"
GUARD_SPAN_SECONDS = 2.0
"""How often a guarded wait asks its guard when the watched object does not change: the pods it guards
against change without the job noticing."""


@dataclass(frozen=True)
class Target:
    """What a wait watches: the kind, where, and which objects."""

    api_version: str
    kind: str
    namespace: str | None
    label_selector: str | None
    name: str | None

    def describe(self) -> str:
        which = f' "{self.name}"' if self.name else ""
        selected = f" with labels {self.label_selector}" if self.label_selector else ""
        where = f' in namespace "{self.namespace}"' if self.namespace else ""
        return f"{self.kind}{which}{selected}{where}"

    @property
    def noun(self) -> str:
        """How lines name one object: `pod x` as the checks write it, `PyTorchJob x` for other kinds."""
        return "pod" if self.kind == "Pod" else self.kind

    def follow(
        self, conn: Connection, *, deadline: float, span_seconds: float = watching.WATCH_SPAN_SECONDS
    ) -> Iterator[Mapping[str, Body]]:
        by_name = f"metadata.name={self.name}" if self.name else None
        return watching.follow(
            conn,
            self.api_version,
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=by_name,
            deadline=deadline,
            span_seconds=span_seconds,
        )


class PhaseClock:
    """Time each watched object spent in each phase, from the transitions the watch delivered."""

    def __init__(self, started: float) -> None:
        self._started = started
        self._history: dict[str, list[tuple[str, float]]] = {}

    def observe(self, objects: Mapping[str, Body], now: float) -> None:
        for name, body in objects.items():
            self._enter(name, phase_of(body), now)
        for name in self._history.keys() - objects.keys():
            self._enter(name, GONE, now)

    def _enter(self, name: str, phase: str, now: float) -> None:
        history = self._history.setdefault(name, [])
        if not history or history[-1][0] != phase:
            history.append((phase, now))

    def spent(self, now: float) -> dict[str, list[tuple[str, float]]]:
        """Per object, each phase in order with the seconds spent in it (the last one until `now`)."""
        result = {}
        for name, history in self._history.items():
            ends = [since for _phase, since in history[1:]] + [now]
            result[name] = [(phase, end - since) for (phase, since), end in zip(history, ends, strict=True)]
        return result


@dataclass(frozen=True)
class Reporting:
    """Where a wait tells how far it has come: the sink, the name the status line starts with (the
    watched object's name when None) and what the caller adds to the wait's own facts."""

    sink: progress.Progress = progress.SILENT
    subject: str | None = None
    facts: progress.Facts | None = None

    def report(self, target: Target, seen: Mapping[str, Body], *, elapsed_seconds: float) -> None:
        if not self.sink.due(elapsed_seconds):
            return
        add = self.facts
        extra = progress.gathered(lambda: add(seen)) if add is not None else ()
        facts = [describe_progress(target, seen), *extra]
        subject = self.subject or target.name or f"{target.kind} {target.label_selector or ''}".strip()
        self.sink.show(progress.Status(subject, tuple(fact for fact in facts if fact), elapsed_seconds))


def describe_progress(target: Target, seen: Mapping[str, Body]) -> str:
    """The wait's own fact: pods by phase, one object's latest condition (or phase), or how many are left."""
    if target.kind == "Pod":
        return progress.pod_phases([seen[name] for name in sorted(seen)])
    if len(seen) == 1:
        body = next(iter(seen.values()))
        return progress.latest_condition(body) or phase_of(body)
    return f"{len(seen)} {target.kind} left" if seen else f"no {target.kind} left"


def phase_of(body: Mapping[str, Any]) -> str:
    """A pod's phase; for objects without one (jobs), the type of the last condition that is True."""
    status = body.get("status") or {}
    if status.get("phase"):
        return str(status["phase"])
    true = [c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"]
    return str(true[-1]) if true else "(no status)"


def wait_until(
    conn: Connection,
    *,
    api_version: str,
    kind: str,
    namespace: str | None,
    check: checks.Check,
    timeout_seconds: float,
    what: str,
    label_selector: str | None = None,
    name: str | None = None,
    guard: guards.Guard | None = None,
    reporting: Reporting | None = None,
) -> Mapping[str, Body]:
    """Return the matching objects once `check` says done; raise WorkloadFailedError or WaitTimeoutError.

    `what` names the awaited state for a QA engineer ("the PyTorchJob mnist to succeed"); `guard`, asked
    whenever the state is not yet reached, names why it never will be (the workload's pods cannot start);
    `reporting` says where to tell how far the wait has come, under which name and with which extra facts.
    """
    started = time.monotonic()
    deadline = started + timeout_seconds
    target = Target(api_version, kind, namespace, label_selector, name)
    reporting = reporting or Reporting()
    clock = PhaseClock(started)
    seen: Mapping[str, Body] = {}
    verdict = checks.Verdict(done=False, failure=None, waiting_for=what)
    span = GUARD_SPAN_SECONDS if guard is not None else watching.WATCH_SPAN_SECONDS
    span = min(span, reporting.sink.interval_seconds or span)
    try:
        for seen in target.follow(conn, deadline=deadline, span_seconds=span):
            now = time.monotonic()
            clock.observe(seen, now)
            verdict = check(seen)
            if verdict.done:
                return seen
            if not verdict.failure and guard is not None:
                verdict = dataclasses.replace(verdict, failure=guard())
            if verdict.failure:
                raise errors.WorkloadFailedError(
                    f"{verdict.failure} (while waiting for {what})", evidence=_evidence(conn, target, seen=seen)
                )
            reporting.report(target, seen, elapsed_seconds=now - started)
            if now >= deadline:
                break
    finally:
        reporting.sink.finished()
    message = timeout_message(
        conn, target, what=what, waited=time.monotonic() - started, seen=seen, verdict=verdict, clock=clock
    )
    raise errors.WaitTimeoutError(message, evidence=_evidence(conn, target, seen=seen))


def timeout_message(
    conn: Connection,
    target: Target,
    *,
    what: str,
    waited: float,
    seen: Mapping[str, Body],
    verdict: checks.Verdict,
    clock: PhaseClock,
) -> str:
    """The whole story of a wait that ran out of time, in the order a QA engineer reads it."""
    lines = [f"timed out after {waited:.1f} s waiting for {what} ({target.describe()})"]
    lines.append("still unmet:")
    lines += [f"  {line}" for line in verdict.unmet] or [f"  {verdict.waiting_for}"]
    names = sorted(seen)[:OBJECTS_IN_MESSAGE]
    lines.append("last state seen:" if names else f"last state seen: no {target.kind} matched")
    lines += [f"  {target.noun} {name}: {evidence.describe_state(seen[name])}" for name in names]
    lines.append("time per phase:")
    spent = clock.spent(time.monotonic())
    lines += [
        f"  {target.noun} {name}: " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases)
        for name, phases in sorted(spent.items())[:OBJECTS_IN_MESSAGE]
    ] or ["  (nothing was seen)"]
    lines += _events_section(conn, target, names=names or ([target.name] if target.name else []))
    return "\n".join(lines)


def _events_section(conn: Connection, target: Target, *, names: list[str]) -> list[str]:
    lines = ["last events:"]
    for name in names:
        records = evidence.object_events(conn, target.namespace, name=name, limit=EVENTS_PER_OBJECT)
        lines += [f"  {evidence.event_line(record)}" for record in records]
    return lines if len(lines) > 1 else ["last events: none"]


def _evidence(conn: Connection, target: Target, *, seen: Mapping[str, Body]) -> str:
    """The evidence bundle for the report: a named job with its pods, or the pods the wait selected."""
    if target.namespace is None:
        return "\n".join(f"{target.noun} {name}: {evidence.describe_state(seen[name])}" for name in sorted(seen))
    if target.name and target.kind != "Pod":
        job = (target.api_version, target.kind, target.name)
        return evidence.collect(conn, target.namespace, job=job).render()
    return evidence.collect(conn, target.namespace, label_selector=target.label_selector).render()
