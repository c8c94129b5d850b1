"""The pricing kernel's building blocks against independent references.

``price_row`` (every price model over a row of quantities) must agree with the exact Decimal
price models within 1e-12 relative, on tier bounds and package boundaries too; ``excess_share``
(the share of usage above a per-user limit when users' usage is lognormal) must agree with a
numerical integral of the lognormal.
"""

from __future__ import annotations

import math
from dataclasses import fields
from decimal import Decimal, localcontext
from inspect import signature
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from ratecard.charges.price_math import quantity_charge
from ratecard.money import CONTEXT
from ratecard.plan.prices import Price
from ratecard.simulate.kernel import excess_share, price_kernel, price_row
from ratecard.simulate.price_math import array_price
from ratecard.simulate.program import GRADUATED, PACKAGE, UNIT, VOLUME, Program
from tests.strategies import prices

KINDS = {"unit": UNIT, "graduated": GRADUATED, "volume": VOLUME, "package": PACKAGE}


def _row(data: dict[str, Any], quantities: list[float]) -> np.ndarray[Any, Any]:
    price = array_price(TypeAdapter(Price).validate_python(data), "test")
    q = np.array(quantities, dtype=np.float64)
    out = np.full(len(q), np.nan)
    price_row(
        q,
        out,
        np.empty(len(q)),
        len(q),
        KINDS[price.kind],
        price.unit_price,
        int(price.fee_at_zero),
        price.size,
        price.free_units,
        int(price.round_up),
        np.array(price.uppers, dtype=np.float64),
        np.array(price.prices, dtype=np.float64),
        np.array(price.fees, dtype=np.float64),
        0,
        len(price.uppers),
    )
    return out


def _exact(data: dict[str, Any], q: Decimal) -> Decimal:
    with localcontext(CONTEXT):
        return quantity_charge(TypeAdapter(Price).validate_python(data), q).amount


def _interesting(data: dict[str, Any]) -> list[Decimal]:
    """Zero, each tier bound and package boundary, and a unit either side."""
    points = {Decimal(0), Decimal("0.5"), Decimal(1), Decimal(123456)}
    for tier in data.get("tiers", []):
        if tier["up_to"] is not None:
            bound = Decimal(tier["up_to"])
            points |= {bound - 1, bound, bound + 1}
    if data["model"] == "package":
        free, size = Decimal(data["free_units"]), Decimal(data["size"])
        points |= {free, free + size, free + size + 1, free + 3 * size}
    return sorted(p for p in points if p >= 0)


@settings(max_examples=300, deadline=None)
@given(prices(), st.lists(st.integers(0, 2 * 10**5), max_size=5))
def test_price_row_matches_the_exact_price_models(data: dict[str, Any], extra: list[int]):
    points = _interesting(data) + [Decimal(n) / 4 for n in extra]
    row = _row(data, [float(p) for p in points])
    for q, simulated in zip(points, row, strict=True):
        exact = float(_exact(data, q))
        assert simulated == pytest.approx(exact, rel=1e-12, abs=1e-9), (q, data)


def test_price_row_tiers_by_hand():
    # graduated: 100 @ 1.00 + 50 @ 0.50 = 125.00, plus the second tier's fee 10 once entered
    graduated = {
        "model": "graduated",
        "tiers": [
            {"up_to": 100, "unit_price": "1.00"},
            {"up_to": None, "unit_price": "0.50", "flat_fee": "10"},
        ],
    }
    assert list(_row(graduated, [0, 100, 150])) == [0.0, 100.0, 135.0]
    # volume: 150 units all at the second tier's 0.50 = 75.00 (+ its fee 10); 0.1 + 0.2 of a
    # unit over a bound of 0.3 stays in the first tier (a float sum just above the bound)
    volume = {**graduated, "model": "volume"}
    assert list(_row(volume, [100, 150])) == [100.0, 85.0]
    near = {
        "model": "volume",
        "tiers": [{"up_to": "0.3", "unit_price": "1"}, {"up_to": None, "unit_price": "2"}],
    }
    assert _row(near, [0.1 + 0.2])[0] == pytest.approx(0.3)
    # package of 1,000 at 5.00 with 100 free: 2,100 units -> 2 packages; rounding down -> 2
    package = {"model": "package", "size": 1000, "package_price": "5", "free_units": 100}
    assert list(_row(package, [100, 101, 2100])) == [0.0, 5.0, 10.0]


def _excess_by_integral(mean: float, limit: float, sigma: float) -> float:
    """E[(X - limit)+] / E[X] for lognormal X with the given mean, by the trapezoid rule over
    the underlying standard normal."""
    z = np.linspace(-12.0, 12.0, 400_001)
    mu = math.log(mean) - sigma * sigma / 2
    x = np.exp(mu + sigma * z)
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return float(np.trapezoid(np.maximum(x - limit, 0.0) * density, z)) / mean


@pytest.mark.parametrize(
    ("mean", "limit", "sigma"),
    [(100.0, 300.0, 0.8), (300.0, 300.0, 0.5), (1000.0, 50.0, 1.2), (10.0, 1000.0, 2.0)],
)
def test_excess_share_matches_the_lognormal_integral(mean: float, limit: float, sigma: float):
    assert excess_share(mean, limit, sigma) == pytest.approx(
        _excess_by_integral(mean, limit, sigma), abs=1e-6
    )


def test_excess_share_edges():
    assert excess_share(0.0, 100.0, 0.8) == 0.0  # no usage: nothing above the limit
    assert excess_share(400.0, 100.0, 0.0) == 0.75  # no spread: (400 - 100) / 400
    assert excess_share(400.0, 0.0, 0.8) == 1.0  # no limit: everything is above it


def test_program_fields_are_the_kernel_arguments_in_order():
    # Program.arrays() hands its fields to the kernel by position: a field moved in one and
    # not the other would pass the wrong array of the same type, silently.
    names = [f.name for f in fields(Program)][2:]
    arguments = list(signature(price_kernel.py_func).parameters)
    assert arguments[4 : 4 + len(names)] == names
