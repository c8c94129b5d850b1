"""Properties of the exact evaluator on random plans and usage (hypothesis)."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import ratecard
from ratecard.charges.price_math import graduated, volume
from ratecard.money import CONTEXT
from ratecard.plan.prices import GraduatedPrice, Tier, VolumePrice
from tests.strategies import money, plans, quantities, tiers, usages

MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
}
EXPONENT = {"USD": Decimal("0.01"), "JPY": Decimal("1"), "KWD": Decimal("0.001")}


@settings(max_examples=150, deadline=None)
@given(plans(), usages())
def test_total_is_the_sum_of_rounded_lines(plan: dict[str, Any], usage: dict[str, Any]):
    invoice = ratecard.quote(plan, usage)
    assert invoice.total == sum((line.amount for line in invoice.lines), Decimal(0))
    assert invoice.subtotal == sum(
        (line.amount for line in invoice.lines if line.kind != "credit"), Decimal(0)
    )
    exponent = EXPONENT[plan["currency"]]
    for line in invoice.lines:
        assert isinstance(line.amount, Decimal)
        assert isinstance(line.exact_amount, Decimal)
        assert line.amount == line.amount.quantize(exponent)
    mode = MODES[plan["rounding"]["mode"]]
    if plan["rounding"]["scope"] == "line":
        # every rounding mode is honoured line by line
        for line in invoice.lines:
            assert line.amount == line.exact_amount.quantize(exponent, rounding=mode)
    else:
        # invoice scope: the exact total is rounded once, and the lines add up to it
        assert invoice.total == invoice.exact_total.quantize(exponent, rounding=mode)


@settings(max_examples=150, deadline=None)
@given(plans(), usages())
def test_minimum_cap_and_credits_hold(plan: dict[str, Any], usage: dict[str, Any]):
    invoice = ratecard.quote(plan, usage)
    modifiers = plan["modifiers"]
    if plan["rounding"]["scope"] != "line":
        return
    before_credits = invoice.subtotal
    exponent = EXPONENT[plan["currency"]]
    if "minimum" in modifiers:
        floor = Decimal(modifiers["minimum"]["amount"]).quantize(
            exponent, rounding=MODES[plan["rounding"]["mode"]]
        )
        assert before_credits >= floor - exponent
    if "cap" in modifiers:
        ceiling = Decimal(modifiers["cap"]["amount"]).quantize(
            exponent, rounding=MODES[plan["rounding"]["mode"]]
        )
        assert before_credits <= ceiling + exponent
    assert invoice.total >= 0 or before_credits < 0


def _graduated_reference(
    bounds: list[Any], prices: list[Decimal], fees: list[Decimal], q: Decimal
) -> Decimal:
    """Tier by tier, written independently of the engine: each tier's slice of q times its
    price, plus its fee when q entered it (the first tier's fee always)."""
    amount = Decimal(0)
    lower = Decimal(0)
    for index, (bound, price, fee) in enumerate(zip(bounds, prices, fees, strict=True)):
        upper = q if bound is None else Decimal(bound)
        inside = max(Decimal(0), min(q, upper) - lower)
        amount += inside * price
        if index == 0 or q > lower:
            amount += fee
        if bound is None:
            break
        lower = Decimal(bound)
    return amount


@settings(max_examples=300, deadline=None)
@given(tiers(), quantities)
def test_graduated_equals_the_sum_of_its_tier_slices(raw: list[dict[str, Any]], q: Decimal):
    price = GraduatedPrice.model_validate({"model": "graduated", "tiers": raw})
    with decimal.localcontext(CONTEXT):
        charge = graduated(price.tiers, q, True)
        expected = _graduated_reference(
            [t["up_to"] for t in raw],
            [Decimal(t["unit_price"]) for t in raw],
            [Decimal(t.get("flat_fee", "0")) for t in raw],
            q,
        )
    assert charge.amount == expected
    assert charge.amount == sum((s.amount for s in charge.tiers), Decimal(0))


@settings(max_examples=300, deadline=None)
@given(tiers(), quantities, quantities)
def test_graduated_never_falls_as_usage_grows(raw: list[dict[str, Any]], a: Decimal, b: Decimal):
    price = GraduatedPrice.model_validate({"model": "graduated", "tiers": raw})
    low, high = sorted((a, b))
    with decimal.localcontext(CONTEXT):
        assert graduated(price.tiers, low, True).amount <= graduated(price.tiers, high, True).amount


@settings(max_examples=300, deadline=None)
@given(tiers(), quantities, quantities)
def test_volume_never_falls_while_prices_do_not_fall(
    raw: list[dict[str, Any]], a: Decimal, b: Decimal
):
    # All-units pricing has a cliff where a cheaper tier starts (see the test below), so it is
    # monotone only when tier prices and fees do not fall from one tier to the next.
    ordered_prices = sorted(Decimal(t["unit_price"]) for t in raw)
    ordered_fees = sorted(Decimal(t.get("flat_fee", "0")) for t in raw)
    for tier, unit_price, fee in zip(raw, ordered_prices, ordered_fees, strict=True):
        tier["unit_price"], tier["flat_fee"] = str(unit_price), str(fee)
    price = VolumePrice.model_validate({"model": "volume", "tiers": raw})
    low, high = sorted((a, b))
    with decimal.localcontext(CONTEXT):
        assert volume(price.tiers, low, True).amount <= volume(price.tiers, high, True).amount


def test_volume_cliff_is_real():
    tiers_ = [
        Tier(up_to=Decimal(100), unit_price=Decimal(1)),
        Tier(up_to=None, unit_price=Decimal("0.5")),
    ]
    assert volume(tiers_, Decimal(100), True).amount == Decimal(100)
    assert volume(tiers_, Decimal(101), True).amount == Decimal("50.5")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["unit", "graduated"]),
    tiers(),
    money,
    st.lists(quantities, min_size=1, max_size=8),
    st.integers(0, 8),
)
def test_splitting_events_into_batches_changes_nothing(
    model: str, raw: list[dict[str, Any]], unit_price: Decimal, parts: list[Decimal], cut: int
):
    price: dict[str, Any] = (
        {"model": "unit", "unit_price": str(unit_price)}
        if model == "unit"
        else {"model": "graduated", "tiers": raw}
    )
    plan = {
        "ratecard": 1,
        "id": "split",
        "components": [{"id": "c", "type": "usage", "metric": "m", "per": 1000, "price": price}],
    }
    period = {"start": "2026-10-01", "end": "2026-11-01"}
    events = [
        {
            "id": f"e{i}",
            "timestamp": f"2026-10-{i + 1:02d}T00:00:00Z",
            "metric": "m",
            "quantity": str(q),
        }
        for i, q in enumerate(parts)
    ]
    cut = min(cut, len(parts))
    whole = ratecard.quote(plan, {"period": period, "events": events})
    # the same events as two batches, each already aggregated into one usage line
    batches = [parts[:cut], parts[cut:]]
    lines = [{"metric": "m", "quantity": str(sum(b, Decimal(0)))} for b in batches if b]
    split = ratecard.quote(plan, {"period": period, "usage": lines})
    assert split.total == whole.total
    assert [line.exact_amount for line in split.lines] == [
        line.exact_amount for line in whole.lines
    ]
