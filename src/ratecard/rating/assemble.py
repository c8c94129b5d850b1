"""Invoice objects from the engine's line rows: descriptions, tier breakdowns, then the
reference modifier pipeline and rounding of :mod:`ratecard.charges` (as ``evaluate`` does)."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.charges.metered import included_note, shown_units
from ratecard.charges.modifiers import Context, apply_modifiers
from ratecard.charges.price_math import TierSlice
from ratecard.charges.quote import component_limits
from ratecard.charges.rounding import round_lines
from ratecard.charges.seats import seat_description
from ratecard.charges.tokens import ORDER
from ratecard.money import CONTEXT, ZERO, round_money
from ratecard.plan.components import (
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.prices import GraduatedPercentagePrice, GraduatedPrice, PackagePrice, VolumePrice
from ratecard.rating.compile import Group
from ratecard.rating.customers import CustomerInputs
from ratecard.rating.price_sql import tier_prices
from ratecard.rating.subscriptions import Period

__all__ = ["assemble", "sort_key"]


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _slices(
    component: UsageComponent | OutcomeComponent, text: str | None, escalation: Decimal
) -> tuple[TierSlice, ...]:
    price = component.price
    if not text or not isinstance(price, GraduatedPrice | VolumePrice | GraduatedPercentagePrice):
        return ()
    prices = tier_prices(price)
    result = []
    for part in text.split(";"):
        index_text, inside_text = part.split("|")
        index, inside = int(index_text), Decimal(inside_text)
        unit, fee = prices[index]
        if isinstance(price, VolumePrice) and inside == 0 and not price.flat_fee_at_zero:
            fee = ZERO
        amount = inside * unit + fee
        result.append(
            TierSlice(index, inside, unit * escalation, fee * escalation, amount * escalation)
        )
    return tuple(result)


def _metered_line(
    group: Group, component: UsageComponent | OutcomeComponent, row: dict[str, Any]
) -> Line:
    title = component.name or component.metric
    included = row["included"] or ZERO
    late = row["late"] or 0
    if isinstance(component, OutcomeComponent):
        if row["kind"] == "outcome_reversal":
            return Line(
                "outcome_reversal",
                component.id,
                f"{title}: {Decimal(late)} outcomes disputed or reversed after billing",
                row["quantity"],
                None,
                row["exact"],
            )
        note = f" ({late} outside the attribution window, not billed)" if late else ""
    else:
        note = included_note(included)
    title += note
    value_based = isinstance(component.price, GraduatedPercentagePrice)
    per = Decimal(1) if value_based else component.per
    if row["label"] < 0:
        tiers: tuple[TierSlice, ...] = ()
        if isinstance(component.price, PackagePrice):
            title += (
                f": {shown_units(Decimal(row['tiers']))} units in packages of "
                f"{_num(component.price.size)}"
            )
        else:
            tiers = _slices(component, row["tiers"], group.escalation)
        package = isinstance(component.price, PackagePrice)
        return Line(
            "charge",
            component.id,
            title,
            row["quantity"],
            row["unit_price"],
            row["exact"],
            per=Decimal(1) if package else per,
            tiers=tiers,
        )
    combo = group.layout.metered[row["comp"]].combos()[row["label"]]
    if combo.labels:
        title += " — " + ", ".join(combo.labels)
    return Line(
        "charge",
        component.id,
        title,
        row["quantity"],
        row["unit_price"],
        row["exact"],
        per=per,
        dimensions=combo.dimensions,
    )


def _seat_line(
    component: SeatComponent,
    inputs: CustomerInputs,
    index: int,
    row: dict[str, Any],
    period: Period,
) -> Line:
    billed, seats = inputs.billed[index], inputs.counted[index]
    days = (period.end - period.start).days
    description = seat_description(component, seats, billed, inputs.seat_days, days)
    price = row["unit_price"]
    return Line("charge", component.id, description, billed, price, billed * price)


def sort_key(group: Group, row: dict[str, Any]) -> tuple[Any, ...]:
    component = group.layout.plan.components[row["comp"]]
    if isinstance(component, TokensComponent):
        key = group.token_keys[row["comp"]][row["label"]]
        return (row["comp"], 0, ORDER.index(key.category), key.labels, key.price)
    first = row["ord_ts"] or datetime.min
    return (row["comp"], row["kind"] == "outcome_reversal", first, row["ord_k"])


def lines_of(
    group: Group, inputs: CustomerInputs, rows: Sequence[dict[str, Any]], period: Period
) -> list[Line]:
    """The component charge lines of one customer, in plan order."""
    plan = group.layout.plan
    lines: list[Line] = []
    for row in sorted(rows, key=lambda r: sort_key(group, r)):
        index = row["comp"]
        component = plan.components[index]
        if isinstance(component, FlatComponent):
            amount = component.amount * group.escalation
            lines.append(
                Line(
                    "charge",
                    component.id,
                    component.name or component.id,
                    Decimal(1),
                    amount,
                    amount,
                )
            )
        elif isinstance(component, SeatComponent):
            lines.append(_seat_line(component, inputs, index, row, period))
        elif isinstance(component, UsageComponent | OutcomeComponent):
            lines.append(_metered_line(group, component, row))
        elif isinstance(component, TokensComponent):
            key = group.token_keys[index][row["label"]]
            label = f" ({', '.join(key.labels)})" if key.labels else ""
            unit = key.price * group.escalation
            lines.append(
                Line(
                    "charge",
                    component.id,
                    f"{component.name or 'tokens'}: {key.category}{label}",
                    row["quantity"],
                    unit,
                    row["exact"],
                    per=component.per,
                )
            )
    return lines


def assemble(
    group: Group,
    inputs: CustomerInputs,
    rows: Sequence[dict[str, Any]],
    period: Period,
    state: State | None = None,
    extra: Sequence[Line] = (),
) -> Invoice:
    """One customer's invoice: engine lines, then what :func:`ratecard.charges.evaluate` does
    after the component charges (component limits, modifiers, rounding, totals)."""
    plan = group.layout.plan
    with decimal.localcontext(CONTEXT):
        lines = lines_of(group, inputs, rows, period)
        component_limits(plan, lines, group.escalation)
        mode, scope, currency = plan.rounding.mode, plan.rounding.scope, plan.currency

        def billed(amount: Decimal) -> Decimal:
            return round_money(amount, currency, mode) if scope == "line" else amount

        ctx = Context(period.start, inputs.contract_start, group.escalation, billed)
        new_state = apply_modifiers(plan, lines, ctx, state or State())
        lines.extend(extra)
        rounded = round_lines(lines, currency, mode, scope)
        subtotal = sum((line.amount for line in rounded if line.kind != "credit"), ZERO)
        total = sum((line.amount for line in rounded), ZERO)
        exact = sum((line.exact_amount for line in rounded), ZERO)
        return Invoice(
            plan.id,
            currency,
            period.start,
            period.end,
            tuple(rounded),
            subtotal,
            total,
            exact,
            inputs.customer,
            new_state,
        )
