"""Renders a run as Cucumber JSON that strict schema validators and the common report tools accept.

radish 0.18.4's own writer fails every published schema (see reference/report-formats.md §3.2):
keyword repeated in the name, seconds-ish durations, integer ids, no background, hooks, tables or doc
strings. This writer renders `kfval.report.model` records instead.

The three schema variants of cucumber-json-schema cannot all accept one document (each forbids
properties another requires), so the writer speaks three dialects of the same run:

- `JVM` (the default, what the suite writes): feature tags with `{type, location}`, scenario tags by
  name only, `background` elements, `before`/`after` hooks, embeddings, `start_timestamp`.
- `RUBY`: tags as `{name, line}` everywhere; steps and hooks carry no embeddings (the schema has none).
- `JS`: no background elements (their steps are inlined with `isBackground`), hooks as hidden steps,
  tables and doc strings as step `arguments`, no embeddings.

Every string is redacted on the way out; text embeddings are redacted before they are encoded.
"""

from __future__ import annotations

import base64
import enum
import json
from typing import Any

from kfval.report import model
from kfval.report.redaction import Redactor

Json = dict[str, Any]


class Dialect(enum.StrEnum):
    """Which cucumber-json-schema variant the document conforms to."""

    JVM = "jvm"
    RUBY = "ruby"
    JS = "js"


def render(run: model.Run, *, redactor: Redactor, dialect: Dialect = Dialect.JVM) -> str:
    """The run as a Cucumber JSON document (a list of features), redacted, in the given dialect."""
    document = [_feature(feature, redactor, dialect) for feature in run.features]
    return json.dumps(_redact_strings(document, redactor), indent=2, ensure_ascii=False) + "\n"


def _feature(feature: model.Feature, redactor: Redactor, dialect: Dialect) -> Json:
    elements: list[Json] = []
    for scenario in feature.scenarios:
        if dialect is Dialect.JS:
            elements.append(_js_scenario(scenario))
            continue
        if scenario.background is not None:
            elements.append(_background(scenario.background, redactor, dialect))
        elements.append(_scenario(scenario, redactor, dialect))
    return {
        "uri": feature.uri,
        "id": feature.id,
        "keyword": feature.keyword,
        "name": feature.name,
        "line": feature.line,
        "description": feature.description,
        "tags": [_feature_tag(tag, dialect) for tag in feature.tags],
        "elements": elements,
    }


def _feature_tag(tag: model.Tag, dialect: Dialect) -> Json:
    if dialect is Dialect.JVM:
        return {"name": tag.name, "type": "Tag", "location": {"line": tag.line, "column": tag.column}}
    return {"name": tag.name, "line": tag.line}


def _scenario_tag(tag: model.Tag, dialect: Dialect) -> Json:
    return {"name": tag.name} if dialect is Dialect.JVM else {"name": tag.name, "line": tag.line}


def _background(background: model.Background, redactor: Redactor, dialect: Dialect) -> Json:
    return {
        "type": "background",
        "keyword": background.keyword,
        "name": background.name,
        "line": background.line,
        "description": background.description,
        "steps": [_step(step, redactor, dialect) for step in background.steps],
    }


def _scenario(scenario: model.Scenario, redactor: Redactor, dialect: Dialect) -> Json:
    element: Json = {
        "type": "scenario",
        "id": scenario.id,
        "keyword": scenario.keyword,
        "name": scenario.name,
        "line": scenario.line,
        "description": scenario.description,
        "tags": [_scenario_tag(tag, dialect) for tag in scenario.tags],
        "steps": [_step(step, redactor, dialect) for step in scenario.steps],
    }
    if scenario.started_at is not None:
        element["start_timestamp"] = scenario.started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if scenario.before:
        element["before"] = [_hook(hook, redactor, dialect) for hook in scenario.before]
    if scenario.after:
        element["after"] = [_hook(hook, redactor, dialect) for hook in scenario.after]
    return element


def _step(step: model.Step, redactor: Redactor, dialect: Dialect) -> Json:
    rendered: Json = {"keyword": step.keyword, "name": step.name, "line": step.line, "result": _result(step.result)}
    if step.location:
        rendered["match"] = {"location": step.location}
    if step.rows:
        rendered["rows"] = [{"cells": list(row)} for row in step.rows]
    if step.doc_string is not None:
        doc: Json = {"value": step.doc_string.value, "line": step.doc_string.line}
        if step.doc_string.content_type:
            doc["content_type"] = step.doc_string.content_type
        rendered["doc_string"] = doc
    if step.embeddings and dialect is Dialect.JVM:
        rendered["embeddings"] = [_embedding(embedding, redactor) for embedding in step.embeddings]
    return rendered


def _hook(hook: model.Hook, redactor: Redactor, dialect: Dialect) -> Json:
    rendered: Json = {"match": {"location": hook.name}, "result": _result(hook.result)}
    if hook.embeddings and dialect is Dialect.JVM:
        rendered["embeddings"] = [_embedding(embedding, redactor) for embedding in hook.embeddings]
    return rendered


def _result(result: model.Result) -> Json:
    rendered: Json = {"status": str(result.status), "duration": result.duration_ns}
    if result.error_message is not None:
        rendered["error_message"] = result.error_message
    return rendered


def _embedding(embedding: model.Embedding, redactor: Redactor) -> Json:
    data = redactor.redact_bytes(embedding.data) if embedding.is_text else embedding.data
    rendered: Json = {"mime_type": embedding.mime_type, "data": base64.b64encode(data).decode("ascii")}
    if embedding.name:
        rendered["name"] = embedding.name
    return rendered


def _js_scenario(scenario: model.Scenario) -> Json:
    background = scenario.background.steps if scenario.background else ()
    steps = [
        *(
            {"hidden": True, "keyword": "Before", "match": {"location": h.name}, "result": _result(h.result)}
            for h in scenario.before
        ),
        *({**_js_step(step), "isBackground": True} for step in background),
        *(_js_step(step) for step in scenario.steps),
        *(
            {"hidden": True, "keyword": "After", "match": {"location": h.name}, "result": _result(h.result)}
            for h in scenario.after
        ),
    ]
    return {
        "type": "scenario",
        "id": scenario.id,
        "keyword": scenario.keyword,
        "name": scenario.name,
        "line": scenario.line,
        "description": scenario.description,
        "tags": [{"name": tag.name, "line": tag.line} for tag in scenario.tags],
        "steps": steps,
    }


def _js_step(step: model.Step) -> Json:
    arguments: list[Json] = []
    if step.rows:
        arguments.append({"rows": [{"cells": list(row)} for row in step.rows]})
    if step.doc_string is not None:
        arguments.append({"content": step.doc_string.value, "line": step.doc_string.line})
    rendered: Json = {
        "arguments": arguments,
        "keyword": step.keyword,
        "name": step.name,
        "line": step.line,
        "result": _result(step.result),
    }
    if step.location:
        rendered["match"] = {"location": step.location}
    return rendered


def _redact_strings(value: Any, redactor: Redactor, key: str = "") -> Any:
    """Redact every string in the document except embedding data, which is base64 already handled."""
    if isinstance(value, str):
        return value if key == "data" else redactor.redact(value)
    if isinstance(value, list):
        return [_redact_strings(item, redactor, key) for item in value]
    if isinstance(value, dict):
        return {name: _redact_strings(item, redactor, name) for name, item in value.items()}
    return value
