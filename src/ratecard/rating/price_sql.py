"""Price models as SQL expressions over a quantity ``q`` (a DECIMAL(28,14) expression):
the same rules as :mod:`ratecard.charges.price_math`, one expression per output column."""

from __future__ import annotations

from collections.abc import Callable
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
from ratecard.rating.dialect import CARRY, Dialect, carried, lit

__all__ = ["ChargeSQL", "charge_sql", "tier_prices"]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class ChargeSQL:
    amount: str  # the charge (before escalation)
    # the unit price times a factor (``mul(unit, factor)``), or NULL where no single price
    # describes the charge: the unit price is always one of the price's literals, so the
    # product is a literal too, worked out here instead of per row in SQL
    unit_times: Callable[[Decimal], str]
    quantity: str  # the line quantity: q for most, packages for a package price
    slices: str  # 'tier|inside;...' of the tiers entered, or NULL

    @property
    def unit(self) -> str:
        """The unit price itself."""
        return self.unit_times(ONE)


def _times(unit: Decimal, factor: Decimal) -> str:
    return lit(carried(unit * factor))


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


def _graduated(
    dialect: Dialect, price: GraduatedPrice | GraduatedPercentagePrice, q: str
) -> ChargeSQL:
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
        amount = dialect.product(inside, unit) + (f" + {lit(fee)}" if fee else "")
        amounts.append(f"CASE WHEN {enters} THEN {amount} ELSE {lit(ZERO)} END")
        slices.append(
            f"CASE WHEN {enters} THEN '{index}|' || CAST(CAST({inside} AS {CARRY}) AS STRING) END"
        )
        entered.append(enters)
        if upper is not None:
            lower = upper
    total = f"CAST({' + '.join(amounts)} AS {CARRY})"
    first_unit, first_fee = prices[0]
    # the first tier's price, while only that tier is entered
    only_first = entered[0] if len(entered) == 1 else f"{entered[0]} AND NOT {entered[1]}"

    def unit_times(factor: Decimal) -> str:
        return (
            "NULL" if first_fee else f"CASE WHEN {only_first} THEN {_times(first_unit, factor)} END"
        )

    return ChargeSQL(total, unit_times, q, f"concat_ws(';', {', '.join(slices)})")


def _volume(dialect: Dialect, price: VolumePrice, q: str) -> ChargeSQL:
    prices = tier_prices(price)
    branches = []
    for index, tier in enumerate(price.tiers[:-1]):
        branches.append(f"WHEN {q} <= {lit(tier.up_to or ZERO)} THEN {index}")
    last = len(price.tiers) - 1
    index_sql = f"CASE {' '.join(branches)} ELSE {last} END" if branches else "0"
    amount_branches = []
    for index, (unit, fee) in enumerate(prices):
        fee_sql = lit(fee)
        if index == 0 and fee and not price.flat_fee_at_zero:
            fee_sql = f"CASE WHEN {q} = 0 THEN {lit(ZERO)} ELSE {lit(fee)} END"
        amount_branches.append(f"WHEN {index} THEN {dialect.product(q, unit)} + {fee_sql}")

    def unit_times(factor: Decimal) -> str:
        branches = []
        for index, (unit, fee) in enumerate(prices):
            if not fee:
                branches.append(f"WHEN {index} THEN {_times(unit, factor)}")
            elif index == 0 and not price.flat_fee_at_zero:
                branches.append(
                    f"WHEN {index} THEN CASE WHEN {q} = 0 THEN {_times(unit, factor)} END"
                )
        return f"CASE {index_sql} {' '.join(branches)} END" if branches else "NULL"

    amount = f"CAST(CASE {index_sql} {' '.join(amount_branches)} END AS {CARRY})"
    slices = f"CAST({index_sql} AS STRING) || '|' || CAST(CAST({q} AS {CARRY}) AS STRING)"
    return ChargeSQL(amount, unit_times, q, slices)


def charge_sql(dialect: Dialect, price: Price, q: str) -> ChargeSQL:
    """The charge of ``price`` for the quantity ``q`` (see :func:`quantity_charge`)."""
    if isinstance(price, UnitPrice):
        unit = price.unit_price
        return ChargeSQL(dialect.product(q, unit), lambda factor: _times(unit, factor), q, "NULL")
    if isinstance(price, GraduatedPrice | GraduatedPercentagePrice):
        return _graduated(dialect, price, q)
    if isinstance(price, VolumePrice):
        return _volume(dialect, price, q)
    if isinstance(price, PackagePrice):
        free = price.free_units or ZERO
        billable = f"GREATEST(CAST({q} AS {CARRY}) - {lit(free)}, {lit(ZERO)})"
        packages = dialect.packages(billable, price.size, price.rounding == "up")
        package_price = price.package_price
        return ChargeSQL(
            dialect.product(packages, package_price),
            lambda factor: _times(package_price, factor),
            packages,
            "NULL",
        )
    raise TypeError(f"{price.model} prices each event; not supported by the engines")
