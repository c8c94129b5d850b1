"""Buyer decisions on deterministic workloads, so every number can be checked by hand."""

from __future__ import annotations

from typing import Any

import pytest

from ratecard.analyze.advise import advise
from ratecard.analyze.breakeven import breakeven
from ratecard.analyze.commitment import size_commitment
from ratecard.analyze.compare import compare
from ratecard.analyze.drivers import driver_value, with_driver
from ratecard.simulate.workload import load_workload


def workload(**changes: Any) -> dict[str, Any]:
    """10 seats, all active, 100 tasks each a month (1,000 actions), 12 months, no noise."""
    base: dict[str, Any] = {
        "workload": 1,
        "start": "2027-01-01",
        "horizon_months": 12,
        "seats": 10,
        "active_share": 1.0,
        "per_active_seat": {"tasks": {"dist": "fixed", "value": 100}},
        "task_metric": "actions",
    }
    base.update(changes)
    return base


def plan(
    *components: dict[str, Any], modifiers: dict[str, Any] | None = None, id: str = "p"
) -> dict[str, Any]:
    return {"ratecard": 1, "id": id, "components": list(components), "modifiers": modifiers or {}}


def actions(price: str, id: str = "actions") -> dict[str, Any]:
    return {
        "id": id,
        "type": "usage",
        "metric": "actions",
        "price": {"model": "unit", "unit_price": price},
    }


def flags_of(plans: list[dict[str, Any]], load: dict[str, Any], sims: int = 200) -> dict[str, Any]:
    comparison = compare(plans, load, sims=sims, seed=1)
    return {flag.code: flag for entry in comparison.plans for flag in entry.flags}


def test_minimum_shortfall_flag():
    # 1,000 actions * 0.10 = 100.00 a month under a 150.00 minimum: top-up 50.00 every month
    found = flags_of([plan(actions("0.10"), modifiers={"minimum": {"amount": "150"}})], workload())
    flag = found["minimum_shortfall"]
    assert flag.figures["probability"] == 1.0
    assert flag.figures["expected_monthly"] == pytest.approx(50.0, rel=1e-9)


def test_overage_flag():
    # 10 seats * 20.00; 800 actions included (80 per seat, pooled); 200 over * 0.25 = 50.00,
    # 50 / (200 + 50) = 20 % of the bill
    seat = {
        "id": "seats",
        "type": "seat",
        "unit_price": "20",
        "included": {"metric": "actions", "quantity": 80},
    }
    found = flags_of([plan(seat, actions("0.25"))], workload())
    flag = found["overage_exposure"]
    assert flag.figures["expected_monthly"] == pytest.approx(50.0, rel=1e-9)
    assert flag.figures["share"] == pytest.approx(0.2, rel=1e-9)


def test_fair_use_flag():
    # fair use 90 actions per seat, pooled: 900 served, 100 a month not served
    seat = {
        "id": "seats",
        "type": "seat",
        "unit_price": "20",
        "fair_use": {"metric": "actions", "quantity": 90},
    }
    found = flags_of([plan(seat, actions("0.01"))], workload())
    assert found["fair_use_cut"].figures["expected_unserved_monthly"] == pytest.approx(100.0)
    assert found["fair_use_cut"].figures["probability"] == 1.0


def test_idle_seat_flag():
    # 20 % of 10 seats inactive: 2 idle seats * 20.00 = 40.00 a month
    seat = {"id": "seats", "type": "seat", "unit_price": "20"}
    found = flags_of([plan(seat)], workload(active_share=0.8))
    assert found["idle_seats"].figures["idle_seats"] == pytest.approx(2.0)
    assert found["idle_seats"].figures["expected_monthly"] == pytest.approx(40.0)


def test_commitment_shortfall_flag():
    # 100.00 a month counts 1,200.00 over the 12-month term against 1,500.00: shortfall 300.00
    found = flags_of(
        [plan(actions("0.10"), modifiers={"commitment": {"amount": "1500", "term_months": 12}})],
        workload(),
    )
    flag = found["commitment_shortfall"]
    assert flag.figures["probability"] == 1.0
    assert flag.figures["expected_per_term"] == pytest.approx(300.0)


def test_escalation_without_protection_flag():
    # 10 % a year, no cap: year two costs 110.00 a month, 12 * 10.00 = 120.00 more in total
    found = flags_of(
        [plan(actions("0.10"), modifiers={"escalation": {"percent_per_year": "10"}})],
        workload(horizon_months=24),
    )
    flag = found["escalation_unprotected"]
    assert flag.figures["extra_tco"] == pytest.approx(120.0)
    assert flag.figures["final_rise"] == pytest.approx(0.10)
    protected = flags_of(
        [
            plan(
                actions("0.10"),
                modifiers={"escalation": {"percent_per_year": "10", "protection_cap_percent": "3"}},
            )
        ],
        workload(horizon_months=24),
    )
    assert "escalation_unprotected" not in protected


def test_unbounded_variability_flag_and_a_cap_removes_it():
    noisy = workload(per_active_seat={"tasks": {"dist": "lognormal", "median": 100, "p90": 1000}})
    found = flags_of([plan(actions("0.10"))], noisy, sims=2000)
    assert found["unbounded_variability"].figures["p99_over_p50"] > 5
    capped = flags_of(
        [plan(actions("0.10"), modifiers={"cap": {"amount": "500"}})], noisy, sims=2000
    )
    assert "unbounded_variability" not in capped


def test_outcome_dispute_flag():
    # 1,000 tasks, half succeed, 10 % of those disputed: about 50 disputes, 50.00 at 1.00
    outcome = {
        "id": "wins",
        "type": "outcome",
        "metric": "resolution",
        "price": {"model": "unit", "unit_price": "1"},
    }
    load = workload(outcomes={"metric": "resolution", "success_rate": 0.5, "dispute_rate": 0.1})
    flag = flags_of([plan(outcome)], load, sims=500)["outcome_disputes"]
    assert flag.figures["expected_disputes_monthly"] == pytest.approx(50.0, rel=0.05)


def test_no_flags_for_a_plain_predictable_plan():
    assert flags_of([plan(actions("0.10"))], workload()) == {}


def test_compare_unit_costs():
    # 100.00 a month for 1,000 tasks: 0.10 a task; TCO 12 * 100 = 1,200.00
    comparison = compare([plan(actions("0.10"))], workload(), sims=100, seed=1)
    entry = comparison.plans[0]
    assert entry.result.tco == pytest.approx(1200.0)
    assert entry.cost_per_task == pytest.approx(0.10)
    assert entry.to_dict()["expected_monthly"] == "100.00"


def test_breakeven_hand_checked():
    # A: 0.50 an action -> 10 seats * t * 0.50 = 5t a month. B: 100.00 a seat = 1,000.00.
    # Equal at t = 200 tasks per active seat; A is cheaper below.
    a = plan(actions("0.50"), id="per-task")
    b = plan({"id": "seats", "type": "seat", "unit_price": "100"}, id="per-seat")
    found = breakeven(a, b, workload(), sims=50, seed=1)
    assert found.value == pytest.approx(200.0, rel=2e-3)
    assert (found.below, found.above) == ("per-task", "per-seat")
    assert found.to_dict()["driver"] == "tasks"


def test_breakeven_on_seats_driver():
    # flat 1,000.00 against 10.00 per seat: equal at 100 seats
    a = plan({"id": "site", "type": "flat", "amount": "1000"}, id="site")
    b = plan({"id": "seats", "type": "seat", "unit_price": "10"}, id="seats")
    found = breakeven(a, b, workload(seats=50), driver="seats", sims=50, seed=1)
    assert found.value == pytest.approx(100.0, abs=1.0)
    assert (found.below, found.above) == ("seats", "site")


def test_breakeven_none_when_one_plan_always_wins():
    cheap, dear = plan(actions("0.10"), id="cheap"), plan(actions("0.20"), id="dear")
    found = breakeven(cheap, dear, workload(), sims=50, seed=1)
    assert found.value is None
    assert found.below == found.above == "cheap"


def test_commitment_sizing_hand_checked():
    # 1,000.00 a month, 12,000.00 a year pay-as-you-go. Commit 6,000 for 10 %: pays 10,800,
    # no shortfall. Commit 12,000 for 20 %: counts 9,600, shortfall 2,400: pays 12,000.
    # Commit 15,000 for 30 %: pays 15,000. Best: the smallest 10 % commitment.
    advice = size_commitment(
        plan(actions("1.00")),
        workload(),
        schedule=[(6000, 10), (12000, 20), (15000, 30)],
        term_months=12,
        sims=50,
        seed=1,
    )
    assert advice.amount == pytest.approx(6000.0)
    assert advice.discount_percent == 10
    assert advice.expected_cost == pytest.approx(10800.0)
    assert advice.payg_cost == pytest.approx(12000.0)
    assert advice.saving_mean == pytest.approx(1200.0)
    assert advice.shortfall_probability == 0.0


def test_commitment_sizing_can_say_commit_nothing():
    # 100.00 a month; the only tier needs 5,000 a year for 5 %: it would cost 5,000 > 1,200
    advice = size_commitment(
        plan(actions("0.10")), workload(), schedule=[(5000, 5)], term_months=12, sims=50, seed=1
    )
    assert advice.amount == 0
    assert advice.expected_cost == pytest.approx(1200.0)


def test_drivers_rescale_the_mean_and_keep_the_shape():
    load = load_workload(
        workload(per_active_seat={"tasks": {"dist": "lognormal", "median": 100, "p90": 400}})
    )
    doubled = with_driver(load, "tasks", 2 * driver_value(load, "tasks"))
    dist = doubled.per_active_seat["tasks"]
    assert dist.median == pytest.approx(200)  # type: ignore[union-attr]
    assert dist.p90 == pytest.approx(800)  # type: ignore[union-attr]


def test_advice_follows_the_decision_guide():
    tokens = {
        "input_tokens": {"dist": "fixed", "value": 1000},
        "output_tokens": {"dist": "fixed", "value": 100},
    }
    variable = workload(
        per_active_seat={"tasks": {"dist": "lognormal", "median": 100, "p90": 1000}}
    )
    assert advise(variable, sims=500).recommended_model == "per-task"
    assert advise({**variable, "per_task": tokens}, sims=500).recommended_model == "per-token"
    steady = workload()
    assert advise(steady, sims=200).recommended_model == "per-seat"
    outcomes = workload(outcomes={"metric": "resolution", "success_rate": 0.6})
    result = advise(outcomes, sims=200)
    assert result.recommended_model == "per-outcome"
    assert result.variability.cv == pytest.approx(0.0)
    assert [s.answer for s in result.steps] == [False, False, True]


def test_advice_names_a_plan_with_numbers():
    outcome = {
        "id": "wins",
        "type": "outcome",
        "metric": "resolution",
        "price": {"model": "unit", "unit_price": "0.50"},
    }
    load = workload(outcomes={"metric": "resolution", "success_rate": 0.6})
    seat = plan({"id": "seats", "type": "seat", "unit_price": "100"}, id="seat-plan")
    result = advise(load, [plan(outcome, id="outcome-plan"), seat], sims=100)
    data = result.to_dict()
    assert data["recommended_model"] == "per-outcome"
    # about 600 resolutions (binomial) * 0.50 = 300.00 a month against 1,000.00 for seats
    assert data["recommended_plan"] == "outcome-plan"
    assert float(data["plans"][0]["expected_monthly"]) == pytest.approx(300.0, rel=0.01)
    assert data["reasons"][0].startswith("outcome-plan (per-outcome): expected 29")
    # break-even: 10 * t * 0.6 * 0.50 = 1,000 -> t = 333.3 tasks per seat
    assert result.breakevens[0].value == pytest.approx(333.33, rel=5e-3)
