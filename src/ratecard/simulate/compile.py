"""Compiling a plan against a usage layout: every component becomes a few float constants.

Because a metric's total spreads over dimension groups in fixed shares (the :class:`Layout`),
the charge of a usage component whose groups carry different price factors is its price model
applied to the total, times ``kappa`` (the share-weighted mean factor of its groups, as
:mod:`ratecard.charges.metered` splits a charge pro rata), plus ``q * rho`` for groups with a
replacement unit price; a tokens component is a linear form of the token metrics' totals.
Prices of a group are resolved by the exact evaluator's own helpers on a synthetic record
carrying the group's dimensions and time, so that both paths share one semantics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from ratecard.charges.records import Record, dimension_factor, matches, time_window
from ratecard.charges.tokens import PARENT, resolve_prices
from ratecard.errors import WorkloadError
from ratecard.plan.components import (
    TOKEN_CATEGORIES,
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan
from ratecard.plan.prices import UnitPrice
from ratecard.simulate.price_math import ArrayPrice, array_price
from ratecard.simulate.usage import Group, Layout

if TYPE_CHECKING:
    from ratecard.simulate.program import Program

__all__ = [
    "CompiledPlan",
    "FlatPart",
    "Limit",
    "MeteredPart",
    "SeatPart",
    "TokensPart",
    "compile_plan",
]


@dataclass(frozen=True, slots=True)
class Limit:
    """An included allowance or a fair-use limit of a seat component."""

    seat: str  # the seat component's id
    metric: str
    quantity: float
    per_user_sigma: float | None  # None: pooled (quantity times billed seats)


@dataclass(frozen=True, slots=True)
class FlatPart:
    id: str
    amount: float


@dataclass(frozen=True, slots=True)
class SeatPart:
    id: str
    unit_price: float
    min_seats: float


@dataclass(frozen=True, slots=True)
class MeteredPart:
    """A usage or outcome component: ``price(q) * kappa + q * rho`` with
    ``q = billable units / per``."""

    id: str
    metric: str
    outcome: bool
    price: ArrayPrice
    per: float
    matched: float  # share of the metric's total that passes the filter
    kappa: float
    rho: float


@dataclass(frozen=True, slots=True)
class TokensPart:
    """Cost per unit of each token metric's total (prices, factors, shares and ``per``
    folded in)."""

    id: str
    coefficients: Mapping[str, float]


Part = FlatPart | SeatPart | MeteredPart | TokensPart


@dataclass(frozen=True)
class CompiledPlan:
    plan: Plan
    parts: tuple[Part, ...]
    fair_use: tuple[Limit, ...] = ()
    included: tuple[Limit, ...] = ()
    minimums: Mapping[str, float] = field(default_factory=dict)
    maximums: Mapping[str, float] = field(default_factory=dict)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(part.id for part in self.parts)

    @cached_property
    def program(self) -> Program:
        """The plan flattened for the pricing kernel (built once, on first use)."""
        from ratecard.simulate.program import program_of  # program.py builds on this module

        return program_of(self)


def _record(group: Group, start: date, input_tokens: float | None = None) -> Record:
    timestamp = None
    if group.at is not None:
        timestamp = datetime.combine(start, time(group.at // 60, group.at % 60), UTC)
    quantities: dict[str, Decimal] = {}
    if input_tokens is not None:
        quantities["input_tokens"] = Decimal(repr(input_tokens))
    return Record(
        quantities,
        group.dimensions,
        timestamp,
        aggregated=group.at is None and input_tokens is None,
    )


def _metered(
    component: UsageComponent | OutcomeComponent, layout: Layout, start: date
) -> MeteredPart:
    where = f"component {component.id!r}"
    price = array_price(component.price, where)
    matched = weighted = replaced = 0.0
    for group, share in layout.groups(component.metric).items():
        record = _record(group, start)
        if share <= 0 or not matches(record, component.filter):
            continue
        factor, _ = dimension_factor(record, component.multipliers)
        window = time_window(record, component.multipliers)
        matched += share
        if window is not None and window.prices is not None:
            assert isinstance(component.price, UnitPrice)
            replaced += share * float(window.prices["unit_price"])
            continue
        if window is not None and window.factor is not None:
            factor *= window.factor
        weighted += share * float(factor)
    kappa, rho = (weighted / matched, replaced / matched) if matched else (1.0, 0.0)
    return MeteredPart(
        component.id,
        component.metric,
        isinstance(component, OutcomeComponent),
        price,
        float(component.per),
        matched,
        kappa,
        rho,
    )


def _context_classes(component: TokensComponent, layout: Layout) -> list[float | None]:
    """Input tokens of a representative request of each context class: below the first
    threshold, then just above each (None: aggregated usage, no context tiers)."""
    if layout.request_size is None or not component.context_tiers:
        return [None]
    return [0.0, *(float(tier.input_tokens_over) + 1 for tier in component.context_tiers)]


def _class_shares(component: TokensComponent, layout: Layout, metric: str) -> list[float]:
    size = layout.request_size
    if size is None or not component.context_tiers:
        return [1.0]
    thresholds = [float(t.input_tokens_over) for t in component.context_tiers]
    above = [size.above(t)[0 if metric in layout.input_like else 1] for t in thresholds]
    bounds = [1.0, *above, 0.0]
    return [bounds[i] - bounds[i + 1] for i in range(len(thresholds) + 1)]


def _tokens(component: TokensComponent, layout: Layout, start: date) -> TokensPart:
    per = float(component.per)
    coefficients: dict[str, float] = {}
    metrics = {cat: metric for cat, metric in TOKEN_CATEGORIES.items() if layout.groups(metric)}
    groups = sorted(
        {g for metric in metrics.values() for g in layout.groups(metric)}, key=Group.sort_key
    )
    tier_shares = {metric: _class_shares(component, layout, metric) for metric in metrics.values()}
    for group in groups:
        for position, input_tokens in enumerate(_context_classes(component, layout)):
            record = _record(group, start, input_tokens)
            if not matches(record, component.filter):
                continue
            prices, _, factor = resolve_prices(component, record)

            def share(category: str, group: Group = group, position: int = position) -> float:
                metric = metrics.get(category)
                if metric is None:
                    return 0.0
                return layout.groups(metric).get(group, 0.0) * tier_shares[metric][position]

            def add(category: str, amount: float) -> None:
                metric = TOKEN_CATEGORIES[category]
                coefficients[metric] = coefficients.get(metric, 0.0) + amount

            f = float(factor) / per
            for parent in ("input", "output"):
                if share(parent) > 0:
                    add(parent, share(parent) * float(prices[parent]) * f)
            for category, parent in PARENT.items():
                units = share(category)
                if units <= 0:
                    continue
                own = prices.get(category)
                if share(parent) > 0:
                    if own is not None:  # taken out of its parent, priced at its own price
                        add(category, units * (float(own) - float(prices[parent])) * f)
                else:  # reported without its parent: stands on its own
                    add(category, units * float(own if own is not None else prices[parent]) * f)
    return TokensPart(component.id, coefficients)


def _limits(component: SeatComponent, layout: Layout, fair: bool) -> list[Limit]:
    allowances = component.fair_use_limits if fair else component.allowances
    return [
        Limit(
            component.id,
            a.metric,
            float(a.quantity),
            None if a.pooled else layout.per_user_sigma.get(a.metric),
        )
        for a in allowances
    ]


def compile_plan(plan: Plan, layout: Layout, start: date) -> CompiledPlan:
    """Compile ``plan`` for usage laid out as ``layout``, with time-of-day windows evaluated
    on ``start`` (the first simulated period). Raises :class:`WorkloadError` for the features
    the simulator cannot price (see :data:`ratecard.simulate.UNSUPPORTED`)."""
    if plan.billing_period != "month":
        raise WorkloadError(
            f"plan {plan.id!r} bills per {plan.billing_period}; the simulator prices monthly "
            "plans only"
        )
    parts: list[Part] = []
    fair_use: list[Limit] = []
    included: list[Limit] = []
    for component in plan.components:
        if isinstance(component, FlatComponent):
            parts.append(FlatPart(component.id, float(component.amount)))
        elif isinstance(component, SeatComponent):
            parts.append(
                SeatPart(component.id, float(component.unit_price), float(component.min_seats))
            )
            fair_use += _limits(component, layout, fair=True)
            included += _limits(component, layout, fair=False)
        elif isinstance(component, UsageComponent | OutcomeComponent):
            parts.append(_metered(component, layout, start))
        else:
            parts.append(_tokens(component, layout, start))
    return CompiledPlan(
        plan,
        tuple(parts),
        tuple(fair_use),
        tuple(included),
        {c.id: float(c.minimum) for c in plan.components if c.minimum is not None},
        {c.id: float(c.maximum) for c in plan.components if c.maximum is not None},
    )
