"""Plan modifiers: what happens to a period's component charges, in this order:
discounts -> commitment -> minimum -> cap -> credits (then rounding)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ratecard.plan.types import STRICT, Amount, DecimalValue, Percent

__all__ = ["Cap", "Commitment", "Credit", "Discount", "Escalation", "Minimum", "Modifiers"]


class Discount(BaseModel):
    """A percentage off the charges of the named components (all components when omitted)."""

    model_config = STRICT
    percent: Percent
    applies_to: list[str] | None = None
    name: str | None = None


class Commitment(BaseModel):
    """A spend commitment over a term, rewarded with a discount on eligible components."""

    model_config = STRICT
    amount: Amount
    """Committed spend per term."""
    term_months: int = Field(ge=1)
    discount_percent: Percent = Field(default=Decimal(0), lt=100)
    applies_to: list[str] | None = None
    """Eligible components (all components when omitted)."""
    payment: Literal["postpaid", "prepaid"] = "postpaid"
    overage_discount_percent: Percent | None = None
    """Prepaid only: discount once the prepaid balance is spent (default: discount_percent)."""


class Minimum(BaseModel):
    """A floor per period: a shortfall is billed as a top-up line."""

    model_config = STRICT
    amount: Amount


class Cap(BaseModel):
    """A ceiling per period: charges above it are taken off by a negative line."""

    model_config = STRICT
    amount: Amount


class Credit(BaseModel):
    """A credit grant: pays for charges until spent or expired; an unused balance carries over."""

    model_config = STRICT
    amount: Amount
    expires: date | None = None
    """Last day the grant can be used (a period starting on or before it may use it)."""
    starts: date | None = None
    """First day the grant can be used (default: from the start)."""
    applies_to: list[str] | None = None
    name: str | None = None


class Escalation(BaseModel):
    """Yearly price change at each anniversary of the contract start, optionally capped by a
    price-protection clause."""

    model_config = STRICT
    percent_per_year: DecimalValue = Field(gt=-100)
    protection_cap_percent: DecimalValue | None = None

    @property
    def yearly_percent(self) -> DecimalValue:
        if self.protection_cap_percent is None:
            return self.percent_per_year
        return min(self.percent_per_year, self.protection_cap_percent)


class Modifiers(BaseModel):
    model_config = STRICT
    discounts: list[Discount] = Field(default_factory=list)
    commitment: Commitment | None = None
    minimum: Minimum | None = None
    cap: Cap | None = None
    credits: list[Credit] = Field(default_factory=list)
    escalation: Escalation | None = None

    @model_validator(mode="after")
    def _min_below_cap(self) -> Modifiers:
        if self.minimum and self.cap and self.minimum.amount > self.cap.amount:
            raise ValueError(
                f"minimum {self.minimum.amount} is above cap {self.cap.amount}: no invoice can "
                "satisfy both"
            )
        return self
