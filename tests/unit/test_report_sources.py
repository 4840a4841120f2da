"""Feature-file lookups: tag lines, doc string lines, Examples names, and keyword splitting."""

from __future__ import annotations

import pytest

from kfval.bdd import gherkin
from kfval.report import model, sources

FEATURE = """\
# comment
@kubeflow @training
@slow
Feature: Sample

  @smoke @gpu(large)

  # between tags and scenario
  Scenario: Tagged
    Given a table
      | a |
    And a doc string
      \"\"\"
      text
      \"\"\"

  Scenario Outline: Rows
    Given <n>

    Examples: small counts
      | n |
      | 1 |
      | 2 |
"""


@pytest.fixture
def source() -> sources.FeatureSource:
    return sources.FeatureSource(FEATURE.splitlines())


def test_tags_sharing_a_line_keep_that_line_and_their_columns(source: sources.FeatureSource) -> None:
    assert source.tags_above(4) == (
        model.Tag("@kubeflow", 2, 1),
        model.Tag("@training", 2, 11),
        model.Tag("@slow", 3, 1),
    )


def test_tags_above_skip_blank_and_comment_lines(source: sources.FeatureSource) -> None:
    assert source.tags_above(9) == (model.Tag("@smoke", 6, 3), model.Tag("@gpu(large)", 6, 10))


def test_an_untagged_item_has_no_tags(source: sources.FeatureSource) -> None:
    assert source.tags_above(17) == ()


def test_the_doc_string_line_is_its_opening_delimiter(source: sources.FeatureSource) -> None:
    assert source.doc_string_line(12) == 13
    assert source.doc_string_line(10) is None


def test_an_examples_row_finds_its_block(source: sources.FeatureSource) -> None:
    assert source.examples_above(23) == sources.ExamplesBlock("Examples", "small counts", 20)


def test_an_unreadable_file_answers_nothing() -> None:
    missing = sources.FeatureSource.read("/nonexistent/x.feature")

    assert missing.tags_above(3) == ()
    assert missing.doc_string_line(1) is None
    assert missing.examples_above(5) is None


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Given a fresh namespace", ("Given ", "a fresh namespace")),
        ("And the job succeeds", ("And ", "the job succeeds")),
        ("Gegeben sei ein Namespace", ("Gegeben sei ", "ein Namespace")),
        ("Étant donné que le job tourne", ("Étant donné que ", "le job tourne")),
        ("* a bullet step", ("* ", "a bullet step")),
        ("Givenness is not a keyword", ("Givenness ", "is not a keyword")),
    ],
)
def test_step_keywords_keep_one_trailing_space(sentence: str, expected: tuple[str, str]) -> None:
    assert gherkin.split_keyword(sentence) == expected
