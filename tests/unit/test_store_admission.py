"""Every write the store takes passes admission the same way, whoever writes: a client or a controller."""

from __future__ import annotations

import copy

import pytest

from kfval.embedded.admission.chain import Admission
from kfval.embedded.clock import SystemClock
from kfval.embedded.errors import InvalidError
from kfval.embedded.store.catalog import Catalog
from kfval.embedded.store.objects import Store
from kfval.embedded.types import Body

DEPLOYMENT: Body = {
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        },
    },
}


@pytest.fixture
def store() -> Store:
    made = Store(Catalog(), SystemClock())
    made.create(made.catalog.lookup("", "v1", "namespaces"), {"metadata": {"name": "team"}})
    made.admission = Admission()
    return made


def test_a_controller_update_is_validated_as_a_client_update_is(store: Store) -> None:
    deployments = store.catalog.lookup("apps", "v1", "deployments")
    created = store.create(deployments, copy.deepcopy(DEPLOYMENT), namespace="team")
    changed = copy.deepcopy(created)
    changed["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    changed["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(InvalidError, match="field is immutable"):
        store.replace(deployments, changed, namespace="team")
    negative = copy.deepcopy(created)
    negative["spec"]["replicas"] = -1
    with pytest.raises(InvalidError, match=r"spec\.replicas"):
        store.replace(deployments, negative, namespace="team")


def test_a_controller_update_is_defaulted(store: Store) -> None:
    deployments = store.catalog.lookup("apps", "v1", "deployments")
    created = store.create(deployments, copy.deepcopy(DEPLOYMENT), namespace="team")
    stripped = copy.deepcopy(created)
    del stripped["spec"]["strategy"]
    stored = store.replace(deployments, stripped, namespace="team")
    assert stored["spec"]["strategy"]["type"] == "RollingUpdate"


def test_status_writes_are_not_spec_validated(store: Store) -> None:
    deployments = store.catalog.lookup("apps", "v1", "deployments")
    created = store.create(deployments, copy.deepcopy(DEPLOYMENT), namespace="team")
    created["status"] = {"replicas": 1, "observedGeneration": 1}
    stored = store.replace(deployments, created, namespace="team", subresource="status")
    assert stored["status"]["replicas"] == 1
