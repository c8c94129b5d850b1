"""The modifier pipeline for one period, in DESIGN.md's order:
component charges -> discounts -> commitment -> minimum -> cap -> credits -> rounding.

Minimum, cap and credits compare against the sum of the lines so far as they will be billed
(rounded, under ``scope: line``), so that an invoice never ends a cent above its cap or below
its minimum, and credits never leave a stray cent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ratecard.charges.invoice import Line, State
from ratecard.money import ZERO
from ratecard.plan.model import Plan
from ratecard.plan.modifiers import Commitment

__all__ = ["Context", "apply_modifiers"]

CHARGE_KINDS = {"charge", "component_minimum", "component_maximum", "outcome_reversal"}
"""The lines discounts and commitments apply to: a reversed outcome is credited as it was
charged, with the same discounts taken off."""
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Context:
    """Where the period sits in its contract."""

    period_start: date
    contract_start: date
    escalation: Decimal
    billed: Callable[[Decimal], Decimal]  # an amount as it will be billed (rounded or exact)


def _component_base(lines: Sequence[Line], component: str, kinds: set[str]) -> Decimal:
    return sum(
        (line.exact_amount for line in lines if line.component == component and line.kind in kinds),
        ZERO,
    )


def _ids(plan: Plan, applies_to: list[str] | None) -> list[str]:
    return [c.id for c in plan.components] if applies_to is None else list(applies_to)


def _discounts(plan: Plan, lines: list[Line]) -> None:
    for number, discount in enumerate(plan.modifiers.discounts, start=1):
        name = discount.name or f"discount {number}"
        for component in _ids(plan, discount.applies_to):
            base = _component_base(lines, component, CHARGE_KINDS)
            if base:
                lines.append(
                    Line(
                        "discount",
                        component,
                        f"{name}: {discount.percent}% off {component}",
                        None,
                        None,
                        -base * discount.percent / HUNDRED,
                    )
                )


def _term_position(commitment: Commitment, plan: Plan, ctx: Context) -> tuple[bool, bool]:
    """(first period of its term, last period of its term). Terms count billing periods: the
    one the contract starts in is the first, whatever its day (a contract from 2026-01-15
    has its first term month in January and its second in February, not two first ones)."""
    start, period = ctx.contract_start, ctx.period_start
    months = max((period.year - start.year) * 12 + period.month - start.month, 0)
    if plan.billing_period == "year":
        index, length = months // 12, max(commitment.term_months // 12, 1)
    else:
        index, length = months, commitment.term_months
    return index % length == 0, (index + 1) % length == 0


def _commitment(plan: Plan, lines: list[Line], ctx: Context, state: State) -> State:
    commitment = plan.modifiers.commitment
    if commitment is None:
        return state
    first, last = _term_position(commitment, plan, ctx)
    rate = commitment.discount_percent / HUNDRED
    eligible = {
        c: _component_base(lines, c, CHARGE_KINDS | {"discount"})
        for c in _ids(plan, commitment.applies_to)
    }
    gross = sum(eligible.values(), ZERO)
    if commitment.payment == "postpaid":
        counted = ZERO if first else state.commitment_counted
        for component, base in eligible.items():
            if base and rate:
                lines.append(
                    Line(
                        "commitment_discount",
                        component,
                        f"commitment discount: {commitment.discount_percent}% off {component}",
                        None,
                        None,
                        -base * rate,
                    )
                )
        counted += gross * (1 - rate)
        if last:
            shortfall = commitment.amount - counted
            if shortfall > 0:
                lines.append(
                    Line(
                        "commitment_shortfall",
                        None,
                        f"commitment shortfall: committed {commitment.amount}, "
                        f"counted {counted} this term",
                        None,
                        None,
                        shortfall,
                    )
                )
            counted = ZERO
        return State(counted, state.prepaid_balance, state.credits)
    return _prepaid(commitment, lines, eligible, first, last, state)


def _prepaid(
    commitment: Commitment,
    lines: list[Line],
    eligible: dict[str, Decimal],
    first: bool,
    last: bool,
    state: State,
) -> State:
    rate = commitment.discount_percent / HUNDRED
    overage_percent = commitment.overage_discount_percent
    overage = rate if overage_percent is None else overage_percent / HUNDRED
    balance: Decimal = commitment.amount
    if not first and state.prepaid_balance is not None:
        balance = state.prepaid_balance
    if first:
        lines.append(
            Line(
                "prepaid_commitment",
                None,
                f"prepaid commitment for {commitment.term_months} months",
                None,
                None,
                commitment.amount,
            )
        )
    gross = sum(eligible.values(), ZERO)
    net = gross * (1 - rate)
    if gross > 0:
        covered = Decimal(1) if net <= balance else balance / net
        for component, base in eligible.items():
            if not base:
                continue
            percent = covered * rate + (1 - covered) * overage
            if percent:
                lines.append(
                    Line(
                        "commitment_discount",
                        component,
                        f"commitment discount on {component}",
                        None,
                        None,
                        -base * percent,
                    )
                )
        drawn = min(net, balance)
        if drawn:
            lines.append(
                Line(
                    "prepaid_drawdown",
                    None,
                    f"paid from the prepaid commitment (balance {balance})",
                    None,
                    None,
                    -drawn,
                )
            )
        balance -= drawn
    if last:
        if balance > 0:
            lines.append(
                Line(
                    "prepaid_forfeit",
                    None,
                    f"prepaid balance forfeited at term end: {balance}",
                    balance,
                    None,
                    ZERO,
                )
            )
        balance = ZERO
    return State(state.commitment_counted, balance, state.credits)


def _billed_sum(lines: Sequence[Line], ctx: Context) -> Decimal:
    return sum((ctx.billed(line.exact_amount) for line in lines), ZERO)


def _minimum_and_cap(plan: Plan, lines: list[Line], ctx: Context) -> None:
    minimum, cap = plan.modifiers.minimum, plan.modifiers.cap
    if minimum is not None:
        floor = minimum.amount * ctx.escalation
        subtotal = _billed_sum(lines, ctx)
        if subtotal < floor:
            lines.append(
                Line(
                    "minimum",
                    None,
                    f"minimum spend top-up to {floor}",
                    None,
                    None,
                    floor - subtotal,
                )
            )
    if cap is not None:
        ceiling = cap.amount * ctx.escalation
        subtotal = _billed_sum(lines, ctx)
        if subtotal > ceiling:
            lines.append(
                Line("cap", None, f"spend cap at {ceiling}", None, None, ceiling - subtotal)
            )


def _prepaid_share(plan: Plan, lines: Sequence[Line], named: set[str], ctx: Context) -> Decimal:
    """The part of the period's prepaid drawdown that paid for the ``named`` components: the
    drawdown covers every eligible component in proportion to its charge (after discounts),
    and what it paid is no longer the customer's to pay, nor a credit's to cover."""
    commitment = plan.modifiers.commitment
    drawn = -_billed_sum([line for line in lines if line.kind == "prepaid_drawdown"], ctx)
    if commitment is None or not drawn:
        return ZERO
    bases = {
        c: _component_base(lines, c, CHARGE_KINDS | {"discount"})
        for c in _ids(plan, commitment.applies_to)
    }
    gross = sum(bases.values(), ZERO)
    ours = sum((base for c, base in bases.items() if c in named), ZERO)
    return ctx.billed(drawn * ours / gross) if gross else ZERO


def _credits(plan: Plan, lines: list[Line], ctx: Context, state: State) -> State:
    grants = plan.modifiers.credits
    if not grants:
        return state
    balances: list[Decimal | None] = list(state.credits) + [None] * (
        len(grants) - len(state.credits)
    )
    order = sorted(
        range(len(grants)),
        key=lambda i: (grants[i].expires is None, grants[i].expires or date.max, i),
    )
    for index in order:
        grant = grants[index]
        if grant.starts is not None and grant.starts > ctx.period_start:
            continue
        if grant.expires is not None and grant.expires < ctx.period_start:
            balances[index] = ZERO
            continue
        balance = grant.amount if balances[index] is None else balances[index]
        assert balance is not None
        remaining = _billed_sum(lines, ctx)
        if grant.applies_to is not None:
            named = set(grant.applies_to)
            own = _billed_sum([line for line in lines if line.component in named], ctx)
            coverable = min(own - _prepaid_share(plan, lines, named, ctx), remaining)
        else:
            coverable = remaining
        use = min(balance, coverable)
        if use > 0:
            name = grant.name or f"credit {index + 1}"
            lines.append(Line("credit", None, f"{name} (balance {balance})", None, None, -use))
            balance -= use
        balances[index] = balance
    return State(state.commitment_counted, state.prepaid_balance, tuple(balances))


def apply_modifiers(plan: Plan, lines: list[Line], ctx: Context, state: State) -> State:
    """Append the modifier lines to ``lines`` (component charges) and return the new state."""
    _discounts(plan, lines)
    state = _commitment(plan, lines, ctx, state)
    _minimum_and_cap(plan, lines, ctx)
    return _credits(plan, lines, ctx, state)
