"""Pricing every scenario-month of a :class:`Block` under a compiled plan at once.

The float64 counterpart of :func:`ratecard.charges.evaluate` (DESIGN.md section 3), run by the
compiled kernel of :mod:`ratecard.simulate.kernel` over the plan's
:class:`~ratecard.simulate.program.Program`; this module places each month in the contract
(escalation, which credit grants are usable) and hands the kernel its arrays.

Tolerance: amounts are exact (unrounded) amounts in float64, within 1e-9 relative of the
evaluator's ``exact_total`` for a plan whose ``rounding.scope`` is ``invoice``; under
``scope: line`` the evaluator rounds each line first, so a month differs from the invoice
``total`` by at most half a minor unit per invoice line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import numpy as np
from numpy.typing import NDArray

from ratecard.charges.calendar import years_between
from ratecard.plan.model import Plan
from ratecard.simulate.compile import CompiledPlan
from ratecard.simulate.program import Program, grant_order
from ratecard.simulate.usage import Block

__all__ = ["Calendar", "PlanCost", "add_months", "calendar_of", "price_block"]

FloatArray = NDArray[np.float64]


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole months (the day clamped to the month's last day)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    for day in range(start.day, 27, -1):
        try:
            return date(year, month + 1, day)
        except ValueError:
            continue
    return date(year, month + 1, min(start.day, 28))


@dataclass(frozen=True)
class Calendar:
    """Where each simulated month sits in the contract of one plan. The simulation starts at
    the contract start, so commitment terms start at months 0, ``term``, ``2 term``, ..."""

    starts: tuple[date, ...]
    escalation: FloatArray  # (months,)
    credit_months: FloatArray
    """``(grants, months)``: 1 where a credit grant can be used, grants in the order of use."""


def calendar_of(plan: Plan, start: date, months: int) -> Calendar:
    starts = tuple(add_months(start, m) for m in range(months))
    escalation = np.ones(months)
    if plan.modifiers.escalation is not None:
        rate = 1 + float(plan.modifiers.escalation.yearly_percent) / 100
        escalation = np.array([rate ** years_between(start, s) for s in starts])
    grants = [plan.modifiers.credits[i] for i in grant_order(plan)]
    usable = [
        [
            (g.starts is None or g.starts <= month) and (g.expires is None or g.expires >= month)
            for month in starts
        ]
        for g in grants
    ]
    credit_months = np.array(usable, dtype=np.float64).reshape(len(grants), months)
    return Calendar(starts, escalation, credit_months)


@dataclass
class PlanCost:
    """One plan's cost of every scenario-month of a block, ``(scenarios, months)``."""

    total: FloatArray
    unserved: dict[str, FloatArray] = field(default_factory=dict)
    """Units above fair-use limits, per metric: not served, not billed."""
    shortfall: FloatArray | None = None
    """Postpaid commitment shortfall billed at term end."""
    forfeited: FloatArray | None = None
    """Prepaid commitment balance forfeited at term end."""
    credits: FloatArray | None = None
    """Credit grants used."""


@cache
def _kernel() -> Callable[..., None]:
    """The pricing kernel, imported on first use (Numba costs half a second that commands
    which never simulate, as quote, rate and validate, should not pay) and kept (an import
    statement per call costs about a microsecond)."""
    from ratecard.simulate.kernel import price_kernel

    return price_kernel


@cache
def _tile() -> int:
    """The kernel's tile, in scenarios (imported with the kernel, on first use)."""
    from ratecard.simulate.kernel import TILE

    return TILE


def price_block(
    compiled: CompiledPlan, block: Block, calendar: Calendar, *, details: bool = True
) -> PlanCost:
    """Price every scenario-month of ``block`` (see the module docstring for the tolerance).

    With ``details`` the cost holds, beside the totals, the units above fair-use limits, the
    commitment's shortfall or forfeited balance and the credits used; without, the totals only
    (the kernel then keeps the others in scratch rows of one tile, instead of writing arrays
    as large as the block's to memory: a caller that streams statistics of the totals needs no
    more)."""
    program: Program = compiled.program
    usage, totals, disputed = block.indexed()
    shape = block.shape
    size = shape[0] * shape[1]
    modifiers = compiled.plan.modifiers
    commitment = modifiers.commitment
    kernel, tile = _kernel(), _tile()
    # (the kernel writes every output whole: zeroing them here would be a pass of its own)
    out_total = np.empty(size)
    rows = size if details else min(size, tile * shape[1])
    out_unserved = np.empty((len(program.unserved_metrics), rows))
    out_shortfall = np.empty(rows if commitment and commitment.payment == "postpaid" else 1)
    out_forfeited = np.empty(rows if commitment and commitment.payment == "prepaid" else 1)
    out_credits = np.empty(rows if modifiers.credits else 1)
    kernel(
        usage,
        shape[1],
        *program.arguments(totals, disputed),
        calendar.escalation,
        calendar.credit_months,
        out_total,
        out_unserved,
        out_shortfall,
        out_forfeited,
        out_credits,
        details,
    )
    if not details:
        return PlanCost(out_total.reshape(shape))
    unserved = out_unserved.reshape(-1, *shape)
    cost = PlanCost(
        out_total.reshape(shape), dict(zip(program.unserved_metrics, unserved, strict=True))
    )
    if modifiers.commitment is not None:
        if modifiers.commitment.payment == "postpaid":
            cost.shortfall = out_shortfall.reshape(shape)
        else:
            cost.forfeited = out_forfeited.reshape(shape)
    if modifiers.credits:
        cost.credits = out_credits.reshape(shape)
    return cost
