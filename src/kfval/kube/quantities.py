"""Resource quantities as the suite compares them: `0.5` and `500m` are one CPU request, `1Gi` and
`1024Mi` one memory request, so a check never fails on how a number is written.

The suite's own small reader (the embedded cluster has its own: the two halves share no code, so a
misreading cannot hide on both sides at once).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

_SUFFIXES: dict[str, Fraction | int] = {
    "": 1, "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e([+-]?[0-9]+))?([a-zA-Z]*)$")


def parse(text: object) -> Fraction:
    """The exact value of a quantity; ValueError naming it when it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if match is None or match.group(3) not in _SUFFIXES:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 1.5Gi)")
    number, exponent, suffix = match.groups()
    return Fraction(number) * Fraction(10) ** int(exponent or 0) * _SUFFIXES[suffix]


def shown(value: Fraction) -> str:
    """A value for a message: whole numbers as they are, the rest in milli-units (`1500m`)."""
    return str(value.numerator) if value.denominator == 1 else f"{round(value * 1000)}m"


def pod_requests(spec: Mapping[str, Any]) -> dict[str, Fraction]:
    """What the scheduler counts for a pod: its containers' requests summed, at least each init container's."""
    total: dict[str, Fraction] = {}
    for container in spec.get("containers") or []:
        for resource, text in ((container.get("resources") or {}).get("requests") or {}).items():
            total[resource] = total.get(resource, Fraction(0)) + parse(text)
    for container in spec.get("initContainers") or []:
        for resource, text in ((container.get("resources") or {}).get("requests") or {}).items():
            total[resource] = max(total.get(resource, Fraction(0)), parse(text))
    return total
