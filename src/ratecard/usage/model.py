"""Usage as ``quote`` sees it: a usage summary for one period, with optional raw events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ratecard.plan.types import STRICT, Amount, DecimalValue

__all__ = ["Carry", "Event", "Period", "UsageLine", "UsageSummary"]

Dimensions = dict[str, str]


class Period(BaseModel):
    """A billing period; ``end`` is exclusive."""

    model_config = STRICT
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError(f"period end {self.end} must be after its start {self.start}")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class UsageLine(BaseModel):
    """A quantity of one metric, already aggregated, with the dimensions it was recorded under."""

    model_config = STRICT
    metric: str = Field(min_length=1)
    quantity: Amount
    dimensions: Dimensions = Field(default_factory=dict)
    value: Amount | None = None
    """Summed event value, for graduated percentage prices."""

    @field_validator("dimensions", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        return _stringify_dimensions(value)


def _stringify_dimensions(value: object) -> object:
    if isinstance(value, dict):
        return {k: v if isinstance(v, str) else str(v) for k, v in value.items()}
    return value


class Event(BaseModel):
    """One usage record: a single ``metric`` and ``quantity``, or a ``quantities`` map for one
    request that used several metrics (the token categories of an LLM call)."""

    model_config = STRICT
    id: str | None = None
    customer: str | None = None
    source: str | None = None
    timestamp: datetime | None = None
    metric: str | None = None
    quantity: Amount | None = None
    quantities: dict[str, Amount] | None = None
    dimensions: Dimensions = Field(default_factory=dict)
    status: Literal["confirmed", "pending", "disputed", "reversed"] | None = None
    attributed_at: datetime | None = None
    value: Amount | None = None

    @field_validator("dimensions", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        return _stringify_dimensions(value)

    @field_validator("timestamp", "attributed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps need a time zone (e.g. 2026-10-03T17:00:00Z)")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> Event:
        if self.quantities is not None:
            if self.metric is not None or self.quantity is not None:
                raise ValueError("an event has either metric and quantity, or quantities, not both")
            if not self.quantities:
                raise ValueError("quantities must name at least one metric")
        elif self.metric is None:
            raise ValueError("an event needs a metric (with quantity) or a quantities map")
        return self

    def metric_quantities(self) -> dict[str, Decimal]:
        """The event's metrics and quantities (a single-metric event defaults to quantity 1)."""
        if self.quantities is not None:
            return dict(self.quantities)
        assert self.metric is not None
        return {self.metric: self.quantity if self.quantity is not None else Decimal(1)}


class CreditBalance(BaseModel):
    model_config = STRICT
    index: int = Field(ge=0)
    """Position of the grant in the plan's ``modifiers.credits``."""
    remaining: Amount


class Carry(BaseModel):
    """State carried from earlier periods of the same contract."""

    model_config = STRICT
    commitment_counted: Amount | None = None
    """Postpaid: spend already counted toward the commitment in the current term."""
    prepaid_balance: Amount | None = None
    """Prepaid: commitment balance left in the current term (before this period)."""
    credits: list[CreditBalance] | None = None
    """Remaining balance of each credit grant; grants not listed are untouched."""


class UsageSummary(BaseModel):
    """What one customer used in one period."""

    model_config = STRICT
    period: Period
    customer: str | None = None
    contract_start: date | None = None
    """For escalation anniversaries and commitment terms (default: the period start)."""
    seats: DecimalValue | None = Field(default=None, ge=0)
    """Maximum concurrent seats in the period."""
    seat_days: DecimalValue | None = Field(default=None, ge=0)
    """Sum over the days of the period of the seats held that day (daily proration)."""
    usage: list[UsageLine] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    carry: Carry | None = None

    @model_validator(mode="after")
    def _contract_before_period(self) -> UsageSummary:
        if self.contract_start is not None and self.contract_start > self.period.start:
            raise ValueError(
                f"contract_start {self.contract_start} is after the period start "
                f"{self.period.start}"
            )
        return self
