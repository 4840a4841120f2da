"""Evidence text helpers that need no cluster."""

from __future__ import annotations

from kfval.kube import evidence


def test_last_lines() -> None:
    assert evidence.last_lines("a\nb\nc\n", 2) == "b\nc"
    assert evidence.last_lines("a\nb", 5) == "a\nb"
    assert evidence.last_lines("a\nb", 0) == ""
