"""Quantities parse exactly as Kubernetes reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kfval.embedded.kubelet import quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("0.1", Decimal("0.1")),
        ("1Gi", Decimal(2**30)),
        ("123Mi", Decimal(123 * 2**20)),
        ("128974848", Decimal(128974848)),
        ("129e6", Decimal(129000000)),
        ("129M", Decimal(129000000)),
        ("1.5Ki", Decimal(1536)),
        ("100n", Decimal("1e-7")),
        (".5", Decimal("0.5")),
        (3, Decimal(3)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert quantities.parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Gb", "1 Gi", "--1", "1.2.3"])
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.parse_quantity(text)


def test_to_bytes_rounds_up() -> None:
    assert quantities.to_bytes("1500m") == 2
    assert quantities.to_bytes("1Mi") == 1048576
