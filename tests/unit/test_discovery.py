"""Discovery documents, checked against payloads recorded from real clients' expectations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kfval.embedded.apiserver import discovery
from kfval.embedded.errors import NotFoundError
from kfval.embedded.store.catalog import Catalog

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "api-examples"
KUBECTL_AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def pytorchjob_crd(versions: tuple[str, ...] = ("v1",)) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pytorchjobs.kubeflow.org"},
        "spec": {
            "group": "kubeflow.org",
            "scope": "Namespaced",
            "names": {"plural": "pytorchjobs", "singular": "pytorchjob", "kind": "PyTorchJob"},
            "versions": [
                {"name": v, "served": True, "storage": v == versions[0], "subresources": {"status": {}}}
                for v in versions
            ],
        },
    }


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


@pytest.fixture
def catalog() -> Catalog:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd())
    return catalog


def by_name(resource_list: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in resource_list["resources"]}


def test_version_reports_minor_32_with_a_semver_git_version() -> None:
    info = discovery.version_info()
    assert (info["major"], info["minor"]) == ("1", "32")
    assert re.fullmatch(r"v1\.32\.\d+([-+][0-9A-Za-z.-]+)?", info["gitVersion"])
    expected = {"gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"}
    assert expected <= info.keys()
    assert info["platform"].startswith("linux/")


def test_api_versions_lists_only_v1() -> None:
    body = discovery.api_versions(server_address="127.0.0.1:6443")
    assert body["kind"] == "APIVersions"
    assert body["versions"] == ["v1"]
    assert body["serverAddressByClientCIDRs"][0]["serverAddress"] == "127.0.0.1:6443"


def test_core_resources_use_group_version_v1_and_announce_subresources(catalog: Catalog) -> None:
    body = discovery.core_resources(catalog)
    assert (body["kind"], body["groupVersion"]) == ("APIResourceList", "v1")
    entries = by_name(body)
    pods = entries["pods"]
    assert (pods["kind"], pods["namespaced"], pods["singularName"]) == ("Pod", True, "pod")
    assert pods["shortNames"] == ["po"]
    assert pods["categories"] == ["all"]
    assert entries["pods/log"] == {
        "name": "pods/log",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get"],
    }
    assert entries["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert entries["pods/eviction"]["group"] == "policy"
    assert entries["pods/binding"]["verbs"] == ["create"]
    assert entries["namespaces/finalize"]["verbs"] == ["update"]
    assert entries["namespaces"]["namespaced"] is False
    token = entries["serviceaccounts/token"]
    assert (token["group"], token["kind"], token["verbs"]) == ("authentication.k8s.io", "TokenRequest", ["create"])
    assert [e["name"] for e in body["resources"]] == sorted(entries)


def test_storage_version_hash_matches_the_real_servers_digest(catalog: Catalog) -> None:
    assert by_name(discovery.core_resources(catalog))["configmaps"]["storageVersionHash"] == "qFsyl6wFWjQ="


def test_scale_subresource_is_an_autoscaling_scale(catalog: Catalog) -> None:
    scale = by_name(discovery.group_resources(catalog, "apps", "v1"))["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert scale["verbs"] == ["get", "patch", "update"]


def test_crd_resources_match_the_recorded_resource_list(catalog: Catalog) -> None:
    body = discovery.group_resources(catalog, "kubeflow.org", "v1")
    recorded = example("legacy_apiresourcelist_kubeflow.json")
    for entry in [*body["resources"], *recorded["resources"]]:
        entry.pop("storageVersionHash", None)
    assert body == recorded


def test_unknown_group_or_version_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError):
        discovery.api_group(catalog, "nope.example.com")
    with pytest.raises(NotFoundError):
        discovery.group_resources(catalog, "apps", "v1beta1")


def test_api_groups_exclude_core_and_prefer_the_most_stable_version() -> None:
    catalog = Catalog()
    catalog.register_crd(pytorchjob_crd(("v1alpha1", "v1beta1", "v1")))
    groups = {g["name"]: g for g in discovery.api_groups(catalog)["groups"]}
    assert "" not in groups
    kubeflow = groups["kubeflow.org"]
    assert [v["version"] for v in kubeflow["versions"]] == ["v1", "v1beta1", "v1alpha1"]
    assert kubeflow["preferredVersion"] == {"groupVersion": "kubeflow.org/v1", "version": "v1"}
    assert discovery.api_group(catalog, "kubeflow.org")["kind"] == "APIGroup"


def test_version_priority_follows_kubernetes_ordering() -> None:
    versions = ["v1alpha1", "foo", "v2", "v1beta2", "v1", "v1beta1", "v10"]
    assert sorted(versions, key=discovery.version_priority) == [
        "v10",
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v1alpha1",
        "foo",
    ]


def test_aggregated_entries_match_the_recorded_list(catalog: Catalog) -> None:
    body = discovery.aggregated(catalog, core=False)
    recorded = example("aggregated_discovery_apis.json")
    assert {k: body[k] for k in ("kind", "apiVersion", "metadata")} == {
        k: recorded[k] for k in ("kind", "apiVersion", "metadata")
    }
    ours = {item["metadata"]["name"]: item for item in body["items"]}
    assert "" not in ours
    for item in recorded["items"]:
        mine = ours[item["metadata"]["name"]]
        assert mine["metadata"] == item["metadata"]
        recorded_version = item["versions"][0]
        my_version = mine["versions"][0]
        assert (my_version["version"], my_version["freshness"]) == ("v1", "Current")
        mine_by_resource = {r["resource"]: r for r in my_version["resources"]}
        for resource in recorded_version["resources"]:
            mine_resource = mine_by_resource[resource["resource"]]
            for entry in (mine_resource, resource):
                entry.get("subresources", []).sort(key=lambda s: s["subresource"])
            assert mine_resource == resource


def test_aggregated_core_holds_only_the_core_group(catalog: Catalog) -> None:
    body = discovery.aggregated(catalog, core=True)
    assert [item["metadata"]["name"] for item in body["items"]] == [""]
    resources = {r["resource"]: r for r in body["items"][0]["versions"][0]["resources"]}
    assert resources["namespaces"]["scope"] == "Cluster"
    log = next(s for s in resources["pods"]["subresources"] if s["subresource"] == "log")
    assert log == {
        "subresource": "log",
        "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
        "verbs": ["get"],
    }


def test_aggregated_content_type_is_exact() -> None:
    assert discovery.AGGREGATED_CONTENT_TYPE == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (KUBECTL_AGGREGATED_ACCEPT, True),
        ("application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList", True),
        ("application/json", False),
        ("", False),
        ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", False),
        ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0,application/json", False),
        ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", False),
    ],
)
def test_wants_aggregated_only_when_the_client_offers_v2(accept: str, wanted: bool) -> None:
    assert discovery.wants_aggregated(accept) is wanted
