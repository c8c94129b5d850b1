"""Price models: how a quantity ``q`` becomes an amount.

Six models, chosen by the ``model`` key:

``unit``
    ``q * unit_price``.
``graduated``
    Each tier prices only the units inside it. Tiers ``{up_to: 100, 1.00}``,
    ``{up_to: null, 0.50}`` price 150 units at ``100 * 1.00 + 50 * 0.50 = 125.00``.
``volume`` (all-units, "cliff" tiers)
    The tier that contains ``q`` prices every unit: the same 150 units cost
    ``150 * 0.50 = 75.00``.
``package``
    Whole packages of ``size`` units: ``ceil(max(q - free_units, 0) / size) * package_price``.
``percentage``
    A share of each event's ``value`` plus a fixed fee per event, clamped per event.
``graduated_percentage``
    Graduated tiers over the running sum of event values, ``percent`` in place of a unit price.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, model_validator

from ratecard.plan.types import STRICT, Amount, DecimalValue, Percent

__all__ = [
    "GraduatedPercentagePrice",
    "GraduatedPrice",
    "PackagePrice",
    "PercentTier",
    "PercentagePrice",
    "Price",
    "Tier",
    "UnitPrice",
    "VolumePrice",
    "tier_problems",
]


class UnitPrice(BaseModel):
    """Every unit costs the same."""

    model_config = STRICT
    model: Literal["unit"]
    unit_price: Amount
    """Price of one unit of ``q`` (that is, of ``per`` metered units)."""


class Tier(BaseModel):
    """One tier of a graduated or volume price."""

    model_config = STRICT
    up_to: DecimalValue | None
    """Inclusive cumulative upper bound in units of ``q``; null for the last, unbounded tier."""
    unit_price: Amount | None = None
    """Price per unit inside this tier (default 0)."""
    flat_fee: Amount | None = None
    """Charged once when ``q`` enters the tier (default 0)."""


def tier_problems(bounds: Sequence[Decimal | None]) -> list[tuple[int, str]]:
    """Problems with a list of tier upper bounds, as ``(tier index, message)``: bounds must be
    positive and rise, only the last may be null, and the last must be null."""
    problems: list[tuple[int, str]] = []
    for index, bound in enumerate(bounds):
        previous = bounds[index - 1] if index else Decimal(0)
        if index and previous is None:
            problems.append(
                (index, f"tier {index} follows a tier with up_to: null, which must be the last")
            )
        elif bound is not None and bound <= 0:
            problems.append((index, f"up_to must be positive, got {bound}"))
        elif bound is not None and previous is not None and index and bound <= previous:
            problems.append(
                (index, f"tiers out of order: up_to {bound} is not above the previous {previous}")
            )
    if bounds and bounds[-1] is not None:
        problems.append(
            (
                len(bounds) - 1,
                f"the last tier must have up_to: null so that every quantity has a price "
                f"(it ends at {bounds[-1]})",
            )
        )
    return problems


def _check_tiers(tiers: Sequence[Tier | PercentTier], info: ValidationInfo) -> None:
    if info.context and info.context.get("references_checked"):
        return  # the loader checked the raw tiers and located each problem
    problems = tier_problems([tier.up_to for tier in tiers])
    if problems:
        raise ValueError("; ".join(f"tier {i}: {message}" for i, message in problems))


class _Tiered(BaseModel):
    model_config = STRICT
    tiers: list[Tier] = Field(min_length=1)
    flat_fee_at_zero: bool = True
    """Charge the first tier's flat fee even when ``q`` is zero (as Lago and OpenMeter do)."""

    @model_validator(mode="after")
    def _tiers_ordered(self, info: ValidationInfo) -> _Tiered:
        _check_tiers(self.tiers, info)
        return self


class GraduatedPrice(_Tiered):
    """Each tier prices only the units inside it; a tier's flat fee is added when ``q`` enters
    it (``q`` = 5.001 enters the tier ``(5, 10]``; 5 does not)."""

    model: Literal["graduated"]


class VolumePrice(_Tiered):
    """The tier containing ``q`` prices all units, plus that tier's flat fee."""

    model: Literal["volume"]


class PackagePrice(BaseModel):
    """Units are sold in whole packages of ``size``."""

    model_config = STRICT
    model: Literal["package"]
    size: DecimalValue = Field(gt=0)
    package_price: Amount
    free_units: Amount | None = None
    """Units given free before packages are counted (default 0)."""
    rounding: Literal["up", "down"] = "up"
    """``up`` bills a started package in full; ``down`` bills complete packages only."""


class PercentagePrice(BaseModel):
    """A percentage of each event's value plus a fixed fee per event."""

    model_config = STRICT
    model: Literal["percentage"]
    percent: Percent
    fixed_fee: Amount | None = None
    free_events: int = Field(default=0, ge=0)
    """The first this-many events are free (0: no limit of this kind)."""
    free_amount: Amount | None = None
    """The first this-much value is free (0 or absent: no limit of this kind)."""
    min_per_event: Amount | None = None
    max_per_event: Amount | None = None

    @model_validator(mode="after")
    def _bounds(self) -> PercentagePrice:
        low, high = self.min_per_event, self.max_per_event
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_per_event {low} is above max_per_event {high}")
        return self


class PercentTier(BaseModel):
    """One tier of a graduated percentage."""

    model_config = STRICT
    up_to: DecimalValue | None
    percent: Percent | None = None
    flat_fee: Amount | None = None


class GraduatedPercentagePrice(BaseModel):
    """Graduated tiers over the running sum of event values."""

    model_config = STRICT
    model: Literal["graduated_percentage"]
    tiers: list[PercentTier] = Field(min_length=1)
    flat_fee_at_zero: bool = True

    @model_validator(mode="after")
    def _tiers_ordered(self, info: ValidationInfo) -> GraduatedPercentagePrice:
        _check_tiers(self.tiers, info)
        return self


Price = Annotated[
    UnitPrice
    | GraduatedPrice
    | VolumePrice
    | PackagePrice
    | PercentagePrice
    | GraduatedPercentagePrice,
    Field(discriminator="model"),
]
