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
same steps, nothing is allocated per step and every step works on data in the first-level
cache; the block's arrays are read from memory once per plan.
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


TILE = 16
"""Scenarios priced together: their months lie next to each other in the ``(scenarios,
months)`` arrays, so each step of the kernel is one short loop over ``TILE * months`` values
that the compiler turns into vector instructions, on rows that stay in the processor's
first-level caches. Only the steps that run through time (commitment terms, credit
balances) go month by month, for the tile's scenarios side by side."""


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
        first = fee[start]
        for i in range(n):
            out[i] = min(q[i], upper[start]) * price[start]
        if first != 0.0:
            for i in range(n):
                if fee_at_zero or q[i] > 0.0:
                    out[i] += first
        for t in range(start + 1, start + count):
            lower, width, unit_price, flat = upper[t - 1], upper[t] - upper[t - 1], price[t], fee[t]
            if unit_price != 0.0:
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
        # one pass per tier bound, each a vectorisable select.
        fees = False
        for t in range(start, start + count):
            fees = fees or fee[t] != 0.0
        for i in range(n):
            out[i] = price[start]
            work[i] = fee[start]
        for t in range(start, start + count - 1):
            snapped, unit_price, flat = upper[t] * (1.0 + SNAP), price[t + 1], fee[t + 1]
            for i in range(n):
                if q[i] > snapped:
                    out[i] = unit_price
            if fees:
                for i in range(n):
                    if q[i] > snapped:
                        work[i] = flat
        if fees:
            for i in range(n):
                flat = 0.0 if q[i] == 0.0 and not fee_at_zero else work[i]
                out[i] = q[i] * out[i] + flat
        else:
            for i in range(n):
                out[i] = q[i] * out[i]
    else:  # PACKAGE
        for i in range(n):
            ratio = max(q[i] - free, 0.0) / size
            nudge = SNAP * max(ratio, 1.0)
            packages = np.ceil(ratio - nudge) if round_up else np.floor(ratio + nudge)
            out[i] = packages * unit


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
) -> None:
    """Price every scenario-month of ``usage`` into ``out_total`` (and the unserved,
    shortfall, forfeited and credit outputs, which start at zero).

    ``usage`` is a tuple of flattened ``(scenarios, months)`` arrays: ``usage[0]`` seats,
    ``usage[1]`` active seats; metric ``k`` of the program reads ``usage[total_slot[k]]`` and
    ``usage[disputed_slot[k]]`` (-1: not sampled, zero). Outputs are flattened alike."""
    size = usage[0].shape[0]
    parts, metrics = part_kind.shape[0], total_slot.shape[0]
    grants = grant_amount.shape[0]
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

    # Rows of one tile, reused tile after tile.
    width = TILE * months
    factor_row = np.empty(width)  # the escalation factor of each month of the tile
    for i in range(width):
        factor_row[i] = escalation[i % months]
    rows = np.zeros((3, metrics, width))  # each metric's total, raw and served units
    raw = np.empty(metrics, dtype=np.int64)  # the row of each metric's raw units
    for k in range(metrics):
        raw[k] = _RAW if disputed_slot[k] >= 0 else _TOTAL
    has_served = np.zeros(metrics, dtype=np.bool_)
    pool = np.zeros((metrics, width))
    has_pool = np.zeros(metrics, dtype=np.bool_)
    billed = np.zeros((parts, width))
    base = np.zeros((parts, width))
    # Invoice lines differ from the escalated, discounted charges only by reversed outcomes
    # and commitment discounts; otherwise they are the same rows.
    line = np.zeros((parts, width)) if disputes or committing else base
    reversal = np.zeros((parts, width))  # written for outcomes with disputes only
    gross = np.zeros(width)  # the escalated, discounted charges the commitment counts
    taken = np.zeros(width)  # the share of the committed lines the commitment takes off
    active = np.ones(width)
    units = np.zeros(width)
    q = np.zeros(width)
    own = np.zeros(width)
    more = np.zeros(width)
    spare = np.zeros(width)  # price_row's scratch row
    term_sum = np.zeros(TILE)  # per scenario of the tile: the commitment term's running sum
    left = np.zeros(TILE)  # per scenario of the tile: a credit grant's balance

    # A metered component whose metric the block does not have bills zero units every month:
    # its charge is the price at zero (a flat fee at zero, or nothing), worked out once.
    idle = np.zeros(parts, dtype=np.bool_)
    idle_charge = np.zeros(parts)
    for p in range(parts):
        k = part_metric[p]
        if (part_kind[p] == USAGE or part_kind[p] == OUTCOME) and total_slot[k] < 0:
            idle[p] = disputed_slot[k] < 0
            q[0] = 0.0
            price_row(
                q, own, spare, 1, price_kind[p], price_unit[p], price_fee_at_zero[p], price_size[p],
                price_free[p], price_round_up[p], tier_upper, tier_price, tier_fee,
                tier_start[p], tier_count[p],
            )  # fmt: skip
            idle_charge[p] = own[0]

    for start in range(0, size, width):
        n = min(width, size - start)
        subtotal = out_total[start : start + n]
        if per_user:
            users = usage[1]
            for i in range(n):
                active[i] = users[start + i] if users[start + i] > 0.0 else 1.0
        for k in range(metrics):
            slot, disputed = total_slot[k], disputed_slot[k]
            if slot >= 0:  # (the rows of metrics the block lacks stay zero)
                values = usage[slot]
                for i in range(n):
                    rows[_TOTAL, k, i] = values[start + i]
            if disputed >= 0:
                values = usage[disputed]
                for i in range(n):
                    rows[_RAW, k, i] = rows[_TOTAL, k, i] + values[start + i]
            has_served[k] = False
            has_pool[k] = False
        seats = usage[0]
        for p in range(parts):
            if part_kind[p] == SEAT:
                least, price = part_min_seats[p], part_amount[p]
                for i in range(n):
                    count = seats[start + i]
                    count = count if count > least else least
                    billed[p, i] = count
                    base[p, i] = count * price

        # Fair use: each limit against the raw units; the served shares of several limits on
        # one metric multiply.
        for f in range(fair_seat.shape[0]):
            k, limit, sigma = fair_metric[f], fair_quantity[f], fair_sigma[f]
            seat, source, out = fair_seat[f], raw[k], fair_out[f]
            if math.isnan(sigma):
                for i in range(n):
                    q[i] = max(rows[source, k, i] - limit * billed[seat, i], 0.0)
            else:
                for i in range(n):
                    units[i] = rows[source, k, i]
                    q[i] = units[i] * excess_share(units[i] / active[i], limit, sigma)
            unserved = out_unserved[out, start : start + n]
            if has_served[k]:
                for i in range(n):
                    units[i] = rows[source, k, i]
                    share = (units[i] - q[i]) / (units[i] if units[i] > 0.0 else 1.0)
                    rows[_SERVED, k, i] *= share
                    unserved[i] += q[i]
            else:
                for i in range(n):
                    rows[_SERVED, k, i] = rows[source, k, i] - q[i]
                    unserved[i] += q[i]
            has_served[k] = True

        # Included allowances: one pool per metric, drawn by the components in plan order.
        for f in range(included_seat.shape[0]):
            k, allowance, sigma = included_metric[f], included_quantity[f], included_sigma[f]
            seat, source = included_seat[f], raw[k]
            if not has_pool[k]:
                for i in range(n):
                    pool[k, i] = 0.0
                has_pool[k] = True
            if math.isnan(sigma):
                for i in range(n):
                    pool[k, i] += allowance * billed[seat, i]
            else:
                for i in range(n):
                    share = excess_share(rows[source, k, i] / active[i], allowance, sigma)
                    pool[k, i] += rows[source, k, i] * (1.0 - share)

        # Component charges, after component limits, into ``base``.
        for p in range(parts):
            kind = part_kind[p]
            if kind == FLAT or idle[p]:
                fixed = part_amount[p] if kind == FLAT else idle_charge[p]
                for i in range(n):
                    base[p, i] = fixed
            elif kind == SEAT:
                pass  # priced with the billed seats above
            elif kind == TOKENS:
                for i in range(n):
                    base[p, i] = 0.0
                for j in range(coef_start[p], coef_start[p] + coef_count[p]):
                    k, coefficient = coef_metric[j], coef_value[j]
                    for i in range(n):
                        base[p, i] += rows[_TOTAL, k, i] * coefficient
            else:
                k, matched, per = part_metric[p], part_matched[p], part_per[p]
                which = _TOTAL if kind == OUTCOME else _SERVED if has_served[k] else raw[k]
                if kind == USAGE and has_pool[k]:
                    for i in range(n):
                        units[i] = rows[which, k, i] * matched
                        used = min(pool[k, i], units[i])
                        pool[k, i] -= used
                        q[i] = (units[i] - used) / per
                else:
                    for i in range(n):
                        units[i] = rows[which, k, i] * matched
                        q[i] = units[i] / per
                # Shared over the price groups: own * kappa + q * rho (a flat fee at zero
                # usage has no units to share it by and stays as it is).
                kappa, rho = part_kappa[p], part_rho[p]
                shared = kappa != 1.0 or rho != 0.0
                charge = own if shared else base[p]
                price_row(
                    q, charge, spare, n, price_kind[p], price_unit[p], price_fee_at_zero[p],
                    price_size[p], price_free[p], price_round_up[p], tier_upper, tier_price,
                    tier_fee, tier_start[p], tier_count[p],
                )  # fmt: skip
                if shared:
                    for i in range(n):
                        base[p, i] = own[i] * kappa + q[i] * rho if units[i] > 0.0 else own[i]
                if kind == OUTCOME and disputed_slot[k] >= 0:
                    # Reversed outcomes are credited at the marginal price.
                    values = usage[disputed_slot[k]]
                    for i in range(n):
                        units[i] = q[i] + values[start + i] * matched / per
                    price_row(
                        units, more, spare, n, price_kind[p], price_unit[p], price_fee_at_zero[p],
                        price_size[p], price_free[p], price_round_up[p], tier_upper,
                        tier_price, tier_fee, tier_start[p], tier_count[p],
                    )  # fmt: skip
                    for i in range(n):
                        reversal[p, i] = charge[i] - more[i]
            if part_minimum[p] > -math.inf:
                for i in range(n):
                    base[p, i] = max(base[p, i], part_minimum[p])
            if part_maximum[p] < math.inf:
                for i in range(n):
                    base[p, i] = min(base[p, i], part_maximum[p])

        # Escalation and discounts, then the commitment over the eligible components.
        for i in range(n):
            gross[i] = 0.0
            subtotal[i] = 0.0
        for p in range(parts):
            kept = part_kept[p]
            if escalated:
                for i in range(n):
                    base[p, i] *= factor_row[i] * kept
            elif kept != 1.0:
                for i in range(n):
                    base[p, i] *= kept
            if committing and part_committed[p]:
                for i in range(n):
                    gross[i] += base[p, i]
            elif not committing and not disputes:  # the line is the charge: add it now
                for i in range(n):
                    subtotal[i] += base[p, i]
        if committing:
            # The running sum of the discounted gross within each term runs through time:
            # month after month, for the tile's scenarios side by side (a month opens or
            # closes a term alike in every scenario).
            for m in range(months):
                opening, closing = m % term == 0, m % term == term - 1
                for j in range(n // months):
                    i = j * months + m
                    if opening:
                        term_sum[j] = 0.0
                    net = gross[i] * (1.0 - rate)
                    before = term_sum[j]
                    term_sum[j] = before + net
                    if prepaid:
                        balance = max(amount - before, 0.0)
                        covered = min(balance / (net if net > 0.0 else 1.0), 1.0)
                        taken[i] = covered * rate + (1.0 - covered) * overage
                        if closing:
                            out_forfeited[start + i] = max(amount - term_sum[j], 0.0)
                        subtotal[i] = -min(net, balance) + (amount if opening else 0.0)
                    else:
                        taken[i] = rate
                        if closing:
                            subtotal[i] = max(amount - term_sum[j], 0.0)
                            out_shortfall[start + i] = subtotal[i]
        # Invoice lines: reversed outcomes added, commitment discounts taken off.
        for p in range(parts):
            committed = committing and part_committed[p]
            if disputes and committed:
                for i in range(n):
                    line[p, i] = base[p, i] * (1.0 - taken[i]) + reversal[p, i] * factor_row[i]
            elif disputes:
                for i in range(n):
                    line[p, i] = base[p, i] + reversal[p, i] * factor_row[i]
            elif committed:
                for i in range(n):
                    line[p, i] = base[p, i] - base[p, i] * taken[i]
            elif committing:
                for i in range(n):
                    line[p, i] = base[p, i]
            if committing or disputes:
                for i in range(n):
                    subtotal[i] += line[p, i]
        if not math.isnan(minimum):
            for i in range(n):
                subtotal[i] = max(subtotal[i], minimum * factor_row[i])
        if not math.isnan(cap):
            for i in range(n):
                subtotal[i] = min(subtotal[i], cap * factor_row[i])

        # Credit grants, oldest expiry first: a grant's balance is its amount less what it
        # could cover in earlier months (so once spent, it stays spent); month after month,
        # for the tile's scenarios side by side.
        for g in range(grants):
            for j in range(n // months):
                left[j] = grant_amount[g]
            for m in range(months):
                if grant_usable[g, m] == 0.0:
                    continue
                for j in range(n // months):
                    i = j * months + m
                    coverable = subtotal[i]
                    if not grant_all[g]:
                        named = 0.0
                        for t in range(grant_start[g], grant_start[g] + grant_count[g]):
                            named += line[grant_parts[t], i]
                        coverable = min(named, coverable)
                    coverable = max(coverable, 0.0)
                    use = min(coverable, max(left[j], 0.0))
                    left[j] -= coverable
                    subtotal[i] -= use
                    out_credits[start + i] += use
