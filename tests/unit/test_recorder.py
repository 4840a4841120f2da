"""Events as client-go's recorder writes them: named after the object and the time, repeats folded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kfval.embedded.clock import unix_nanos
from kfval.embedded.controllers.recorder import Recorder
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from tests.support.clock import FakeClock


def test_events_are_named_after_the_object_and_the_time_and_fold_repeats() -> None:
    clock = FakeClock(datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), step=timedelta(microseconds=1))
    store = Store(Catalog(), clock)
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "demo"}})
    events = store.catalog.lookup("", "v1", "events")
    recorder = Recorder(store, store.clock, "deployment-controller")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "demo", "uid": "u1"}}
    recorder.event(pod, "Normal", "Started", "one")
    recorder.event(pod, "Normal", "Started", "two")
    recorder.event(pod, "Normal", "Started", "one")
    listed, _ = store.list(events, "demo")
    assert [e["message"] for e in listed] == ["one", "two"]
    assert [e["count"] for e in listed] == [2, 1]
    prefix, stamp = listed[0]["metadata"]["name"].split(".")
    assert prefix == "web"
    assert int(stamp, 16) > unix_nanos(datetime(2026, 1, 1, tzinfo=UTC))
