"""The Cucumber JSON writer: every dialect validates against its cucumber-json-schema variant."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kfval.report import cucumber, model, redaction
from tests.support import report_samples

SCHEMAS = Path(__file__).parents[1] / "fixtures" / "cucumber-json-schema"


def schema_errors(document: Any, dialect: cucumber.Dialect) -> list[str]:
    schema = json.loads((SCHEMAS / f"cucumber-{dialect}.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]


def rendered(dialect: cucumber.Dialect = cucumber.Dialect.JVM, run: model.Run | None = None) -> Any:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    return json.loads(cucumber.render(run or report_samples.run(), redactor=redactor, dialect=dialect))


@pytest.mark.parametrize("dialect", list(cucumber.Dialect))
def test_every_dialect_validates_against_its_schema(dialect: cucumber.Dialect) -> None:
    assert schema_errors(rendered(dialect), dialect) == []


@pytest.mark.parametrize("dialect", list(cucumber.Dialect))
def test_an_empty_run_is_an_empty_valid_document(dialect: cucumber.Dialect) -> None:
    document = rendered(dialect, model.Run())

    assert document == []
    assert schema_errors(document, dialect) == []


def test_the_schema_variants_conflict_so_one_document_cannot_serve_all() -> None:
    jvm = rendered(cucumber.Dialect.JVM)

    assert schema_errors(jvm, cucumber.Dialect.RUBY)
    assert schema_errors(jvm, cucumber.Dialect.JS)


def test_keyword_keeps_a_trailing_space_and_the_name_drops_it() -> None:
    step = rendered()[0]["elements"][1]["steps"][0]

    assert step["keyword"] == "Given "
    assert step["name"] == "these parameters"
    assert step["keyword"] + step["name"] == "Given these parameters"


def test_durations_are_integer_nanoseconds() -> None:
    step = rendered()[0]["elements"][0]["steps"][0]

    assert step["result"]["duration"] == 1_500_000
    assert isinstance(step["result"]["duration"], int)


def test_background_is_its_own_element_before_each_scenario() -> None:
    elements = rendered()[0]["elements"]

    assert [element["type"] for element in elements[:2]] == ["background", "scenario"]
    assert elements[0]["steps"][0]["name"] == "a fresh namespace"
    assert "id" not in elements[0]


def test_js_inlines_background_steps_and_hooks_as_hidden_steps() -> None:
    steps = rendered(cucumber.Dialect.JS)[0]["elements"][0]["steps"]

    assert [step.get("keyword") for step in steps] == ["Before", "Given ", "Given ", "When ", "Then ", "After"]
    assert steps[0]["hidden"] is True
    assert steps[1]["isBackground"] is True
    assert steps[2]["arguments"] == [{"rows": [{"cells": ["name", "value"]}, {"cells": ["epochs", "1"]}]}]
    assert steps[3]["arguments"] == [{"content": "token=***", "line": 17}]


def test_ids_tags_and_outline_rows() -> None:
    feature = rendered()[0]
    scenarios = [element for element in feature["elements"] if element["type"] == "scenario"]

    assert feature["id"] == "report-sample"
    assert feature["tags"][1] == {"name": "@training", "type": "Tag", "location": {"line": 2, "column": 11}}
    assert scenarios[0]["tags"] == [{"name": "@kubeflow"}, {"name": "@smoke"}, {"name": "@gpu"}]
    assert [s["id"] for s in scenarios[2:4]] == [
        "report-sample;outline;small-counts;2",
        "report-sample;outline;small-counts;3",
    ]
    assert [s["line"] for s in scenarios[2:4]] == [40, 41]


def test_ruby_tags_carry_their_lines() -> None:
    scenario = rendered(cucumber.Dialect.RUBY)[0]["elements"][1]

    assert scenario["tags"] == [
        {"name": "@kubeflow", "line": 1},
        {"name": "@smoke", "line": 11},
        {"name": "@gpu", "line": 11},
    ]


def test_tables_doc_strings_matches_and_hooks_are_kept() -> None:
    scenario = rendered()[0]["elements"][1]

    assert scenario["steps"][0]["rows"] == [{"cells": ["name", "value"]}, {"cells": ["epochs", "1"]}]
    assert scenario["steps"][0]["match"] == {"location": "s.py:1"}
    assert scenario["steps"][1]["doc_string"] == {"value": "token=***", "line": 17}
    assert scenario["before"] == [
        {"match": {"location": "terrain.py:open"}, "result": {"status": "passed", "duration": 10}}
    ]
    assert scenario["start_timestamp"] == "2026-01-02T03:04:05.678Z"


def test_a_failing_cleanup_is_an_after_hook_with_its_error_redacted() -> None:
    scenario = rendered()[0]["elements"][2]

    assert scenario["after"][0]["result"]["status"] == "failed"
    assert scenario["after"][0]["result"]["error_message"] == "namespace still Terminating (token ***)"


def test_text_embeddings_are_redacted_and_images_kept_byte_for_byte() -> None:
    text, image = rendered()[0]["elements"][1]["steps"][2]["embeddings"]

    assert text["name"] == "pod log"
    assert base64.b64decode(text["data"]).decode() == "log line with ***\n<b>not html</b>"
    assert image == {
        "mime_type": "image/png",
        "data": base64.b64encode(report_samples.PIXEL_PNG).decode(),
        "name": "loss curve",
    }


@pytest.mark.parametrize("dialect", list(cucumber.Dialect))
def test_no_secret_survives_in_any_form(dialect: cucumber.Dialect) -> None:
    redactor = redaction.Redactor()
    redactor.register(report_samples.SECRET)
    text = cucumber.render(report_samples.run(), redactor=redactor, dialect=dialect)

    assert all(form not in text for form in {report_samples.SECRET} | redaction.base64_forms(report_samples.SECRET))
