"""Translates radish's model of a run into `kfval.report.model` records.

radish 0.18 keeps what Cucumber JSON needs in odd places or not at all: the keyword inside the step
sentence, outline rows named "<outline> - row N" on the outline's line, example steps on the row's
line, background copies without their table header, no tag or doc string lines, no durations. The
recorder keeps what the hooks observed (clocks, embeddings, hook results, properties) beside radish's
objects, and this module turns both into records that say what the feature file says.
"""

from __future__ import annotations

import base64
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radish.scenarioloop import ScenarioLoop
from radish.scenariooutline import ScenarioOutline
from radish.stepmodel import Step as RadishStep

from kfval.report import cucumber, model, redaction, sources

NANOSECONDS_PER_SECOND = 1_000_000_000
INTERRUPTED_MESSAGE = "the step did not finish: the run stopped (signal or abort) while it was running"

# Step keywords of the languages radish ships, longest first so multi-word keywords are not cut.
STEP_KEYWORDS = tuple(
    sorted(
        (
            "Given", "When", "Then", "And", "But", "*",
            "Angenommen", "Gegeben sei", "Gegeben seien", "Wenn", "Dann", "Und", "Aber",
            "Soit", "Étant donné que", "Etant donné que", "Étant donné", "Etant donné", "Quand", "Lorsque",
            "Alors", "Et que", "Et", "Mais que", "Mais",
            "Dado", "Dada", "Dados", "Dadas", "Cuando", "Entonces", "Y", "E", "Pero", "Quando", "Então", "Mas",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip


@dataclass
class Recorder:
    """What the run has shown so far, keyed by the identity of radish's (long-lived) model objects."""

    cucumber_path: Path
    junit_path: Path
    redactor: redaction.Redactor
    dialect: cucumber.Dialect
    html_path: Path | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    features: list[Any] = field(default_factory=list)
    scenarios: dict[int, list[Any]] = field(default_factory=dict)
    finished: dict[int, model.Scenario] = field(default_factory=dict)
    clocks: dict[int, list[int]] = field(default_factory=dict)
    scenario_started: dict[int, datetime] = field(default_factory=dict)
    embeddings: dict[int, list[model.Embedding]] = field(default_factory=dict)
    hooks: dict[tuple[int, str], list[model.Hook]] = field(default_factory=dict)
    properties: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    feature_sources: dict[str, sources.FeatureSource] = field(default_factory=dict)
    last_step: dict[int, Any] = field(default_factory=dict)

    def source(self, path: str) -> sources.FeatureSource:
        if path not in self.feature_sources:
            self.feature_sources[path] = sources.FeatureSource.read(path)
        return self.feature_sources[path]


def is_container(scenario: Any) -> bool:
    """Outlines and loops run through radish's hooks themselves; only their rows are reported."""
    return isinstance(scenario, ScenarioOutline | ScenarioLoop)


def feature_of(scenario: Any) -> Any:
    feature = scenario.parent
    while feature.parent is not None:
        feature = feature.parent
    return feature


def snapshot(recorder: Recorder) -> model.Run:
    """The run so far: finished scenarios as recorded, the running one as it stands now."""
    features = []
    for feature in recorder.features:
        source = recorder.source(feature.path)
        scenarios = tuple(
            recorder.finished.get(id(scenario)) or scenario_record(recorder, scenario)
            for scenario in recorder.scenarios[id(feature)]
        )
        features.append(
            model.Feature(
                uri=_uri(feature.path),
                id=model.slug(feature.sentence),
                keyword=feature.keyword,
                name=feature.sentence,
                line=feature.line,
                description="\n".join(feature.description).strip(),
                tags=source.tags_above(feature.line) or _unlocated_tags(feature),
                scenarios=scenarios,
            )
        )
    return model.Run(features=tuple(features), started_at=recorder.started_at)


def _uri(path: str) -> str:
    absolute = Path(path).resolve()
    with contextlib.suppress(ValueError):
        return absolute.relative_to(Path.cwd()).as_posix()
    return absolute.as_posix()


def _unlocated_tags(item: Any) -> tuple[model.Tag, ...]:
    """Tags radish parsed where the file could not be read again: placed on the line above the item."""
    return tuple(model.Tag(f"@{tag.name}" + (f"({tag.arg})" if tag.arg else ""), item.line - 1) for tag in item.tags)


def _scenario_tags(recorder: Recorder, scenario: Any, feature: Any) -> tuple[model.Tag, ...]:
    """Pickle tags: the feature's, then the scenario's (for an outline row, the outline's), each once."""
    source = recorder.source(feature.path)
    own = scenario.parent if is_container(scenario.parent) else scenario
    tags = (
        *(source.tags_above(feature.line) or _unlocated_tags(feature)),
        *(source.tags_above(own.line) or _unlocated_tags(own)),
    )
    return tuple(dict.fromkeys(tags))


def scenario_record(recorder: Recorder, scenario: Any) -> model.Scenario:
    feature = feature_of(scenario)
    source = recorder.source(feature.path)
    background = _background_record(recorder, scenario, feature)
    own_steps = scenario.all_steps[len(background.steps) if background else 0 :]
    templates = scenario.parent.steps if is_container(scenario.parent) else own_steps
    example = _example(scenario, source)
    name = scenario.parent.sentence if example else scenario.sentence
    scenario_id = f"{model.slug(feature.sentence)};{model.slug(name)}"
    if example is not None:
        scenario_id += f";{model.slug(example.name)};{example.index + 2}"
    pending = tuple(recorder.embeddings.get(id(scenario), ()))
    steps = tuple(
        _step_record(recorder, step, template, source) for step, template in zip(own_steps, templates, strict=False)
    )
    if pending and steps:
        steps = (_with_embeddings(steps[0], pending), *steps[1:])
    return model.Scenario(
        id=scenario_id,
        keyword=scenario.keyword,
        name=name,
        line=example.line if example else scenario.line,
        tags=_scenario_tags(recorder, scenario, feature),
        background=background,
        steps=steps,
        before=tuple(recorder.hooks.get((id(scenario), "before"), ())),
        after=tuple(recorder.hooks.get((id(scenario), "after"), ())),
        example=example,
        started_at=recorder.scenario_started.get(id(scenario)),
        properties=tuple(recorder.properties.get(id(scenario), ())),
    )


def _with_embeddings(step: model.Step, extra: tuple[model.Embedding, ...]) -> model.Step:
    return model.Step(
        step.keyword,
        step.name,
        step.line,
        step.result,
        step.location,
        step.rows,
        step.doc_string,
        step.embeddings + extra,
    )


def _example(scenario: Any, source: sources.FeatureSource) -> model.Example | None:
    outline = scenario.parent
    if not isinstance(outline, ScenarioOutline):
        return None
    row = scenario.example
    block = source.examples_above(row.line)
    return model.Example(
        keyword=block.keyword if block else outline.example_keyword,
        name=block.name if block else "",
        line=row.line,
        header=tuple(outline.examples_header),
        values=tuple(row.data),
        index=outline.examples.index(row),
    )


def _background_record(recorder: Recorder, scenario: Any, feature: Any) -> model.Background | None:
    background = scenario.background
    if background is None:
        return None
    source = recorder.source(feature.path)
    templates = feature.background.steps if feature.background is not None else background.steps
    steps = tuple(
        _step_record(recorder, step, template, source)
        for step, template in zip(background.steps, templates, strict=False)
    )
    return model.Background(background.keyword, background.sentence, background.line, steps=steps)


def _step_record(recorder: Recorder, step: Any, template: Any, source: sources.FeatureSource) -> model.Step:
    keyword, name = split_keyword(step.sentence)
    rows = (tuple(template.table_header), *map(tuple, step.table_data)) if template.table_header else ()
    doc_string = None
    if step.raw_text:
        doc_line = source.doc_string_line(template.line)
        doc_string = model.DocString("\n".join(step.raw_text), doc_line or template.line + 1)
    return model.Step(
        keyword=keyword,
        name=name,
        line=template.line,
        result=_result(recorder, step),
        location=_location(step.definition_func),
        rows=rows,
        doc_string=doc_string,
        embeddings=(*_radish_embeddings(step), *recorder.embeddings.get(id(step), ())),
    )


def split_keyword(sentence: str) -> tuple[str, str]:
    """("Given ", "a fresh namespace") from "Given a fresh namespace": the keyword keeps one trailing space."""
    for keyword in STEP_KEYWORDS:
        if sentence.startswith(keyword) and sentence[len(keyword) : len(keyword) + 1] in (" ", ""):
            return keyword + " ", sentence[len(keyword) :].strip()
    first, _, rest = sentence.partition(" ")
    return first + " ", rest.strip()


def _result(recorder: Recorder, step: Any) -> model.Result:
    clock = recorder.clocks.get(id(step))
    duration = 0 if clock is None else (clock[1] if len(clock) > 1 else time.perf_counter_ns()) - clock[0]
    state = step.state
    if state == RadishStep.State.FAILED and step.failure is not None:
        failure = step.failure
        return model.Result(model.Status.FAILED, duration, f"{failure.name}: {failure.reason}\n{failure.traceback}")
    if state == RadishStep.State.PASSED:
        return model.Result(model.Status.PASSED, duration)
    if state == RadishStep.State.PENDING:
        return model.Result(model.Status.PENDING, duration)
    if step.definition_func is None:
        return model.Result(model.Status.UNDEFINED, duration, f"no step definition matches '{step.sentence}'")
    if state == RadishStep.State.UNTESTED and clock is not None:
        return model.Result(model.Status.FAILED, duration, INTERRUPTED_MESSAGE)
    return model.Result(model.Status.SKIPPED, duration)


def _location(function: Any) -> str | None:
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return f"{_uri(code.co_filename)}:{code.co_firstlineno}"


def _radish_embeddings(step: Any) -> tuple[model.Embedding, ...]:
    """What steps attached through radish's own `step.embed` (base64 text, no name)."""
    found = []
    for embedded in step.embeddings:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            found.append(model.Embedding(embedded["mime_type"], base64.b64decode(embedded["data"], validate=True)))
    return tuple(found)
