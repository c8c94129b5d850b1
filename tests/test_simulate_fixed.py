"""A workload with only fixed distributions is a quote repeated every month: the simulated cost
of each month is the invoice of the same usage, under the shipped example plans and under
features that need the simulator's own modelling (context tiers, per-user allowances)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ratecard
from ratecard.simulate import layout_of, load_workload, simulate, summary_of
from ratecard.simulate.pricing import add_months

PLANS = sorted(Path("examples/plans").glob("*.yaml"))
START = date(2026, 1, 1)

FIXED = {
    "workload": 1,
    "start": "2026-01-01",
    "horizon_months": 14,
    "seats": {"start": 10, "growth_per_month": "0.1", "max": 25},
    "per_active_seat": {
        "tasks": {"dist": "fixed", "value": 40},
        "premium_requests": {"dist": "fixed", "value": 420},
    },
    "per_task": {
        "input_tokens": {"dist": "fixed", "value": 9000},
        "output_tokens": {"dist": "fixed", "value": 700},
        "voice_minutes": {"dist": "fixed", "value": 3.5},
        "api_calls": {"dist": "fixed", "value": 25},
        "sms_messages": {"dist": "fixed", "value": 2},
    },
    "cache_read_share": 0.25,
    "task_metric": "agent_actions",
    "outcomes": {"metric": "resolution", "success_rate": 1, "dispute_rate": 0},
    "mix": {
        "dimensions": {"model": {"frontier-1": 0.75, "other": 0.25}},
        "batch_share": 0.2,
    },
}


def test_example_plans_are_all_simulated():
    assert len(PLANS) >= 6


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_fixed_workload_gives_the_quoted_invoice_every_month(path: Path):
    plan = ratecard.load_plan(path)
    workload = load_workload(FIXED)
    result = simulate([plan], workload, sims=3, seed=1, chunk=2)
    assert result.usage is not None
    costs = result.plans[0].costs
    assert costs is not None
    assert costs.shape == (3, 14)
    # Every scenario is the same: nothing is random.
    assert (costs == costs[0]).all()
    block = _block(result)
    summaries = [summary_of(block, layout_of(workload), START, 0, m) for m in range(14)]
    exact = plan.model_copy(
        update={"rounding": plan.rounding.model_copy(update={"scope": "invoice"})}
    )
    for month, (invoice, rounded) in enumerate(
        zip(
            ratecard.quote_periods(exact, summaries),
            ratecard.quote_periods(plan, summaries),
            strict=True,
        )
    ):
        assert costs[0, month] == pytest.approx(float(invoice.exact_total), rel=1e-9, abs=1e-9)
        # The rounded invoice differs by less than half a cent per line.
        assert abs(costs[0, month] - float(rounded.total)) <= 0.005 * len(rounded.lines) + 1e-9
        assert round(costs[0, month], 2) == pytest.approx(float(invoice.total), abs=0.011)


def _block(result: Any) -> Any:
    from ratecard.simulate import Block

    usage = result.usage
    seats = usage.seats[None, :].repeat(result.sims, axis=0)
    return Block(seats, seats * result.workload.active_share, usage.totals, usage.disputed)


def test_seats_grow_and_are_billed_each_month():
    plan = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "s",
            "components": [{"id": "seats", "type": "seat", "unit_price": "10"}],
        }
    )
    result = simulate([plan], FIXED, sims=2, seed=0)
    # 10 seats growing 10 % a month, rounded, capped at 25
    expected = [10, 11, 12, 13, 15, 16, 18, 19, 21, 24, 25, 25, 25, 25]
    assert result.usage is not None
    assert result.usage.seats.tolist() == expected
    costs = result.plans[0].costs
    assert costs is not None
    assert costs[1].tolist() == [10.0 * s for s in expected]


def _requests(
    count: int, quantities: dict[str, int], month: date, dims: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "id": f"r{i}",
            "timestamp": f"{month.isoformat()}T12:00:00Z",
            "quantities": quantities,
            "dimensions": dims,
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("input_tokens", [150_000, 250_000, 400_000])
def test_context_tiers_price_each_task_as_one_request(input_tokens: int):
    plan = ratecard.load_plan("examples/plans/token-frontier-api.yaml")
    plan = plan.model_copy(
        update={"rounding": plan.rounding.model_copy(update={"scope": "invoice"})}
    )
    workload = {
        "workload": 1,
        "start": "2026-01-01",
        "horizon_months": 2,
        "seats": 3,
        "per_active_seat": {"tasks": {"dist": "fixed", "value": 4}},
        "per_task": {
            "input_tokens": {"dist": "fixed", "value": input_tokens},
            "output_tokens": {"dist": "fixed", "value": 5000},
        },
        "cache_read_share": 0.5,
        "mix": {"dimensions": {"model": {"frontier-1": 1}}},
    }
    result = simulate([plan], workload, sims=1, seed=0)
    costs = result.plans[0].costs
    assert costs is not None
    quantities = {
        "input_tokens": input_tokens,
        "cache_read_tokens": input_tokens // 2,
        "output_tokens": 5000,
    }
    summary = ratecard.load_usage(
        {
            "period": {"start": START, "end": add_months(START, 1)},
            "events": _requests(12, quantities, START, {"model": "frontier-1"}),
        }
    )
    invoice = ratecard.quote(plan, summary)
    assert costs[0, 0] == pytest.approx(float(invoice.exact_total), rel=1e-9)
    tiered = input_tokens > 200_000
    assert any("context" in line.description for line in invoice.lines) == tiered


def test_per_user_allowance_uses_each_active_user():
    """pooled: false — each of 8 active users (of 10 seats) has 300 premium requests included;
    using 420 each, 8 * 120 are billed (a pooled allowance would have covered 3000)."""
    plan = ratecard.load_plan("examples/plans/seat-coding-assistant.yaml")
    workload = {
        "workload": 1,
        "start": "2026-01-01",
        "horizon_months": 1,
        "seats": 10,
        "active_share": 0.8,
        "per_active_seat": {"premium_requests": {"dist": "fixed", "value": 420}},
    }
    result = simulate([plan], workload, sims=1, seed=0)
    costs = result.plans[0].costs
    assert costs is not None
    summary = ratecard.load_usage(
        {
            "period": {"start": START, "end": add_months(START, 1)},
            "seats": 10,
            "usage": [
                {"metric": "premium_requests", "quantity": 420, "dimensions": {"user": f"u{i}"}}
                for i in range(8)
            ],
        }
    )
    invoice = ratecard.quote(plan, summary)
    assert invoice.total == Decimal("190.00") + Decimal("0.04") * 8 * 120
    assert costs[0, 0] == pytest.approx(float(invoice.total), rel=1e-12)
