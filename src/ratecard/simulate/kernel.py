"""The pricing kernel: every scenario-month of a block priced in one compiled call.

The kernel reads a :class:`~ratecard.simulate.program.Program` (a plan flattened to arrays)
and a block's usage arrays, and prices a tile of scenarios at a time: each step is a loop over
the tile's scenario-months, and the steps that run through time (commitment terms, credit
balances) go month by month, for the tile's scenarios side by side. Every step is the float64
counterpart of the exact evaluator (:func:`ratecard.charges.evaluate`, DESIGN.md section 3), in
its order: seats, fair use (units above it unserved, never billed), included allowances
consumed in plan order, price models, dimension and time-of-day factors (``kappa``, ``rho``),
token categories, outcomes with disputes credited at the marginal price, component minimum and
maximum, escalation, then the modifiers: discounts -> commitment (postpaid shortfall at term
end, or prepaid drawdown and forfeit) -> minimum -> cap -> credits.

Numba compiles it once per machine (``cache=True`` keeps the machine code next to this file,
or in the user's cache directory where that is read-only). Against a NumPy evaluator of the
same steps, nothing is allocated per step and every step works on data in the first- or
second-level cache; the block's arrays are read in place, from memory, once per plan. Each
pass over a tile costs about as much as the arithmetic in it, so the common steps are fused:
a component's charge is limited, discounted, escalated and added to its sum (booked) in the
pass that prices it, and a unit price is applied in the pass that reads the units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from ratecard.simulate.program import (
    FLAT,
    GRADUATED,
    OUTCOME,
    SEAT,
    TOKENS,
    UNIT,
    USAGE,
    VOLUME,
)

__all__ = ["SNAP", "TILE", "excess_share", "price_kernel", "price_row"]

SNAP = 1e-12
"""A quantity within 1e-12 (relative) of a tier bound or a package boundary counts as on it,
so that float sums like ``0.1 + 0.2`` fall where their exact value falls."""

F = TypeVar("F", bound=Callable[..., Any])
_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}
"""``error_model="numpy"``: a division by zero gives inf or nan as in NumPy instead of a check
before every division (no division in the kernel has a zero divisor: ``per`` and package
sizes are positive, and shares divide by a value made positive first)."""
_jit = cast(Callable[[F], F], numba.njit(**_OPTIONS))
_inline = cast(Callable[[F], F], numba.njit(inline="always", **_OPTIONS))
"""For helpers called inside the kernel's loops: inlined by Numba, so that no call passes
arrays (each array argument of a compiled call costs reference counting)."""

# The kernel's rows of units per metric.
_TOTAL, _RAW, _SERVED = range(3)


@_inline
def _norm_cdf(x: float) -> float:
    """The standard normal distribution function (``erfc`` to full precision: the share above
    a limit subtracts two of these, the second scaled by limit / mean, which can be large)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@_inline
def excess_share(mean: float, limit: float, sigma: float) -> float:
    """``E[(X - limit)+] / E[X]`` for a lognormal ``X`` with the given mean and log-sigma: the
    share of usage above a per-user limit when each user's usage is lognormal around ``mean``.
    ``sigma = 0`` is the exact ``max(mean - limit, 0) / mean``; a zero mean gives 0."""
    if mean <= 0.0:
        return 0.0
    if sigma <= 0.0 or limit <= 0.0:
        return max(mean - limit, 0.0) / mean
    d1 = (math.log(mean / limit) + sigma * sigma / 2.0) / sigma
    share = _norm_cdf(d1) - limit / mean * _norm_cdf(d1 - sigma)
    return min(max(share, 0.0), 1.0)


TILE = 64
"""Scenarios priced together: their months lie next to each other in the ``(scenarios,
months)`` arrays, so each step of the kernel is one short loop over ``TILE * months`` values
that the compiler turns into vector instructions, on rows that stay in the processor's
second-level cache. Only the steps that run through time (commitment terms, credit
balances) go month by month, for the tile's scenarios side by side. Over the benchmark's 10
plans and 36 months, 64 measured about 5 % faster than 32 and 48, 11 % faster than 16, and
no slower than 128; 256 was slower again."""


@_inline
def price_row(
    q: Any,
    out: Any,
    work: Any,
    n: int,
    kind: int,
    unit: float,
    fee_at_zero: int,
    size: float,
    free: float,
    round_up: int,
    upper: Any,
    price: Any,
    fee: Any,
    start: int,
    count: int,
) -> None:
    """A price model's charge ``out[i]`` for ``q[i]`` units, ``i < n`` (DESIGN.md 3.1);
    ``work`` is a scratch row."""
    if kind == UNIT:
        for i in range(n):
            out[i] = q[i] * unit
    elif kind == GRADUATED:
        # Tier by tier, the units within each tier's bounds at its price (a sum of positive
        # slices: no digits lost when prices fall steeply), plus a tier's flat fee once q
        # enters it (is above its lower bound; the first tier's at zero too if so set).
        # (the second tier's units are added in the first tier's pass where no fee comes
        # between them)
        first, bound, cost = fee[start], upper[start], price[start]
        paired = count > 1 and first == 0.0 and price[start + 1] != 0.0
        if paired:
            width, unit_price = upper[start + 1] - bound, price[start + 1]
            for i in range(n):
                out[i] = min(q[i], bound) * cost + min(max(q[i] - bound, 0.0), width) * unit_price
        else:
            for i in range(n):
                out[i] = min(q[i], bound) * cost
        if first != 0.0:
            for i in range(n):
                if fee_at_zero or q[i] > 0.0:
                    out[i] += first
        for t in range(start + 1, start + count):
            lower, width, unit_price, flat = upper[t - 1], upper[t] - upper[t - 1], price[t], fee[t]
            if unit_price != 0.0 and not (paired and t == start + 1):
                for i in range(n):
                    out[i] += min(max(q[i] - lower, 0.0), width) * unit_price
            if flat != 0.0:
                snapped = lower * (1.0 + SNAP)
                for i in range(n):
                    if q[i] > snapped:
                        out[i] += flat
    elif kind == VOLUME:
        # Every unit at the price (and fee) of the tier q falls in, picked rather than summed
        # from steps between tiers (a sum of steps loses digits when prices fall steeply);
        # one pass per tier bound, each a vectorisable select. The first pass picks from the
        # first tier's price and the last multiplies by q, so that neither takes a pass.
        fees = False
        for t in range(start, start + count):
            fees = fees or fee[t] != 0.0
        last = start + count - 1
        lowest, lowest_fee = price[start], fee[start]
        if count == 1:
            for i in range(n):
                out[i] = q[i] * lowest
                work[i] = lowest_fee
        for t in range(start, last):
            snapped, unit_price, flat = upper[t] * (1.0 + SNAP), price[t + 1], fee[t + 1]
            lowest_bound, highest_bound = t == start, t == last - 1
            # (selects rather than stores under a condition, which stay scalar)
            for i in range(n):
                picked = unit_price if q[i] > snapped else lowest if lowest_bound else out[i]
                out[i] = q[i] * picked if highest_bound else picked
            if fees:
                for i in range(n):
                    work[i] = flat if q[i] > snapped else lowest_fee if lowest_bound else work[i]
        if fees:
            for i in range(n):
                out[i] += 0.0 if q[i] == 0.0 and not fee_at_zero else work[i]
    else:  # PACKAGE
        for i in range(n):
            ratio = max(q[i] - free, 0.0) / size
            nudge = SNAP * max(ratio, 1.0)
            packages = np.ceil(ratio - nudge) if round_up else np.floor(ratio + nudge)
            out[i] = packages * unit


@_inline
def _three_tiers(
    q: float, volume: bool, a: float, b: float, c: float, p1: float, p2: float, p3: float
) -> float:
    """A price of up to three tiers without fees, in closed form (a tier the price lacks has
    a zero price and width, and an infinite bound). Graduated: the units up to ``a`` at
    ``p1``, the next ``b`` at ``p2``, those above ``c`` at ``p3``, summed as
    :func:`price_row` sums the tiers, to the same digits (it adds a tier of zero price as
    nothing, here as ``+ 0.0``). Volume: every unit at ``p1``, ``p2`` above the (snapped)
    bound ``a`` or ``p3`` above ``c``, picked as :func:`price_row` picks them."""
    if volume:
        picked = p2 if q > a else p1
        picked = p3 if q > c else picked
        return q * picked
    return min(q, a) * p1 + min(max(q - a, 0.0), b) * p2 + max(q - c, 0.0) * p3


@_inline
def _fused(
    units: float,
    limited_seats: float,
    allowed_seats: float,
    limits: tuple[float, float, float],
    price: tuple[bool, float, float, float, float, float, float],
) -> tuple[float, float]:
    """A month's units above a pooled fair-use limit and its charge, for a metric priced in
    one pass: ``limits`` is the limit and the allowance per seat and the component's matched
    share, ``price`` :func:`_three_tiers`'s. The units are served up to the limit times the
    limiting seats, the pool of the allowance times the allowed seats covers what it can,
    and the rest is priced, to the same digits as the passes of fair use, allowance and
    price."""
    limit, allowance, matched = limits
    volume, a, b, c, p1, p2, p3 = price
    excess = max(units - limit * limited_seats, 0.0)
    wanted = (units - excess) * matched
    used = min(0.0 + allowance * allowed_seats, wanted)
    return 0.0 + excess, _three_tiers(wanted - used, volume, a, b, c, p1, p2, p3)


@_inline
def _drawdown(
    net: float, before: float, amount: float, rate: float, overage: float
) -> tuple[float, float]:
    """The share of a month's net (of the commitment discount) that a prepaid commitment takes
    off, and what its balance pays, given the term's sum ``before`` the month: the balance
    left covers a share of the net at ``rate``, the rest at the ``overage`` discount (a month
    whose refunds outweigh its charges takes and pays nothing)."""
    balance = max(amount - before, 0.0)
    covered = min(balance / (net if net > 0.0 else 1.0), 1.0)
    share = covered * rate + (1.0 - covered) * overage
    return (share, min(net, balance)) if net > 0.0 else (0.0, 0.0)


# Where a component's charge is added as it is booked (``_book``).
_SUBTOTAL, _GROSS, _LATER = range(3)


@_inline
def _clamp(value: float, lo: float, hi: float) -> float:
    """``min(max(value, lo), hi)``, in that order (a minimum above the maximum gives the
    maximum)."""
    value = lo if value < lo else value
    return hi if value > hi else value


@_inline
def _book(
    charge: float, i: int, booked: Any, sum_row: Any, kept: Any, lo: float, hi: float
) -> None:
    """Book a component's charge ``charge`` for month ``i`` of the tile: limited to its
    minimum and maximum ``lo`` and ``hi``, multiplied by its share kept after discounts and
    escalation, written into its row ``booked`` and added to ``sum_row``. Called in the last
    pass that works out the charge, so that booking it takes no pass of its own. Never for a
    ``simple`` component: its ``kept`` row is not filled (:func:`_add` books those)."""
    value = _clamp(charge, lo, hi) * kept[i]
    booked[i] = value
    sum_row[i] += value


@_inline
def _add(charge: float, i: int, sum_row: Any, kept: float) -> None:
    """:func:`_book` for a component without limits whose row nothing reads (``simple``):
    only added to its sum, times its kept share before escalation."""
    sum_row[i] += charge * kept


@_inline
def _fill_kept(
    row: Any, factor: Any, kept: float, escalated: bool, folded: bool, kept_net: float
) -> None:
    """A component's kept share in each month of the tile: ``kept``, escalated, and with a
    folded commitment's discount taken off."""
    for i in range(row.shape[0]):
        row[i] = factor[i] * kept if escalated else kept
        if folded:
            row[i] *= kept_net


@_inline
def _start(row: Any, fixed: Any, has_fixed: bool, n: int) -> None:
    """Start a tile's sum ``row`` from the fixed charges booked into it, or from zero where
    there are none (a pass that reads nothing)."""
    if has_fixed:
        for i in range(n):
            row[i] = fixed[i]
    else:
        for i in range(n):
            row[i] = 0.0


@_inline
def _sum_row(target: int, subtotal: Any, gross: Any, later: Any) -> Any:
    """The row a component's charges are added to as they are booked."""
    if target == _SUBTOTAL:
        return subtotal
    return gross if target == _GROSS else later


@_inline
def _units(usage: Any, rows: Any, slot: int, which: int, k: int, start: int, n: int) -> Any:
    """The tile's row ``which`` of metric ``k``'s units: its total (``_TOTAL``) is the block's
    array ``usage[slot]`` itself, read in place (a zero row where the block lacks the metric);
    its raw and served units are rows of ``rows``."""
    if which == _TOTAL and slot >= 0:
        return usage[slot][start : start + n]
    return rows[which, k, :n]


@_jit
def price_kernel(
    usage: Any,
    months: int,
    total_slot: Any,
    disputed_slot: Any,
    part_kind: Any,
    part_metric: Any,
    part_amount: Any,
    part_min_seats: Any,
    part_per: Any,
    part_matched: Any,
    part_kappa: Any,
    part_rho: Any,
    part_minimum: Any,
    part_maximum: Any,
    part_kept: Any,
    part_committed: Any,
    price_kind: Any,
    price_unit: Any,
    price_fee_at_zero: Any,
    price_size: Any,
    price_free: Any,
    price_round_up: Any,
    tier_start: Any,
    tier_count: Any,
    tier_upper: Any,
    tier_price: Any,
    tier_fee: Any,
    coef_start: Any,
    coef_count: Any,
    coef_metric: Any,
    coef_value: Any,
    fair_seat: Any,
    fair_metric: Any,
    fair_quantity: Any,
    fair_sigma: Any,
    fair_out: Any,
    included_seat: Any,
    included_metric: Any,
    included_quantity: Any,
    included_sigma: Any,
    commitment: Any,
    minimum: float,
    cap: float,
    grant_amount: Any,
    grant_all: Any,
    grant_start: Any,
    grant_count: Any,
    grant_parts: Any,
    escalation: Any,
    grant_usable: Any,
    out_total: Any,
    out_unserved: Any,
    out_shortfall: Any,
    out_forfeited: Any,
    out_credits: Any,
    details: bool,
) -> None:
    """Price every scenario-month of ``usage`` into ``out_total`` and the unserved,
    shortfall, forfeited and credit outputs (each written whole: they may start uninitialised,
    so that the caller need not zero them in a pass of its own).

    ``usage`` is a tuple of flattened ``(scenarios, months)`` arrays: ``usage[0]`` seats,
    ``usage[1]`` active seats; metric ``k`` of the program reads ``usage[total_slot[k]]`` and
    ``usage[disputed_slot[k]]`` (-1: not sampled, zero). Outputs are flattened alike; without
    ``details`` only ``out_total`` is, and the others are scratch rows of one tile
    (:data:`TILE` scenarios), rewritten tile after tile: a caller that reads the totals only
    saves writing them to memory."""
    size = usage[0].shape[0]
    parts, metrics = part_kind.shape[0], total_slot.shape[0]
    grants = grant_amount.shape[0]
    named_lines = False  # whether a credit grant reads the invoice lines of named components
    for g in range(grants):
        named_lines = named_lines or grant_all[g] == 0
    committing = commitment[0] != 0.0
    amount, term = commitment[1], int(commitment[2])
    rate, overage, prepaid = commitment[3], commitment[4], commitment[5] != 0.0
    escalated = False
    for m in range(months):
        escalated = escalated or escalation[m] != 1.0
    disputes = False
    for p in range(parts):
        disputes = disputes or (part_kind[p] == OUTCOME and disputed_slot[part_metric[p]] >= 0)
    per_user = False
    for f in range(fair_sigma.shape[0]):
        per_user = per_user or not math.isnan(fair_sigma[f])
    for f in range(included_sigma.shape[0]):
        per_user = per_user or not math.isnan(included_sigma[f])

    # Where each component's charge is added as it is booked: to the subtotal when its
    # invoice line is the charge itself, to the commitment's gross when the commitment counts
    # it, otherwise nowhere yet (its line is added once the commitment and reversals are known).
    direct = not committing and not disputes
    # A postpaid commitment over every component, whose lines nothing reads one by one (no
    # reversed outcomes, no credit on named lines), is folded into the lines: each charge is
    # booked with the commitment's discount taken off, straight into the subtotal, and the
    # term's sum is the subtotal's (no sum of its own, no pass per line).
    folded = committing and commitment[5] == 0.0 and not (disputes or named_lines)
    for p in range(parts):
        folded = folded and part_committed[p] != 0
    # The plan minimum and cap (escalated with the month), infinite where the plan has none.
    limited = not (math.isnan(minimum) and math.isnan(cap))
    lowest = -math.inf if math.isnan(minimum) else minimum
    highest = math.inf if math.isnan(cap) else cap
    target = np.full(parts, _LATER, dtype=np.int64)
    for p in range(parts):
        if folded or direct:
            target[p] = _SUBTOTAL
        elif committing and part_committed[p]:
            target[p] = _GROSS

    # Which months open and close a commitment term (alike in every scenario).
    opening_month = np.zeros(months, dtype=np.bool_)
    closing_month = np.zeros(months, dtype=np.bool_)
    if committing:
        for m in range(months):
            opening_month[m], closing_month[m] = m % term == 0, m % term == term - 1
    kept_net = 1.0 - rate  # the share of the gross the commitment counts, after its discount
    # A prepaid commitment on a plan's one component, no credit on named lines: the line is
    # added as the drawdown is worked out.
    alone = parts == 1 and prepaid and part_committed[0] != 0 and not (disputes or named_lines)

    # Rows of one tile, reused tile after tile.
    width = TILE * months
    # The escalation factor of each month of the tile, read where the plan escalates or has
    # a minimum or a cap. (a copy per scenario: ``escalation[i % months]`` would be an
    # integer division per value, which cost as much as the rest of a call's setup)
    factor_row = np.ones(width if escalated or limited else 1)
    if escalated or limited:
        for first in range(0, width, months):
            factor_row[first : first + months] = escalation
    # (rows only a prepaid commitment reads are allocated only for it)
    prepayment = np.zeros(width if prepaid else 1)  # the prepaid amount where a term opens
    if committing and prepaid:
        for m in range(months):
            prepayment[m] = amount if opening_month[m] else 0.0
        for first in range(months, width, months):
            prepayment[first : first + months] = prepayment[:months]
    # Each component's share kept after discounts, escalated: filled for the components that
    # read it (fixed ones, below, and those not ``simple``).
    kept = np.empty((parts, width))
    # Each metric's raw and served units. Its total is read from the block's array in place:
    # the _TOTAL rows stay zero, for the metrics the block lacks. (Rows and scratch that each
    # tile writes before it reads them start uninitialised: zeroing them costs more than
    # pricing a small block.)
    rows = np.empty((3, metrics, width))
    for k in range(metrics):
        if total_slot[k] < 0:
            rows[_TOTAL, k] = 0.0
    raw = np.empty(metrics, dtype=np.int64)  # the row of each metric's raw units
    for k in range(metrics):
        raw[k] = _RAW if disputed_slot[k] >= 0 else _TOTAL
    reads_raw = np.zeros(metrics, dtype=np.bool_)  # (outcomes count the total only)
    for f in range(fair_metric.shape[0]):
        reads_raw[fair_metric[f]] = True
    for f in range(included_metric.shape[0]):
        reads_raw[included_metric[f]] = True
    for p in range(parts):
        reads_raw[part_metric[p]] |= part_kind[p] == USAGE
    has_served = np.zeros(metrics, dtype=np.bool_)
    pool = np.empty((metrics, width))  # written by the tile's first allowance on the metric
    has_pool = np.zeros(metrics, dtype=np.bool_)
    billed = np.empty((parts, width))  # (limits read the billed seats of seat components only)
    base = np.empty((parts, width))
    # Invoice lines differ from the escalated, discounted charges only by reversed outcomes
    # and commitment discounts; otherwise they are the same rows.
    line = np.empty((parts, width)) if disputes or committing else base
    # (written for outcomes with disputes only; read with them, and by credits on named lines
    # beside a prepaid commitment: a zero row for every other component)
    reversal = np.zeros((parts, width if disputes or (prepaid and named_lines) else 1))
    gross = np.empty(width)  # the escalated, discounted charges the commitment counts
    # The share of the committed lines the commitment takes off: ``rate`` when postpaid;
    # month by month when prepaid (how much of the balance is left).
    # (read month by month with a prepaid commitment, reversed outcomes or credits on named
    # lines; a postpaid commitment otherwise takes ``rate`` off without reading it)
    taken = np.full(width if committing and (prepaid or disputes or named_lines) else 1, rate)
    later_lines = False
    for p in range(parts):
        later_lines = later_lines or target[p] == _LATER
    # what the charges whose lines are added later are added to
    later = np.zeros(width if later_lines else 1)
    active = np.empty(width)
    units = np.empty(width)
    q = np.empty(width)
    own = np.empty(width)
    more = np.empty(width)
    spare = np.empty(width)  # price_row's scratch row
    before = np.empty(width if prepaid else 1)  # per month: the prepaid term's sum before it
    paid = np.empty(width if prepaid else 1)  # per month: what the prepaid balance paid
    term_sum = np.empty(TILE)  # per scenario of the tile: the commitment term's running sum
    left = np.empty(TILE)  # per scenario of the tile: a credit grant's balance

    # Flat fees, and metered components whose metric the block does not have (zero units
    # every month: the price at zero, a flat fee at zero or nothing), charge the same in every
    # tile: booked once, here, into the rows each tile's sums start from.
    fixed = np.zeros(parts, dtype=np.bool_)
    has_fixed = np.zeros(3, dtype=np.bool_)  # whether a fixed charge is booked into each sum
    for p in range(parts):
        kind, k = part_kind[p], part_metric[p]
        unmetered = kind in (USAGE, OUTCOME) and total_slot[k] < 0 and disputed_slot[k] < 0
        fixed[p] = kind == FLAT or unmetered
        has_fixed[target[p]] |= fixed[p]
    fixed_sums = np.zeros((3, width if has_fixed.any() else 1))  # by target
    for p in range(parts):
        if not fixed[p]:
            continue
        charge = part_amount[p]
        if part_kind[p] != FLAT:  # (the price of zero units)
            q[0] = 0.0
            price_row(
                q, own, spare, 1, price_kind[p], price_unit[p], price_fee_at_zero[p], price_size[p],
                price_free[p], price_round_up[p], tier_upper, tier_price, tier_fee,
                tier_start[p], tier_count[p],
            )  # fmt: skip
            charge = own[0]
        _fill_kept(kept[p], factor_row, part_kept[p], escalated, folded, kept_net)
        booked, sum_row, kept_row = base[p], fixed_sums[target[p]], kept[p]
        lo, hi = part_minimum[p], part_maximum[p]
        for i in range(width):
            _book(charge, i, booked, sum_row, kept_row, lo, hi)

    # Components booked ``simple`` (:func:`_add`): without limits, and their rows read by
    # nothing but the subtotal (not the lines added later, a prepaid drawdown of one
    # component or credits on named lines). Their charges times their kept shares before
    # escalation (``plain_kept``) are added up in ``plain`` when the plan escalates, and the
    # sum escalated once per month (a row of escalated shares read per component cost more);
    # else straight into the subtotal.
    simple = np.zeros(parts, dtype=np.bool_)
    plain_kept = np.empty(parts)
    any_simple = False
    for p in range(parts):
        unlimited = part_minimum[p] == -math.inf and part_maximum[p] == math.inf
        unread = target[p] == _SUBTOTAL and not (alone or named_lines)
        simple[p] = unlimited and unread
        any_simple = any_simple or simple[p]
        plain_kept[p] = part_kept[p] * kept_net if folded else part_kept[p]
    plain = np.empty(width if escalated and any_simple else 1)
    for p in range(parts):
        if not (simple[p] or fixed[p]):
            _fill_kept(kept[p], factor_row, part_kept[p], escalated, folded, kept_net)

    # Graduated and volume prices of up to three tiers without fees, priced in closed form
    # (``_three_tiers``): ``closed``, with the bounds, widths and prices of each.
    closed = np.zeros(parts, dtype=np.bool_)
    tiers = np.zeros((parts, 6))
    for p in range(parts):
        first, count, kind = tier_start[p], tier_count[p], price_kind[p]
        if kind not in (GRADUATED, VOLUME) or not 1 <= count <= 3:
            continue
        closed[p] = tier_upper[first + count - 1] == math.inf
        for t in range(first, first + count):
            closed[p] = closed[p] and tier_fee[t] == 0.0
        bounds = np.full(3, math.inf)  # (the last tier has no upper bound)
        prices = np.zeros(3)
        for t in range(count):
            prices[t] = tier_price[first + t]
            if t < count - 1:
                bounds[t] = tier_upper[first + t]
        row = tiers[p]
        row[3:] = prices
        if kind == VOLUME:
            row[0], row[2] = bounds[0] * (1.0 + SNAP), bounds[1] * (1.0 + SNAP)
        else:
            row[0], row[2] = bounds[0], bounds[1]
            row[1] = 0.0 if count == 1 else tier_upper[first + 1] - tier_upper[first]

    # Whether a usage component reads the metric's units: draws on its pool, bills its
    # served units (else its fair-use limits matter only for the unserved units, a detail).
    drawn = np.zeros(metrics, dtype=np.bool_)
    for p in range(parts):
        if part_kind[p] == USAGE and not fixed[p]:
            drawn[part_metric[p]] = True

    # Metrics whose fair use, allowance and one component are priced in one pass: one pooled
    # fair-use limit (its index in ``fused_fair``), at most one pooled allowance (in
    # ``fused_included``, -1 for none) and one usage component, priced in closed form
    # (``fused_part``); nothing else reads the served units or the pool.
    fused_fair = np.full(metrics, -1, dtype=np.int64)
    fused_included = np.full(metrics, -1, dtype=np.int64)
    fused_part = np.full(metrics, -1, dtype=np.int64)
    for k in range(metrics):
        limits, allowances, users = 0, 0, 0
        for f in range(fair_metric.shape[0]):
            if fair_metric[f] == k:
                limits += 1 if math.isnan(fair_sigma[f]) else 2
                fused_fair[k] = f
        for f in range(included_metric.shape[0]):
            if included_metric[f] == k:
                allowances += 1 if math.isnan(included_sigma[f]) else 2
                fused_included[k] = f
        for p in range(parts):
            if part_kind[p] == USAGE and part_metric[p] == k and not fixed[p]:
                users += 1
                fused_part[k] = p
        p = fused_part[k]
        single = limits == 1 and allowances <= 1 and users == 1
        plain_units = part_per[p] == 1.0 and part_kappa[p] == 1.0 and part_rho[p] == 0.0
        if not (single and closed[p] and plain_units):
            fused_part[k] = -1

    for start in range(0, size, width):
        n = min(width, size - start)
        scenarios = n // months
        subtotal = out_total[start : start + n]
        # The commitment's and credits' outputs are written only in some months: zeroed
        # first, here rather than by the caller (a pass over the whole array of its own).
        # (without ``details``, the outputs but the total are scratch rows of one tile)
        at = start if details else 0
        shortfall = out_shortfall[at : at + n]
        forfeited = out_forfeited[at : at + n]
        credits = out_credits[at : at + n]
        # (without ``details`` the shortfall and forfeited rows are written, never read)
        if prepaid:  # (its drawdown writes the subtotal whole)
            _start(gross, fixed_sums[_GROSS], has_fixed[_GROSS], n)
            if details:
                forfeited[:n] = 0.0
        elif folded:
            _start(subtotal, fixed_sums[_SUBTOTAL], has_fixed[_SUBTOTAL], n)
            if details:
                shortfall[:n] = 0.0
        elif committing:  # (no line is added as booked: the subtotal starts at zero)
            _start(gross, fixed_sums[_GROSS], has_fixed[_GROSS], n)
            subtotal[:n] = 0.0
            if details:
                shortfall[:n] = 0.0
        else:
            _start(subtotal, fixed_sums[_SUBTOTAL], has_fixed[_SUBTOTAL], n)
        if grants > 0:
            for i in range(n):
                credits[i] = 0.0
        if escalated and any_simple:
            for i in range(n):
                plain[i] = 0.0
        # The tile's slice of each block array: indexing a slice by the loop counter alone
        # lets the compiler vectorise the loop (``array[start + i]`` needs a negative-index
        # check that keeps it scalar, about four times slower).
        if per_user:
            users = usage[1][start : start + n]
            for i in range(n):
                active[i] = users[i] if users[i] > 0.0 else 1.0
        for k in range(metrics):
            if raw[k] == _RAW and reads_raw[k]:
                total = _units(usage, rows, total_slot[k], _TOTAL, k, start, n)
                values = usage[disputed_slot[k]][start : start + n]
                for i in range(n):
                    rows[_RAW, k, i] = total[i] + values[i]
            has_served[k] = False
            has_pool[k] = False
        seats = usage[0][start : start + n]
        for p in range(parts):
            if part_kind[p] == SEAT:
                least, price = part_min_seats[p], part_amount[p]
                booked, kept_row = base[p], kept[p]
                sum_row = _sum_row(target[p], subtotal, gross, later)
                lo, hi, factor = part_minimum[p], part_maximum[p], plain_kept[p]
                if simple[p]:
                    simple_row = plain if escalated else subtotal
                    for i in range(n):
                        count = seats[i]
                        count = count if count > least else least
                        billed[p, i] = count
                        _add(count * price, i, simple_row, factor)
                    continue
                for i in range(n):
                    count = seats[i]
                    count = count if count > least else least
                    billed[p, i] = count
                    _book(count * price, i, booked, sum_row, kept_row, lo, hi)

        # Fair use: each limit against the raw units; the served shares of several limits on
        # one metric multiply.
        for f in range(fair_seat.shape[0]):
            k, limit, sigma = fair_metric[f], fair_quantity[f], fair_sigma[f]
            if not (details or drawn[k]):
                continue  # no component bills the served units, and the unserved are not kept
            if fused_part[k] >= 0:
                continue  # priced with the component
            seat, out = fair_seat[f], fair_out[f]
            source = _units(usage, rows, total_slot[k], raw[k], k, start, n)
            unserved = out_unserved[out, at : at + n]
            # (the metric's first limit writes its unserved row, ``0.0 +`` as if added to a
            # zeroed row; later limits add to it)
            if math.isnan(sigma) and not has_served[k]:
                # The common case, one pooled limit on the metric, in one pass.
                for i in range(n):
                    excess = max(source[i] - limit * billed[seat, i], 0.0)
                    rows[_SERVED, k, i] = source[i] - excess
                    unserved[i] = 0.0 + excess
                has_served[k] = True
                continue
            if math.isnan(sigma):
                for i in range(n):
                    q[i] = max(source[i] - limit * billed[seat, i], 0.0)
            else:
                for i in range(n):
                    q[i] = source[i] * excess_share(source[i] / active[i], limit, sigma)
            if has_served[k]:
                for i in range(n):
                    share = (source[i] - q[i]) / (source[i] if source[i] > 0.0 else 1.0)
                    rows[_SERVED, k, i] *= share
                    unserved[i] += q[i]
            else:
                for i in range(n):
                    rows[_SERVED, k, i] = source[i] - q[i]
                    unserved[i] = 0.0 + q[i]
            has_served[k] = True

        # Included allowances: one pool per metric, drawn by the components in plan order.
        for f in range(included_seat.shape[0]):
            k, allowance, sigma = included_metric[f], included_quantity[f], included_sigma[f]
            if not drawn[k] or fused_part[k] >= 0:
                continue  # no component draws on the pool, or it is priced with the component
            seat = included_seat[f]
            source = _units(usage, rows, total_slot[k], raw[k], k, start, n)
            # (the metric's first allowance writes its pool, ``0.0 +`` as if added to a
            # zeroed pool; later ones add to it)
            fresh = not has_pool[k]
            has_pool[k] = True
            if math.isnan(sigma) and fresh:
                for i in range(n):
                    pool[k, i] = 0.0 + allowance * billed[seat, i]
            elif math.isnan(sigma):
                for i in range(n):
                    pool[k, i] += allowance * billed[seat, i]
            else:
                for i in range(n):
                    share = excess_share(source[i] / active[i], allowance, sigma)
                    pool[k, i] = (0.0 if fresh else pool[k, i]) + source[i] * (1.0 - share)

        # Component charges, booked: limited, discounted, escalated and added to their sums.
        for p in range(parts):
            kind = part_kind[p]
            if fixed[p] or kind == SEAT:
                continue  # booked once before the tiles, or with the billed seats above
            booked, kept_row = base[p], kept[p]
            sum_row = _sum_row(target[p], subtotal, gross, later)
            lo, hi, factor = part_minimum[p], part_maximum[p], plain_kept[p]
            simple_row = plain if escalated else subtotal
            if kind == TOKENS:
                # The weighted sum of the token metrics, from zero, booked as it is summed:
                # its last three terms in that pass (a sum of fewer weighs its first metric
                # by zero again: ``+ 0.0``, the same digits), any before them summed into
                # ``own`` first.
                first, count = coef_start[p], coef_count[p]
                if count == 0 and simple[p]:  # no token metric: nothing to charge
                    for i in range(n):
                        _add(0.0, i, simple_row, factor)
                    continue
                if count == 0:
                    for i in range(n):
                        _book(0.0, i, booked, sum_row, kept_row, lo, hi)
                    continue
                head = max(count - 3, 0)
                for j in range(first, first + head):
                    k, coefficient = coef_metric[j], coef_value[j]
                    source = _units(usage, rows, total_slot[k], _TOTAL, k, start, n)
                    if j == first:
                        for i in range(n):
                            own[i] = 0.0 + source[i] * coefficient
                    else:
                        for i in range(n):
                            own[i] += source[i] * coefficient
                last = first + head
                k0, c0 = coef_metric[last], coef_value[last]
                k1, c1 = (coef_metric[last + 1], coef_value[last + 1]) if count > 1 else (k0, 0.0)
                k2, c2 = (coef_metric[last + 2], coef_value[last + 2]) if count > 2 else (k0, 0.0)
                s0 = _units(usage, rows, total_slot[k0], _TOTAL, k0, start, n)
                s1 = _units(usage, rows, total_slot[k1], _TOTAL, k1, start, n)
                s2 = _units(usage, rows, total_slot[k2], _TOTAL, k2, start, n)
                if head == 0 and simple[p]:
                    for i in range(n):
                        charge = 0.0 + s0[i] * c0 + s1[i] * c1 + s2[i] * c2
                        _add(charge, i, simple_row, factor)
                elif head == 0:
                    for i in range(n):
                        charge = 0.0 + s0[i] * c0 + s1[i] * c1 + s2[i] * c2
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                elif simple[p]:
                    for i in range(n):
                        charge = own[i] + s0[i] * c0 + s1[i] * c1 + s2[i] * c2
                        _add(charge, i, simple_row, factor)
                else:
                    for i in range(n):
                        charge = own[i] + s0[i] * c0 + s1[i] * c1 + s2[i] * c2
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                continue
            k, matched, per = part_metric[p], part_matched[p], part_per[p]
            which = _TOTAL if kind == OUTCOME else _SERVED if has_served[k] else raw[k]
            source = _units(usage, rows, total_slot[k], which, k, start, n)
            pooled = kind == USAGE and has_pool[k]
            kappa, rho = part_kappa[p], part_rho[p]
            shared = kappa != 1.0 or rho != 0.0
            reversed_outcomes = kind == OUTCOME and disputed_slot[k] >= 0
            if price_kind[p] == UNIT and not pooled and not shared:
                # The common case in one pass: price_row's unit price is linear in the units.
                unit = price_unit[p]
                if reversed_outcomes:  # credited at the marginal price, as below
                    values = usage[disputed_slot[k]][start : start + n]
                    for i in range(n):
                        count = source[i] * matched / per
                        charge = count * unit
                        reversal[p, i] = charge - (count + values[i] * matched / per) * unit
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                    if target[p] == _GROSS:  # the commitment counts the credit too
                        for i in range(n):
                            gross[i] += reversal[p, i] * kept_row[i]
                elif per == 1.0 and simple[p]:  # (a division by 1 changes nothing: slow)
                    for i in range(n):
                        _add(source[i] * matched * unit, i, simple_row, factor)
                elif per == 1.0:
                    for i in range(n):
                        _book(source[i] * matched * unit, i, booked, sum_row, kept_row, lo, hi)
                elif simple[p]:
                    for i in range(n):
                        _add(source[i] * matched / per * unit, i, simple_row, factor)
                else:
                    for i in range(n):
                        _book(
                            source[i] * matched / per * unit, i, booked, sum_row, kept_row, lo, hi
                        )
                continue
            if fused_part[k] == p:
                # Fair use, the allowance's pool and the price in one pass, to the same digits
                # as the passes below: the served units, less what the pool covers (nothing
                # where there is no allowance: ``0.0 + 0.0 * seats``), priced.
                a, b, c, p1, p2, p3 = tiers[p]
                volume = price_kind[p] == VOLUME
                f = fused_fair[k]
                limit, limited_seat = fair_quantity[f], fair_seat[f]
                unserved = out_unserved[fair_out[f], at : at + n]
                g = fused_included[k]
                allowance = 0.0 if g < 0 else included_quantity[g]
                allowed_seat = limited_seat if g < 0 else included_seat[g]
                served = (limit, allowance, matched)
                price = (volume, a, b, c, p1, p2, p3)
                if simple[p]:
                    for i in range(n):
                        cap, pool_i = billed[limited_seat, i], billed[allowed_seat, i]
                        unserved[i], charge = _fused(source[i], cap, pool_i, served, price)
                        _add(charge, i, simple_row, factor)
                else:
                    for i in range(n):
                        cap, pool_i = billed[limited_seat, i], billed[allowed_seat, i]
                        unserved[i], charge = _fused(source[i], cap, pool_i, served, price)
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                continue
            if closed[p] and per == 1.0 and not (shared or reversed_outcomes):
                # Up to three tiers without fees: the units, the price and the booking in
                # one pass (price_row takes a pass per tier or two, and one to read the
                # units).
                a, b, c, p1, p2, p3 = tiers[p]
                volume = price_kind[p] == VOLUME
                if pooled and simple[p]:
                    for i in range(n):
                        wanted = source[i] * matched
                        used = min(pool[k, i], wanted)
                        pool[k, i] -= used
                        charge = _three_tiers(wanted - used, volume, a, b, c, p1, p2, p3)
                        _add(charge, i, simple_row, factor)
                elif pooled:
                    for i in range(n):
                        wanted = source[i] * matched
                        used = min(pool[k, i], wanted)
                        pool[k, i] -= used
                        charge = _three_tiers(wanted - used, volume, a, b, c, p1, p2, p3)
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                elif simple[p]:
                    for i in range(n):
                        charge = _three_tiers(source[i] * matched, volume, a, b, c, p1, p2, p3)
                        _add(charge, i, simple_row, factor)
                else:
                    for i in range(n):
                        charge = _three_tiers(source[i] * matched, volume, a, b, c, p1, p2, p3)
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
                continue
            if pooled:
                for i in range(n):
                    wanted = source[i] * matched
                    used = min(pool[k, i], wanted)
                    pool[k, i] -= used
                    q[i] = wanted - used
                if per != 1.0:  # (a pass of its own: dividing by 1 would be a slow no-op)
                    for i in range(n):
                        q[i] /= per
                if shared:  # (only sharing reads the units themselves)
                    for i in range(n):
                        units[i] = source[i] * matched
            elif shared:
                for i in range(n):
                    units[i] = source[i] * matched
                    q[i] = units[i] / per
            elif per == 1.0:
                for i in range(n):
                    q[i] = source[i] * matched
            else:
                for i in range(n):
                    q[i] = source[i] * matched / per
            price_row(
                q, own, spare, n, price_kind[p], price_unit[p], price_fee_at_zero[p],
                price_size[p], price_free[p], price_round_up[p], tier_upper, tier_price,
                tier_fee, tier_start[p], tier_count[p],
            )  # fmt: skip
            if reversed_outcomes:
                # Reversed outcomes are credited at the marginal price.
                values = usage[disputed_slot[k]][start : start + n]
                for i in range(n):
                    units[i] = q[i] + values[i] * matched / per
                price_row(
                    units, more, spare, n, price_kind[p], price_unit[p], price_fee_at_zero[p],
                    price_size[p], price_free[p], price_round_up[p], tier_upper,
                    tier_price, tier_fee, tier_start[p], tier_count[p],
                )  # fmt: skip
                for i in range(n):
                    reversal[p, i] = own[i] - more[i]
                if target[p] == _GROSS:  # the commitment counts the credit too
                    for i in range(n):
                        gross[i] += reversal[p, i] * kept_row[i]
            if shared:
                # Shared over the price groups: own * kappa + q * rho (a flat fee at zero
                # usage has no units to share it by and stays as it is).
                if simple[p]:
                    for i in range(n):
                        charge = own[i] * kappa + q[i] * rho if units[i] > 0.0 else own[i]
                        _add(charge, i, simple_row, factor)
                else:
                    for i in range(n):
                        charge = own[i] * kappa + q[i] * rho if units[i] > 0.0 else own[i]
                        _book(charge, i, booked, sum_row, kept_row, lo, hi)
            elif simple[p]:
                for i in range(n):
                    _add(own[i], i, simple_row, factor)
            else:
                for i in range(n):
                    _book(own[i], i, booked, sum_row, kept_row, lo, hi)

        if escalated and any_simple:  # (the simple components' sum, escalated)
            for i in range(n):
                subtotal[i] += plain[i] * factor_row[i]

        # The commitment over the eligible components.
        if committing and not prepaid:
            # Postpaid: the commitment takes ``rate`` off every line (``taken`` is filled
            # once, before the tiles) and bills the shortfall where a term closes, the only
            # month that reads the term's sum: summed scenario by scenario over the term's
            # months, which lie next to each other, four at a time (four partial sums side by
            # side, a vector addition, rather than each addition waiting on the one before).
            # (folded, the lines are the subtotal so far, and they are what the term counts)
            counted = subtotal if folded else gross
            scale = 1.0 if folded else kept_net
            for j in range(scenarios):
                for t in range(0, months - term + 1, term):  # (whole terms only)
                    first = j * months + t
                    row = counted[first : first + term]
                    s0, s1, s2, s3 = 0.0, 0.0, 0.0, 0.0
                    whole = term - term % 4
                    for m in range(0, whole, 4):
                        s0 += row[m]
                        s1 += row[m + 1]
                        s2 += row[m + 2]
                        s3 += row[m + 3]
                    for m in range(whole, term):
                        s0 += row[m]
                    owed = max(amount - ((s0 + s1) + (s2 + s3)) * scale, 0.0)
                    # (the lines are added below where not folded: the subtotal is zero)
                    subtotal[first + term - 1] += owed
                    shortfall[first + term - 1] = owed
        if prepaid:
            # The running sum of the discounted gross within each term runs through time:
            # month after month, for the tile's scenarios side by side (a month opens or
            # closes a term alike in every scenario).
            for m in range(months):
                opening, closing = opening_month[m], closing_month[m]
                # Prepaid: only the running sum here (each month's sum before it kept in
                # ``before``); the drawdown is worked out after, in one pass over the tile's
                # contiguous months, where its division runs as vector instructions (here,
                # striding over the scenarios, it stays scalar and costs about half again).
                for j in range(scenarios):
                    i = j * months + m
                    value = 0.0 if opening else term_sum[j]
                    before[i] = value
                    # (a month whose refunds outweigh its charges draws nothing)
                    term_sum[j] = value + max(gross[i] * kept_net, 0.0)
                if closing:
                    for j in range(scenarios):
                        forfeited[j * months + m] = max(amount - term_sum[j], 0.0)
            if alone:
                # The one component's line is added here, in the pass that works out the
                # share taken off it (nothing else reads the share or what was paid).
                for i in range(n):
                    share, spent = _drawdown(gross[i] * kept_net, before[i], amount, rate, overage)
                    subtotal[i] = prepayment[i] - spent + (base[0, i] - base[0, i] * share)
            else:
                # The prepayment is billed in the month that opens the term.
                for i in range(n):
                    taken[i], paid[i] = _drawdown(
                        gross[i] * kept_net, before[i], amount, rate, overage
                    )
                    subtotal[i] = prepayment[i] - paid[i]
        # Invoice lines: reversed outcomes added, commitment discounts taken off.
        for p in range(parts):
            if target[p] == _SUBTOTAL or alone:
                continue  # the line is the charge, added as it was booked (or with the drawdown)
            committed = target[p] == _GROSS
            # A reversed outcome is credited as it was charged: escalated, discounted and
            # (when committed) with the commitment's share taken off, like the charge.
            if disputes and committed:
                for i in range(n):
                    line[p, i] = (base[p, i] + reversal[p, i] * kept[p, i]) * (1.0 - taken[i])
                    subtotal[i] += line[p, i]
            elif disputes:
                for i in range(n):
                    line[p, i] = base[p, i] + reversal[p, i] * kept[p, i]
                    subtotal[i] += line[p, i]
            elif committed and not named_lines:
                # (no credit reads the line: added, not kept; postpaid takes ``rate`` off
                # every month)
                if prepaid:
                    for i in range(n):
                        subtotal[i] += base[p, i] - base[p, i] * taken[i]
                else:
                    for i in range(n):
                        subtotal[i] += base[p, i] - base[p, i] * rate
            elif committed:
                for i in range(n):
                    line[p, i] = base[p, i] - base[p, i] * taken[i]
                    subtotal[i] += line[p, i]
            else:
                for i in range(n):
                    line[p, i] = base[p, i]
                    subtotal[i] += line[p, i]
        if limited:  # the plan minimum, then the cap, in one pass
            for i in range(n):
                subtotal[i] = _clamp(subtotal[i], lowest * factor_row[i], highest * factor_row[i])

        # Credit grants, oldest expiry first: a grant's balance is its amount less what it
        # could cover in earlier months (so once spent, it stays spent); month after month,
        # for the tile's scenarios side by side.
        for g in range(grants):
            whole = grant_all[g] != 0  # (the named lines are summed only where it is not)
            named_start, named_end = grant_start[g], grant_start[g] + grant_count[g]
            for j in range(scenarios):
                left[j] = grant_amount[g]
            for m in range(months):
                if grant_usable[g, m] == 0.0:
                    continue
                remaining = False
                for j in range(scenarios):
                    i = j * months + m
                    coverable = subtotal[i]
                    if not whole:
                        named, ours = 0.0, 0.0
                        for t in range(named_start, named_end):
                            p = grant_parts[t]
                            named += line[p, i]
                            if prepaid and target[p] == _GROSS:
                                ours += base[p, i] + reversal[p, i] * kept[p, i]
                        if ours > 0.0:
                            # what the prepaid balance paid of the named components (in
                            # proportion to their share of the eligible charges) is not left
                            # for the credit to cover
                            named -= paid[i] * ours / gross[i]
                        coverable = min(named, coverable)
                    coverable = max(coverable, 0.0)
                    use = min(coverable, max(left[j], 0.0))
                    left[j] -= coverable
                    subtotal[i] -= use
                    credits[i] += use
                    remaining = remaining or left[j] > 0.0
                if not remaining:
                    # Spent in every scenario of the tile: the later months would use nothing.
                    break
