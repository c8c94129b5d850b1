"""How one plan's components read the aggregated events: price groups and their codes.

Dimensions decide three things per component: whether an event matches its ``filter``, which
dimension factors apply (a price group), and for tokens the ``mode`` variant. These depend only
on the set of dimensions, so they are worked out once per distinct set (the store's ``dims``
table, a few rows) and handed to SQL as an integer code per (metric, dimension set); the event
scan then groups by that code instead of by the dimensions themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ratecard.charges.records import Record, dimension_factor, matches, window_label
from ratecard.plan.components import (
    Multipliers,
    OutcomeComponent,
    TimeWindow,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan

__all__ = ["Combo", "MetricLayout", "PlanLayout", "TokenGroup", "layout_plan"]

ONE = Decimal(1)
OUTCOME_CLASSES = 4  # billable, outside the attribution window, disputed/reversed, other


@dataclass(frozen=True)
class Combo:
    """One price group of a usage or outcome component: a dimension group and a window."""

    factor: Decimal
    replacement: Decimal | None
    labels: tuple[str, ...]
    dimensions: tuple[tuple[str, str], ...]

    @property
    def plain(self) -> bool:
        return self.factor == ONE and self.replacement is None


@dataclass
class Metered:
    """Codes of one usage or outcome component."""

    index: int
    component: UsageComponent | OutcomeComponent
    groups: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict)
    code_base: int = 1  # where the component's digit sits in the dimension code
    event_base: int = 1  # ... and in the event code
    windows: list[TimeWindow] = field(default_factory=list)

    @property
    def code_radix(self) -> int:
        return len(self.groups) + 1

    @property
    def window_count(self) -> int:
        return len(self.windows) + 1

    @property
    def event_radix(self) -> int:
        if isinstance(self.component, OutcomeComponent):
            return self.window_count * OUTCOME_CLASSES
        return self.window_count

    def combo(self, group: tuple[tuple[str, str], ...], window: int) -> Combo:
        multipliers = self.component.multipliers
        tables = multipliers.dimensions if multipliers else {}
        factor = ONE
        for name, value in group:
            factor *= tables[name][value]
        labels = [f"{name}={value} ×{tables[name][value]}" for name, value in group]
        replacement = None
        if window:
            chosen = self.windows[window - 1]
            labels.append(window_label(chosen))
            if chosen.prices is not None:
                replacement = chosen.prices["unit_price"]
            if chosen.factor is not None:
                factor *= chosen.factor
        return Combo(factor, replacement, tuple(labels), group)

    def combos(self) -> dict[int, Combo]:
        """Line code (group * windows + window) -> price group."""
        return {
            index * self.window_count + window: self.combo(group, window)
            for group, index in self.groups.items()
            for window in range(self.window_count)
        }


@dataclass
class TokenGroup:
    """A (variant, dimension factors) group of a tokens component."""

    mode: str | None
    used: tuple[tuple[str, str], ...]


@dataclass
class Tokens:
    index: int
    component: TokensComponent
    groups: dict[tuple[str | None, tuple[tuple[str, str], ...]], int] = field(default_factory=dict)
    codes: dict[Any, int] = field(default_factory=dict)  # dims key -> group


@dataclass
class MetricLayout:
    metric: str
    components: list[Metered] = field(default_factory=list)


@dataclass
class PlanLayout:
    plan: Plan
    metrics: dict[str, MetricLayout] = field(default_factory=dict)
    metered: dict[int, Metered] = field(default_factory=dict)
    tokens: dict[int, Tokens] = field(default_factory=dict)
    codes: list[tuple[str, Any, int]] = field(default_factory=list)  # (metric, dims key, code)


def _used(
    dimensions: Mapping[str, str], multipliers: Multipliers | None
) -> tuple[tuple[str, str], ...]:
    record = Record({}, dimensions)
    return dimension_factor(record, multipliers)[1]


def layout_plan(plan: Plan, dims: Sequence[tuple[Any, dict[str, str]]]) -> PlanLayout:
    """Codes for every (metric, dimension set) the plan's metered components read."""
    layout = PlanLayout(plan)
    for index, component in enumerate(plan.components):
        if isinstance(component, UsageComponent | OutcomeComponent):
            metered = Metered(index, component)
            if component.multipliers:
                metered.windows = list(component.multipliers.time_of_day)
            layout.metered[index] = metered
            layout.metrics.setdefault(component.metric, MetricLayout(component.metric))
            layout.metrics[component.metric].components.append(metered)
        elif isinstance(component, TokensComponent):
            layout.tokens[index] = Tokens(index, component)
    matched: dict[tuple[int, Any], int] = {}
    for key, dimensions in dims:
        record = Record({}, dimensions)
        for metered in layout.metered.values():
            if matches(record, metered.component.filter):
                group = _used(dimensions, metered.component.multipliers)
                matched[(metered.index, key)] = 1 + metered.groups.setdefault(
                    group, len(metered.groups)
                )
        for tokens in layout.tokens.values():
            if matches(record, tokens.component.filter):
                mode = dimensions.get("mode")
                variant = mode if mode is not None and mode in tokens.component.variants else None
                group_key = (variant, _used(dimensions, tokens.component.multipliers))
                tokens.codes[key] = tokens.groups.setdefault(group_key, len(tokens.groups))
    for metric_layout in layout.metrics.values():
        code_base, event_base = 1, 1
        for metered in metric_layout.components:
            metered.code_base, metered.event_base = code_base, event_base
            code_base *= metered.code_radix
            event_base *= metered.event_radix
        for key, _ in dims:
            code = sum(
                matched.get((m.index, key), 0) * m.code_base for m in metric_layout.components
            )
            if code:
                layout.codes.append((metric_layout.metric, key, code))
    return layout
