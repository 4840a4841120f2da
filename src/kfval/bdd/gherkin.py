"""What radish's model of a feature means in Cucumber's terms: keywords split from sentences, pickle
tags, outline rows as examples, step locations and radish's own embeddings.

radish keeps these half-way (the keyword inside the sentence, an outline row named after the outline
on its line); these functions read them back the way Cucumber reports them, with the feature file's
own lines from `kfval.report.sources`.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

from radish.scenarioloop import ScenarioLoop
from radish.scenariooutline import ScenarioOutline

from kfval.report import model, sources

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


def is_container(scenario: Any) -> bool:
    """Outlines and loops run through radish's hooks themselves; only their rows are reported."""
    return isinstance(scenario, ScenarioOutline | ScenarioLoop)


def feature_of(scenario: Any) -> Any:
    feature = scenario.parent
    while feature.parent is not None:
        feature = feature.parent
    return feature


def uri(path: str) -> str:
    """A feature's path relative to the working folder when it lies below it, as Cucumber's `uri`."""
    absolute = Path(path).resolve()
    with contextlib.suppress(ValueError):
        return absolute.relative_to(Path.cwd()).as_posix()
    return absolute.as_posix()


def unlocated_tags(item: Any) -> tuple[model.Tag, ...]:
    """Tags radish parsed where the file could not be read again: placed on the line above the item."""
    return tuple(model.Tag(f"@{tag.name}" + (f"({tag.arg})" if tag.arg else ""), item.line - 1) for tag in item.tags)


def scenario_tags(scenario: Any, feature: Any, source: sources.FeatureSource) -> tuple[model.Tag, ...]:
    """Pickle tags: the feature's, then the scenario's (for an outline row, the outline's), each once."""
    own = scenario.parent if is_container(scenario.parent) else scenario
    tags = (
        *(source.tags_above(feature.line) or unlocated_tags(feature)),
        *(source.tags_above(own.line) or unlocated_tags(own)),
    )
    return tuple(dict.fromkeys(tags))


def example(scenario: Any, source: sources.FeatureSource) -> model.Example | None:
    """The Examples row an outline's scenario runs, with its block's keyword and name."""
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


def split_keyword(sentence: str) -> tuple[str, str]:
    """("Given ", "a fresh namespace") from "Given a fresh namespace": the keyword keeps one trailing space."""
    for keyword in STEP_KEYWORDS:
        if sentence.startswith(keyword) and sentence[len(keyword) : len(keyword) + 1] in (" ", ""):
            return keyword + " ", sentence[len(keyword) :].strip()
    first, _, rest = sentence.partition(" ")
    return first + " ", rest.strip()


def location(function: Any) -> str | None:
    """`steps/x.py:12` for the step definition that matched, as Cucumber's `match.location`."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return f"{uri(code.co_filename)}:{code.co_firstlineno}"


def radish_embeddings(step: Any) -> tuple[model.Embedding, ...]:
    """What steps attached through radish's own `step.embed` (base64 text, no name)."""
    found = []
    for embedded in step.embeddings:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            found.append(model.Embedding(embedded["mime_type"], base64.b64decode(embedded["data"], validate=True)))
    return tuple(found)
