"""Whether a pod fits on the node, as kube-scheduler's NodeResourcesFit decides it.

A notebook that asks for more CPU than the machine has must stay Pending as `Unschedulable`, with
the scheduler's own words, on the embedded node as on a real one: the requests of every pod bound
to the node and not finished, plus the new pod's, may not exceed the node's allocatable CPU and
memory (the machine's, as the kubelet reports them). A pod's request is the larger of its
containers' sum and its largest init container, as upstream's PodRequests computes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from kfval.embedded import quantities

FITTED_RESOURCES = ("cpu", "memory")


def _requests(container: Mapping[str, Any]) -> dict[str, Fraction]:
    wanted = (container.get("resources") or {}).get("requests") or {}
    return {name: quantities.parse(wanted[name]) for name in FITTED_RESOURCES if name in wanted}


def pod_requests(spec: Mapping[str, Any]) -> dict[str, Fraction]:
    """The pod's effective request per resource: containers summed, then at least each init container's."""
    total = dict.fromkeys(FITTED_RESOURCES, Fraction(0))
    for container in spec.get("containers") or []:
        for name, value in _requests(container).items():
            total[name] += value
    for container in spec.get("initContainers") or []:
        for name, value in _requests(container).items():
            total[name] = max(total[name], value)
    return total


def insufficient(
    spec: Mapping[str, Any], allocatable: Mapping[str, str], bound: Iterable[Mapping[str, Any]]
) -> list[str]:
    """The resources the node lacks for the pod (`cpu`, `memory`), empty when it fits."""
    used = dict.fromkeys(FITTED_RESOURCES, Fraction(0))
    for other in bound:
        for name, value in pod_requests(other).items():
            used[name] += value
    wanted = pod_requests(spec)
    return [
        name
        for name in FITTED_RESOURCES
        if wanted[name] > 0 and name in allocatable and used[name] + wanted[name] > quantities.parse(allocatable[name])
    ]
