"""How far a wait has come, told to whoever watches the run while it waits.

A training wait can last many minutes; a QA engineer at a terminal (or reading a CI log) wants to
see that something moves: the pods by phase, the job's latest condition, the epoch and loss. Waits
describe what they see as a `Status` and hand it to a `Progress` sink; where it goes (a line on the
console, nothing at all) is the caller's business, so the waits stay free of console concerns and
work the same under any runner. A wait asks the sink first whether a status is wanted now
(`due`), so a silent run reads no extra logs and a slow sink (a CI log line every 15 s) costs
nothing between its lines.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kfval.kube import errors

SEPARATOR = " · "


@dataclass(frozen=True)
class Status:
    """What a wait has seen so far, in a QA engineer's words: `mnist: 2/2 pods Running · epoch 1 · 14 s`."""

    subject: str
    facts: tuple[str, ...]
    elapsed_seconds: float

    def line(self) -> str:
        return f"{self.subject}: {SEPARATOR.join((*self.facts, f'{self.elapsed_seconds:.0f} s'))}"


class Progress(Protocol):
    """Where waits report how far they have come (the console of a radish run, or nowhere)."""

    @property
    def interval_seconds(self) -> float | None:
        """How often the sink wants a status at most; None when it never shows one."""

    def due(self, elapsed_seconds: float) -> bool:
        """Whether a status given now would be shown (a wait skips gathering one otherwise)."""

    def show(self, status: Status) -> None: ...

    def finished(self) -> None:
        """The wait is over (either way): whatever the sink showed for it must go."""


class Silent:
    """The sink of a run without progress output: it wants nothing and shows nothing."""

    interval_seconds: float | None = None

    def due(self, elapsed_seconds: float) -> bool:
        return False

    def show(self, status: Status) -> None:
        return None

    def finished(self) -> None:
        return None


SILENT: Progress = Silent()

Facts = Callable[[Mapping[str, Any]], Sequence[str]]
"""What a wait's caller adds to the status from the objects the wait saw (e.g. the epoch from a log)."""


def gathered(facts: Callable[[], Sequence[str]]) -> tuple[str, ...]:
    """The facts a status adds, or none when the cluster could not be read for them: a progress line is a
    courtesy, and a read that fails for it (a busy API server, a log not there yet) must never fail the
    wait it describes. The wait's own reads still fail it as before."""
    try:
        return tuple(facts())
    except errors.ClusterError:
        return ()


def pod_phases(pods: Sequence[Mapping[str, Any]]) -> str:
    """`2/2 pods Running`, `1/2 pods ContainerCreating, 1/2 Running`: each pod's phase, or the reason
    its first waiting container gives (a Pending pod pulling its image says more as `ContainerCreating`)."""
    if not pods:
        return "no pods yet"
    states = [_pod_state(pod) for pod in pods]
    counts = {state: states.count(state) for state in sorted(set(states))}
    parts = [f"{count}/{len(pods)} {state}" for state, count in counts.items()]
    noun = "pod" if len(pods) == 1 else "pods"
    first, _, rest = parts[0].partition(" ")
    return ", ".join([f"{first} {noun} {rest}", *parts[1:]])


def _pod_state(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for container in status.get("containerStatuses") or []:
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return str(status.get("phase") or "Pending")


def latest_condition(body: Mapping[str, Any]) -> str | None:
    """The type of the condition that changed last (`Created`, `Running`, `Succeeded`), with its status
    when it is not True."""
    conditions = list((body.get("status") or {}).get("conditions") or [])
    if not conditions:
        return None
    latest = max(enumerate(conditions), key=lambda pair: (str(pair[1].get("lastTransitionTime") or ""), pair[0]))[1]
    kind = str(latest.get("type") or "?")
    return kind if latest.get("status") == "True" else f"{kind}={latest.get('status')}"


def run_process(
    argv: Sequence[str],
    *,
    stdin: str,
    timeout: float,
    sink: Progress,
    status: Callable[[float], Status],
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)` for a child the
    suite waits on (a Helm action, a child run), telling `sink` how long it has been going: `status(elapsed)`
    is asked whenever the sink wants one. On timeout the child is killed and TimeoutExpired raised, with
    what it wrote so far, as subprocess.run does."""
    started = time.monotonic()
    child = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,  # noqa: PLW1509 - the callers' die-with-parent hook, as subprocess.run had it
    )
    pending: str | None = stdin
    try:
        while True:
            left = started + timeout - time.monotonic()
            try:
                stdout, stderr = child.communicate(pending, timeout=max(min(sink.interval_seconds or left, left), 0))
                return subprocess.CompletedProcess(list(argv), child.returncode, stdout, stderr)
            except subprocess.TimeoutExpired:
                pending = None  # the input went with the first call; later calls only read
                elapsed = time.monotonic() - started
                if elapsed >= timeout:
                    child.kill()
                    stdout, stderr = child.communicate()
                    raise subprocess.TimeoutExpired(list(argv), timeout, output=stdout, stderr=stderr) from None
                if sink.due(elapsed):
                    sink.show(status(elapsed))
    finally:
        sink.finished()
        if child.poll() is None:
            child.kill()
            child.wait()
