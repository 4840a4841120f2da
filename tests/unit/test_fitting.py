"""NodeResourcesFit on the embedded node: requests summed against the node's allocatable."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kfval.embedded.kubelet import fitting


def spec(*cpus: str, init: str | None = None, memory: str | None = None) -> dict[str, Any]:
    containers = [{"name": f"c{i}", "resources": {"requests": {"cpu": cpu}}} for i, cpu in enumerate(cpus)]
    if memory:
        containers[0]["resources"]["requests"]["memory"] = memory
    body: dict[str, Any] = {"containers": containers}
    if init:
        body["initContainers"] = [{"name": "init", "resources": {"requests": {"cpu": init}}}]
    return body


def test_a_pod_requests_its_containers_sum_or_its_largest_init_container() -> None:
    assert fitting.pod_requests(spec("500m", "250m")) == {"cpu": Fraction(3, 4), "memory": Fraction(0)}
    assert fitting.pod_requests(spec("500m", init="2"))["cpu"] == 2


def test_what_the_node_lacks_counting_the_pods_already_bound() -> None:
    allocatable = {"cpu": "2", "memory": "4Gi"}
    assert fitting.insufficient(spec("2"), allocatable, []) == []
    assert fitting.insufficient(spec("2"), allocatable, [spec("100m")]) == ["cpu"]
    assert fitting.insufficient(spec("1", memory="5Gi"), allocatable, []) == ["memory"]
    assert fitting.insufficient(spec("3", memory="5Gi"), allocatable, []) == ["cpu", "memory"]
    assert fitting.insufficient({"containers": [{"name": "c"}]}, allocatable, [spec("2")]) == [], "no request fits"
