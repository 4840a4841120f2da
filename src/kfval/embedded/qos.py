"""A pod's quality-of-service class, as the API server writes it into `status.qosClass` at creation
and the kubelet reports it: one rule, below both admission and the kubelet, so they cannot disagree.

The rule is upstream's `GetPodQOS` on the defaulted pod: per compute resource (cpu, memory), the
requests and limits of every container and init container that are above zero are summed; no
request and no limit is BestEffort; limits for both resources in every container, and equal sums of
requests and limits for each resource, is Guaranteed; anything else is Burstable. Quantities are
compared as values (`1` equals `1000m`, `1Gi` equals `1024Mi`), never as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from kfval.embedded import quantities

COMPUTE_RESOURCES = ("cpu", "memory")


def qos_class(spec: Mapping[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort for a pod spec whose requests were defaulted from its limits."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = container.get("resources") or {}
        _add_positive(requests, resources.get("requests") or {})
        found = _add_positive(limits, resources.get("limits") or {})
        if not set(COMPUTE_RESOURCES) <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests.keys() == limits.keys() and all(limits[k] == v for k, v in requests.items()):
        return "Guaranteed"
    return "Burstable"


def _add_positive(totals: dict[str, Fraction], resources: Mapping[str, Any]) -> set[str]:
    """Add each compute quantity above zero to `totals`; return the names that were added."""
    added = set()
    for name, text in resources.items():
        value = quantities.parse_or_none(text)
        if name in COMPUTE_RESOURCES and value is not None and value > 0:
            totals[name] = totals.get(name, Fraction(0)) + value
            added.add(name)
    return added
