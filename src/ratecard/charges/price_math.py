"""The charge of one price model for a quantity: pure Decimal functions, no I/O.

Call these inside ``decimal.localcontext(ratecard.money.CONTEXT)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ratecard.money import ZERO
from ratecard.plan.prices import (
    GraduatedPercentagePrice,
    GraduatedPrice,
    PackagePrice,
    PercentagePrice,
    PercentTier,
    Price,
    Tier,
    UnitPrice,
    VolumePrice,
)

__all__ = ["Charge", "TierSlice", "percentage_charges", "quantity_charge"]


@dataclass(frozen=True, slots=True)
class TierSlice:
    """The part of a quantity that fell in one tier, and what it cost."""

    tier: int
    quantity: Decimal
    unit_price: Decimal
    flat_fee: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Charge:
    """The exact charge of a price for a quantity, with the tier breakdown when tiered."""

    amount: Decimal
    unit_price: Decimal | None  # None when no single unit price describes the charge
    quantity: Decimal  # in the price's unit (q), or packages for a package price
    tiers: tuple[TierSlice, ...] = ()


def _tier_price(tier: Tier | PercentTier) -> Decimal:
    if isinstance(tier, PercentTier):
        return (tier.percent or ZERO) / 100
    return tier.unit_price or ZERO


def graduated(tiers: Sequence[Tier | PercentTier], q: Decimal, flat_fee_at_zero: bool) -> Charge:
    """Each tier prices the units inside ``(up_to[i-1], up_to[i]]``; a tier's flat fee is
    charged when ``q`` enters it (the first tier's at zero too, unless told otherwise)."""
    slices: list[TierSlice] = []
    lower = ZERO
    for index, tier in enumerate(tiers):
        entered = q > lower or (index == 0 and flat_fee_at_zero)
        if not entered:
            break
        upper = tier.up_to
        inside = (q if upper is None else min(q, upper)) - lower
        inside = max(inside, ZERO)
        price = _tier_price(tier)
        fee = tier.flat_fee or ZERO
        slices.append(TierSlice(index, inside, price, fee, inside * price + fee))
        if upper is None or q <= upper:
            break
        lower = upper
    amount = sum((s.amount for s in slices), ZERO)
    unit = slices[0].unit_price if len(slices) == 1 and slices[0].flat_fee == 0 else None
    return Charge(amount, unit, q, tuple(slices))


def volume(tiers: Sequence[Tier], q: Decimal, flat_fee_at_zero: bool) -> Charge:
    """The tier containing ``q`` prices every unit; ``q = 0`` falls in the first tier."""
    index = 0
    for index, tier in enumerate(tiers):  # noqa: B007 - the loop finds the index
        if tier.up_to is None or q <= tier.up_to:
            break
    tier = tiers[index]
    price = tier.unit_price or ZERO
    fee = tier.flat_fee or ZERO
    if q == 0 and not flat_fee_at_zero:
        fee = ZERO
    slice_ = TierSlice(index, q, price, fee, q * price + fee)
    return Charge(slice_.amount, price if fee == 0 else None, q, (slice_,))


def package(price: PackagePrice, q: Decimal) -> Charge:
    billable = max(q - (price.free_units or ZERO), ZERO)
    rounding = ROUND_CEILING if price.rounding == "up" else ROUND_FLOOR
    packages = (billable / price.size).to_integral_value(rounding=rounding)
    return Charge(packages * price.package_price, price.package_price, packages)


def quantity_charge(price: Price, q: Decimal) -> Charge:
    """The charge of a quantity-based price (every model except ``percentage``).
    ``graduated_percentage`` takes the summed event value as ``q``."""
    if isinstance(price, UnitPrice):
        return Charge(q * price.unit_price, price.unit_price, q)
    if isinstance(price, GraduatedPrice | GraduatedPercentagePrice):
        return graduated(price.tiers, q, price.flat_fee_at_zero)
    if isinstance(price, VolumePrice):
        return volume(price.tiers, q, price.flat_fee_at_zero)
    if isinstance(price, PackagePrice):
        return package(price, q)
    raise TypeError(f"{price.model} prices each event; use percentage_charges")


def percentage_charges(price: PercentagePrice, values: Sequence[Decimal]) -> list[Decimal]:
    """The charge of each event, in order: ``percent`` of its value plus ``fixed_fee``, clamped
    to ``[min_per_event, max_per_event]``. The first ``free_events`` events and the first
    ``free_amount`` of value are free, whichever runs out first; the event that crosses
    ``free_amount`` pays for its part above it, plus its full fixed fee."""
    rate = price.percent / 100
    fee = price.fixed_fee or ZERO
    free_events = price.free_events or None
    free_amount = price.free_amount or None
    has_allowance = free_events is not None or free_amount is not None
    charges: list[Decimal] = []
    running = ZERO
    allowance_open = has_allowance
    for position, value in enumerate(values, start=1):
        chargeable = value
        if allowance_open and free_events is not None and position > free_events:
            allowance_open = False
        if allowance_open and free_amount is not None:
            before = running
            running += value
            if running <= free_amount:
                charges.append(ZERO)
                continue
            chargeable = running - max(before, free_amount)
            allowance_open = False
        elif allowance_open:
            charges.append(ZERO)
            continue
        charge = chargeable * rate + fee
        if price.min_per_event is not None:
            charge = max(charge, price.min_per_event)
        if price.max_per_event is not None:
            charge = min(charge, price.max_per_event)
        charges.append(charge)
    return charges
