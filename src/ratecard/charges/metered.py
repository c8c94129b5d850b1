"""Usage and outcome components: metered units priced by a price model, with multipliers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ratecard.charges.invoice import Line
from ratecard.charges.price_math import Charge, TierSlice, percentage_charges, quantity_charge
from ratecard.charges.records import (
    Record,
    dimension_factor,
    matches,
    time_window,
    window_label,
)
from ratecard.charges.seats import Entitlements
from ratecard.errors import Problem, UsageError
from ratecard.money import CONTEXT, ZERO
from ratecard.plan.components import OutcomeComponent, UsageComponent
from ratecard.plan.prices import GraduatedPercentagePrice, PackagePrice, PercentagePrice, Price

__all__ = ["outcome_lines", "usage_lines"]

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class _Group:
    """Records that share a price adjustment: a factor or a replacement unit price."""

    factor: Decimal
    replacement: Decimal | None
    labels: tuple[str, ...]
    dimensions: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class _Weighted:
    group: _Group
    units: Decimal  # quantity units (or value, for value-based prices)


def _group_of(record: Record, component: UsageComponent | OutcomeComponent) -> _Group:
    factor, used = dimension_factor(record, component.multipliers)
    tables = component.multipliers.dimensions if component.multipliers else {}
    labels = [f"{name}={value} ×{tables[name][value]}" for name, value in used]
    replacement = None
    window = time_window(record, component.multipliers)
    if window is not None:
        labels.append(window_label(window))
        if window.prices is not None:
            replacement = window.prices["unit_price"]
        if window.factor is not None:
            factor *= window.factor
    return _Group(factor, replacement, tuple(labels), used)


def _weights(
    items: Sequence[tuple[Record, Decimal]], component: UsageComponent | OutcomeComponent
) -> list[_Weighted]:
    groups: dict[_Group, _Weighted] = {}
    for record, units in items:
        group = _group_of(record, component)
        if group in groups:
            groups[group].units += units
        else:
            groups[group] = _Weighted(group, units)
    return list(groups.values())


def _value_based(price: Price) -> bool:
    return isinstance(price, PercentagePrice | GraduatedPercentagePrice)


def _title(component: UsageComponent | OutcomeComponent) -> str:
    return component.name or component.metric


def _quantity_lines(
    component: UsageComponent | OutcomeComponent,
    weighted: list[_Weighted],
    billable: Decimal,
    escalation: Decimal,
    note: str,
) -> list[Line]:
    """Price ``billable`` units (or value) once, then split the charge over the price groups
    pro rata to their units, each share times its group's factor.

    A line's ``quantity`` is in metered units and its ``unit_price`` is per ``per`` of them;
    a package line counts packages, a value-based line counts value."""
    price = component.price
    value_based = _value_based(price)
    per = ONE if value_based else component.per
    q = billable / per
    charge: Charge = quantity_charge(price, q)
    title = _title(component) + note
    total_units = sum((w.units for w in weighted), ZERO)
    plain = all(w.group.factor == ONE and w.group.replacement is None for w in weighted)
    if plain or total_units == 0:  # no units to share a (flat-fee) charge by: one line
        plain_unit = None if charge.unit_price is None else charge.unit_price * escalation
        quantity, line_per = billable, per
        if isinstance(price, PackagePrice):
            title += f": {shown_units(billable)} units in packages of {_num(price.size)}"
            quantity, line_per = charge.quantity, ONE
        return [
            Line(
                "charge",
                component.id,
                title,
                quantity,
                plain_unit,
                charge.amount * escalation,
                per=line_per,
                tiers=_scale_slices(charge, escalation),
            )
        ]
    lines = []
    for w in weighted:
        # Multiply before dividing: the result stays exact whenever it terminates.
        group = w.group
        if group.replacement is not None:
            unit: Decimal | None = group.replacement * escalation
            amount = q * w.units * group.replacement * escalation / total_units
        else:
            unit = None
            if charge.unit_price is not None and not isinstance(price, PackagePrice):
                unit = charge.unit_price * group.factor * escalation
            amount = charge.amount * w.units * group.factor * escalation / total_units
        lines.append(
            Line(
                "charge",
                component.id,
                title + (" — " + ", ".join(group.labels) if group.labels else ""),
                billable * w.units / total_units,
                unit,
                amount,
                per=per,
                dimensions=group.dimensions,
            )
        )
    return lines


def _scale_slices(charge: Charge, escalation: Decimal) -> tuple[TierSlice, ...]:
    return tuple(
        TierSlice(
            s.tier,
            s.quantity,
            s.unit_price * escalation,
            s.flat_fee * escalation,
            s.amount * escalation,
        )
        for s in charge.tiers
    )


def _percentage_lines(
    component: UsageComponent | OutcomeComponent,
    price: PercentagePrice,
    records: Sequence[Record],
    escalation: Decimal,
    note: str,
) -> list[Line]:
    values = []
    for record in records:
        if record.aggregated or record.value is None:
            raise UsageError(
                [
                    Problem(
                        f"component {component.id!r} has a percentage price, which needs each "
                        "event's value; this record has none",
                        path=record.ref,
                    )
                ]
            )
        values.append(record.value)
    charges = percentage_charges(price, values)
    by_group: dict[_Group, list[Decimal]] = {}
    for record, charge, value in zip(records, charges, values, strict=True):
        group = _group_of(record, component)
        bucket = by_group.setdefault(group, [ZERO, ZERO, ZERO])
        bucket[0] += charge * group.factor
        bucket[1] += value
        bucket[2] += 1
    lines = []
    for group, (amount, value, count) in by_group.items():
        label = " — " + ", ".join(group.labels) if group.labels else ""
        lines.append(
            Line(
                "charge",
                component.id,
                f"{_title(component)}{note}{label}: {price.percent}% of {_num(value)} over "
                f"{count} events",
                value,
                None,
                amount * escalation,
                dimensions=group.dimensions,
            )
        )
    if not lines:
        lines.append(Line("charge", component.id, _title(component), ZERO, None, ZERO))
    return lines


def usage_lines(
    component: UsageComponent,
    records: Sequence[Record],
    entitled: Entitlements,
    escalation: Decimal,
) -> list[Line]:
    matched = [
        r for r in records if component.metric in r.quantities and matches(r, component.filter)
    ]
    price = component.price
    if isinstance(price, PercentagePrice):
        return _percentage_lines(component, price, matched, escalation, "")
    if isinstance(price, GraduatedPercentagePrice):
        items = [(r, r.value or ZERO) for r in matched]
        billable = sum((units for _, units in items), ZERO)
        return _quantity_lines(component, _weights(items, component), billable, escalation, "")
    items = [(r, entitled.served_units(r, component.metric)) for r in matched]
    units = sum((u for _, u in items), ZERO)
    included = entitled.take_included(component.metric, units)
    note = included_note(included)
    return _quantity_lines(
        component, _weights(items, component), units - included, escalation, note
    )


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


_SHOWN = Decimal("0.000001")


def shown_units(units: Decimal) -> str:
    """Units as a description shows them: to 6 decimal places (units left after a prorated
    allowance such as 10 x 19/31 seats do not terminate; the line's quantity is exact)."""
    return _num(units.quantize(_SHOWN, rounding=ROUND_HALF_UP, context=CONTEXT))


def included_note(included: Decimal) -> str:
    """The description's note of included units taken (:func:`shown_units`)."""
    if not included:
        return ""
    return f" ({shown_units(included)} included)"


def outcome_lines(
    component: OutcomeComponent, records: Sequence[Record], escalation: Decimal
) -> list[Line]:
    """Confirmed outcomes within the attribution window are billed; disputed or reversed ones
    are credited at the marginal price of this period's charge."""
    billable: list[Record] = []
    reversed_: list[Record] = []
    late = 0
    for record in records:
        if component.metric not in record.quantities or not matches(record, component.filter):
            continue
        if record.status in {"disputed", "reversed"}:
            reversed_.append(record)
        elif record.status in {None, "confirmed"}:
            if _attributed(component, record):
                billable.append(record)
            else:
                late += 1
    note = f" ({late} outside the attribution window, not billed)" if late else ""
    price = component.price
    value_based = _value_based(price)

    def units_of(record: Record) -> Decimal:
        return (record.value or ZERO) if value_based else record.quantities[component.metric]

    if isinstance(price, PercentagePrice):
        lines = _percentage_lines(component, price, billable, escalation, note)
    else:
        items = [(r, units_of(r)) for r in billable]
        total_units = sum((u for _, u in items), ZERO)
        lines = _quantity_lines(
            component, _weights(items, component), total_units, escalation, note
        )
    if reversed_:
        lines.append(_reversal_line(component, billable, reversed_, escalation, units_of))
    return lines


def _attributed(component: OutcomeComponent, record: Record) -> bool:
    window = component.attribution_window
    if window is None or record.aggregated:
        return True
    if record.timestamp is None or record.attributed_at is None:
        return False
    delay = record.timestamp - record.attributed_at
    return delay.total_seconds() >= 0 and delay <= window


def _reversal_line(
    component: OutcomeComponent,
    billable: Sequence[Record],
    reversed_: Sequence[Record],
    escalation: Decimal,
    units_of: object,
) -> Line:
    price = component.price
    count = Decimal(len(reversed_))
    if isinstance(price, PercentagePrice):
        plain = price.model_copy(update={"free_events": 0, "free_amount": None})
        amount = sum(
            (c for c in percentage_charges(plain, [r.value or ZERO for r in reversed_])), ZERO
        )
        quantity = sum((r.value or ZERO for r in reversed_), ZERO)
    else:
        assert callable(units_of)
        base = sum((units_of(r) for r in billable), ZERO)
        extra = sum((units_of(r) for r in reversed_), ZERO)
        per = ONE if _value_based(price) else component.per
        amount = (
            quantity_charge(price, (base + extra) / per).amount
            - quantity_charge(price, base / per).amount
        )
        quantity = extra
    return Line(
        "outcome_reversal",
        component.id,
        f"{_title(component)}: {count} outcomes disputed or reversed after billing",
        quantity,
        None,
        -amount * escalation,
    )
