"""Every sentence of features/ resolves to exactly one step, and tests/step-matches.yml lists it.

`radish-test matches` (run by `make test`) checks the listed sentences against the expected step
functions and arguments; this test makes sure no sentence of the features is missing from that list
and that none is matched in full by two steps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from parse_type.cfparse import Parser
from radish.customtyperegistry import CustomTypeRegistry
from radish.loader import load_modules
from radish.stepregistry import StepRegistry

STEP_LINE = re.compile(r"^\s*(Given|When|Then|And|But)\s+(.*\S)\s*$")
OUTLINE_PLACEHOLDER = re.compile(r"<([^>]+)>")


def feature_sentences() -> list[str]:
    sentences = []
    for path in sorted(Path("features").glob("*.feature")):
        lines = path.read_text().splitlines()
        examples = _example_values(lines)
        keyword = "Given"
        for line in lines:
            match = STEP_LINE.match(line)
            if match:
                if match.group(1) not in ("And", "But"):
                    keyword = match.group(1)  # radish reads And/But as the keyword before them
                sentence = f"{keyword} {match.group(2)}"
                for name, value in examples.items():
                    sentence = sentence.replace(f"<{name}>", value)
                sentences.append(sentence)
    return sorted(set(sentences))


def _example_values(lines: list[str]) -> dict[str, str]:
    """The first row of each Examples table, enough to turn an outline's sentences into real ones."""
    values: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line.strip().startswith("Examples:") and i + 2 < len(lines):
            header = [c.strip() for c in lines[i + 1].strip().strip("|").split("|")]
            row = [c.strip() for c in lines[i + 2].strip().strip("|").split("|")]
            values.update(zip(header, row, strict=True))
    return values


@pytest.fixture(scope="module")
def steps() -> dict[object, object]:
    StepRegistry().clear()
    load_modules("steps")
    return dict(StepRegistry().steps)


def full_matches(sentence: str, steps: dict[object, object]) -> list[str]:
    found = []
    for pattern, func in steps.items():
        parser = Parser(pattern, CustomTypeRegistry().custom_types)
        match = parser.parse(sentence, evaluate_result=False)
        if match is not None:
            found.append(func.__name__)  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("sentence", feature_sentences())
def test_each_sentence_matches_exactly_one_step(sentence: str, steps: dict[object, object]) -> None:
    assert len(full_matches(sentence, steps)) == 1, f"{sentence!r} matches {full_matches(sentence, steps)}"


def test_every_step_function_of_the_features_is_covered_by_the_match_config(steps: dict[object, object]) -> None:
    config = yaml.safe_load(Path("tests/step-matches.yml").read_text())
    listed = {item["should_match"] for item in config}
    used = {name for sentence in feature_sentences() for name in full_matches(sentence, steps)}
    assert used <= listed, f"add these steps to tests/step-matches.yml: {sorted(used - listed)}"
