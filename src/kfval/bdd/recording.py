"""The Recorder: what a radish run has shown so far, and its translation into `kfval.report.model` records.

radish 0.18 keeps what Cucumber JSON needs in odd places or not at all: the keyword inside the step
sentence, outline rows named "<outline> - row N" on the outline's line, example steps on the row's
line, background copies without their table header, no tag or doc string lines, no durations. The
Recorder keeps what the hooks observed (clocks, embeddings, hook results, properties) beside radish's
objects, and turns both into records that say what the feature file says (`gherkin.py` reads the file).

State is keyed by radish's model objects themselves: they hash by identity and the Recorder holds
them, so an entry can never be mistaken for another object's.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from radish.stepmodel import Step as RadishStep

from kfval.bdd import gherkin
from kfval.kube.errors import KfvalError
from kfval.report import model, sources

INTERRUPTED_MESSAGE = "the step did not finish: the run stopped (signal or abort) while it was running"
HookKind = Literal["before", "after"]


@dataclass
class _StepTrack:
    started_ns: int
    ended_ns: int | None = None
    embeddings: list[model.Embedding] = field(default_factory=list)
    skip_reason: str | None = None


@dataclass
class _ScenarioTrack:
    started_at: datetime
    last_step: Any = None
    pending: list[model.Embedding] = field(default_factory=list)
    """Embeddings that arrived before any step ran: they go to the next hook, else the first step."""
    hooks: dict[HookKind, list[model.Hook]] = field(default_factory=lambda: {"before": [], "after": []})
    properties: list[tuple[str, str]] = field(default_factory=list)
    finished: model.Scenario | None = None


class Recorder:
    """Observes one run through radish's hooks and answers with the run so far as records."""

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._features: dict[Any, list[Any]] = {}
        self._scenarios: dict[Any, _ScenarioTrack] = {}
        self._steps: dict[Any, _StepTrack] = {}
        self._sources: dict[str, sources.FeatureSource] = {}

    # -- what the hooks observe ------------------------------------------------------------------

    def feature_started(self, feature: Any) -> None:
        self._features.setdefault(feature, [])

    def scenario_started(self, scenario: Any) -> None:
        if gherkin.is_container(scenario):
            return
        self.feature_started(gherkin.feature_of(scenario))
        self._features[gherkin.feature_of(scenario)].append(scenario)
        self._scenarios[scenario] = _ScenarioTrack(started_at=datetime.now(UTC))

    def step_started(self, step: Any) -> None:
        self._steps[step] = _StepTrack(started_ns=time.perf_counter_ns())
        track = self._scenarios.get(step.parent)
        if track is not None and step.parent.state != RadishStep.State.FAILED:  # radish skips the rest
            track.last_step = step

    def step_finished(self, step: Any) -> None:
        now = time.perf_counter_ns()
        self._steps.setdefault(step, _StepTrack(started_ns=now)).ended_ns = now

    def scenario_finished(self, scenario: Any) -> None:
        track = self._scenarios.get(scenario)
        if track is not None:
            track.finished = self._scenario_record(scenario)

    # -- what steps and the terrain add ----------------------------------------------------------

    def attach(self, target: Any, embedding: model.Embedding) -> None:
        """On a step; for a scenario, on its latest step, else its next hook (or first step)."""
        if not isinstance(target, RadishStep):
            track = self._scenarios.get(target)
            if track is None:
                return
            if track.last_step is None:
                track.pending.append(embedding)
                return
            target = track.last_step
        self._steps.setdefault(target, _StepTrack(started_ns=time.perf_counter_ns())).embeddings.append(embedding)

    def skipped(self, step: Any, reason: str) -> None:
        """A step that skipped itself, and why (the report shows the reason as the skipped step's message)."""
        self._steps.setdefault(step, _StepTrack(started_ns=time.perf_counter_ns())).skip_reason = reason

    def record_hook(self, scenario: Any, kind: HookKind, name: str, result: model.Result) -> None:
        track = self._scenarios.get(scenario)
        if track is None:
            return
        pending, track.pending = tuple(track.pending), []
        track.hooks[kind].append(model.Hook(name, result, pending))
        if track.finished is not None:  # a deletion awaited at the run's end reports on a finished scenario
            hooks = track.hooks
            track.finished = dataclasses.replace(
                track.finished, before=tuple(hooks["before"]), after=tuple(hooks["after"])
            )

    def add_property(self, scenario: Any, name: str, value: str) -> None:
        track = self._scenarios.get(scenario)
        if track is not None:
            track.properties.append((name, value))

    # -- the run as records ----------------------------------------------------------------------

    def snapshot(self) -> model.Run:
        """The run so far: finished scenarios as recorded, the running one as it stands now."""
        features = []
        for feature, scenarios in self._features.items():
            source = self._source(feature.path)
            records = tuple(self._scenarios[s].finished or self._scenario_record(s) for s in scenarios)
            features.append(
                model.Feature(
                    uri=gherkin.uri(feature.path),
                    id=model.slug(feature.sentence),
                    keyword=feature.keyword,
                    name=feature.sentence,
                    line=feature.line,
                    description="\n".join(feature.description).strip(),
                    tags=source.tags_above(feature.line) or gherkin.unlocated_tags(feature),
                    scenarios=records,
                )
            )
        return model.Run(features=tuple(features), started_at=self.started_at)

    def scenarios(self) -> list[tuple[Any, model.Scenario]]:
        """Each scenario seen so far with its record (finished, or as it stands now), in the order they ran."""
        return [
            (scenario, track.finished or self._scenario_record(scenario)) for scenario, track in self._scenarios.items()
        ]

    def _source(self, path: str) -> sources.FeatureSource:
        if path not in self._sources:
            self._sources[path] = sources.FeatureSource.read(path)
        return self._sources[path]

    def _scenario_record(self, scenario: Any) -> model.Scenario:
        feature = gherkin.feature_of(scenario)
        source = self._source(feature.path)
        track = self._scenarios[scenario]
        background = self._background_record(scenario, feature, source)
        own_steps = scenario.all_steps[len(background.steps) if background else 0 :]
        templates = scenario.parent.steps if gherkin.is_container(scenario.parent) else own_steps
        example = gherkin.example(scenario, source)
        outline_name = scenario.parent.sentence if example else scenario.sentence
        # the id keeps the outline's own name (stable whatever the row holds); the name is the row's
        scenario_id = f"{model.slug(feature.sentence)};{model.slug(outline_name)}"
        if example is not None:
            scenario_id += f";{model.slug(example.name)};{example.index + 2}"
        name = example.substitute(outline_name) if example else outline_name
        steps = tuple(
            self._step_record(step, template, source) for step, template in zip(own_steps, templates, strict=False)
        )
        if track.pending and steps:
            first = steps[0]
            steps = (dataclasses.replace(first, embeddings=first.embeddings + tuple(track.pending)), *steps[1:])
        return model.Scenario(
            id=scenario_id,
            keyword=scenario.keyword,
            name=name,
            line=example.line if example else scenario.line,
            tags=gherkin.scenario_tags(scenario, feature, source),
            background=background,
            steps=steps,
            before=tuple(track.hooks["before"]),
            after=tuple(track.hooks["after"]),
            example=example,
            started_at=track.started_at,
            properties=tuple(track.properties),
        )

    def _background_record(self, scenario: Any, feature: Any, source: sources.FeatureSource) -> model.Background | None:
        background = scenario.background
        if background is None:
            return None
        templates = feature.background.steps if feature.background is not None else background.steps
        steps = tuple(
            self._step_record(step, template, source)
            for step, template in zip(background.steps, templates, strict=False)
        )
        return model.Background(background.keyword, background.sentence, background.line, steps=steps)

    def _step_record(self, step: Any, template: Any, source: sources.FeatureSource) -> model.Step:
        keyword, name = gherkin.split_keyword(step.sentence)
        rows = (tuple(template.table_header), *map(tuple, step.table_data)) if template.table_header else ()
        doc_string = None
        if step.raw_text:
            doc_line = source.doc_string_line(template.line)
            doc_string = model.DocString("\n".join(step.raw_text), doc_line or template.line + 1)
        track = self._steps.get(step)
        return model.Step(
            keyword=keyword,
            name=name,
            line=template.line,
            result=self._result(step, track),
            location=gherkin.location(step.definition_func),
            rows=rows,
            doc_string=doc_string,
            embeddings=(*gherkin.radish_embeddings(step), *(track.embeddings if track else ())),
        )

    @staticmethod
    def _result(step: Any, track: _StepTrack | None) -> model.Result:
        duration = 0 if track is None else (track.ended_ns or time.perf_counter_ns()) - track.started_ns
        state = step.state
        if state == RadishStep.State.FAILED and step.failure is not None:
            return model.Result(model.Status.FAILED, duration, _failure_message(step.failure))
        if state == RadishStep.State.PASSED:
            return model.Result(model.Status.PASSED, duration)
        if state == RadishStep.State.PENDING:
            return model.Result(model.Status.PENDING, duration)
        if step.definition_func is None:
            return model.Result(model.Status.UNDEFINED, duration, f"no step definition matches '{step.sentence}'")
        if state == RadishStep.State.UNTESTED and track is not None:
            return model.Result(model.Status.FAILED, duration, INTERRUPTED_MESSAGE)
        return model.Result(model.Status.SKIPPED, duration, track.skip_reason if track else None)


def _failure_message(failure: Any) -> str:
    """A step's failure as the report tells it: a KfvalError's message names the cause and the fix on its
    own, so it comes without a traceback (a user's mistake is not a bug); anything else keeps its traceback."""
    message = f"{failure.name}: {failure.reason}"
    if isinstance(failure.exception, KfvalError):
        return message
    return f"{message}\n{failure.traceback}"
