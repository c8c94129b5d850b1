"""The exact evaluator: one plan, one period's usage, one invoice (DESIGN.md section 3)."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal

from ratecard.charges.calendar import years_between
from ratecard.charges.invoice import Invoice, Line, State
from ratecard.charges.metered import outcome_lines, usage_lines
from ratecard.charges.modifiers import Context, apply_modifiers
from ratecard.charges.records import Record, records_of
from ratecard.charges.rounding import round_lines
from ratecard.charges.seats import entitlements, flat_lines, seat_lines
from ratecard.charges.tokens import tokens_lines
from ratecard.money import CONTEXT, ZERO, round_money
from ratecard.plan.components import (
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan
from ratecard.usage.model import UsageSummary

__all__ = ["component_limits", "escalation_factor", "evaluate", "evaluate_periods"]


def escalation_factor(plan: Plan, summary: UsageSummary) -> Decimal:
    """``(1 + min(percent_per_year, protection_cap_percent) / 100) ** years`` since the
    contract start."""
    escalation = plan.modifiers.escalation
    if escalation is None or summary.contract_start is None:
        return Decimal(1)
    years = years_between(summary.contract_start, summary.period.start)
    with decimal.localcontext(CONTEXT):
        return (1 + escalation.yearly_percent / 100) ** years


def _state_from_carry(plan: Plan, summary: UsageSummary) -> State:
    carry = summary.carry
    if carry is None:
        return State()
    credits: list[Decimal | None] = [None] * len(plan.modifiers.credits)
    for balance in carry.credits or []:
        if balance.index < len(credits):
            credits[balance.index] = balance.remaining
    return State(carry.commitment_counted or ZERO, carry.prepaid_balance, tuple(credits))


def component_limits(plan: Plan, lines: list[Line], escalation: Decimal) -> None:
    """Append a top-up line for each component charged below its ``minimum`` and a negative
    line for each charged above its ``maximum`` (both escalated like every price)."""
    for component in plan.components:
        own = [line for line in lines if line.component == component.id and line.kind == "charge"]
        charged = sum((line.exact_amount for line in own), ZERO)
        if component.minimum is not None and charged < component.minimum * escalation:
            floor = component.minimum * escalation
            lines.append(
                Line(
                    "component_minimum",
                    component.id,
                    f"{component.id}: minimum {floor}",
                    None,
                    None,
                    floor - charged,
                )
            )
        if component.maximum is not None and charged > component.maximum * escalation:
            ceiling = component.maximum * escalation
            lines.append(
                Line(
                    "component_maximum",
                    component.id,
                    f"{component.id}: maximum {ceiling}",
                    None,
                    None,
                    ceiling - charged,
                )
            )


def component_lines(
    plan: Plan, summary: UsageSummary, records: Sequence[Record], escalation: Decimal
) -> list[Line]:
    """Every component's charge lines, in plan order, with fair-use lines after their seat."""
    seats = [c for c in plan.components if isinstance(c, SeatComponent)]
    entitled = entitlements(seats, summary, records)
    lines: list[Line] = []
    for component in plan.components:
        if isinstance(component, FlatComponent):
            lines += flat_lines(component, escalation)
        elif isinstance(component, SeatComponent):
            lines += seat_lines(component, summary, escalation)
            lines += [line for line in entitled.unserved_lines if line.component == component.id]
        elif isinstance(component, UsageComponent):
            lines += _drop_empty(usage_lines(component, records, entitled, escalation))
        elif isinstance(component, TokensComponent):
            lines += tokens_lines(component, records, escalation)
        elif isinstance(component, OutcomeComponent):
            lines += _drop_empty(outcome_lines(component, records, escalation))
    return lines


def _drop_empty(lines: list[Line]) -> list[Line]:
    """Metered components with no usage and no charge add no line."""
    return [line for line in lines if line.exact_amount != 0 or (line.quantity or ZERO) != 0]


def evaluate(
    plan: Plan,
    summary: UsageSummary,
    state: State | None = None,
    *,
    extra: Sequence[Line] = (),
    records: Sequence[Record] | None = None,
) -> Invoice:
    """Price one period. ``state`` carries commitment and credit balances from the previous
    period of the same contract; without it, the usage summary's ``carry`` is used. ``extra``
    lines (adjustments for an earlier period) are added after the modifiers, as they are.
    ``records`` stand for the summary's usage and events when given, in the order
    :func:`~ratecard.charges.records.records_of` gives (usage lines, then events by time)."""
    with decimal.localcontext(CONTEXT):
        if state is None:
            state = _state_from_carry(plan, summary)
        escalation = escalation_factor(plan, summary)
        if records is None:
            records = records_of(summary)
        lines = component_lines(plan, summary, records, escalation)
        component_limits(plan, lines, escalation)
        mode, scope = plan.rounding.mode, plan.rounding.scope
        currency = plan.currency

        def billed(amount: Decimal) -> Decimal:
            return round_money(amount, currency, mode) if scope == "line" else amount

        ctx = Context(
            summary.period.start,
            summary.contract_start or summary.period.start,
            escalation,
            billed,
        )
        state = apply_modifiers(plan, lines, ctx, state)
        lines.extend(extra)
        rounded = round_lines(lines, currency, mode, scope)
        subtotal = sum((line.amount for line in rounded if line.kind != "credit"), ZERO)
        total = sum((line.amount for line in rounded), ZERO)
        exact = sum((line.exact_amount for line in rounded), ZERO)
        return Invoice(
            plan.id,
            currency,
            summary.period.start,
            summary.period.end,
            tuple(rounded),
            subtotal,
            total,
            exact,
            summary.customer,
            state,
        )


def evaluate_periods(plan: Plan, summaries: Sequence[UsageSummary]) -> list[Invoice]:
    """Price consecutive periods of one contract, carrying commitment and credit state."""
    invoices: list[Invoice] = []
    state: State | None = None
    for summary in summaries:
        invoice = evaluate(plan, summary, state)
        state = invoice.state
        invoices.append(invoice)
    return invoices
