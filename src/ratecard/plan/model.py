"""The plan: one vendor offer as data (DESIGN.md section 2, format version 1)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from ratecard.money import CURRENCIES, to_decimal
from ratecard.plan.components import (
    Component,
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.modifiers import Modifiers
from ratecard.plan.prices import tier_problems
from ratecard.plan.types import STRICT

__all__ = ["Plan", "PricingModel", "Rounding", "reference_problems"]

PricingModel = Literal["per-token", "per-seat", "per-task", "per-outcome", "hybrid"]


class Rounding(BaseModel):
    """How exact amounts become billable ones: ``line`` rounds each invoice line (the total is
    their sum); ``invoice`` rounds the total once and spreads the cents over the lines."""

    model_config = STRICT
    mode: Literal["half_up", "half_even", "up", "down"] = "half_up"
    scope: Literal["line", "invoice"] = "line"


class Plan(BaseModel):
    """A price plan. Amounts are decimal strings in ``currency``."""

    model_config = STRICT
    ratecard: Literal[1]
    """Plan format version."""
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    name: str | None = None
    vendor: str | None = None
    description: str | None = None
    currency: str = "USD"
    """ISO 4217 code."""
    billing_period: Literal["month", "year"] = "month"
    source: str | None = None
    """Where the prices were published."""
    as_of: date | None = None
    """When the prices were last checked against the source."""
    pricing_model: PricingModel | None = None
    """Optional label; derived from the components when omitted."""
    components: list[Component] = Field(min_length=1)
    modifiers: Modifiers = Field(default_factory=Modifiers)
    rounding: Rounding = Field(default_factory=Rounding)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(
                f"unknown ISO 4217 currency code {value!r} (expected e.g. USD, EUR, JPY)"
            )
        return value

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Plan:
        if info.context and info.context.get("references_checked"):
            return self  # the loader checked them on the raw input, with exact locations
        problems = reference_problems(self.model_dump(mode="python", by_alias=True))
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self

    def component(self, component_id: str) -> Component:
        for component in self.components:
            if component.id == component_id:
                return component
        raise KeyError(component_id)

    @property
    def model_kind(self) -> PricingModel:
        """The pricing model this plan follows: per-token, per-seat, per-task, per-outcome or
        hybrid (a seat or flat fee combined with metered charges)."""
        if self.pricing_model is not None:
            return self.pricing_model
        seat_metrics = {
            allowance.metric
            for component in self.components
            if isinstance(component, SeatComponent)
            for allowance in component.allowances + component.fair_use_limits
        }
        kinds: set[str] = set()
        for component in self.components:
            if isinstance(component, TokensComponent) or (
                isinstance(component, UsageComponent) and component.metric.endswith("_tokens")
            ):
                kinds.add("per-token")
            elif isinstance(component, SeatComponent | FlatComponent):
                kinds.add("per-seat")  # a subscription fee
            elif isinstance(component, OutcomeComponent):
                kinds.add("per-outcome")
            elif component.metric not in seat_metrics:  # overage of a seat's allowance is not
                kinds.add("per-task")  # a pricing model of its own
        if len(kinds) == 1:
            return kinds.pop()  # type: ignore[return-value]
        return "hybrid"


def _component_ids(raw: Mapping[str, Any]) -> list[str]:
    components = raw.get("components")
    if not isinstance(components, list):
        return []
    return [c["id"] for c in components if isinstance(c, Mapping) and isinstance(c.get("id"), str)]


def reference_problems(raw: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references a schema cannot express, checked on the raw (or dumped) plan: component
    ids unique, modifiers naming existing components (each once), discounts adding up to at
    most 100 % on any component. Returns ``(path, message)`` pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    ids = _component_ids(raw)
    seen: set[str] = set()
    for index, component_id in enumerate(ids):
        if component_id in seen:
            problems.append(
                (("components", index, "id"), f"duplicate component id {component_id!r}")
            )
        seen.add(component_id)
    problems += _tier_problems(raw)
    modifiers = raw.get("modifiers")
    if not isinstance(modifiers, Mapping):
        return problems
    for path, names in _applies_to(modifiers):
        for position, name in enumerate(names):
            if name not in seen:
                known = ", ".join(sorted(seen)) or "none"
                problems.append(
                    (
                        ("modifiers", *path, position),
                        f"names component {name!r}, which the plan does not have "
                        f"(components: {known})",
                    )
                )
            elif name in names[:position]:
                problems.append(
                    (
                        ("modifiers", *path, position),
                        f"names component {name!r} twice (a component is in the list or not)",
                    )
                )
    problems += _discount_problems(modifiers, ids)
    return problems


def _discount_problems(
    modifiers: Mapping[str, Any], ids: list[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Discounts that together take more than 100 % off a component (a negative charge)."""
    entries = modifiers.get("discounts")
    if not isinstance(entries, list):
        return []
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for component_id in dict.fromkeys(ids):
        total = Decimal(0)
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            names = entry.get("applies_to")
            if names is not None and component_id not in (names if isinstance(names, list) else []):
                continue
            try:
                total += to_decimal(entry.get("percent", 0))
            except ValueError:
                return []  # the schema reports the bad number itself
        if total > 100:
            problems.append(
                (
                    ("modifiers", "discounts"),
                    f"discounts on component {component_id!r} add up to {total} %, more than 100 %",
                )
            )
    return problems


def _tier_problems(raw: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    components = raw.get("components")
    for index, component in enumerate(components if isinstance(components, list) else []):
        price = component.get("price") if isinstance(component, Mapping) else None
        tiers = price.get("tiers") if isinstance(price, Mapping) else None
        if not isinstance(tiers, list):
            continue
        bounds: list[Decimal | None] = []
        for tier in tiers:
            bound = tier.get("up_to", "missing") if isinstance(tier, Mapping) else "missing"
            try:
                bounds.append(None if bound is None else to_decimal(bound))
            except ValueError:
                break  # the schema reports the bad number itself
        else:
            for position, message in tier_problems(bounds):
                loc = ("components", index, "price", "tiers", position, "up_to")
                problems.append((loc, message))
    return problems


def _applies_to(modifiers: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], list[Any]]]:
    for key in ("discounts", "credits"):
        entries = modifiers.get(key)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, Mapping) and isinstance(entry.get("applies_to"), list):
                    yield (key, index, "applies_to"), entry["applies_to"]
    commitment = modifiers.get("commitment")
    if isinstance(commitment, Mapping) and isinstance(commitment.get("applies_to"), list):
        yield ("commitment", "applies_to"), commitment["applies_to"]
