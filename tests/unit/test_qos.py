"""The one qosClass rule admission writes at creation and the kubelet reports: upstream's GetPodQOS."""

from __future__ import annotations

from typing import Any

import pytest

from kfval.embedded.qos import qos_class


def spec(*resources: dict[str, Any], init: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}
    if init is not None:
        body["initContainers"] = [{"name": "init", "resources": init}]
    return body


GUARANTEED = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}}


@pytest.mark.parametrize(
    ("pod_spec", "expected"),
    [
        (spec({}), "BestEffort"),
        (spec({"requests": {"cpu": "0", "memory": "0"}}), "BestEffort"),
        (spec({"requests": {"ephemeral-storage": "1Gi"}, "limits": {"ephemeral-storage": "1Gi"}}), "BestEffort"),
        (spec({"requests": {"cpu": "100m"}}), "Burstable"),
        (spec(GUARANTEED), "Guaranteed"),
        (spec(GUARANTEED, GUARANTEED), "Guaranteed"),
        (spec(GUARANTEED, {}), "Burstable"),
        (spec(GUARANTEED, init={"requests": {"cpu": "1"}}), "Burstable"),
        (spec(GUARANTEED, init=GUARANTEED), "Guaranteed"),
        (spec({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}), "Burstable"),
        (
            spec({"requests": {"cpu": "0.5", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "134217728"}}),
            "Guaranteed",
        ),
    ],
)
def test_qos_class_follows_upstream_on_defaulted_specs(pod_spec: dict[str, Any], expected: str) -> None:
    assert qos_class(pod_spec) == expected


def test_limits_without_requests_are_not_guaranteed_until_defaulted() -> None:
    """The API server copies limits into requests before computing the class; the raw spec is Burstable."""
    limits_only = spec({"limits": {"cpu": "1", "memory": "1Gi"}})
    assert qos_class(limits_only) == "Burstable"
    limits_only["containers"][0]["resources"]["requests"] = {"cpu": "1", "memory": "1Gi"}
    assert qos_class(limits_only) == "Guaranteed"
