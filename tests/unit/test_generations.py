"""Which kinds count `metadata.generation`: workloads and custom resources do, plain data does not."""

from __future__ import annotations

from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from tests.support.clock import FakeClock


def test_only_workload_and_custom_kinds_count_generations() -> None:
    store = Store(Catalog(), FakeClock())
    store.create(store.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "demo"}})
    lookup = store.catalog.lookup
    config = store.create(lookup("", "v1", "configmaps"), {"metadata": {"name": "c", "namespace": "demo"}})
    assert "generation" not in config["metadata"]
    config["data"] = {"a": "1"}
    assert "generation" not in store.replace(lookup("", "v1", "configmaps"), config)["metadata"]
    spec = {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}}}
    body = {"metadata": {"name": "d", "namespace": "demo"}, "spec": spec}
    assert store.create(lookup("apps", "v1", "deployments"), body)["metadata"]["generation"] == 1
