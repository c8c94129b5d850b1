"""Subscriptions: which customer is on which plan, with how many seats (DESIGN.md section 2).

YAML (``subscriptions: [{customer, plan, start, end, seats, seat_changes}]``) or CSV
(``customer,plan,start,end,seats``). ``end`` is exclusive, like a period's end. Plan paths are
relative to the subscriptions file; ``catalog:<id>`` names a shipped plan.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ratecard.errors import Problem, UsageError
from ratecard.plan import Plan, load_plan
from ratecard.plan.types import STRICT, DecimalValue
from ratecard.source import Document, load_document, validate

__all__ = ["Period", "SeatChange", "Subscription", "Subscriptions", "load_subscriptions", "month"]


class SeatChange(BaseModel):
    model_config = STRICT
    at: date
    seats: DecimalValue = Field(ge=0)


class Subscription(BaseModel):
    """One customer on one plan from ``start`` until ``end`` (exclusive; null: open)."""

    model_config = STRICT
    customer: str = Field(min_length=1)
    plan: str = Field(min_length=1)
    start: date
    end: date | None = None
    seats: DecimalValue | None = Field(default=None, ge=0)
    seat_changes: list[SeatChange] = Field(default_factory=list)

    def active(self, start: date, end: date) -> bool:
        return self.start < end and (self.end is None or self.end > start)

    def seats_on(self, day: date) -> Decimal:
        seats = self.seats or Decimal(0)
        for change in sorted(self.seat_changes, key=lambda c: c.at):
            if change.at <= day:
                seats = change.seats
        return seats

    def seat_usage(self, start: date, end: date) -> tuple[Decimal | None, Decimal | None]:
        """(maximum concurrent seats, seat-days) over the days of ``[start, end)`` when the
        subscription is active; (None, None) when it names no seats."""
        if self.seats is None and not self.seat_changes:
            return None, None
        first = max(start, self.start)
        last = min(end, self.end) if self.end is not None else end
        peak, days = Decimal(0), Decimal(0)
        day = first
        while day < last:
            held = self.seats_on(day)
            peak = max(peak, held)
            days += held
            day += timedelta(days=1)
        return peak, days


class _Document(BaseModel):
    model_config = STRICT
    subscriptions: list[Subscription]


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"


def month(text: str) -> Period:
    """``2026-10`` -> the period [2026-10-01, 2026-11-01)."""
    try:
        year, number = (int(part) for part in text.split("-"))
        start = date(year, number, 1)
    except ValueError:
        raise UsageError(
            [Problem(f"expected a month such as 2026-10, got {text!r}", "period")]
        ) from None
    end = date(year + (number == 12), number % 12 + 1, 1)
    return Period(start, end)


@dataclass
class Subscriptions:
    items: list[Subscription]
    plans: dict[str, Plan]

    def for_period(self, period: Period) -> list[Subscription]:
        active = [s for s in self.items if s.active(period.start, period.end)]
        seen: dict[str, Subscription] = {}
        problems = []
        for sub in active:
            if sub.customer in seen:
                problems.append(
                    Problem(
                        f"customer {sub.customer!r} has two subscriptions in {period.label} "
                        f"({seen[sub.customer].plan} and {sub.plan}); one plan per period",
                        "subscriptions",
                    )
                )
            seen[sub.customer] = sub
        if problems:
            raise UsageError(problems)
        return active


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append({k.strip(): v.strip() for k, v in row.items() if k and v not in (None, "")})
    return rows


def load_subscriptions(path: Path) -> Subscriptions:
    """Load subscriptions and the plans they name; every problem reported at once."""
    if not path.is_file():
        raise UsageError([Problem("no such file", source=str(path))])
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
        lines: dict[tuple[str | int, ...], int] = {
            ("subscriptions", i): i + 2 for i in range(len(rows))
        }
        document = Document({"subscriptions": rows}, str(path), lines)
    else:
        document = load_document(path, UsageError, "subscriptions")
    parsed = validate(_Document, document, UsageError)
    plans: dict[str, Plan] = {}
    for sub in parsed.subscriptions:
        if sub.plan not in plans:
            ref = sub.plan
            if not ref.startswith("catalog:") and not Path(ref).is_absolute():
                ref = str(path.parent / ref)
            plans[sub.plan] = load_plan(ref)
    return Subscriptions(parsed.subscriptions, plans)
