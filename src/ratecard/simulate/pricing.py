"""Pricing every scenario-month of a :class:`Block` under a compiled plan at once.

The float64 counterpart of :func:`ratecard.charges.evaluate` (DESIGN.md section 3): seats and
flat fees, fair use (units above it unserved, never billed), included allowances consumed in
plan order, price models, dimension and time-of-day factors, tokens categories, outcomes with
disputes credited at the marginal price, component minimum and maximum, escalation, then the
modifiers in order: discounts -> commitment (postpaid shortfall at term end, or prepaid
drawdown and forfeit) -> minimum -> cap -> credits.

Tolerance: amounts are exact (unrounded) amounts in float64, within 1e-9 relative of the
evaluator's ``exact_total`` for a plan whose ``rounding.scope`` is ``invoice``; under
``scope: line`` the evaluator rounds each line first, so a month differs from the invoice
``total`` by at most half a minor unit per invoice line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from ratecard.charges.calendar import years_between
from ratecard.plan.model import Plan
from ratecard.simulate.compile import CompiledPlan, FlatPart, MeteredPart, SeatPart, TokensPart
from ratecard.simulate.stats_math import excess_share
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


def calendar_of(plan: Plan, start: date, months: int) -> Calendar:
    starts = tuple(add_months(start, m) for m in range(months))
    escalation = np.ones(months)
    if plan.modifiers.escalation is not None:
        rate = 1 + float(plan.modifiers.escalation.yearly_percent) / 100
        escalation = np.array([rate ** years_between(start, s) for s in starts])
    return Calendar(starts, escalation)


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


Value = FloatArray | float
"""An amount per scenario-month: an array ``(scenarios, months)``, a row ``(months,)`` or a
number, broadcast alike."""


def _safe(values: FloatArray) -> FloatArray:
    """``values`` with zeros (and negatives) replaced by 1, to divide by."""
    result: FloatArray = values + (values <= 0) * (1.0 - values)
    return result


def _usage_charges(
    compiled: CompiledPlan, block: Block, cost: PlanCost
) -> tuple[dict[str, Value], dict[str, FloatArray]]:
    """Component charges (before escalation, after component limits) and outcome reversals."""

    def raw(metric: str) -> Value:
        total = block.totals.get(metric)
        disputed = block.disputed.get(metric)
        if total is None:
            return 0.0 if disputed is None else disputed
        return total if disputed is None else total + disputed

    billed: dict[str, FloatArray] = {}
    for part in compiled.parts:
        if isinstance(part, SeatPart):
            billed[part.id] = (
                block.seats if part.min_seats <= 0 else np.maximum(block.seats, part.min_seats)
            )
    per_user = any(
        limit.per_user_sigma is not None for limit in compiled.fair_use + compiled.included
    )
    active = _safe(block.active) if per_user else block.active
    served: dict[str, Value] = {}  # units of each metric served under fair use
    for limit in compiled.fair_use:
        units = np.asarray(raw(limit.metric), dtype=np.float64)
        # Each limit is checked against the raw units; the served shares of several limits on
        # one metric multiply, as the evaluator's served fractions do.
        if limit.per_user_sigma is None:
            cap = limit.quantity * billed[limit.seat]
            unserved = np.maximum(units - cap, 0.0)
        else:
            unserved = units * excess_share(units / active, limit.quantity, limit.per_user_sigma)
        kept = units - unserved
        if limit.metric in served:
            kept = served[limit.metric] * (kept / _safe(units))
        served[limit.metric] = kept
        unserved = np.broadcast_to(unserved, block.shape)
        previous = cost.unserved.get(limit.metric)
        cost.unserved[limit.metric] = unserved.copy() if previous is None else previous + unserved
    left: dict[str, Value] = {}
    for limit in compiled.included:
        if limit.per_user_sigma is None:
            usable: Value = limit.quantity * billed[limit.seat]
        else:
            total = np.asarray(raw(limit.metric), dtype=np.float64)
            share = excess_share(total / active, limit.quantity, limit.per_user_sigma)
            usable = total * (1.0 - share)
        left[limit.metric] = left.get(limit.metric, 0.0) + usable
    charges: dict[str, Value] = {}
    reversals: dict[str, FloatArray] = {}
    for part in compiled.parts:
        if isinstance(part, FlatPart):
            charges[part.id] = part.amount
        elif isinstance(part, SeatPart):
            charges[part.id] = billed[part.id] * part.unit_price
        elif isinstance(part, TokensPart):
            amount: Value = 0.0
            for metric, coefficient in part.coefficients.items():
                if metric in block.totals and coefficient:
                    amount = amount + block.totals[metric] * coefficient
            charges[part.id] = amount
        else:
            charges[part.id], reversal = _metered(part, block, raw(part.metric), served, left)
            if reversal is not None:
                reversals[part.id] = reversal
    for component, minimum in compiled.minimums.items():
        charges[component] = np.maximum(charges[component], minimum)
    for component, maximum in compiled.maximums.items():
        charges[component] = np.minimum(charges[component], maximum)
    return charges, reversals


def _metered(
    part: MeteredPart,
    block: Block,
    raw: Value,
    served: dict[str, Value],
    left: dict[str, Value],
) -> tuple[Value, FloatArray | None]:
    if part.outcome:
        units: Value = block.totals.get(part.metric, 0.0)
        if part.matched != 1.0:
            units = units * part.matched
        q = units / part.per if part.per != 1.0 else units
        charge = part.price(np.asarray(q, dtype=np.float64))
        amount = _shared(part, charge, q, units)
        disputed = block.disputed.get(part.metric)
        if disputed is None:
            return amount, None
        extra = disputed * part.matched / part.per
        return amount, charge - part.price(q + extra)
    units = served.get(part.metric, raw)
    if part.matched != 1.0:
        units = units * part.matched
    billable = units
    pool = left.get(part.metric)
    if pool is not None:
        used = np.minimum(pool, units)
        left[part.metric] = pool - used
        billable = units - used
    q = billable / part.per if part.per != 1.0 else billable
    return _shared(part, part.price(np.asarray(q, dtype=np.float64)), q, units), None


def _shared(part: MeteredPart, charge: FloatArray, q: Value, units: Value) -> Value:
    """The charge shared over the price groups: ``charge * kappa + q * rho``; with no units to
    share it by, the charge itself (a flat fee at zero usage)."""
    if part.kappa == 1.0 and not part.rho:
        return charge
    shared = charge * part.kappa
    if part.rho:
        shared = shared + q * part.rho
    result: FloatArray = charge + (np.asarray(units) > 0) * (shared - charge)
    return result


def price_block(compiled: CompiledPlan, block: Block, calendar: Calendar) -> PlanCost:
    """Price every scenario-month of ``block`` (see the module docstring for the tolerance)."""
    cost = PlanCost(np.zeros(0))
    charges, reversals = _usage_charges(compiled, block, cost)
    modifiers = compiled.plan.modifiers
    escalation: FloatArray | float = calendar.escalation
    if modifiers.escalation is None:
        escalation = 1.0
    lines: dict[str, Value] = {}
    eligible_base: dict[str, Value] = {}
    for component, charge in charges.items():
        base = charge * escalation if modifiers.escalation is not None else charge
        discount = 0.0
        for entry in modifiers.discounts:
            if entry.applies_to is None or component in entry.applies_to:
                discount += float(entry.percent) / 100
        if discount:
            base = base * (1.0 - discount)
        eligible_base[component] = base
        line = base
        if component in reversals:
            line = line + reversals[component] * escalation
        lines[component] = line
    subtotal: Value = 0.0
    if modifiers.commitment is not None:
        subtotal = _commitment(compiled, lines, eligible_base, block.shape, cost)
    for line in lines.values():
        subtotal = subtotal + line
    if modifiers.minimum is not None:
        subtotal = np.maximum(subtotal, float(modifiers.minimum.amount) * escalation)
    if modifiers.cap is not None:
        subtotal = np.minimum(subtotal, float(modifiers.cap.amount) * escalation)
    total = np.asarray(subtotal, dtype=np.float64)
    if total.shape != block.shape:
        total = np.broadcast_to(total, block.shape).copy()
    if modifiers.credits:
        used = _credits(compiled, lines, total, calendar)
        cost.credits = used
        total = total - used
    cost.total = total
    return cost


def _term_sums(values: FloatArray, term: int) -> tuple[FloatArray, FloatArray]:
    """Running sums of ``values`` within each commitment term of ``term`` months (the
    simulation starts at the contract start, so terms start at months 0, term, 2 term, ...):
    (running sum through each month, running sum before each month)."""
    running = np.cumsum(values, axis=1)
    months = values.shape[1]
    starts = np.arange(term, months, term)
    if starts.size:
        offsets = np.zeros_like(running)
        for start in starts:
            offsets[:, start:] = running[:, start - 1 : start]
        running = running - offsets
    return running, running - values


def _commitment(
    compiled: CompiledPlan,
    lines: dict[str, Value],
    eligible_base: dict[str, Value],
    shape: tuple[int, int],
    cost: PlanCost,
) -> FloatArray:
    """Apply the commitment to ``lines`` in place; returns its lines without a component."""
    commitment = compiled.plan.modifiers.commitment
    assert commitment is not None
    names = compiled.ids if commitment.applies_to is None else tuple(commitment.applies_to)
    gross = np.zeros(shape)
    for component in names:
        gross = gross + eligible_base[component]
    rate = float(commitment.discount_percent) / 100
    amount = float(commitment.amount)
    term = commitment.term_months
    months = shape[1]
    last = np.arange(term - 1, months, term)
    net = gross * (1 - rate)
    through, before = _term_sums(net, term)
    if commitment.payment == "postpaid":
        if rate:
            for component in names:
                lines[component] = lines[component] - eligible_base[component] * rate
        shortfall = np.zeros(shape)
        shortfall[:, last] = np.maximum(amount - through[:, last], 0.0)
        cost.shortfall = shortfall
        return shortfall
    overage = rate
    if commitment.overage_discount_percent is not None:
        overage = float(commitment.overage_discount_percent) / 100
    balance = np.maximum(amount - before, 0.0)
    covered = np.minimum(balance / _safe(net), 1.0)
    drawn = np.minimum(net, balance)  # zero when there is nothing eligible
    percent = covered * rate + (1 - covered) * overage
    for component in names:
        lines[component] = lines[component] - eligible_base[component] * percent
    forfeited = np.zeros(shape)
    forfeited[:, last] = np.maximum(amount - through[:, last], 0.0)
    cost.forfeited = forfeited
    extra = -drawn
    extra[:, ::term] += amount
    return extra


def _credits(
    compiled: CompiledPlan,
    lines: dict[str, Value],
    subtotal: FloatArray,
    calendar: Calendar,
) -> FloatArray:
    """Credit grants, oldest expiry first, each month: a grant's balance before a month is its
    amount less what it covered in earlier months (coverage is never negative), so each
    grant's use is a running sum over the months."""
    grants = compiled.plan.modifiers.credits
    order = sorted(
        range(len(grants)),
        key=lambda i: (grants[i].expires is None, grants[i].expires or date.max, i),
    )
    remaining = subtotal.copy()
    used = np.zeros(subtotal.shape)
    for index in order:
        grant = grants[index]
        usable = np.array(
            [
                (grant.starts is None or grant.starts <= start)
                and (grant.expires is None or grant.expires >= start)
                for start in calendar.starts
            ]
        )
        coverable = remaining
        if grant.applies_to is not None:
            named: Value = 0.0
            for component in grant.applies_to:
                named = named + lines[component]
            coverable = np.minimum(named, remaining)
        coverable = np.maximum(coverable, 0.0)
        if not usable.all():
            coverable = coverable * usable
        before = np.cumsum(coverable, axis=1) - coverable
        use = np.minimum(coverable, np.maximum(float(grant.amount) - before, 0.0))
        remaining = remaining - use
        used += use
    return used
