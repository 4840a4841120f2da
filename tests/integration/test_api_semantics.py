"""List chunking, DELETE answers and dry runs, seen through the official Python client as on a real server."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.integration


def _configmaps(core: client.CoreV1Api, ns: str, *names: str) -> None:
    for name in names:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"set": "paged"}}})


def test_limit_one_pages_through_every_configmap(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    _configmaps(core, ns, "a", "b", "c")
    seen: list[str] = []
    remaining: list[int | None] = []
    token = None
    for _ in range(10):
        page = core.list_namespaced_config_map(ns, label_selector="set=paged", limit=1, _continue=token)
        seen += [item.metadata.name for item in page.items]
        remaining.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break
    assert seen == ["a", "b", "c"]
    assert remaining == [2, 1, None]


def test_a_continue_token_that_is_not_one_is_a_bad_request(api: client.ApiClient, ns: str) -> None:
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(api).list_namespaced_config_map(ns, limit=1, _continue="not-a-token")
    assert refused.value.status == 400
    assert "continue key is not valid" in (refused.value.body or "")


def test_deleting_a_configmap_answers_a_success_status_naming_it(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}})
    answer = core.delete_namespaced_config_map("cfg", ns)  # the client hands back the raw body ("object")
    assert answer["kind"] == "Status"
    assert answer["status"] == "Success"
    assert answer["details"] == {"name": "cfg", "kind": "configmaps", "uid": created.metadata.uid}


def test_deleting_a_pod_answers_the_pod(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "30"]}]},
    }
    core.create_namespaced_pod(ns, pod)
    answer = core.delete_namespaced_pod("p", ns, grace_period_seconds=0)
    assert answer.kind == "Pod"
    assert answer.metadata.name == "p"


def test_a_dry_run_delete_collection_deletes_nothing(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    _configmaps(core, ns, "x", "y")
    core.delete_collection_namespaced_config_map(ns, label_selector="set=paged", dry_run="All")
    left = core.list_namespaced_config_map(ns, label_selector="set=paged").items
    assert sorted(item.metadata.name for item in left) == ["x", "y"]
    core.delete_collection_namespaced_config_map(ns, label_selector="set=paged")
    assert core.list_namespaced_config_map(ns, label_selector="set=paged").items == []


def test_a_patch_may_not_rename_the_object(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    _configmaps(core, ns, "old")
    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_config_map("old", ns, {"metadata": {"name": "new"}})
    assert refused.value.status == 400
    assert "does not match the name on the URL" in (refused.value.body or "")
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns, label_selector="set=paged").items] == ["old"]
