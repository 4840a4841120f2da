"""Query parameters read as kube-apiserver's conversion reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kfval.embedded.apiserver import parameters
from kfval.embedded.errors import BadRequestError


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, False),
        ({"follow": "true"}, True),
        ({"follow": "True"}, True),
        ({"follow": "1"}, True),
        ({"follow": ""}, True),
        ({"follow": "yes"}, True),
        ({"follow": "false"}, False),
        ({"follow": "FALSE"}, False),
        ({"follow": "0"}, False),
    ],
)
def test_a_flag_is_true_for_anything_but_0_and_false(query: dict[str, str], expected: bool) -> None:
    assert parameters.flag(query, "follow") is expected


def test_numbers_and_times_are_read_or_refused_with_a_400() -> None:
    assert parameters.integer({"tailLines": "5"}, "tailLines") == 5
    assert parameters.integer({"tailLines": ""}, "tailLines") is None
    with pytest.raises(BadRequestError, match='parsing "five"'):
        parameters.integer({"tailLines": "five"}, "tailLines")
    assert parameters.timestamp({"sinceTime": "2026-01-02T03:04:05Z"}, "sinceTime") == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    with pytest.raises(BadRequestError, match="parsing time"):
        parameters.timestamp({"sinceTime": "yesterday"}, "sinceTime")


@pytest.mark.parametrize(
    ("query", "agent", "expected"),
    [
        ({"pretty": "true"}, "kubectl/v1.32", True),
        ({"pretty": "1"}, "kubectl/v1.32", True),
        ({"pretty": "yes"}, "curl/8", False),
        ({"pretty": "false"}, "curl/8", False),
        ({}, "curl/8.5.0", True),
        ({}, "Wget/1.21", True),
        ({}, "Mozilla/5.0 (X11)", True),
        ({}, "OpenAPI-Generator/37.0.2/python", False),
    ],
)
def test_pretty_follows_the_parameter_then_the_user_agent(query: dict[str, str], agent: str, expected: bool) -> None:
    assert parameters.pretty(query, agent) is expected
