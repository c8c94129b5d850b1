"""Seats, flat fees, included allowances and fair-use limits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from ratecard.charges.invoice import Line
from ratecard.charges.records import Record
from ratecard.errors import Problem, UsageError
from ratecard.money import ZERO
from ratecard.plan.components import Allowance, FlatComponent, SeatComponent
from ratecard.usage.model import UsageSummary

__all__ = [
    "Entitlements",
    "entitlements",
    "flat_lines",
    "seat_count",
    "seat_description",
    "seat_lines",
]

USER_DIMENSION = "user"


def flat_lines(component: FlatComponent, escalation: Decimal) -> list[Line]:
    amount = component.amount * escalation
    return [
        Line("charge", component.id, component.name or component.id, Decimal(1), amount, amount)
    ]


def seat_count(component: SeatComponent, summary: UsageSummary) -> Decimal:
    """Seats billed for the period, before ``min_seats``: maximum concurrent seats, or
    seat-days over days in the period with daily proration."""
    days = Decimal(summary.period.days)
    if component.proration == "daily":
        if summary.seat_days is not None:
            return summary.seat_days / days
        if summary.seats is not None:
            return summary.seats
    else:
        if summary.seats is not None:
            return summary.seats
        if summary.seat_days is not None:
            return (summary.seat_days / days).to_integral_value(rounding=ROUND_CEILING)
    raise UsageError(
        [
            Problem(
                f"the plan's seat component {component.id!r} needs the number of seats: "
                "give 'seats' (or 'seat_days' for daily proration)",
                path="seats",
            )
        ]
    )


def billed_seats(component: SeatComponent, summary: UsageSummary) -> Decimal:
    return max(seat_count(component, summary), Decimal(component.min_seats))


def seat_description(
    component: SeatComponent,
    seats: Decimal,
    billed: Decimal,
    seat_days: Decimal | None,
    days: int,
) -> str:
    """How an invoice line explains a seat charge (fractional seats shown to 4 places)."""
    description = f"{component.name or component.id}: {_fmt(billed)} seats"
    if billed > seats:
        description += f" (minimum {component.min_seats}; {_fmt(seats)} used)"
    elif component.proration == "daily" and seat_days is not None:
        description += f" ({_fmt(seat_days)} seat-days / {days} days)"
    return description


def seat_lines(component: SeatComponent, summary: UsageSummary, escalation: Decimal) -> list[Line]:
    seats = seat_count(component, summary)
    billed = max(seats, Decimal(component.min_seats))
    price = component.unit_price * escalation
    description = seat_description(component, seats, billed, summary.seat_days, summary.period.days)
    return [Line("charge", component.id, description, billed, price, billed * price)]


def _fmt(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{value.normalize():f}"
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


@dataclass
class Entitlements:
    """What seats give: units of each metric included free, and the served share of each
    metric's records under fair use."""

    included: dict[str, Decimal] = field(default_factory=dict)  # metric -> units left
    served: dict[int, Decimal] = field(default_factory=dict)  # id(record) -> served fraction
    unserved_lines: list[Line] = field(default_factory=list)

    def served_units(self, record: Record, metric: str) -> Decimal:
        quantity = record.quantities[metric]
        fraction = self.served.get(id(record))
        return quantity if fraction is None else quantity * fraction

    def take_included(self, metric: str, units: Decimal) -> Decimal:
        """Consume up to ``units`` of the metric's allowance; returns what was consumed."""
        left = self.included.get(metric, ZERO)
        used = min(left, units)
        if used:
            self.included[metric] = left - used
        return used


def _per_user(records: Sequence[Record], metric: str) -> dict[str, Decimal] | None:
    """Units per value of the ``user`` dimension, or None when some record has no user."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for record in records:
        user = record.dimensions.get(USER_DIMENSION)
        if user is None:
            return None
        totals[user] += record.quantities[metric]
    return dict(totals)


def entitlements(
    seats: Sequence[SeatComponent], summary: UsageSummary, records: Sequence[Record]
) -> Entitlements:
    """Fair-use limits first (units above them are never billed), then included allowances."""
    result = Entitlements()
    for component in seats:
        billed = billed_seats(component, summary)
        for limit in component.fair_use_limits:
            _apply_fair_use(component, limit, billed, records, result)
        for allowance in component.allowances:
            metric_records = [r for r in records if allowance.metric in r.quantities]
            per_user = None if allowance.pooled else _per_user(metric_records, allowance.metric)
            if per_user is not None:
                # Each user's own allowance: only the part they use can be consumed.
                usable = sum((min(units, allowance.quantity) for units in per_user.values()), ZERO)
            else:
                usable = allowance.quantity * billed
            result.included[allowance.metric] = result.included.get(allowance.metric, ZERO) + usable
    return result


def _apply_fair_use(
    component: SeatComponent,
    limit: Allowance,
    billed: Decimal,
    records: Sequence[Record],
    result: Entitlements,
) -> None:
    metric_records = [r for r in records if limit.metric in r.quantities]
    total_units = sum((r.quantities[limit.metric] for r in metric_records), ZERO)
    per_user = None if limit.pooled else _per_user(metric_records, limit.metric)
    unserved = ZERO
    if per_user is not None:
        fractions = {
            user: min(Decimal(1), limit.quantity / units) if units else Decimal(1)
            for user, units in per_user.items()
        }
        for record in metric_records:
            fraction = fractions[record.dimensions[USER_DIMENSION]]
            if fraction < 1:
                result.served[id(record)] = fraction * result.served.get(id(record), Decimal(1))
        unserved = sum((max(u - limit.quantity, ZERO) for u in per_user.values()), ZERO)
    else:
        cap = limit.quantity * billed
        if total_units > cap:
            fraction = cap / total_units
            for record in metric_records:
                result.served[id(record)] = fraction * result.served.get(id(record), Decimal(1))
            unserved = total_units - cap
    if unserved > 0:
        scope = "pooled" if per_user is None else "per user"
        result.unserved_lines.append(
            Line(
                "unserved",
                component.id,
                f"{_fmt(unserved)} {limit.metric} above the fair-use limit of "
                f"{_fmt(limit.quantity)} per seat ({scope}): not served, not billed",
                unserved,
                None,
                ZERO,
            )
        )
