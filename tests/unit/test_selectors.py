"""Label selectors printed as kubectl prints them (Table columns, describe)."""

from __future__ import annotations

from kfval.embedded.apiserver import columns
from kfval.embedded.store.selectors import parse_label_selector, selector_from_match


def test_label_selector_strings_are_the_ones_kubectl_prints() -> None:
    selector = {
        "matchLabels": {"tier": "web", "app": "x"},
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b", "a"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert str(selector_from_match(selector)) == "app=x,!legacy,tier=web,zone in (a,b)"
    assert columns.format_selector(None) == "<none>"
    assert str(parse_label_selector("a!=b,c notin (d)")) == "a!=b,c notin (d)"
