"""The Cucumber JSON schemas the reports must validate against, as one check the tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from kfval.report import cucumber

SCHEMAS = Path(__file__).parents[1] / "fixtures" / "cucumber-json-schema"


def schema_errors(document: Any, dialect: cucumber.Dialect) -> list[str]:
    """Every place `document` breaks the dialect's schema, as `[path]: message`."""
    validator = jsonschema.Draft7Validator(json.loads((SCHEMAS / f"cucumber-{dialect}.json").read_text()))
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]
