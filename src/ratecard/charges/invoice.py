"""Invoices: the lines one customer owes for one period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from ratecard.charges.price_math import TierSlice
from ratecard.money import ZERO

__all__ = ["Invoice", "Line", "LineKind", "State"]

LineKind = Literal[
    "charge",  # a component's charge (one line per component and price group)
    "component_minimum",  # top-up to a component's minimum
    "component_maximum",  # negative adjustment down to a component's maximum
    "discount",
    "commitment_discount",
    "commitment_shortfall",
    "prepaid_commitment",  # the prepaid commitment invoiced at the start of a term
    "prepaid_drawdown",  # eligible charges paid from the prepaid balance (negative)
    "prepaid_forfeit",  # informational: balance left at term end (amount 0)
    "minimum",  # top-up to the plan's minimum
    "cap",  # negative adjustment down to the plan's cap
    "credit",  # a credit grant paying for charges (negative)
    "outcome_reversal",  # credit for outcomes disputed or reversed after billing (negative)
    "unserved",  # informational: usage above a fair-use limit (amount 0)
    "late_adjustment",  # usage of an issued period that arrived late, billed on the next one
]


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line. ``exact_amount`` keeps full precision; ``amount`` is rounded per the
    plan's rounding rule."""

    kind: LineKind
    component: str | None
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    exact_amount: Decimal
    amount: Decimal = ZERO
    per: Decimal = Decimal(1)  # unit_price is per this many units of quantity
    tiers: tuple[TierSlice, ...] = ()
    dimensions: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "component": self.component,
            "description": self.description,
            "quantity": _str(self.quantity),
            "unit_price": _str(self.unit_price),
            "per": str(self.per),
            "exact_amount": str(self.exact_amount),
            "amount": str(self.amount),
        }
        if self.tiers:
            data["tiers"] = [
                {
                    "tier": s.tier,
                    "quantity": str(s.quantity),
                    "unit_price": str(s.unit_price),
                    "flat_fee": str(s.flat_fee),
                    "amount": str(s.amount),
                }
                for s in self.tiers
            ]
        if self.dimensions:
            data["dimensions"] = dict(self.dimensions)
        return data


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class State:
    """What one period hands to the next period of the same contract."""

    commitment_counted: Decimal = ZERO  # postpaid: counted toward the commitment this term
    prepaid_balance: Decimal | None = None  # prepaid: balance left in this term
    credits: tuple[Decimal | None, ...] = ()  # remaining balance per grant (None: untouched)

    def to_dict(self) -> dict[str, Any]:
        return {
            "commitment_counted": str(self.commitment_counted),
            "prepaid_balance": _str(self.prepaid_balance),
            "credits": [
                {"index": i, "remaining": str(r)}
                for i, r in enumerate(self.credits)
                if r is not None
            ],
        }


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice: ``total`` is always the sum of the rounded ``amount`` of its lines;
    ``subtotal`` is that sum before credits."""

    plan: str
    currency: str
    period_start: date
    period_end: date
    lines: tuple[Line, ...]
    subtotal: Decimal
    total: Decimal
    exact_total: Decimal
    customer: str | None = None
    state: State = field(default_factory=State)

    @property
    def period(self) -> tuple[date, date]:
        return (self.period_start, self.period_end)

    def lines_for(self, component: str) -> list[Line]:
        return [line for line in self.lines if line.component == component]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; every decimal is a string."""
        return {
            "plan": self.plan,
            "customer": self.customer,
            "currency": self.currency,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "lines": [line.to_dict() for line in self.lines],
            "subtotal": str(self.subtotal),
            "total": str(self.total),
            "exact_total": str(self.exact_total),
            "state": self.state.to_dict(),
        }
