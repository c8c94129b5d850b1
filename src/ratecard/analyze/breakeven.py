"""Break-even: the driver value at which two plans cost the same on average.

Expected monthly cost is estimated by simulation with one seed for every driver value
(common random numbers), so the difference between the plans is a smooth function of the
driver and bisection converges on it. The result is exact up to sampling error of the
difference, which common random numbers keep small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ratecard.analyze.drivers import DEFAULT_DRIVER, driver_value, with_driver
from ratecard.plan import Plan, load_plan
from ratecard.simulate.engine import simulate
from ratecard.simulate.workload import Workload, WorkloadSource, load_workload

__all__ = ["BreakEven", "CostCurve", "breakeven", "cost_curve"]

PlanLike = str | Path | Mapping[str, Any] | Plan


@dataclass(frozen=True)
class CostCurve:
    """Expected monthly cost of each plan at each driver value."""

    driver: str
    values: list[float]
    costs: dict[str, list[float]]  # plan id -> expected monthly cost per value
    current: float  # the workload's own driver value


def _expected(
    plans: Sequence[Plan], workload: Workload, driver: str, value: float, sims: int, seed: int
) -> list[float]:
    scaled = with_driver(workload, driver, value)
    result = simulate(plans, scaled, sims, seed, keep=False)
    return [p.monthly.mean for p in result.plans]


def cost_curve(
    plans: Sequence[PlanLike],
    workload: WorkloadSource,
    driver: str = DEFAULT_DRIVER,
    *,
    points: int = 13,
    span: float = 10.0,
    sims: int = 1000,
    seed: int = 7,
) -> CostCurve:
    """Expected monthly cost of every plan for driver values from ``current / span`` to
    ``current * span`` on a log scale (and zero)."""
    loaded = [load_plan(p) for p in plans]
    base = load_workload(workload)
    current = driver_value(base, driver)
    if current <= 0:
        current = 1.0
    low, high = current / span, current * span
    if driver == "active_share":
        low, high = 0.05, 1.0
    values = [low * (high / low) ** (i / (points - 1)) for i in range(points)]
    costs: dict[str, list[float]] = {p.id: [] for p in loaded}
    for value in values:
        for plan, cost in zip(
            loaded, _expected(loaded, base, driver, value, sims, seed), strict=True
        ):
            costs[plan.id].append(cost)
    return CostCurve(driver, values, costs, driver_value(base, driver))


@dataclass(frozen=True)
class BreakEven:
    driver: str
    value: float | None  # None when one plan is cheaper over the whole range searched
    below: str  # the cheaper plan below the break-even (or everywhere)
    above: str
    current: float
    curve: CostCurve

    def to_dict(self) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "value": None if self.value is None else round(self.value, 6),
            "below": self.below,
            "above": self.above,
            "current": round(self.current, 6),
        }


def breakeven(
    plan_a: PlanLike,
    plan_b: PlanLike,
    workload: WorkloadSource,
    driver: str = DEFAULT_DRIVER,
    *,
    sims: int = 1000,
    seed: int = 7,
    span: float = 10.0,
    tolerance: float = 1e-3,
) -> BreakEven:
    """Find where ``E[cost A] = E[cost B]`` as the driver varies (relative ``tolerance``)."""
    a, b = load_plan(plan_a), load_plan(plan_b)
    base = load_workload(workload)
    curve = cost_curve([a, b], base, driver, span=span, sims=sims, seed=seed)
    diffs = [x - y for x, y in zip(curve.costs[a.id], curve.costs[b.id], strict=True)]

    def cheaper(diff: float) -> str:
        return a.id if diff < 0 else b.id

    for i in range(len(diffs) - 1):
        if diffs[i] == 0 or (diffs[i] < 0) != (diffs[i + 1] < 0):
            low, high = curve.values[i], curve.values[i + 1]
            f_low = diffs[i]
            while high - low > tolerance * max(high, 1e-12):
                mid = math.sqrt(low * high) if low > 0 else (low + high) / 2
                x, y = _expected([a, b], base, driver, mid, sims, seed)
                if (x - y < 0) == (f_low < 0):
                    low, f_low = mid, x - y
                else:
                    high = mid
            value = (low + high) / 2
            return BreakEven(
                driver, value, cheaper(diffs[i]), cheaper(diffs[i + 1]), curve.current, curve
            )
    winner = cheaper(sum(diffs))
    return BreakEven(driver, None, winner, winner, curve.current, curve)
