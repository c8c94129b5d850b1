"""Tokens components: the token categories of each request priced together.

Per request: uncached input = input - cache_read - cache_write (cache counts are subsets of
input), audio input is a subset of uncached input, and reasoning and audio output are subsets of
output. A subset with its own price is taken out of its parent; without one it stays in the
parent and is priced with it. Prices resolve in this order: base -> context tier (input strictly
above the threshold) -> variant (the ``mode`` dimension) -> time-of-day window -> dimension
factors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ratecard.charges.invoice import Line
from ratecard.charges.records import Record, dimension_factor, matches, time_window, window_label
from ratecard.errors import Problem, UsageError
from ratecard.money import ZERO
from ratecard.plan.components import (
    TOKEN_CATEGORIES,
    TOKEN_ORDER,
    TOKEN_PARENT,
    TokenPrices,
    TokensComponent,
)

__all__ = ["request_categories", "resolve_prices", "tokens_lines"]

PARENT = TOKEN_PARENT
ORDER = list(TOKEN_ORDER)
TOKEN_METRICS = set(TOKEN_CATEGORIES.values())


def _overlay(prices: dict[str, Decimal], extra: TokenPrices | Mapping[str, Decimal] | None) -> None:
    if extra is None:
        return
    items = extra.model_dump(exclude_none=True) if isinstance(extra, TokenPrices) else extra
    prices.update(items)


def request_categories(
    quantities: Mapping[str, Decimal], priced: Mapping[str, Decimal], ref: str
) -> dict[str, Decimal]:
    """Split one request's token counts into priced categories (subsets without their own
    price stay in their parent). A subset reported without its parent (an aggregated line of
    cache reads, say) stands on its own."""
    get = {cat: quantities.get(metric, ZERO) for cat, metric in TOKEN_CATEGORIES.items()}
    problems = []
    if get["input"] > 0:
        cached = get["cache_read"] + get["cache_write"]
        if cached > get["input"]:
            problems.append("cache_read + cache_write tokens exceed input_tokens")
        elif get["audio_input"] > get["input"] - cached:
            problems.append("audio_input tokens exceed the uncached input tokens")
    if get["output"] > 0 and get["reasoning"] + get["audio_output"] > get["output"]:
        problems.append("reasoning + audio_output tokens exceed output_tokens")
    if problems:
        raise UsageError([Problem(message, path=ref) for message in problems])
    result = dict.fromkeys(ORDER, ZERO)
    result["input"] = get["input"]
    result["output"] = get["output"]
    for cat, parent in PARENT.items():
        units = get[cat]
        if not units:
            continue
        if get[parent] > 0:
            if cat in priced:
                result[parent] -= units
                result[cat] += units
        else:
            result[cat if cat in priced else parent] += units
    return {cat: units for cat, units in result.items() if units}


@dataclass(frozen=True, slots=True)
class _Key:
    category: str
    price: Decimal
    labels: tuple[str, ...]


def resolve_prices(
    component: TokensComponent, record: Record
) -> tuple[dict[str, Decimal], list[str], Decimal]:
    """The prices of one request's categories after context tiers, variant and time window
    replaced them, the labels of what applied, and the factor that multiplies them all."""
    prices: dict[str, Decimal] = {}
    _overlay(prices, component.prices)
    labels: list[str] = []
    factor = Decimal(1)
    if not record.aggregated:
        input_tokens = record.quantities.get("input_tokens", ZERO)
        for tier in reversed(component.context_tiers):
            if input_tokens > tier.input_tokens_over:
                _overlay(prices, tier.prices)
                labels.append(f"context > {tier.input_tokens_over:,} input tokens")
                break
    mode = record.dimensions.get("mode")
    variant = component.variants.get(mode) if mode is not None else None
    if variant is not None:
        _overlay(prices, variant.prices)
        if variant.factor is not None:
            factor *= variant.factor
        labels.append(f"{mode}" + (f" ×{variant.factor}" if variant.factor is not None else ""))
    window = time_window(record, component.multipliers)
    if window is not None:
        _overlay(prices, window.prices)
        if window.factor is not None:
            factor *= window.factor
        labels.append(window_label(window))
    dim_factor, used = dimension_factor(record, component.multipliers)
    factor *= dim_factor
    labels.extend(f"{name}={value}" for name, value in used)
    return prices, labels, factor


def _requests(component: TokensComponent, records: Sequence[Record]) -> list[Record]:
    """Events are requests; aggregated usage lines with the same dimensions form one request
    (without context tiers, which need per-request counts)."""
    requests: list[Record] = []
    pooled: dict[tuple[tuple[str, str], ...], dict[str, Decimal]] = {}
    for record in records:
        if not matches(record, component.filter):
            continue
        quantities = {m: q for m, q in record.quantities.items() if m in TOKEN_METRICS}
        if not quantities:
            continue
        if record.aggregated:
            key = tuple(sorted(record.dimensions.items()))
            bucket = pooled.setdefault(key, defaultdict(Decimal))
            for metric, units in quantities.items():
                bucket[metric] += units
        else:
            requests.append(record)
    for key, quantities in pooled.items():
        requests.append(Record(dict(quantities), dict(key), aggregated=True, ref="usage"))
    return requests


def tokens_lines(
    component: TokensComponent, records: Sequence[Record], escalation: Decimal
) -> list[Line]:
    totals: dict[_Key, Decimal] = defaultdict(Decimal)
    for request in _requests(component, records):
        prices, labels, factor = resolve_prices(component, request)
        categories = request_categories(request.quantities, prices, request.ref)
        for category, units in categories.items():
            price = prices.get(category)
            if price is None:
                price = prices[PARENT[category]]
            totals[_Key(category, price * factor, tuple(labels))] += units
    per = component.per
    title = component.name or "tokens"
    lines = []
    for key in sorted(totals, key=lambda k: (ORDER.index(k.category), k.labels, k.price)):
        units = totals[key]
        unit_price = key.price * escalation
        label = f" ({', '.join(key.labels)})" if key.labels else ""
        lines.append(
            Line(
                "charge",
                component.id,
                f"{title}: {key.category}{label}",
                units,
                unit_price,
                units / per * unit_price,
                per=per,
            )
        )
    return lines
