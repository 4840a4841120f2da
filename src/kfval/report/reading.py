"""Reads a Cucumber JSON report back into `kfval.report.model` records, so `kfval report` can render
JUnit XML and the HTML page again from the one artifact a CI server kept.

It reads the JVM dialect the suite writes (and what cucumber-jvm and most tools emit). What Cucumber
JSON does not carry is recovered where the suite put it: a scenario's metrics from its `metric <name>`
JSON embeddings (they become JUnit properties again), an outline row's header and values from the
feature file when it is at hand (by the row's line), else the row's number.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import datetime
from typing import Any

from kfval.report import measures, model, sources


class ReportFormatError(ValueError):
    """The text is not a Cucumber JSON report; the message says where it stops being one."""


def parse(text: str) -> model.Run:
    """The run a Cucumber JSON document describes."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportFormatError(f"not JSON: {error}") from error
    if not isinstance(document, list):
        raise ReportFormatError("a Cucumber JSON report is a list of features; this is a " + type(document).__name__)
    try:
        features = tuple(_feature(item) for item in document)
    except (KeyError, TypeError, ValueError) as error:
        raise ReportFormatError(f"a feature lacks what Cucumber JSON requires: {error!r}") from error
    started = [s.started_at for f in features for s in f.scenarios if s.started_at is not None]
    return model.Run(features=features, started_at=min(started) if started else None)


def _feature(item: dict[str, Any]) -> model.Feature:
    source = sources.FeatureSource.read(item["uri"])
    scenarios: list[model.Scenario] = []
    background: model.Background | None = None
    for element in item.get("elements") or []:
        if element.get("type") == "background":
            background = model.Background(
                element["keyword"],
                element.get("name", ""),
                element["line"],
                element.get("description", ""),
                tuple(_step(step) for step in element.get("steps") or []),
            )
            continue
        scenarios.append(_scenario(element, background, source))
        background = None
    return model.Feature(
        uri=item["uri"],
        id=item["id"],
        keyword=item["keyword"],
        name=item["name"],
        line=item["line"],
        description=item.get("description", ""),
        tags=tuple(_tag(tag, item["line"] - 1) for tag in item.get("tags") or []),
        scenarios=tuple(scenarios),
    )


def _scenario(
    element: dict[str, Any], background: model.Background | None, source: sources.FeatureSource
) -> model.Scenario:
    steps = tuple(_step(step) for step in element.get("steps") or [])
    started = element.get("start_timestamp")
    example = _example(element, source)
    return _with_metrics(
        model.Scenario(
            id=element["id"],
            keyword=element["keyword"],
            name=example.substitute(element["name"]) if example else element["name"],
            line=element["line"],
            description=element.get("description", ""),
            tags=tuple(_tag(tag, element["line"] - 1) for tag in element.get("tags") or []),
            background=background,
            steps=steps,
            before=tuple(_hook(hook) for hook in element.get("before") or []),
            after=tuple(_hook(hook) for hook in element.get("after") or []),
            example=example,
            started_at=datetime.fromisoformat(started.replace("Z", "+00:00")) if started else None,
        )
    )


def _tag(tag: dict[str, Any], default_line: int) -> model.Tag:
    location = tag.get("location") or {}
    return model.Tag(tag["name"], location.get("line", tag.get("line", default_line)), location.get("column", 1))


def _step(step: dict[str, Any]) -> model.Step:
    doc = step.get("doc_string")
    return model.Step(
        keyword=step["keyword"],
        name=step["name"],
        line=step["line"],
        result=_result(step["result"]),
        location=(step.get("match") or {}).get("location"),
        rows=tuple(tuple(row["cells"]) for row in step.get("rows") or []),
        doc_string=model.DocString(doc["value"], doc["line"], doc.get("content_type", "")) if doc else None,
        embeddings=tuple(_embedding(e) for e in step.get("embeddings") or []),
    )


def _hook(hook: dict[str, Any]) -> model.Hook:
    return model.Hook(
        (hook.get("match") or {}).get("location", "hook"),
        _result(hook["result"]),
        tuple(_embedding(e) for e in hook.get("embeddings") or []),
    )


def _result(result: dict[str, Any]) -> model.Result:
    return model.Result(model.Status(result["status"]), int(result.get("duration", 0)), result.get("error_message"))


def _embedding(embedding: dict[str, Any]) -> model.Embedding:
    try:
        data = base64.b64decode(embedding["data"], validate=True)
    except binascii.Error:
        data = str(embedding["data"]).encode()
    return model.Embedding(embedding["mime_type"], data, embedding.get("name"))


def _example(element: dict[str, Any], source: sources.FeatureSource) -> model.Example | None:
    """An outline row, known by its four-part id (`feature;outline;examples;row`), as Cucumber makes it."""
    parts = str(element["id"]).split(";")
    if len(parts) != 4 or not parts[3].isdigit():
        return None
    index = int(parts[3]) - 2
    header = source.examples_header(element["line"])
    values = source.row_cells(element["line"])
    if not header or len(header) != len(values):
        header, values = ("row",), (str(index + 1),)
    block = source.examples_above(element["line"])
    return model.Example(block.keyword if block else "Examples", parts[2], element["line"], header, values, index)


def _with_metrics(scenario: model.Scenario) -> model.Scenario:
    """The scenario with its metrics as properties again, from the embeddings the suite names `metric <name>`."""
    found = tuple((metric.name, f"{metric.value:.4f}") for metric in measures.of_scenario(scenario))
    return dataclasses.replace(scenario, properties=found)
