"""Resource quantities (`500m`, `1.5Gi`, `1e3`) read exactly and printed back the way the real server prints them.

Requests are compared with limits, QoS classes computed and messages worded from these values, so
they are parsed as exact fractions, never floats.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")


def _ten(power: int) -> Fraction:
    return Fraction(10**power) if power >= 0 else Fraction(1, 10**-power)


def parse_quantity(text: Any) -> Fraction | None:
    """The exact value of a quantity (`500m`, `1.5Gi`, `1e3`, 2), or None when it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if match is None:
        return None
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * (1 << _BINARY[suffix])
    if suffix in _DECIMAL:
        return number * _ten(_DECIMAL[suffix])
    exponent = re.fullmatch(r"[eE]([+-]?[0-9]+)", suffix)
    if exponent is None:
        return None
    return number * _ten(int(exponent.group(1)))


def canonical_quantity(text: Any) -> str:
    """The quantity as the server prints it back (`0.5` -> `500m`, `1024Mi` -> `1Gi`)."""
    value = parse_quantity(text)
    if value is None:
        return str(text)
    binary = any(str(text).strip().endswith(s) for s in _BINARY)
    if binary and value.denominator == 1 and abs(value) >= 1024:
        for suffix, power in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
            if value.numerator % 2**power == 0:
                return f"{value.numerator // 2**power}{suffix}"
    for suffix, power in sorted(_DECIMAL.items(), key=lambda kv: -kv[1]):
        scaled = value / _ten(power)
        if scaled.denominator == 1 and (power <= 0 or scaled != 0):
            return f"{scaled.numerator}{suffix}"
    return f"{-((-value * 10**9).numerator // (-value * 10**9).denominator)}n"
