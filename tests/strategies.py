"""Hypothesis strategies for random plans and usage (shared by the property tests)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

METRICS = ["m0", "m1", "m2"]

money = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)
quantities = st.decimals(
    min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def tiers(draw: st.DrawFn, count: int | None = None) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 4)) if count is None else count
    bounds = sorted(draw(st.sets(st.integers(1, 10**5), min_size=n - 1, max_size=n - 1)))
    result: list[dict[str, Any]] = []
    for bound in [*bounds, None]:
        tier: dict[str, Any] = {"up_to": bound, "unit_price": str(draw(money))}
        if draw(st.booleans()):
            tier["flat_fee"] = str(draw(money))
        result.append(tier)
    return result


@st.composite
def prices(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(["unit", "graduated", "volume", "package"]))
    if model == "unit":
        return {"model": "unit", "unit_price": str(draw(money))}
    if model == "package":
        return {
            "model": "package",
            "size": draw(st.integers(1, 5000)),
            "package_price": str(draw(money)),
            "free_units": draw(st.integers(0, 1000)),
            "rounding": draw(st.sampled_from(["up", "down"])),
        }
    return {"model": model, "tiers": draw(tiers()), "flat_fee_at_zero": draw(st.booleans())}


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if draw(st.booleans()):
        components.append({"id": "base", "type": "flat", "amount": str(draw(money))})
    for index in range(draw(st.integers(1, 3))):
        component: dict[str, Any] = {
            "id": f"c{index}",
            "type": "usage",
            "metric": draw(st.sampled_from(METRICS)),
            "per": draw(st.sampled_from([1, 1000])),
            "price": draw(prices()),
        }
        if draw(st.booleans()):
            component["multipliers"] = {
                "region": {"eu": str(draw(st.sampled_from(["0.5", "1.1", "2"])))}
            }
        components.append(component)
    ids = [c["id"] for c in components]
    modifiers: dict[str, Any] = {}
    if draw(st.booleans()):
        modifiers["discounts"] = [
            {
                "percent": str(draw(st.integers(0, 100))),
                "applies_to": draw(
                    st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True)
                ),
            }
        ]
    floor = draw(st.none() | money)
    if floor is not None:
        modifiers["minimum"] = {"amount": str(floor)}
    if draw(st.booleans()):
        modifiers["cap"] = {"amount": str((floor or 0) + draw(money) * 10)}
    if draw(st.booleans()):
        modifiers["credits"] = [{"amount": str(draw(money))}]
    return {
        "ratecard": 1,
        "id": "random",
        "currency": draw(st.sampled_from(["USD", "JPY", "KWD"])),
        "components": components,
        "modifiers": modifiers,
        "rounding": {
            "mode": draw(st.sampled_from(["half_up", "half_even", "up", "down"])),
            "scope": draw(st.sampled_from(["line", "invoice"])),
        },
    }


@st.composite
def usages(draw: st.DrawFn) -> dict[str, Any]:
    lines = [
        {
            "metric": metric,
            "quantity": str(draw(quantities)),
            "dimensions": {"region": draw(st.sampled_from(["eu", "us"]))},
        }
        for metric in METRICS
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {"period": {"start": "2026-10-01", "end": "2026-11-01"}, "usage": lines}


def as_decimal(value: Any) -> Decimal:
    return Decimal(str(value))
