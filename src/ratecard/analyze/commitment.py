"""Commitment sizing: the committed amount that minimises expected cost (or a percentile),
under a plan's commitment discount and shortfall rules, against pay-as-you-go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ratecard.analyze.counterfactual import without
from ratecard.errors import PlanError
from ratecard.plan import Plan, load_plan
from ratecard.simulate.engine import simulate
from ratecard.simulate.workload import WorkloadSource, load_workload

__all__ = ["CommitmentAdvice", "size_commitment"]

PlanLike = str | Path | Mapping[str, Any] | Plan


@dataclass(frozen=True)
class CommitmentAdvice:
    plan: str
    currency: str
    term_months: int
    discount_percent: float
    payment: str
    objective: str
    amount: float
    """The recommended commitment per term."""
    expected_cost: float
    """Expected cost over the horizon with that commitment."""
    payg_cost: float
    """Expected cost over the horizon without any commitment."""
    saving_mean: float
    saving_p5: float
    saving_p95: float
    shortfall_probability: float
    grid: list[tuple[float, float]]  # (amount, objective value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "currency": self.currency,
            "term_months": self.term_months,
            "discount_percent": self.discount_percent,
            "payment": self.payment,
            "objective": self.objective,
            "amount": f"{self.amount:.2f}",
            "expected_cost": f"{self.expected_cost:.2f}",
            "payg_cost": f"{self.payg_cost:.2f}",
            "saving": {
                "mean": f"{self.saving_mean:.2f}",
                "p5": f"{self.saving_p5:.2f}",
                "p95": f"{self.saving_p95:.2f}",
            },
            "shortfall_probability": round(self.shortfall_probability, 6),
            "grid": [[f"{a:.2f}", f"{v:.2f}"] for a, v in self.grid],
        }


Schedule = list[tuple[float, float]]
"""Commitment discount tiers: ``(minimum amount per term, discount percent)``."""


def _discount_for(schedule: Schedule, amount: float) -> float | None:
    eligible = [percent for threshold, percent in schedule if amount >= threshold]
    return max(eligible) if eligible else None


def _with_amount(plan: Plan, amount: float, percent: float, index: int) -> Plan:
    commitment = plan.modifiers.commitment
    assert commitment is not None
    data = plan.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["id"] = f"{plan.id}.commit{index}"
    data["modifiers"]["commitment"] = {
        **data["modifiers"]["commitment"],
        "amount": Decimal(repr(round(amount, 2))),
        "discount_percent": Decimal(repr(percent)),
    }
    return Plan.model_validate(data)


def size_commitment(
    plan: PlanLike,
    workload: WorkloadSource,
    *,
    objective: Literal["mean", "p50", "p90", "p95", "p99"] = "mean",
    schedule: Schedule | None = None,
    term_months: int | None = None,
    points: int = 25,
    sims: int = 2000,
    seed: int = 7,
) -> CommitmentAdvice:
    """Choose the commitment per term that minimises the objective (the mean or a percentile
    of the horizon's total cost), or no commitment at all.

    ``schedule`` gives the discount each commitment size earns, e.g. ``[(50000, 10),
    (150000, 15)]``; without it, the plan's own commitment is the one tier (its amount is the
    smallest commitment that earns its discount). A plan without a commitment needs a
    schedule and ``term_months``; all its components are then eligible."""
    loaded = load_plan(plan)
    own = loaded.modifiers.commitment
    if own is None:
        if not schedule or term_months is None:
            raise PlanError(
                f"plan {loaded.id!r} has no commitment: give a discount schedule and a term "
                "(--schedule AMOUNT:PERCENT,... --term-months N) to size one"
            )
        data = loaded.model_dump(mode="python", by_alias=True, exclude_none=True)
        data.setdefault("modifiers", {})["commitment"] = {"amount": "0", "term_months": term_months}
        loaded = Plan.model_validate(data)
    elif not schedule:
        schedule = [(float(own.amount), float(own.discount_percent))]
    assert schedule
    commitment = loaded.modifiers.commitment
    assert commitment is not None
    base = load_workload(workload)
    payg = without(loaded, modifiers=("commitment",))
    first = simulate([payg], base, sims, seed, keep=True).plans[0]
    assert first.costs is not None
    spend_per_term = float(first.costs.mean()) * commitment.term_months
    lowest = min(threshold for threshold, _ in schedule)
    high = max(spend_per_term * 1.5, lowest)
    amounts = sorted(
        {lowest + (high - lowest) * i / (points - 1) for i in range(points)}
        | {t for t, _ in schedule if t <= high}
    )
    candidates = [
        _with_amount(loaded, amount, _discount_for(schedule, amount) or 0.0, i)
        for i, amount in enumerate(amounts)
    ]
    result = simulate(candidates, base, sims, seed, keep=True)

    def score(totals: np.ndarray[Any, Any]) -> float:
        if objective == "mean":
            return float(totals.mean())
        return float(np.quantile(totals, int(objective[1:]) / 100))

    grid = [(0.0, score(first.horizon_totals))]
    grid += [(a, score(r.horizon_totals)) for a, r in zip(amounts, result.plans, strict=True)]
    best = min(range(len(grid)), key=lambda i: grid[i][1])
    chosen = first if best == 0 else result.plans[best - 1]
    saving = first.horizon_totals - chosen.horizon_totals
    shortfall = chosen.shortfall
    shortfall_probability = (
        float((shortfall.sum(axis=1) > 0.005).mean()) if shortfall is not None else 0.0
    )
    amount = grid[best][0]
    return CommitmentAdvice(
        loaded.id,
        loaded.currency,
        commitment.term_months,
        (_discount_for(schedule, amount) or 0.0) if best else 0.0,
        commitment.payment,
        objective,
        amount,
        float(chosen.horizon_totals.mean()),
        float(first.horizon_totals.mean()),
        float(saving.mean()),
        float(np.quantile(saving, 0.05)),
        float(np.quantile(saving, 0.95)),
        shortfall_probability,
        grid,
    )
