"""The price models as float constants: ``unit``, ``graduated``, ``volume`` and ``package``.

:func:`ratecard.simulate.kernel.price_row` evaluates them, as the float64 counterpart of
:mod:`ratecard.charges.price_math` (DESIGN.md section 3), within 1e-12 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

from ratecard.errors import WorkloadError
from ratecard.plan.prices import GraduatedPrice, PackagePrice, Price, UnitPrice, VolumePrice

__all__ = ["ArrayPrice", "array_price"]


@dataclass(frozen=True, slots=True)
class ArrayPrice:
    """A price model compiled to floats."""

    kind: str
    unit_price: float = 0.0
    uppers: tuple[float, ...] = ()  # tier bounds, inf for the last tier
    prices: tuple[float, ...] = ()
    fees: tuple[float, ...] = ()
    fee_at_zero: bool = True
    size: float = 1.0
    free_units: float = 0.0
    round_up: bool = True


def _tiered(kind: str, price: GraduatedPrice | VolumePrice) -> ArrayPrice:
    return ArrayPrice(
        kind,
        uppers=tuple(float("inf") if t.up_to is None else float(t.up_to) for t in price.tiers),
        prices=tuple(float(t.unit_price or 0) for t in price.tiers),
        fees=tuple(float(t.flat_fee or 0) for t in price.tiers),
        fee_at_zero=price.flat_fee_at_zero,
    )


def array_price(price: Price, where: str) -> ArrayPrice:
    """Compile a quantity price; raises :class:`WorkloadError` for prices charged per event."""
    if isinstance(price, UnitPrice):
        return ArrayPrice("unit", unit_price=float(price.unit_price))
    if isinstance(price, GraduatedPrice):
        return _tiered("graduated", price)
    if isinstance(price, VolumePrice):
        return _tiered("volume", price)
    if isinstance(price, PackagePrice):
        return ArrayPrice(
            "package",
            unit_price=float(price.package_price),
            size=float(price.size),
            free_units=float(price.free_units or 0),
            round_up=price.rounding == "up",
        )
    raise WorkloadError(
        f"{where}: the simulator cannot price {price.model} prices yet (they need each event's "
        "value); simulate a plan with unit, graduated, volume or package prices"
    )
