"""What a run produced, as plain records that every report writer reads the same way.

The Cucumber JSON, JUnit XML and HTML writers must agree on every status, duration and id; they can
only do so if they render one description of the run instead of each walking radish's objects. These
records hold no I/O and no radish types, so a writer can be tested with a hand-built run, and a
partial run (a killed process) is just a run with fewer or unfinished records.

Shape: run -> features -> scenarios (each with its own copy of the feature's background, as Cucumber
reports it) -> steps, with hook results around each scenario.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

NANOSECONDS_PER_SECOND = 1_000_000_000
"""Cucumber JSON durations are integer nanoseconds; every writer converts with this one constant."""


class Status(enum.StrEnum):
    """The result statuses every Cucumber JSON schema variant and cucumber-reporting accept."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNDEFINED = "undefined"
    PENDING = "pending"


# How bad a status is when a scenario summarises its steps and hooks: the worst one wins.
_SEVERITY = {
    Status.PASSED: 0,
    Status.SKIPPED: 1,
    Status.PENDING: 2,
    Status.UNDEFINED: 3,
    Status.FAILED: 4,
}


def worst(statuses: Iterable[Status]) -> Status:
    """The status that decides the outcome of a group: failed beats undefined beats pending, and so on."""
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.PASSED)


def slug(text: str) -> str:
    """The id form of a name, as Cucumber makes it: lower case, each run of whitespace a dash."""
    return re.sub(r"\s+", "-", text.strip()).lower()


@dataclass(frozen=True)
class Tag:
    """A tag as written in the feature file, with where it was written (1-based line and column)."""

    name: str
    line: int
    column: int = 1


@dataclass(frozen=True)
class Result:
    """The outcome of a step or hook; durations are integer nanoseconds, as Cucumber JSON requires."""

    status: Status
    duration_ns: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class Embedding:
    """Evidence attached to a step or hook: pod logs, events, a metric plot (raw bytes, encoded by the writer)."""

    mime_type: str
    data: bytes
    name: str | None = None

    @property
    def is_text(self) -> bool:
        """Whether the data is readable text, and so must be redacted and may be shown inline."""
        return self.mime_type.startswith("text/") or self.mime_type in _TEXT_MIME_TYPES


_TEXT_MIME_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml", "application/xml"})


@dataclass(frozen=True)
class DocString:
    """A step's doc string; `line` is the line of its opening delimiter."""

    value: str
    line: int
    content_type: str = ""


@dataclass(frozen=True)
class Step:
    """One executed (or not executed) step; `keyword` keeps its trailing space ("Given ")."""

    keyword: str
    name: str
    line: int
    result: Result
    location: str | None = None
    rows: tuple[tuple[str, ...], ...] = ()
    doc_string: DocString | None = None
    embeddings: tuple[Embedding, ...] = ()


@dataclass(frozen=True)
class Hook:
    """A before or after hook around a scenario, e.g. the terrain's namespace cleanup."""

    name: str
    result: Result
    embeddings: tuple[Embedding, ...] = ()


@dataclass(frozen=True)
class Background:
    """The feature's background as it ran for one scenario."""

    keyword: str
    name: str
    line: int
    description: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Example:
    """The examples row a scenario outline expanded into: names and values, and where the row is."""

    keyword: str
    name: str
    line: int
    header: tuple[str, ...]
    values: tuple[str, ...]
    index: int

    def substitute(self, text: str) -> str:
        """`text` with each `<header>` placeholder replaced by this row's value, as Cucumber names outline rows."""
        cells = dict(zip(self.header, self.values, strict=False))
        return _PLACEHOLDER.sub(lambda match: cells.get(match.group(1), match.group(0)), text)


_PLACEHOLDER = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True)
class Scenario:
    """One scenario, or one examples row of an outline, with everything that ran for it."""

    id: str
    keyword: str
    name: str
    line: int
    description: str = ""
    tags: tuple[Tag, ...] = ()
    background: Background | None = None
    steps: tuple[Step, ...] = ()
    before: tuple[Hook, ...] = ()
    after: tuple[Hook, ...] = ()
    example: Example | None = None
    started_at: datetime | None = None
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def all_steps(self) -> tuple[Step, ...]:
        """Background steps first, then the scenario's own, in the order they ran."""
        return (self.background.steps if self.background else ()) + self.steps

    @property
    def status(self) -> Status:
        """Failed if any step or hook failed (a failing cleanup fails its scenario), else the worst step status."""
        hooks = (hook.result.status for hook in (*self.before, *self.after))
        return worst([*(step.result.status for step in self.all_steps), *hooks])

    @property
    def duration_ns(self) -> int:
        """Time spent in steps and hooks."""
        hooks = (*self.before, *self.after)
        return sum(step.result.duration_ns for step in self.all_steps) + sum(h.result.duration_ns for h in hooks)

    @property
    def timeline(self) -> tuple[Step | Hook, ...]:
        """Before hooks, background and scenario steps, after hooks: everything that ran, in order."""
        return (*self.before, *self.all_steps, *self.after)

    @property
    def failure(self) -> Step | Hook | None:
        """The first step or hook that failed or was undefined: what a JUnit failure message names."""
        for item in self.timeline:
            if item.result.status in (Status.FAILED, Status.UNDEFINED):
                return item
        return None


@dataclass(frozen=True)
class Feature:
    """One feature file; `uri` is the path relative to the working directory, with forward slashes."""

    uri: str
    id: str
    keyword: str
    name: str
    line: int
    description: str = ""
    tags: tuple[Tag, ...] = ()
    scenarios: tuple[Scenario, ...] = ()

    @property
    def status(self) -> Status:
        return worst(scenario.status for scenario in self.scenarios)


@dataclass(frozen=True)
class Run:
    """Everything reported so far; a run interrupted by a signal is still a valid, smaller run."""

    features: tuple[Feature, ...] = ()
    started_at: datetime | None = None
    properties: tuple[tuple[str, str], ...] = field(default=())

    @property
    def status(self) -> Status:
        return worst(feature.status for feature in self.features)


def merge(runs: Iterable[Run]) -> Run:
    """Several runs as one report: a feature that more than one run has (same uri) holds all their
    scenarios, in the order the runs are given; a run's own properties are kept when they agree."""
    features: dict[str, Feature] = {}
    runs = list(runs)
    for run in runs:
        for feature in run.features:
            known = features.get(feature.uri)
            features[feature.uri] = (
                feature if known is None else replace(known, scenarios=known.scenarios + feature.scenarios)
            )
    started = [run.started_at for run in runs if run.started_at is not None]
    shared = [pair for pair in runs[0].properties if all(pair in run.properties for run in runs)] if runs else []
    return Run(
        features=tuple(features.values()), started_at=min(started) if started else None, properties=tuple(shared)
    )
