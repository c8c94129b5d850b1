"""Price models as SQL expressions over a quantity ``q`` (a DECIMAL(28,14) expression):
the same rules as :mod:`ratecard.charges.price_math`, one expression per output column."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ratecard.plan.prices import (
    GraduatedPercentagePrice,
    GraduatedPrice,
    PackagePrice,
    PercentTier,
    Price,
    Tier,
    UnitPrice,
    VolumePrice,
)
from ratecard.rating.dialect import CARRY, Dialect, lit, mul

__all__ = ["ChargeSQL", "charge_sql", "tier_prices"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class ChargeSQL:
    amount: str  # the charge (before escalation)
    unit: str  # the unit price, or NULL where no single price describes the charge
    quantity: str  # the line quantity: q for most, packages for a package price
    slices: str  # 'tier|inside;...' of the tiers entered, or NULL


def tier_prices(price: Price) -> list[tuple[Decimal, Decimal]]:
    """(unit price, flat fee) of each tier of a tiered price."""
    tiers: list[Tier] | list[PercentTier] = price.tiers  # type: ignore[union-attr]
    result = []
    for tier in tiers:
        if isinstance(tier, PercentTier):
            result.append(((tier.percent or ZERO) / 100, tier.flat_fee or ZERO))
        else:
            result.append((tier.unit_price or ZERO, tier.flat_fee or ZERO))
    return result


def _graduated(price: GraduatedPrice | GraduatedPercentagePrice, q: str) -> ChargeSQL:
    prices = tier_prices(price)
    lower = ZERO
    entered: list[str] = []
    amounts: list[str] = []
    slices: list[str] = []
    bounds: list[Decimal | None] = [tier.up_to for tier in price.tiers]
    for index, upper in enumerate(bounds):
        unit, fee = prices[index]
        enters = "TRUE" if index == 0 and price.flat_fee_at_zero else f"({q} > {lit(lower)})"
        top = q if upper is None else f"LEAST({q}, {lit(upper)})"
        inside = f"GREATEST(CAST({top} AS {CARRY}) - {lit(lower)}, {lit(ZERO)})"
        amount = mul(inside, unit) + (f" + {lit(fee)}" if fee else "")
        amounts.append(f"CASE WHEN {enters} THEN {amount} ELSE {lit(ZERO)} END")
        slices.append(
            f"CASE WHEN {enters} THEN '{index}|' || CAST(CAST({inside} AS {CARRY}) AS STRING) END"
        )
        entered.append(enters)
        if upper is not None:
            lower = upper
    total = f"CAST({' + '.join(amounts)} AS {CARRY})"
    first_unit, first_fee = prices[0]
    if first_fee:
        unit_sql = "NULL"
    elif len(entered) == 1:
        unit_sql = f"CASE WHEN {entered[0]} THEN {lit(first_unit)} END"
    else:
        unit_sql = f"CASE WHEN {entered[0]} AND NOT {entered[1]} THEN {lit(first_unit)} END"
    return ChargeSQL(total, unit_sql, q, f"concat_ws(';', {', '.join(slices)})")


def _volume(price: VolumePrice, q: str) -> ChargeSQL:
    prices = tier_prices(price)
    branches = []
    for index, tier in enumerate(price.tiers[:-1]):
        branches.append(f"WHEN {q} <= {lit(tier.up_to or ZERO)} THEN {index}")
    last = len(price.tiers) - 1
    index_sql = f"CASE {' '.join(branches)} ELSE {last} END" if branches else "0"
    amount_branches, unit_branches = [], []
    for index, (unit, fee) in enumerate(prices):
        zero_fee = index == 0 and fee and not price.flat_fee_at_zero
        fee_sql = lit(fee)
        if zero_fee:
            fee_sql = f"CASE WHEN {q} = 0 THEN {lit(ZERO)} ELSE {lit(fee)} END"
        amount_branches.append(f"WHEN {index} THEN {mul(q, unit)} + {fee_sql}")
        if not fee:
            unit_branches.append(f"WHEN {index} THEN {lit(unit)}")
        elif zero_fee:
            unit_branches.append(f"WHEN {index} THEN CASE WHEN {q} = 0 THEN {lit(unit)} END")
    amount = f"CAST(CASE {index_sql} {' '.join(amount_branches)} END AS {CARRY})"
    unit_sql = f"CASE {index_sql} {' '.join(unit_branches)} END" if unit_branches else "NULL"
    slices = f"CAST({index_sql} AS STRING) || '|' || CAST(CAST({q} AS {CARRY}) AS STRING)"
    return ChargeSQL(amount, unit_sql, q, slices)


def charge_sql(dialect: Dialect, price: Price, q: str) -> ChargeSQL:
    """The charge of ``price`` for the quantity ``q`` (see :func:`quantity_charge`)."""
    if isinstance(price, UnitPrice):
        return ChargeSQL(mul(q, price.unit_price), lit(price.unit_price), q, "NULL")
    if isinstance(price, GraduatedPrice | GraduatedPercentagePrice):
        return _graduated(price, q)
    if isinstance(price, VolumePrice):
        return _volume(price, q)
    if isinstance(price, PackagePrice):
        free = price.free_units or ZERO
        billable = f"GREATEST(CAST({q} AS {CARRY}) - {lit(free)}, {lit(ZERO)})"
        packages = dialect.packages(billable, price.size, price.rounding == "up")
        return ChargeSQL(
            mul(packages, price.package_price), lit(price.package_price), packages, "NULL"
        )
    raise TypeError(f"{price.model} prices each event; not supported by the engines")
