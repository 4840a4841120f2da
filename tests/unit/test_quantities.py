"""Quantities parse exactly as Kubernetes reads them and print back as the server prints them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kfval.embedded import quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", Fraction(2)),
        ("0.1", Fraction(1, 10)),
        ("1Gi", Fraction(2**30)),
        ("123Mi", Fraction(123 * 2**20)),
        ("128974848", Fraction(128974848)),
        ("129e6", Fraction(129000000)),
        ("129M", Fraction(129000000)),
        ("1.5Ki", Fraction(1536)),
        ("100n", Fraction(1, 10**7)),
        (".5", Fraction(1, 2)),
        ("-1", Fraction(-1)),
        (3, Fraction(3)),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parse(text: str | int | float, value: Fraction) -> None:
    assert quantities.parse(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Gb", "1 Gi", "--1", "1.2.3", "1e", "1Kii", True, None])
def test_rejects_malformed(text: object) -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.parse(text)
    assert quantities.parse_or_none(text) is None


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("0.5", "500m"),
        ("1000", "1k"),
        ("1500", "1500"),
        ("1024Mi", "1Gi"),
        ("1.2Gi", "1288490188800m"),
        ("2", "2"),
        ("0.1n", "1n"),
        ("nonsense", "nonsense"),
    ],
)
def test_canonical(text: str, canonical: str) -> None:
    assert quantities.canonical(text) == canonical


def test_to_bytes_rounds_up() -> None:
    assert quantities.to_bytes("1500m") == 2
    assert quantities.to_bytes("1Mi") == 1048576
    assert quantities.to_bytes(64) == 64
