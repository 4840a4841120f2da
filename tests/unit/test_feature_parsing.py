"""Feature files and tag expressions are read as radish reads them, and every mistake is named by its file
and line, or by the word of the expression at fault, instead of radish's "No feature or no scenario
specified" or an IndexError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfval.bdd import parsing
from kfval.kube.errors import SetupError

GOOD = """@training
Feature: Good
  @smoke
  Scenario: Quick
    Given a fresh namespace for the scenario

  Scenario Outline: Many <n>
    Given a fresh namespace for the scenario

    Examples:
      | n |
      | 1 |
"""


def feature(tmp_path: Path, text: str, name: str = "x.feature") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Given a step before the feature\nFeature: x\n  Scenario: y\n    Given a\n",
            ":1: this line cannot stand here; a feature file starts with 'Feature:' (after tags and comments): "
            '"Given a',
        ),
        (
            "Feature: x\n  Scenaro: y\n    Given a\n",
            ":1: the feature has no scenario; each starts with 'Scenario:', and line 2 reads 'Scenaro: y': "
            "did you mean 'Scenario:'?",
        ),
        ("Feature: x\n  Just words\n", ":1: the feature has no scenario; each starts with 'Scenario:'"),
        (
            "Feature: x\n  Scenario: y\n    Given a\n  Scenario: y\n    Given b\n",
            ":4: Scenario with name 'y' defined twice",
        ),
        (
            "Feature: x\nFeature: z\n  Scenario: y\n    Given a\n",
            ':2: radish supports only one Feature per feature file: "Feature: z"',
        ),
        (
            "Feature: x\n  Scenario: y\n  @tag\n    Given a\n",
            ":4: The parser expected a scenario or a tag on this line.",
        ),
        (
            "Feature: x\n  Scenario Outline: y <a>\n    Given a <a>\n",
            ':2: Scenario Outline "y <a>" has no Examples rows',
        ),
        ('Feature: x\n  Scenario: y\n    Given a\n    """\n    text\n', ':4: this doc string (""") is never closed'),
        ("", ": No Feature found in file"),
    ],
)
def test_a_gherkin_mistake_is_named_with_its_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = feature(tmp_path, text)
    with pytest.raises(SetupError) as refused:
        parsing.features([path])
    assert str(refused.value).startswith(f"{path}{message}"), str(refused.value)


def test_good_features_parse_and_a_tag_expression_selects_as_radish_does(tmp_path: Path) -> None:
    path = feature(tmp_path, GOOD)
    [every] = parsing.features([path])
    assert [scenario.sentence for scenario in every.scenarios] == ["Quick", "Many <n>"]
    [selected] = parsing.features([path], parsing.tag_expression("smoke"))
    assert [scenario.sentence for scenario in selected.scenarios] == ["Quick"]
    assert parsing.features([path], parsing.tag_expression("not training")) == []


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("smoke and and", "word 3 ('and') needs a tag before it, not 'and'"),
        ("and smoke", "word 1 ('and') needs a tag before it"),
        ("smoke and", "it ends with 'and', where a tag is expected"),
        ("not", "it ends with 'not', where a tag is expected"),
        ("smoke slow", "word 2 ('slow') follows 'smoke' with no and/or between them"),
        ("smoke not slow", "word 2 ('not') follows 'smoke' with no and/or between them"),
        ("(smoke or slow", "a '(' is never closed"),
        ("smoke)", "word 2 (')') closes no '('"),
        ("()", "word 2 (')') needs a tag before it, not '('"),
        ("@smoke", "word 1 ('@smoke'): tags are written without @ in a tag expression; write 'smoke'"),
    ],
)
def test_a_malformed_tag_expression_names_the_word_at_fault(expression: str, problem: str) -> None:
    expected = f"the tag expression {expression!r} is not valid: {problem}; join tags with and, or, not"
    with pytest.raises(SetupError, match=re.escape(expected)):
        parsing.tag_expression(expression)


@pytest.mark.parametrize("expression", ["smoke", "smoke and not slow", "(a or b) and not (c or d)", "x(1,2) or y"])
def test_well_formed_tag_expressions_parse(expression: str) -> None:
    assert parsing.tag_expression(expression) is not None


def test_an_empty_tag_expression_is_refused() -> None:
    with pytest.raises(SetupError, match=re.escape("the tag expression ' ' is empty")):
        parsing.tag_expression(" ")


def check(tmp_path: Path, expression: str) -> None:
    path = feature(tmp_path, GOOD)
    every = parsing.features([path])
    selected = parsing.features([path], parsing.tag_expression(expression))
    parsing.check_tags(expression, [path], every=every, selected=selected)


def test_a_tag_no_scenario_carries_is_named_with_the_closest_one(tmp_path: Path) -> None:
    with pytest.raises(SetupError) as refused:
        check(tmp_path, "smoek or training")
    assert str(refused.value) == (
        f"the tag expression 'smoek or training' names the tag 'smoek', which no scenario of {tmp_path / 'x.feature'} "
        "carries; did you mean 'smoke'? the tags there: smoke, training"
    )


def test_an_expression_that_selects_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=re.escape("the tag expression 'smoke and not training' selects no scenario")):
        check(tmp_path, "smoke and not training")
    check(tmp_path, "smoke and training")


def test_missing_feature_files_and_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=re.escape(f"{tmp_path / 'nope.feature'} does not exist")):
        parsing.feature_files([tmp_path / "nope.feature"])
    with pytest.raises(SetupError, match=re.escape(f"{tmp_path} holds no .feature file")):
        parsing.feature_files([tmp_path])
