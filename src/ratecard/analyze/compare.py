"""Side-by-side comparison of plans under one workload: expected cost, tail, TCO, unit costs
and risk flags, all from one seeded simulation (common random numbers across plans)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ratecard.analyze.counterfactual import overage_components, without, without_minimums
from ratecard.analyze.flags import Flag, FlagInputs, flags_for
from ratecard.plan import Plan, load_plan
from ratecard.plan.components import SeatComponent
from ratecard.simulate.engine import PlanResult, SimulationResult, simulate
from ratecard.simulate.workload import Workload, WorkloadSource, load_workload

__all__ = ["Comparison", "PlanComparison", "compare"]

PlanLike = str | Path | Mapping[str, Any] | Plan


@dataclass
class PlanComparison:
    """One plan's figures in a comparison (amounts in the plan's currency, floats from the
    simulator; see :mod:`ratecard.simulate.pricing` for their tolerance)."""

    plan: Plan
    result: PlanResult
    cost_per_task: float | None
    cost_per_outcome: float | None
    flags: list[Flag]

    @property
    def id(self) -> str:
        return self.plan.id

    def to_dict(self) -> dict[str, Any]:
        monthly, horizon = self.result.monthly, self.result.horizon
        return {
            "plan": self.plan.id,
            "name": self.plan.name,
            "vendor": self.plan.vendor,
            "model": self.plan.model_kind,
            "currency": self.plan.currency,
            "expected_monthly": _fmt(monthly.mean),
            "p95_monthly": _fmt(monthly.p95),
            "p99_monthly": _fmt(monthly.p99),
            "worst_monthly": _fmt(monthly.max),
            "cvar95_monthly": _fmt(monthly.cvar95),
            "tco": _fmt(self.result.tco),
            "npv": _fmt(self.result.npv),
            "p95_horizon": _fmt(horizon.p95),
            "cost_per_task": None if self.cost_per_task is None else _fmt(self.cost_per_task, 4),
            "cost_per_outcome": (
                None if self.cost_per_outcome is None else _fmt(self.cost_per_outcome, 4)
            ),
            "flags": [flag.to_dict() for flag in self.flags],
        }


def _fmt(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}"


@dataclass
class Comparison:
    simulation: SimulationResult
    plans: list[PlanComparison]

    @property
    def workload(self) -> Workload:
        return self.simulation.workload

    def cheapest(self) -> PlanComparison:
        return min(self.plans, key=lambda p: p.result.tco)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sims": self.simulation.sims,
            "seed": self.simulation.seed,
            "months": self.simulation.months,
            "plans": [p.to_dict() for p in self.plans],
        }


def _needs(plan: Plan) -> dict[str, Plan]:
    """The counterfactual plans a plan's flags need."""
    variants: dict[str, Plan] = {}
    has_minimum = (
        plan.modifiers.minimum is not None
        or any(c.minimum is not None for c in plan.components)
        or any(isinstance(c, SeatComponent) and c.min_seats for c in plan.components)
    )
    if has_minimum:
        variants["no_minimum"] = without_minimums(plan)
    overage = overage_components(plan)
    if overage:
        variants["no_overage"] = without(plan, components=tuple(overage))
    if plan.modifiers.escalation is not None:
        variants["no_escalation"] = without(plan, modifiers=("escalation",))
    return variants


def _per_unit(total_cost: float, units: np.ndarray[Any, Any] | None) -> float | None:
    if units is None:
        return None
    expected = float(units.sum(axis=1).mean())
    return total_cost / expected if expected > 0 else None


def compare(
    plans: Sequence[PlanLike],
    workload: WorkloadSource,
    sims: int = 5000,
    seed: int = 7,
    *,
    discount_rate: float = 0.0,
    budget: float | None = None,
) -> Comparison:
    loaded_plans = [load_plan(p) for p in plans]
    loaded = load_workload(workload)
    main = simulate(
        loaded_plans, loaded, sims, seed, discount_rate=discount_rate, budget=budget, keep=True
    )
    twins: list[tuple[int, str, Plan]] = [
        (index, name, variant)
        for index, plan in enumerate(loaded_plans)
        for name, variant in _needs(plan).items()
    ]
    twin_results: dict[tuple[int, str], PlanResult] = {}
    if twins:
        side = simulate([t[2] for t in twins], loaded, sims, seed, keep=True)
        for (index, name, _), result in zip(twins, side.plans, strict=True):
            twin_results[(index, name)] = result
    usage = main.usage
    tasks = usage.tasks if usage is not None else None
    outcome_units = None
    if usage is not None and loaded.outcomes is not None:
        outcome_units = usage.totals.get(loaded.outcomes.metric)
    reports = []
    for index, (plan, result) in enumerate(zip(loaded_plans, main.plans, strict=True)):
        inputs = FlagInputs(
            plan,
            result,
            main,
            twin_results.get((index, "no_minimum")),
            twin_results.get((index, "no_overage")),
            twin_results.get((index, "no_escalation")),
        )
        reports.append(
            PlanComparison(
                plan,
                result,
                _per_unit(result.tco, tasks),
                _per_unit(result.tco, outcome_units),
                flags_for(inputs),
            )
        )
    return Comparison(main, reports)
