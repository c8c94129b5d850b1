"""Plan components: the priced things of a plan (flat, seat, usage, tokens, outcome)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ratecard.plan.prices import Price, UnitPrice
from ratecard.plan.types import STRICT, Amount, DecimalValue, Duration, Factor

__all__ = [
    "TOKEN_CATEGORIES",
    "TOKEN_ORDER",
    "TOKEN_PARENT",
    "Allowance",
    "Component",
    "ContextTier",
    "FlatComponent",
    "Multipliers",
    "OutcomeComponent",
    "SeatComponent",
    "TimeWindow",
    "TokenPrices",
    "TokensComponent",
    "UsageComponent",
    "Variant",
]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

# Token categories priced by a tokens component, and the metric each is read from.
TOKEN_CATEGORIES: dict[str, str] = {
    "input": "input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "audio_input": "audio_input_tokens",
    "output": "output_tokens",
    "reasoning": "reasoning_tokens",
    "audio_output": "audio_output_tokens",
}

# A subset category without its own price stays in its parent and is priced with it.
TOKEN_PARENT: dict[str, str] = {
    "cache_read": "input",
    "cache_write": "input",
    "audio_input": "input",
    "reasoning": "output",
    "audio_output": "output",
}
TOKEN_ORDER: tuple[str, ...] = tuple(TOKEN_CATEGORIES)
"""Token categories in invoice order: input and its subsets, then output and its subsets."""

Filter = dict[str, str | list[str]]
"""Dimension name -> value (or list of accepted values) an event must carry to match."""


class TokenPrices(BaseModel):
    """Prices per ``per`` tokens of each token category. A subset category without its own
    price (cache, reasoning, audio) is priced at its parent's price."""

    model_config = STRICT
    input: Amount | None = None
    cache_read: Amount | None = None
    cache_write: Amount | None = None
    audio_input: Amount | None = None
    output: Amount | None = None
    reasoning: Amount | None = None
    audio_output: Amount | None = None


class TimeWindow(BaseModel):
    """A daily window ``[from, to)`` in ``tz`` that changes the price of matching events.
    A window may cross midnight (``from: "16:30"``, ``to: "00:30"``)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True
    )
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    tz: str = "UTC"
    factor: Factor | None = None
    """Multiplies the unit price of events inside the window."""
    prices: dict[str, Amount] | None = None
    """Replacement prices: token categories for a tokens component, ``unit_price`` for a
    usage component with a unit price."""
    label: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise ValueError(f"expected a time of day 'HH:MM' (00:00 to 24:00), got {value!r}")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. UTC, Europe/Paris)") from None
        return value

    @model_validator(mode="after")
    def _effect(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError(f"empty time window: from and to are both {self.start}")
        if self.factor is None and self.prices is None:
            raise ValueError("a time window needs a factor or prices")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    def contains(self, minute_of_day: int) -> bool:
        start, end = self.start_minute, self.end_minute
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Multipliers(BaseModel):
    """Price multipliers: ``time_of_day`` windows, and any other key names a dimension whose
    values map to factors (``region: {eu: "1.10"}``). Region and time factors multiply."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)
    __pydantic_extra__: dict[str, dict[str, Factor]] = Field(init=False)
    time_of_day: list[TimeWindow] = Field(default_factory=list)

    @property
    def dimensions(self) -> dict[str, dict[str, DecimalValue]]:
        """Dimension name -> value -> factor."""
        return dict(self.__pydantic_extra__ or {})


class Allowance(BaseModel):
    """A quantity of a metric that comes with each seat (or all seats, when pooled)."""

    model_config = STRICT
    metric: str = Field(min_length=1)
    quantity: Amount
    pooled: bool = True
    """True: the allowance times seats is shared by all users; false: each user has their own
    (applied per value of the ``user`` dimension when events carry it)."""


class _Base(BaseModel):
    model_config = STRICT
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    name: str | None = None
    description: str | None = None
    minimum: Amount | None = None
    """Per period: a charge below it gets a top-up line."""
    maximum: Amount | None = None
    """Per period: a charge above it gets a negative adjustment down to it."""

    @model_validator(mode="after")
    def _min_below_max(self) -> _Base:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        return self


class FlatComponent(_Base):
    """A fixed amount per billing period."""

    type: Literal["flat"]
    amount: Amount


class SeatComponent(_Base):
    """A price per seat per billing period, with optional included usage and fair-use limits."""

    type: Literal["seat"]
    unit_price: Amount
    min_seats: int = Field(default=0, ge=0)
    proration: Literal["daily", "none"] = "none"
    included: Allowance | list[Allowance] | None = None
    fair_use: Allowance | list[Allowance] | None = None

    @property
    def allowances(self) -> list[Allowance]:
        return _as_list(self.included)

    @property
    def fair_use_limits(self) -> list[Allowance]:
        return _as_list(self.fair_use)


def _as_list(value: Allowance | list[Allowance] | None) -> list[Allowance]:
    if value is None:
        return []
    return [value] if isinstance(value, Allowance) else list(value)


class _Metered(_Base):
    filter: Filter = Field(default_factory=dict)
    """Only usage whose dimensions match every key counts."""
    per: DecimalValue = Field(default=Decimal(1), gt=0)
    """Prices are per this many units (1000000 for per-million-token prices)."""
    multipliers: Multipliers | None = None


class UsageComponent(_Metered):
    """Anything metered: calls, minutes, agent actions, tokens of one category."""

    type: Literal["usage"]
    metric: str = Field(min_length=1)
    price: Price

    @model_validator(mode="after")
    def _window_prices(self) -> UsageComponent:
        for window in self.multipliers.time_of_day if self.multipliers else []:
            if window.prices is None:
                continue
            if not isinstance(self.price, UnitPrice) or set(window.prices) != {"unit_price"}:
                raise ValueError(
                    "time_of_day prices on a usage component must be {unit_price: ...} and need "
                    "a unit price; use factor for other price models"
                )
        return self


class ContextTier(BaseModel):
    """Prices for requests whose input tokens are strictly above a threshold."""

    model_config = STRICT
    input_tokens_over: int = Field(ge=0)
    prices: TokenPrices


class Variant(BaseModel):
    """A price variant chosen by the event's ``mode`` dimension (e.g. ``batch``)."""

    model_config = STRICT
    factor: Factor | None = None
    prices: TokenPrices | None = None


class TokensComponent(_Metered):
    """The token categories of each request priced together."""

    type: Literal["tokens"]
    prices: TokenPrices
    context_tiers: list[ContextTier] = Field(default_factory=list)
    variants: dict[str, Variant] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _checks(self) -> TokensComponent:
        if self.prices.input is None or self.prices.output is None:
            raise ValueError("a tokens component needs at least prices.input and prices.output")
        thresholds = [tier.input_tokens_over for tier in self.context_tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError(f"context_tiers must rise strictly, got thresholds {thresholds}")
        for window in self.multipliers.time_of_day if self.multipliers else []:
            unknown = set(window.prices or {}) - set(TOKEN_CATEGORIES)
            if unknown:
                raise ValueError(
                    f"time_of_day prices name unknown token categories {sorted(unknown)}; "
                    f"expected some of {sorted(TOKEN_CATEGORIES)}"
                )
        return self


class OutcomeComponent(_Metered):
    """Charged only when a defined result is confirmed within the attribution window."""

    type: Literal["outcome"]
    metric: str = Field(min_length=1)
    attribution_window: Duration | None = None
    """Confirmed outcomes count only when confirmed within this time of their interaction."""
    price: Price


Component = Annotated[
    FlatComponent | SeatComponent | UsageComponent | TokensComponent | OutcomeComponent,
    Field(discriminator="type"),
]
