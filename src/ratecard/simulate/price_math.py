"""The price models over arrays: ``unit``, ``graduated``, ``volume`` and ``package``.

Each is the float64 counterpart of :mod:`ratecard.charges.price_math` (DESIGN.md section 3)
and agrees with it within 1e-12 relative. A quantity within 1e-12 relative of a tier bound or a
package boundary counts as on it, so that float sums like ``0.1 + 0.2`` fall in the tier
their exact value falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ratecard.errors import WorkloadError
from ratecard.plan.prices import GraduatedPrice, PackagePrice, Price, UnitPrice, VolumePrice

__all__ = ["ArrayPrice", "array_price"]

FloatArray = NDArray[np.float64]
SNAP = 1e-12


@dataclass(frozen=True, slots=True)
class ArrayPrice:
    """A price model compiled to floats; call it with an array of quantities ``q``."""

    kind: str
    unit_price: float = 0.0
    uppers: tuple[float, ...] = ()  # tier bounds, inf for the last tier
    prices: tuple[float, ...] = ()
    fees: tuple[float, ...] = ()
    fee_at_zero: bool = True
    size: float = 1.0
    free_units: float = 0.0
    round_up: bool = True

    def __call__(self, q: FloatArray) -> FloatArray:
        if self.kind == "unit":
            return q * self.unit_price
        if self.kind == "graduated":
            return self._graduated(q)
        if self.kind == "volume":
            return self._volume(q)
        return self._package(q)

    # Tiered prices are written as sums of ramps and steps over the tier bounds: a few
    # element-wise operations per bound, no per-element search (NumPy's interp, searchsorted
    # and where cost ten times a multiply-add).

    def _graduated(self, q: FloatArray) -> FloatArray:
        # Unit prices: continuous and piecewise linear, p0 q + sum (p_i - p_(i-1)) (q - u_i)+.
        amount: FloatArray = q * self.prices[0]
        for bound, before, after in zip(self.uppers, self.prices, self.prices[1:], strict=False):
            if after != before:
                amount += np.maximum(q - bound, 0.0) * (after - before)
        # Flat fees: a step when q enters a tier (q > its lower bound).
        if self.fees[0]:
            amount += self.fees[0] if self.fee_at_zero else (q > 0) * self.fees[0]
        for bound, fee in zip(self.uppers, self.fees[1:], strict=False):
            if fee:
                amount += (q > bound * (1 + SNAP)) * fee
        return amount

    def _volume(self, q: FloatArray) -> FloatArray:
        # The tier containing q: q > u_i moves every unit to the next tier's price and fee.
        price: Any = self.prices[0]
        fee: Any = self.fees[0]
        for index, bound in enumerate(self.uppers[:-1]):
            above = q > bound * (1 + SNAP)
            if self.prices[index + 1] != self.prices[index]:
                price = price + above * (self.prices[index + 1] - self.prices[index])
            if self.fees[index + 1] != self.fees[index]:
                fee = fee + above * (self.fees[index + 1] - self.fees[index])
        if not self.fee_at_zero and self.fees[0]:
            fee = fee - (q == 0) * self.fees[0]
        result: FloatArray = q * price + fee
        return result

    def _package(self, q: FloatArray) -> FloatArray:
        ratio = np.maximum(q - self.free_units, 0.0) / self.size
        # Within 1e-12 (relative) of a whole number of packages counts as on it.
        nudge = SNAP * np.maximum(ratio, 1.0)
        packages = np.ceil(ratio - nudge) if self.round_up else np.floor(ratio + nudge)
        result: FloatArray = packages * self.unit_price
        return result


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
