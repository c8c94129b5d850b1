"""The decision guide of DESIGN.md section 6, with the numbers behind every step.

1. Highly variable workload? -> per-token or per-task.
2. Otherwise, a productivity tool whose usage follows headcount? -> per-seat.
3. Otherwise, an outcome that can be defined and measured? -> per-outcome; else per-task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ratecard.analyze.breakeven import BreakEven, breakeven
from ratecard.analyze.compare import Comparison, compare
from ratecard.plan import Plan
from ratecard.simulate.engine import simulate
from ratecard.simulate.workload import Workload, WorkloadSource, load_workload

__all__ = ["HIGH_VARIABILITY", "Advice", "Step", "advise", "usage_variability"]

PlanLike = str | Path | Mapping[str, Any] | Plan
Model = Literal["per-token", "per-seat", "per-task", "per-outcome"]

HIGH_VARIABILITY = 0.5
"""A workload is highly variable when the coefficient of variation of one active seat's
monthly tasks is above this (a lognormal with p90 = 2 x median has about 0.58)."""
TOKEN_METRICS = ("input_tokens", "output_tokens")


@dataclass(frozen=True)
class Step:
    question: str
    answer: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer, "evidence": self.evidence}


@dataclass(frozen=True)
class Variability:
    cv: float  # coefficient of variation of monthly usage per active seat
    p50: float
    p95: float
    p99: float
    unit: str


@dataclass
class Advice:
    recommended_model: Model
    steps: list[Step]
    variability: Variability
    comparison: Comparison | None = None
    recommended_plan: str | None = None
    reasons: list[str] = field(default_factory=list)
    breakevens: list[BreakEven] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        v = self.variability
        return {
            "recommended_model": self.recommended_model,
            "recommended_plan": self.recommended_plan,
            "steps": [s.to_dict() for s in self.steps],
            "variability": {
                "cv": round(v.cv, 6),
                "p50": round(v.p50, 6),
                "p95": round(v.p95, 6),
                "p99": round(v.p99, 6),
                "unit": v.unit,
            },
            "reasons": self.reasons,
            "plans": self.comparison.to_dict()["plans"] if self.comparison else [],
            "breakevens": [b.to_dict() for b in self.breakevens],
        }


def usage_variability(workload: Workload, sims: int = 2000, seed: int = 7) -> Variability:
    """Spread of one active seat's monthly tasks (or its first per-seat quantity): the part of
    the bill's variation that headcount does not explain."""
    result = simulate([], workload, sims, seed, keep=True)
    usage = result.usage
    assert usage is not None
    active = np.maximum(usage.seats * workload.active_share, 1e-12)
    if usage.tasks is not None:
        volume, unit = usage.tasks, "tasks per active seat per month"
    elif usage.totals:
        metric = next(iter(workload.per_active_seat), next(iter(usage.totals)))
        volume = usage.totals.get(metric, next(iter(usage.totals.values())))
        unit = f"{metric} per active seat per month"
    else:
        return Variability(0.0, 0.0, 0.0, 0.0, "no usage")
    per_seat = volume / active
    mean = float(per_seat.mean())
    cv = float(per_seat.std() / mean) if mean > 0 else 0.0
    p50, p95, p99 = (float(x) for x in np.quantile(per_seat, [0.5, 0.95, 0.99]))
    return Variability(cv, p50, p95, p99, unit)


def _decide(workload: Workload, variability: Variability) -> tuple[Model, list[Step]]:
    steps = []
    variable = variability.cv > HIGH_VARIABILITY
    tail = variability.p95 / variability.p50 if variability.p50 else float("inf")
    steps.append(
        Step(
            "Is the workload highly variable?",
            variable,
            f"coefficient of variation {variability.cv:.2f} of {variability.unit} "
            f"(threshold {HIGH_VARIABILITY}); P50 {variability.p50:,.1f}, P95 "
            f"{variability.p95:,.1f}, P99 {variability.p99:,.1f} "
            f"(P95/P50 = {tail:.1f}×)",
        )
    )
    token_driven = any(metric in workload.per_task for metric in TOKEN_METRICS)
    if variable:
        model: Model = "per-token" if token_driven else "per-task"
        steps.append(
            Step(
                "Is usage measured in tokens?",
                token_driven,
                "per-task quantities include "
                + (", ".join(m for m in TOKEN_METRICS if m in workload.per_task) or "no tokens"),
            )
        )
        return model, steps
    growth = workload.seat_growth
    headcount = bool(workload.per_active_seat) and growth.start > 0 and workload.outcomes is None
    steps.append(
        Step(
            "Does usage follow headcount (a productivity tool)?",
            headcount,
            f"usage is given per active seat ({', '.join(workload.per_active_seat) or 'nothing'}), "
            f"{growth.start} seats growing {growth.growth_per_month * 100:.1f} % a month, "
            f"{workload.active_share * 100:.0f} % active; "
            + (
                "the workload is measured by outcomes, so its volume follows the work to be "
                "done rather than headcount"
                if workload.outcomes is not None
                else "no outcome is defined"
            ),
        )
    )
    if headcount:
        return "per-seat", steps
    outcome = workload.outcomes is not None and workload.outcomes.success_rate > 0
    steps.append(
        Step(
            "Is there an outcome that can be defined and measured?",
            outcome,
            (
                f"outcome {workload.outcomes.metric!r} with success rate "
                f"{workload.outcomes.success_rate:.0%} and dispute rate "
                f"{workload.outcomes.dispute_rate:.0%}"
                if workload.outcomes is not None
                else "the workload defines no outcome"
            ),
        )
    )
    return ("per-outcome" if outcome else "per-task"), steps


def advise(
    workload: WorkloadSource,
    plans: Sequence[PlanLike] = (),
    *,
    sims: int = 2000,
    seed: int = 7,
    discount_rate: float = 0.0,
) -> Advice:
    loaded = load_workload(workload)
    variability = usage_variability(loaded, sims, seed)
    model, steps = _decide(loaded, variability)
    advice = Advice(model, steps, variability)
    if not plans:
        return advice
    comparison = compare(plans, loaded, sims, seed, discount_rate=discount_rate)
    advice.comparison = comparison
    by_tco = sorted(comparison.plans, key=lambda p: p.result.tco)
    matching = [p for p in by_tco if p.plan.model_kind == model]
    chosen = matching[0] if matching else by_tco[0]
    advice.recommended_plan = chosen.id
    currency = chosen.plan.currency
    m = chosen.result.monthly
    advice.reasons.append(
        f"{chosen.id} ({chosen.plan.model_kind}): expected {m.mean:,.2f} {currency} a month, "
        f"P50 {m.p50:,.2f}, P95 {m.p95:,.2f}, P99 {m.p99:,.2f}, CVaR95 {m.cvar95:,.2f}, "
        f"worst {m.max:,.2f}; TCO {chosen.result.tco:,.2f} over {loaded.horizon_months} months"
    )
    if not matching:
        advice.reasons.append(
            f"no plan given follows the recommended {model} model; {chosen.id} has the "
            "lowest expected TCO"
        )
    elif by_tco[0] is not chosen:
        cheapest = by_tco[0]
        advice.reasons.append(
            f"{cheapest.id} ({cheapest.plan.model_kind}) is cheaper on average (TCO "
            f"{cheapest.result.tco:,.2f}) but its P99 month is "
            f"{cheapest.result.monthly.p99:,.2f} against {m.p99:,.2f}"
        )
    others: dict[str, Any] = {}
    for candidate in by_tco:
        kind = candidate.plan.model_kind
        if candidate is not chosen and kind != chosen.plan.model_kind and kind not in others:
            others[kind] = candidate
    for other in others.values():
        found = breakeven(chosen.plan, other.plan, loaded, sims=max(sims // 4, 200), seed=seed)
        advice.breakevens.append(found)
        if found.value is None:
            advice.reasons.append(
                f"against {other.id}: {found.below} is cheaper at every {found.driver} value "
                f"from {found.curve.values[0]:,.1f} to {found.curve.values[-1]:,.1f}"
            )
        else:
            advice.reasons.append(
                f"against {other.id}: break-even at {found.value:,.1f} {found.driver} "
                f"(now {found.current:,.1f}); {found.below} is cheaper below, {found.above} above"
            )
    return advice
