"""A create or delete whose answer was lost is read back, never sent twice blindly (kfval.kube.resending)."""

from __future__ import annotations

from typing import Any

import pytest

from kfval.kube import errors, resending

Body = dict[str, Any]
LABELS = {"kfval.dev/run-id": "r1", "kfval.dev/scenario": "s1"}


class FakeConnection:
    """The read verbs resending uses, over a dict of objects by name."""

    def __init__(self, objects: list[Body]) -> None:
        self.objects = {item["metadata"]["name"]: item for item in objects}
        self.listed: list[str | None] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Body:
        if name not in self.objects:
            raise errors.NotFoundError(f"{kind} {name} not found", status=404)
        return self.objects[name]

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str | None = None
    ) -> Body:
        self.listed.append(label_selector)
        return {"items": list(self.objects.values())}


def body(**metadata: Any) -> Body:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": dict(LABELS), **metadata}}


def test_the_first_try_sends_without_reading_back() -> None:
    sent: list[int] = []
    attempt = resending.at_most_once(lambda: sent.append(1) or "sent", lambda: pytest.fail("read back on try 1"))
    assert attempt() == "sent" and sent == [1]


def test_a_later_try_returns_what_the_lost_try_did_instead_of_sending_again() -> None:
    sent: list[int] = []
    attempt = resending.at_most_once(lambda: sent.append(1) or "sent", lambda: "found")
    attempt()
    assert attempt() == "found" and sent == [1]


def test_a_later_try_sends_when_the_lost_try_took_no_effect() -> None:
    sent: list[int] = []
    attempt = resending.at_most_once(lambda: sent.append(1) or "sent", lambda: None)
    attempt()
    assert attempt() == "sent" and sent == [1, 1]


def test_a_named_body_is_sent_as_it_is() -> None:
    named = body(name="settings")
    assert resending.marked(named) is named
    assert resending.REQUEST_ANNOTATION not in (named["metadata"].get("annotations") or {})


def test_a_named_create_is_found_by_name_when_it_carries_the_run_labels() -> None:
    named = body(name="settings")
    ours = FakeConnection([body(name="settings", annotations={"x": "y"})])
    assert resending.created(ours, named, "ns") is ours.objects["settings"]  # type: ignore[arg-type]
    assert resending.created(FakeConnection([]), named, "ns") is None  # type: ignore[arg-type]


def test_a_strangers_object_of_that_name_is_not_taken_as_ours() -> None:
    stranger = FakeConnection([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}])
    assert resending.created(stranger, body(name="settings"), "ns") is None  # type: ignore[arg-type]


def test_a_generated_name_create_is_found_by_its_own_mark_among_siblings() -> None:
    first, second = resending.marked(body(generateName="job-")), resending.marked(body(generateName="job-"))
    assert (
        first["metadata"]["annotations"][resending.REQUEST_ANNOTATION]
        != (second["metadata"]["annotations"][resending.REQUEST_ANNOTATION])
    )
    sibling = {**second, "metadata": {**second["metadata"], "name": "job-aaaaa"}}
    made = {**first, "metadata": {**first["metadata"], "name": "job-bbbbb"}}
    conn = FakeConnection([sibling, made])
    assert resending.created(conn, first, "ns") is made  # type: ignore[arg-type]
    assert conn.listed == ["kfval.dev/run-id=r1,kfval.dev/scenario=s1"]
    assert resending.created(FakeConnection([sibling]), first, "ns") is None  # type: ignore[arg-type]


def test_marking_leaves_the_callers_body_alone() -> None:
    original = body(generateName="job-")
    resending.marked(original)
    assert "annotations" not in original["metadata"]


def test_a_delete_reads_back_gone_being_deleted_or_untouched() -> None:
    gone = FakeConnection([])
    assert resending.deleted(gone, "v1", "Pod", "p", "ns") == {}  # type: ignore[arg-type]
    deleting = FakeConnection([{"metadata": {"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"}}])
    assert resending.deleted(deleting, "v1", "Pod", "p", "ns") == deleting.objects["p"]  # type: ignore[arg-type]
    untouched = FakeConnection([{"metadata": {"name": "p"}}])
    assert resending.deleted(untouched, "v1", "Pod", "p", "ns") is None  # type: ignore[arg-type]
