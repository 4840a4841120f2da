"""Kubernetes resource quantities (`500m`, `1.5Gi`, `129e6`) read exactly, printed as the server prints them.

Admission compares requests with limits and words its refusals with these values; the kubelet
divides them for the downward API and turns memory limits into bytes. Both must read a quantity
the same way, so the grammar lives once, below both layers. Values are exact fractions (as
`resource.Quantity` is exact), so rounding happens only where Kubernetes rounds: always up, to
whole units.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY_POWERS = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_POWERS = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
_SERVER_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def _ten(power: int) -> Fraction:
    return Fraction(10**power) if power >= 0 else Fraction(1, 10**-power)


def parse(text: object) -> Fraction:
    """The exact value of a quantity: `parse("500m") == Fraction(1, 2)`; numbers are read as written."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise QuantityError(f"quantities must match the regular expression '{_SERVER_PATTERN}': {text!r}")
    match = _QUANTITY.fullmatch(str(text).strip())
    if match is None:
        raise QuantityError(f"quantities must match the regular expression '{_SERVER_PATTERN}': {text!r}")
    number, suffix = Fraction(match.group(1)), match.group(2) or ""
    if suffix in _BINARY_POWERS:
        return number * (1 << _BINARY_POWERS[suffix])
    if suffix in _DECIMAL_POWERS:
        return number * _ten(_DECIMAL_POWERS[suffix])
    return number * _ten(int(suffix[1:]))


def parse_or_none(text: object) -> Fraction | None:
    """`parse`, or None for anything that is not a quantity (admission reports those elsewhere)."""
    try:
        return parse(text)
    except QuantityError:
        return None


def canonical(text: object) -> str:
    """The quantity as the server prints it back (`0.5` -> `500m`, `1024Mi` -> `1Gi`); non-quantities as given."""
    value = parse_or_none(text)
    if value is None:
        return str(text)
    binary = any(str(text).strip().endswith(suffix) for suffix in _BINARY_POWERS)
    if binary and value.denominator == 1 and abs(value) >= 1024:
        for suffix, power in sorted(_BINARY_POWERS.items(), key=lambda item: -item[1]):
            if value.numerator % 2**power == 0:
                return f"{value.numerator // 2**power}{suffix}"
    for suffix, power in sorted(_DECIMAL_POWERS.items(), key=lambda item: -item[1]):
        scaled = value / _ten(power)
        if scaled.denominator == 1 and (power <= 0 or scaled != 0):
            return f"{scaled.numerator}{suffix}"
    return f"{math.ceil(value * 10**9)}n"


def to_bytes(text: object) -> int:
    """A memory or storage quantity in whole bytes, rounded up as `Quantity.Value()` rounds."""
    return math.ceil(parse(text))
