"""One semantics: the vectorized simulator prices what the exact evaluator prices.

Random plans (every component type, price model, filter, multiplier, allowance, fair use and
modifier the simulator supports) and fixed usage repeated over several months: each month's
simulated cost must match ``evaluate_periods`` (exact Decimal) within 1e-9 of the invoice's
gross amount. Plans are compared under ``rounding.scope: invoice``, where minimum, cap and
credits work on exact amounts, as the simulator does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ratecard
from ratecard.simulate import Block, block_of, calendar_of, compile_plan, price_block
from ratecard.simulate.kernel import TILE
from ratecard.simulate.pricing import add_months

METRICS = ["m0", "m1"]
START = date(2025, 11, 1)

money = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)
small = st.decimals(min_value=0, max_value=5, places=3, allow_nan=False, allow_infinity=False)
amounts = st.integers(0, 5000).map(lambda n: str(Decimal(n) / 4))


@st.composite
def prices(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(["unit", "graduated", "volume", "package"]))
    if model == "unit":
        return {"model": "unit", "unit_price": str(draw(small))}
    if model == "package":
        return {
            "model": "package",
            "size": draw(st.sampled_from([1, 10, 250, 1000])),
            "package_price": str(draw(money)),
            "free_units": draw(st.integers(0, 500)),
            "rounding": draw(st.sampled_from(["up", "down"])),
        }
    bounds = sorted(draw(st.sets(st.integers(1, 3000), min_size=0, max_size=3)))
    tiers: list[dict[str, Any]] = []
    for bound in [*bounds, None]:
        tier: dict[str, Any] = {"up_to": bound, "unit_price": str(draw(small))}
        if draw(st.booleans()):
            tier["flat_fee"] = str(draw(money))
        tiers.append(tier)
    return {"model": model, "tiers": tiers, "flat_fee_at_zero": draw(st.booleans())}


def _limits(draw: st.DrawFn, component: dict[str, Any]) -> None:
    if draw(st.booleans()):
        component["minimum"] = str(draw(money))
    if draw(st.booleans()):
        component["maximum"] = str(Decimal(component.get("minimum", "0")) + draw(money) * 4)


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if draw(st.booleans()):
        components.append({"id": "base", "type": "flat", "amount": str(draw(money))})
    if draw(st.booleans()):
        seat: dict[str, Any] = {
            "id": "seats",
            "type": "seat",
            "unit_price": str(draw(money)),
            "min_seats": draw(st.integers(0, 5)),
            "proration": draw(st.sampled_from(["none", "daily"])),
        }
        if draw(st.booleans()):
            seat["included"] = {
                "metric": draw(st.sampled_from(METRICS)),
                "quantity": draw(st.integers(0, 300)),
                "pooled": draw(st.booleans()),
            }
        if draw(st.booleans()):
            seat["fair_use"] = {
                "metric": draw(st.sampled_from(METRICS)),
                "quantity": draw(st.integers(1, 500)),
                "pooled": draw(st.booleans()),
            }
        components.append(seat)
    for index in range(draw(st.integers(1, 3))):
        usage: dict[str, Any] = {
            "id": f"u{index}",
            "type": "usage",
            "metric": draw(st.sampled_from(METRICS)),
            "per": draw(st.sampled_from([1, 100])),
            "price": draw(prices()),
        }
        if draw(st.booleans()):
            usage["filter"] = {"region": draw(st.sampled_from(["eu", "us"]))}
        multipliers: dict[str, Any] = {}
        if draw(st.booleans()):
            multipliers["region"] = {"eu": draw(st.sampled_from(["0.5", "1.1", "2"]))}
        if draw(st.booleans()):
            window: dict[str, Any] = {"from": "22:00", "to": "06:00"}
            if usage["price"]["model"] == "unit" and draw(st.booleans()):
                window["prices"] = {"unit_price": str(draw(small))}
            else:
                window["factor"] = draw(st.sampled_from(["0.5", "0.8"]))
            multipliers["time_of_day"] = [window]
        if multipliers:
            usage["multipliers"] = multipliers
        _limits(draw, usage)
        components.append(usage)
    if draw(st.booleans()):
        tokens: dict[str, Any] = {
            "id": "llm",
            "type": "tokens",
            "per": 1000,
            "prices": {"input": str(draw(small)), "output": str(draw(small))},
            "variants": {"batch": {"factor": "0.5"}},
        }
        if draw(st.booleans()):
            tokens["prices"]["cache_read"] = str(draw(small))
        if draw(st.booleans()):
            tokens["filter"] = {"model": "big"}
        if draw(st.booleans()):
            tokens["multipliers"] = {
                "region": {"eu": "1.25"},
                "time_of_day": [{"from": "22:00", "to": "06:00", "factor": "0.5"}],
            }
        _limits(draw, tokens)
        components.append(tokens)
    if draw(st.booleans()):
        outcome: dict[str, Any] = {
            "id": "wins",
            "type": "outcome",
            "metric": "res",
            "attribution_window": "72h",
            "price": draw(prices()),
        }
        _limits(draw, outcome)
        components.append(outcome)
    ids = [c["id"] for c in components]
    subset = st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True)
    modifiers: dict[str, Any] = {}
    if draw(st.booleans()):
        modifiers["discounts"] = [
            {"percent": str(draw(st.integers(0, 50))), "applies_to": draw(st.none() | subset)}
            for _ in range(draw(st.integers(1, 2)))
        ]
    if draw(st.booleans()):
        modifiers["commitment"] = {
            "amount": draw(amounts),
            "term_months": draw(st.integers(1, 4)),
            "discount_percent": str(draw(st.integers(0, 30))),
            "applies_to": draw(st.none() | subset),
            "payment": draw(st.sampled_from(["postpaid", "prepaid"])),
        }
        if draw(st.booleans()):
            modifiers["commitment"]["overage_discount_percent"] = "5"
    floor = draw(st.none() | money)
    if floor is not None:
        modifiers["minimum"] = {"amount": str(floor)}
    if draw(st.booleans()):
        modifiers["cap"] = {"amount": str((floor or 0) + draw(money) * 10)}
    if draw(st.booleans()):
        modifiers["credits"] = [
            {
                "amount": draw(amounts),
                "expires": draw(
                    st.none() | st.sampled_from(["2026-01-15", "2026-03-01", "2026-06-30"])
                ),
                "applies_to": draw(st.none() | subset),
            }
            for _ in range(draw(st.integers(1, 2)))
        ]
    if draw(st.booleans()):
        modifiers["escalation"] = {
            "percent_per_year": draw(st.sampled_from(["7", "-10", "3.5"])),
            "protection_cap_percent": draw(st.none() | st.just("3")),
        }
    return {
        "ratecard": 1,
        "id": "random",
        "currency": "USD",
        "components": components,
        "modifiers": modifiers,
        "rounding": {"scope": "invoice"},
    }


quantities = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False)


@st.composite
def usages(draw: st.DrawFn) -> dict[str, Any]:
    usage: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for metric in METRICS:
        for region in draw(st.lists(st.sampled_from(["eu", "us"]), max_size=2, unique=True)):
            usage.append(
                {
                    "metric": metric,
                    "quantity": str(draw(quantities)),
                    "dimensions": {"region": region},
                }
            )
        if draw(st.booleans()):  # a timed event: time-of-day windows apply
            hour = draw(st.sampled_from([2, 14]))
            events.append(
                {
                    "timestamp": f"2025-11-01T{hour:02d}:00:00Z",
                    "metric": metric,
                    "quantity": str(draw(quantities)),
                    "dimensions": {"region": draw(st.sampled_from(["eu", "us"]))},
                }
            )
    for model in draw(st.lists(st.sampled_from(["big", "small"]), max_size=2, unique=True)):
        input_tokens = draw(st.integers(1, 10**7))
        dims = {"model": model}
        if draw(st.booleans()):
            dims["mode"] = "batch"
        if draw(st.booleans()):
            dims["region"] = "eu"
        usage.append({"metric": "input_tokens", "quantity": input_tokens, "dimensions": dims})
        usage.append(
            {"metric": "output_tokens", "quantity": draw(st.integers(0, 10**6)), "dimensions": dims}
        )
        if draw(st.booleans()):
            usage.append(
                {
                    "metric": "cache_read_tokens",
                    "quantity": draw(st.integers(0, input_tokens)),
                    "dimensions": dims,
                }
            )
    if draw(st.booleans()):
        usage.append({"metric": "res", "quantity": draw(st.integers(0, 3000))})
        if draw(st.booleans()):
            events.append(
                {"metric": "res", "quantity": draw(st.integers(1, 50)), "status": "disputed"}
            )
    return {"seats": draw(st.integers(0, 30)), "usage": usage, "events": events}


def _summaries(body: dict[str, Any], months: int) -> list[ratecard.UsageSummary]:
    result = []
    for m in range(months):
        data = dict(body)
        data["period"] = {"start": add_months(START, m), "end": add_months(START, m + 1)}
        data["contract_start"] = START
        if data.get("seats") is not None and m % 2:
            data["seat_days"] = (
                Decimal(data.pop("seats")) * (add_months(START, m + 1) - add_months(START, m)).days
            )
        result.append(ratecard.load_usage(data))
    return result


def _tile(block: Block, months: int) -> Block:
    def tile(a: np.ndarray[Any, Any]) -> Any:
        return np.tile(a, (1, months))

    return Block(
        tile(block.seats),
        tile(block.active),
        {k: tile(v) for k, v in block.totals.items()},
        {k: tile(v) for k, v in block.disputed.items()},
    )


def _gross(invoice: ratecard.Invoice) -> Decimal:
    return sum((abs(line.exact_amount) for line in invoice.lines), Decimal(1))


MONTHS = 14


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), usages())
def test_simulator_matches_the_exact_evaluator(plan_data: dict[str, Any], body: dict[str, Any]):
    _assert_matches_the_evaluator(plan_data, body)


def _tiered(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "tiers": [
            {"up_to": 1000, "unit_price": "0.10"},
            {"up_to": 2000, "unit_price": "0.08"},
            {"up_to": None, "unit_price": "0.05"},
        ],
    }


@pytest.mark.parametrize("model", ["graduated", "volume"])
@pytest.mark.parametrize("included", [None, 100, 0])
@pytest.mark.parametrize("limited", [False, True])
@pytest.mark.parametrize("used", ["2500", "4000", "6000"])
def test_fair_use_allowance_and_tiers_priced_in_one_pass(
    model: str, included: int | None, limited: bool, used: str
):
    """A metric with one pooled fair-use limit, at most one pooled allowance and one usage
    component priced by up to three tiers is priced in one pass of the kernel (fair use,
    allowance and price fused): it must match the evaluator, with the units under, across
    and above the limit and the tiers, booked with or without a component minimum."""
    seats: dict[str, Any] = {"id": "seats", "type": "seat", "unit_price": "40"}
    seats["fair_use"] = {"metric": "m0", "quantity": 300, "pooled": True}
    if included is not None:
        seats["included"] = {"metric": "m0", "quantity": included, "pooled": True}
    actions: dict[str, Any] = {"id": "u0", "type": "usage", "metric": "m0", "price": _tiered(model)}
    if limited:
        actions["minimum"] = "150"
    plan = {"ratecard": 1, "id": "fused", "components": [seats, actions], "modifiers": {}}
    plan["rounding"] = {"scope": "invoice"}
    usage = [{"metric": "m0", "quantity": used, "dimensions": {"region": "us"}}]
    _assert_matches_the_evaluator(plan, {"seats": 12, "usage": usage, "events": []})


@pytest.mark.parametrize(
    "categories",
    [
        ["input", "output"],
        ["input", "cache_read", "output"],
        ["input", "cache_read", "cache_write", "output", "reasoning"],
    ],
)
@pytest.mark.parametrize("minimum", [None, "25"])
def test_token_sums_of_any_length_match_the_evaluator(categories: list[str], minimum: str | None):
    """A tokens component's weighted sum is booked in one pass with its last three metrics
    (fewer: the first weighed again by zero; more: the others summed first): each length
    must match the evaluator, with or without a component minimum. (Unpriced categories
    are priced at their parent's price, in the parent's metric weight.)"""
    prices = {category: str(Decimal("0.5") + index) for index, category in enumerate(categories)}
    tokens: dict[str, Any] = {"id": "llm", "type": "tokens", "per": 1000, "prices": prices}
    if minimum is not None:
        tokens["minimum"] = minimum
    plan = {"ratecard": 1, "id": "tokens", "components": [tokens], "modifiers": {}}
    plan["rounding"] = {"scope": "invoice"}
    quantities = {"input": 90_000, "cache_read": 30_000, "cache_write": 20_000}
    quantities |= {"output": 50_000, "reasoning": 10_000}  # (subsets within their parents)
    usage = [
        {"metric": f"{category}_tokens", "quantity": quantity, "dimensions": {}}
        for category, quantity in quantities.items()
    ]
    _assert_matches_the_evaluator(plan, {"seats": 0, "usage": usage, "events": []})


def _assert_matches_the_evaluator(plan_data: dict[str, Any], body: dict[str, Any]) -> None:
    plan = ratecard.load_plan(plan_data)
    summaries = _summaries(body, MONTHS)
    invoices = ratecard.quote_periods(plan, summaries)
    block, layout, start = block_of(summaries[0])
    assert start == START
    compiled = compile_plan(plan, layout, START)
    cost = price_block(compiled, _tile(block, MONTHS), calendar_of(plan, START, MONTHS))
    for month, invoice in enumerate(invoices):
        simulated = cost.total[0, month]
        tolerance = 1e-9 * float(_gross(invoice))
        assert simulated == pytest.approx(float(invoice.exact_total), abs=tolerance), (
            month,
            [line.to_dict() for line in invoice.lines],
        )
        shortfall = sum(
            (line.exact_amount for line in invoice.lines if line.kind == "commitment_shortfall"),
            Decimal(0),
        )
        if cost.shortfall is not None:
            assert cost.shortfall[0, month] == pytest.approx(float(shortfall), abs=tolerance)
        unserved = sum(
            (line.quantity or 0 for line in invoice.lines if line.kind == "unserved"), Decimal(0)
        )
        simulated_unserved = sum(float(v[0, month]) for v in cost.unserved.values())
        assert simulated_unserved == pytest.approx(float(unserved), rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), usages(), st.integers(TILE - 7, 2 * TILE + 9), st.integers(0, 2**32 - 1))
def test_scenarios_priced_together_match_each_priced_alone(
    plan_data: dict[str, Any], body: dict[str, Any], scenarios: int, seed: int
):
    """The kernel prices scenarios in tiles, with commitment and credit balances running
    across each scenario's months side by side: a block of scenarios whose usage varies by
    scenario and month (zeros included) must cost, scenario by scenario, what each costs
    priced alone (which the test above ties to the exact evaluator); blocks of a part of a
    tile to two tiles and a part. Priced for the totals
    only, with the other outputs in scratch rows of one tile, the totals are the same."""
    plan = ratecard.load_plan(plan_data)
    summary = _summaries(body, 1)[0]
    block, layout, _ = block_of(summary)
    compiled = compile_plan(plan, layout, START)
    calendar = calendar_of(plan, START, MONTHS)
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.0, 0.5, 1.0, 3.0], size=(scenarios, MONTHS))

    def varied(a: np.ndarray[Any, Any]) -> Any:
        return a[0, 0] * scale * rng.choice([1.0, 2.0], size=(scenarios, MONTHS))

    together = Block(
        varied(block.seats),
        varied(block.active),
        {k: varied(v) for k, v in block.totals.items()},
        {k: varied(v) for k, v in block.disputed.items()},
    )
    cost = price_block(compiled, together, calendar)
    totals = price_block(compiled, together, calendar, details=False)
    assert np.array_equal(totals.total, cost.total)
    assert totals.unserved == {}
    assert (totals.shortfall, totals.forfeited, totals.credits) == (None, None, None)
    for s in (0, scenarios // 2, scenarios - 1):
        alone = Block(
            together.seats[s : s + 1],
            together.active[s : s + 1],
            {k: v[s : s + 1] for k, v in together.totals.items()},
            {k: v[s : s + 1] for k, v in together.disputed.items()},
        )
        single = price_block(compiled, alone, calendar)
        assert np.array_equal(cost.total[s], single.total[0])
        if cost.credits is not None:
            assert single.credits is not None
            assert np.array_equal(cost.credits[s], single.credits[0])
