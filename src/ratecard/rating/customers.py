"""Per-customer inputs of a rating run: plan group, escalation, seats and included units.

This walks subscriptions (one small record per customer), never events.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ratecard.charges.calendar import years_between
from ratecard.errors import Problem, UsageError
from ratecard.money import CONTEXT
from ratecard.plan.components import SeatComponent
from ratecard.plan.model import Plan
from ratecard.rating.subscriptions import Period, Subscription

__all__ = ["CustomerInputs", "Customers", "Profile", "customer_inputs", "escalation"]


_ESCALATIONS: dict[tuple[int, date, date], Decimal] = {}


def escalation(plan: Plan, contract_start: date, period_start: date) -> Decimal:
    """As :func:`ratecard.charges.quote.escalation_factor`."""
    rule = plan.modifiers.escalation
    if rule is None:
        return Decimal(1)
    key = (id(plan), contract_start, period_start)
    if key not in _ESCALATIONS:
        years = years_between(contract_start, period_start)
        with decimal.localcontext(CONTEXT):
            _ESCALATIONS[key] = (1 + rule.yearly_percent / 100) ** years
    return _ESCALATIONS[key]


def _seats(sub: Subscription, period: Period) -> tuple[Decimal | None, Decimal | None]:
    if (
        not sub.seat_changes
        and sub.start <= period.start
        and (sub.end is None or sub.end >= period.end)
    ):
        if sub.seats is None:
            return None, None
        return sub.seats, sub.seats * (period.end - period.start).days
    return sub.seat_usage(period.start, period.end)


def _entitlements(
    plan: Plan, seats: Decimal | None, seat_days: Decimal | None, days: Decimal
) -> tuple[dict[int, Decimal], dict[int, Decimal], dict[str, Decimal], list[str]]:
    """(seats counted, seats billed, included units, missing seat components) of one plan for
    one seat usage; the same for every customer with that usage, so computed once."""
    counted: dict[int, Decimal] = {}
    billed: dict[int, Decimal] = {}
    included: dict[str, Decimal] = {}
    missing: list[str] = []
    with decimal.localcontext(CONTEXT):
        for index, component in enumerate(plan.components):
            if not isinstance(component, SeatComponent):
                continue
            if component.proration == "daily" and seat_days is not None:
                count = seat_days / days
            elif seats is not None:
                count = seats
            else:
                missing.append(component.id)
                continue
            counted[index] = count
            billed[index] = max(count, Decimal(component.min_seats))
            for allowance in component.allowances:
                included[allowance.metric] = (
                    included.get(allowance.metric, Decimal(0)) + allowance.quantity * billed[index]
                )
    return counted, billed, included, missing


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything a rating run needs of a customer but its name; customers whose
    subscriptions agree on plan, dates and seats share one."""

    plan_key: str
    plan: Plan
    contract_start: date
    escalation: Decimal
    seats: Decimal | None
    seat_days: Decimal | None
    billed: dict[int, Decimal]  # seat component -> billed seats
    counted: dict[int, Decimal]  # ... before min_seats
    included: dict[str, Decimal]  # metric -> included units


@dataclass(frozen=True, slots=True)
class CustomerInputs(Profile):
    """One customer's inputs: its profile, and its name."""

    customer: str


@dataclass
class Customers:
    """Customers in subscription order, each with the index of its profile in ``profiles``
    (which several such lists may share): per-customer work is a name and an integer."""

    profiles: list[Profile]
    names: list[str] = field(default_factory=list)
    profile_of: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[CustomerInputs]:
        for name, index in zip(self.names, self.profile_of, strict=True):
            p = self.profiles[index]
            yield CustomerInputs(
                p.plan_key, p.plan, p.contract_start, p.escalation, p.seats, p.seat_days,
                p.billed, p.counted, p.included, name,
            )  # fmt: skip


def customer_inputs(subs: list[Subscription], plans: dict[str, Plan], period: Period) -> Customers:
    days = Decimal((period.end - period.start).days)
    result = Customers([])
    problems = []
    has_seats = {
        key: any(isinstance(c, SeatComponent) for c in plan.components)
        for key, plan in plans.items()
    }
    cache: dict[tuple[str, Decimal | None, Decimal | None], Any] = {}
    # Seats key by their spelling, so that equal seats written differently ("5", "5.0")
    # keep their own; a subscription with seat changes gets a profile of its own.
    known: dict[tuple[Any, ...], int] = {}
    missing_of: dict[int, list[str]] = {}
    names, profile_of = result.names, result.profile_of
    for sub in subs:
        key = (
            None
            if sub.seat_changes
            else (sub.plan, sub.start, sub.end, None if sub.seats is None else str(sub.seats))
        )
        index = known.get(key) if key is not None else None
        if index is None:
            plan = plans[sub.plan]
            seats, seat_days = _seats(sub, period) if has_seats[sub.plan] else (None, None)
            entitled = (sub.plan, seats, seat_days)
            if entitled not in cache:
                cache[entitled] = _entitlements(plan, seats, seat_days, days)
            counted, billed, included, missing = cache[entitled]
            contract_start = min(sub.start, period.start)
            factor = escalation(plan, contract_start, period.start)
            index = len(result.profiles)
            profile = Profile(
                sub.plan, plan, contract_start, factor, seats, seat_days, billed, counted, included
            )
            result.profiles.append(profile)
            missing_of[index] = missing
            if key is not None:
                known[key] = index
        names.append(sub.customer)
        profile_of.append(index)
        for component_id in missing_of[index]:
            problems.append(
                Problem(
                    f"customer {sub.customer!r}: the plan's seat component {component_id!r} "
                    "needs seats in the subscription",
                    "seats",
                )
            )
    if problems:
        raise UsageError(problems)
    return result
