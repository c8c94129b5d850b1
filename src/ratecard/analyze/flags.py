"""Risk flags: what in a plan could make a buyer pay more than they expect, with the numbers.

Each flag compares the simulated plan against a variant without the feature (same seed, so
scenario by scenario) or reads the simulator's own by-products (shortfall, unserved usage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ratecard.plan.components import OutcomeComponent, SeatComponent
from ratecard.plan.model import Plan
from ratecard.simulate.engine import PlanResult, SimulationResult

__all__ = ["VARIABILITY_RATIO", "Flag", "FlagInputs", "flags_for"]

FloatArray = NDArray[np.float64]
Severity = Literal["info", "warning", "risk"]

VARIABILITY_RATIO = 2.0
"""A plan without a cap is flagged when its P99 month costs at least this many times its
median month."""
EPSILON = 0.005  # amounts below half a cent are rounding noise in float simulation


@dataclass(frozen=True, slots=True)
class Flag:
    """One finding about one plan, with the figures behind it."""

    code: str
    plan: str
    severity: Severity
    message: str
    figures: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "plan": self.plan,
            "severity": self.severity,
            "message": self.message,
            "figures": {k: round(v, 6) for k, v in self.figures.items()},
        }


@dataclass(frozen=True, slots=True)
class FlagInputs:
    """A plan's simulation and its counterfactual twins (``None`` when not applicable)."""

    plan: Plan
    result: PlanResult
    simulation: SimulationResult
    no_minimum: PlanResult | None = None
    no_overage: PlanResult | None = None
    no_escalation: PlanResult | None = None


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _difference(a: PlanResult, b: PlanResult) -> FloatArray:
    assert a.costs is not None
    assert b.costs is not None
    return np.asarray(a.costs - b.costs, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Spread:
    """How often and how much a positive monthly amount occurs over all scenario-months."""

    probability: float
    mean: float
    p95: float


def _spread(amounts: FloatArray, threshold: float = EPSILON) -> _Spread:
    return _Spread(
        float((amounts > threshold).mean()),
        float(amounts.mean()),
        float(np.quantile(amounts, 0.95)),
    )


def _extra_cost(inp: FlagInputs, twin: PlanResult | None) -> _Spread | None:
    """What the plan costs above its twin without the feature, month by month."""
    if twin is None:
        return None
    spread = _spread(np.clip(_difference(inp.result, twin), 0, None))
    return spread if spread.probability > 0 else None


def _minimum_flag(inp: FlagInputs, currency: str) -> Flag | None:
    topup = _extra_cost(inp, inp.no_minimum)
    if topup is None:
        return None
    return Flag(
        "minimum_shortfall",
        inp.plan.id,
        "risk" if topup.probability >= 0.25 else "warning",
        f"a minimum (plan minimum, component minimum or minimum seats) binds in "
        f"{_pct(topup.probability)} of months: you pay for usage you do not have, "
        f"{_money(topup.mean, currency)} a month on average (P95 {_money(topup.p95, currency)})",
        {
            "probability": topup.probability,
            "expected_monthly": topup.mean,
            "p95_monthly": topup.p95,
        },
    )


def _commitment_flags(inp: FlagInputs, currency: str) -> list[Flag]:
    flags: list[Flag] = []
    commitment = inp.plan.modifiers.commitment
    if commitment is None:
        return flags
    for name, series, what in (
        ("commitment_shortfall", inp.result.shortfall, "a shortfall is billed"),
        ("prepaid_forfeit", inp.result.forfeited, "prepaid balance is forfeited"),
    ):
        if series is None:
            continue
        per_scenario = series.sum(axis=1)
        hit = float((per_scenario > EPSILON).mean())
        if hit == 0:
            continue
        ends = max(inp.simulation.months // commitment.term_months, 1)
        expected = float(per_scenario.mean()) / ends
        flags.append(
            Flag(
                name,
                inp.plan.id,
                "risk" if hit >= 0.25 else "warning",
                f"commitment of {_money(float(commitment.amount), currency)} per "
                f"{commitment.term_months} months: {what} in {_pct(hit)} of scenarios, "
                f"{_money(expected, currency)} per term on average",
                {"probability": hit, "expected_per_term": expected},
            )
        )
    return flags


def _overage_flag(inp: FlagInputs, currency: str) -> Flag | None:
    overage = _extra_cost(inp, inp.no_overage)
    if overage is None:
        return None
    share = overage.mean / inp.result.monthly.mean if inp.result.monthly.mean else 0.0
    return Flag(
        "overage_exposure",
        inp.plan.id,
        "risk" if share >= 0.25 else "warning",
        f"usage above the included allowance is billed in {_pct(overage.probability)} of "
        f"months: {_money(overage.mean, currency)} a month on average ({_pct(share)} of the "
        f"bill), P95 {_money(overage.p95, currency)}",
        {
            "probability": overage.probability,
            "expected_monthly": overage.mean,
            "p95_monthly": overage.p95,
            "share": share,
        },
    )


def _fair_use_flags(inp: FlagInputs) -> list[Flag]:
    flags = []
    for metric, unserved in inp.result.unserved.items():
        cut = _spread(unserved, 1e-9)
        if cut.probability == 0:
            continue
        flags.append(
            Flag(
                "fair_use_cut",
                inp.plan.id,
                "risk" if cut.probability >= 0.1 else "warning",
                f"a fair-use limit on {metric} would cut usage in {_pct(cut.probability)} of "
                f"months: {cut.mean:,.1f} {metric} a month not served on average (P95 "
                f"{cut.p95:,.1f})",
                {"probability": cut.probability, "expected_unserved_monthly": cut.mean},
            )
        )
    return flags


def _idle_seat_flag(inp: FlagInputs, currency: str) -> Flag | None:
    workload = inp.simulation.workload
    idle_share = 1 - workload.active_share
    seats = [c for c in inp.plan.components if isinstance(c, SeatComponent)]
    if not seats or idle_share <= 0 or inp.simulation.usage is None:
        return None
    path = inp.simulation.usage.seats
    price = sum(float(c.unit_price) for c in seats)
    idle = float(np.mean(path)) * idle_share
    cost = idle * price
    return Flag(
        "idle_seats",
        inp.plan.id,
        "warning",
        f"{_pct(idle_share)} of seats are inactive in a month: about {idle:,.1f} paid but idle "
        f"seats, {_money(cost, currency)} a month",
        {"idle_seats": idle, "expected_monthly": cost},
    )


def _variability_flag(inp: FlagInputs, currency: str) -> Flag | None:
    plan = inp.plan
    if plan.modifiers.cap is not None:
        return None
    monthly = inp.result.monthly
    if monthly.p50 <= 0:
        ratio = float("inf") if monthly.p99 > 0 else 0.0
    else:
        ratio = monthly.p99 / monthly.p50
    if ratio < VARIABILITY_RATIO:
        return None
    return Flag(
        "unbounded_variability",
        plan.id,
        "risk",
        f"no spending cap, and the bill varies widely: the P99 month "
        f"({_money(monthly.p99, currency)}) is {ratio:,.1f}× the median month "
        f"({_money(monthly.p50, currency)}); worst simulated month {_money(monthly.max, currency)}",
        {"p99_over_p50": ratio, "p99": monthly.p99, "p50": monthly.p50, "max": monthly.max},
    )


def _dispute_flag(inp: FlagInputs, currency: str) -> Flag | None:
    outcomes = inp.simulation.workload.outcomes
    usage = inp.simulation.usage
    if outcomes is None or outcomes.dispute_rate <= 0 or usage is None:
        return None
    components = [
        c
        for c in inp.plan.components
        if isinstance(c, OutcomeComponent) and c.metric == outcomes.metric
    ]
    disputed = usage.disputed.get(outcomes.metric)
    if not components or disputed is None:
        return None
    monthly_disputes = float(disputed.mean())
    unit_price = getattr(components[0].price, "unit_price", None)
    value = monthly_disputes * float(unit_price) if unit_price is not None else None
    message = (
        f"{_pct(outcomes.dispute_rate)} of billed outcomes are disputed: about "
        f"{monthly_disputes:,.1f} {outcomes.metric} a month billed first and credited only "
        "if you dispute them"
    )
    figures = {"dispute_rate": outcomes.dispute_rate, "expected_disputes_monthly": monthly_disputes}
    if value is not None:
        message += f" ({_money(value, currency)} a month at stake)"
        figures["expected_value_monthly"] = value
    return Flag("outcome_disputes", inp.plan.id, "warning", message, figures)


def _escalation_flag(inp: FlagInputs, currency: str) -> Flag | None:
    escalation = inp.plan.modifiers.escalation
    if escalation is None or escalation.percent_per_year <= 0:
        return None
    if escalation.protection_cap_percent is not None and escalation.protection_cap_percent <= 3:
        return None
    years = inp.simulation.months / 12
    rate = float(escalation.yearly_percent) / 100
    rise = (1 + rate) ** max(int(np.ceil(years)) - 1, 0) - 1
    extra = inp.result.tco - inp.no_escalation.tco if inp.no_escalation is not None else None
    message = (
        f"prices rise {float(escalation.percent_per_year):g} % a year"
        + (
            " with no price protection"
            if escalation.protection_cap_percent is None
            else f", protected only at {float(escalation.protection_cap_percent):g} %"
        )
        + f": +{_pct(rise)} by the last year of the horizon"
    )
    figures = {"percent_per_year": float(escalation.percent_per_year), "final_rise": rise}
    if extra is not None:
        message += f", {_money(extra, currency)} more over the horizon"
        figures["extra_tco"] = extra
    return Flag("escalation_unprotected", inp.plan.id, "warning", message, figures)


def flags_for(inp: FlagInputs) -> list[Flag]:
    currency = inp.plan.currency
    found: list[Flag | None] = [
        _minimum_flag(inp, currency),
        *_commitment_flags(inp, currency),
        _overage_flag(inp, currency),
        *_fair_use_flags(inp),
        _idle_seat_flag(inp, currency),
        _variability_flag(inp, currency),
        _dispute_flag(inp, currency),
        _escalation_flag(inp, currency),
    ]
    return [flag for flag in found if flag is not None]
