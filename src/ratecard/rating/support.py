"""Which plan features the SQL engines rate; the rest go to the exact evaluator."""

from __future__ import annotations

from decimal import Decimal

from ratecard.errors import Problem
from ratecard.plan.components import (
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan
from ratecard.plan.prices import PercentagePrice

__all__ = ["inverse", "needs_python_pipeline", "unsupported"]


def inverse(per: Decimal) -> Decimal | None:
    """``1 / per`` when it is a terminating decimal (per = 2^a * 5^b * 10^k), else None."""
    value = per
    while value % 2 == 0 or value % 5 == 0:
        value = value / (2 if value % 2 == 0 else 5)
    if value != 1 and per == per.to_integral_value():
        return None
    result = Decimal(1) / per
    return result if result * per == 1 else None


def unsupported(plan: Plan) -> list[Problem]:
    """Every feature of ``plan`` the SQL engines do not rate (customers on such a plan are
    rated by the exact evaluator, :mod:`ratecard.rating.exact`)."""
    problems: list[Problem] = []

    def note(index: int, path: str, what: str) -> None:
        problems.append(Problem(what, f"components[{index}]{path}", f"plan {plan.id}"))

    for index, component in enumerate(plan.components):
        if isinstance(component, SeatComponent):
            if component.fair_use_limits:
                note(index, ".fair_use", "a fair_use limit")
            if any(not a.pooled for a in component.allowances):
                note(index, ".included", "a per-user (pooled: false) allowance")
        if (
            isinstance(component, UsageComponent | OutcomeComponent | TokensComponent)
            and inverse(component.per) is None
        ):
            note(index, ".per", f"per {component.per} (only 2^a * 5^b, e.g. 1000000)")
        if isinstance(component, UsageComponent | OutcomeComponent) and isinstance(
            component.price, PercentagePrice
        ):
            note(index, ".price", "a percentage price (each event priced in order)")
    return problems


def needs_python_pipeline(plan: Plan) -> bool:
    """Plans whose modifiers (or component limits, or rounding other than half-up per line)
    run through :mod:`ratecard.charges.modifiers` on the SQL-produced lines."""
    modifiers = plan.modifiers
    return bool(
        modifiers.discounts
        or modifiers.commitment
        or modifiers.minimum
        or modifiers.cap
        or modifiers.credits
        or plan.rounding.scope != "line"
        or plan.rounding.mode != "half_up"
        or any(c.minimum is not None or c.maximum is not None for c in plan.components)
    )
