"""Per-token plans generated from the ``genai-prices`` package (pydantic/genai-prices).

Only the data bundled with the installed package is read: :func:`bundled_providers` imports
``genai_prices.data`` directly and never goes through ``genai_prices.data_snapshot``, which an
``UpdatePrices`` background task may have replaced with prices downloaded from GitHub. Nothing
here opens a network connection.

How genai-prices data maps to a ratecard plan (one ``tokens`` component, prices per 1M tokens):

- ``input_mtok``, ``cache_read_mtok``, ``cache_write_mtok``, ``input_audio_mtok``,
  ``output_mtok``, ``output_reasoning_mtok`` and ``output_audio_mtok`` become the ``input``,
  ``cache_read``, ``cache_write``, ``audio_input``, ``output``, ``reasoning`` and
  ``audio_output`` prices.
- Tiered prices are "cliff" tiers selected by the request's input tokens: a tier starting at
  200,000 reprices *every* token of a request with more than 200,000 input tokens. They become
  ``context_tiers``; when categories have different thresholds, every threshold of any category
  becomes a tier listing the price of every category above it, which is the same function.
- Price history (``start_date`` constraints) is resolved for one date: the plan holds the
  prices in effect on ``at``.
- Daily time windows (DeepSeek's peak/off-peak hours) become ``multipliers.time_of_day`` with
  replacement ``prices``; genai-prices lets the last matching window win, ratecard the first,
  so the order is reversed.
- Price variants selected by ``processing: batch``, ``service_tier: flex|priority|fast`` or
  ``speed: fast`` become ``variants`` keyed by the value, chosen by the event's ``mode``
  dimension (``mode: batch``): a uniform ``factor`` where the variant scales every price by
  one number, its replacement ``prices`` where they are flat; any other variant is left out
  and named in the plan's description.
- Other flat priced units (``web_searches`` per 1,000, ...) become ``usage`` components named
  after the genai-prices usage key. Prices ratecard cannot hold (1-hour cache writes, image
  and video tokens, ...) are named in the plan's description, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from typing import Any

from genai_prices import types as gp
from genai_prices.units import _get_registry  # the package's own unit table (offline)

from ratecard.errors import PlanError
from ratecard.plan.components import TOKEN_ORDER, TOKEN_PARENT
from ratecard.plan.model import Plan

__all__ = [
    "GENAI_PRICES_VERSION",
    "MAIN_PROVIDERS",
    "bundled_providers",
    "data_as_of",
    "find_model",
    "listed_ids",
    "plan_document",
    "to_plan",
]

GENAI_PRICES_VERSION = version("genai-prices")
SOURCE = "https://github.com/pydantic/genai-prices"

MAIN_PROVIDERS = ("openai", "anthropic", "google", "mistral", "deepseek", "x-ai")
"""Providers whose current models are listed in the catalog; ``get_plan`` accepts any
``provider:model`` that genai-prices knows."""

TOKEN_KEYS: dict[str, str] = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "input_audio_mtok": "audio_input",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
    "output_audio_mtok": "audio_output",
}
# A subset category without its own price is priced at its parent's (DESIGN.md section 3).
PARENT = TOKEN_PARENT
ORDER = list(TOKEN_ORDER)
# genai-prices price-variant context keys that ratecard selects through the `mode` dimension.
MODE_KEYS = ("processing", "service_tier", "speed")
_PLAN_ID = re.compile(r"[^A-Za-z0-9_.:\-]")

PriceValue = Decimal | gp.TieredPrices
Prices = dict[str, PriceValue]
FlatPrices = dict[str, Decimal]


def bundled_providers() -> list[gp.Provider]:
    """The providers in the installed package's bundled data (never a downloaded snapshot)."""
    from genai_prices.data import providers

    return providers


def _start_dates(model: gp.ModelInfo) -> Iterable[date]:
    entries = model.prices if isinstance(model.prices, list) else []
    for entry in entries:
        if isinstance(entry.constraint, gp.StartDateConstraint):
            yield entry.constraint.start_date
    for variant in model.price_variants or ():
        if isinstance(variant.constraint, gp.StartDateConstraint):
            yield variant.constraint.start_date


def data_as_of(at: date | None = None) -> date:
    """The newest price change the bundled data records on or before ``at`` (default today):
    the best date the package offers for when its prices were last checked."""
    at = at or datetime.now(UTC).date()
    dates = [
        day
        for provider in bundled_providers()
        for model in provider.models
        for day in _start_dates(model)
        if day <= at
    ]
    return max(dates, default=at)


def _provider(provider_id: str) -> gp.Provider:
    for provider in bundled_providers():
        if provider.id == provider_id.lower():
            return provider
    known = ", ".join(sorted(p.id for p in bundled_providers()))
    raise PlanError(
        f"genai-prices {GENAI_PRICES_VERSION} has no provider {provider_id!r} ({known})"
    )


def find_model(provider_id: str, model_ref: str) -> tuple[gp.Provider, gp.ModelInfo]:
    """The provider and model genai-prices matches for ``model_ref`` (aliases such as dated
    snapshot names resolve to their model, as in genai-prices' own ``calc_price``)."""
    provider = _provider(provider_id)
    exact = [m for m in provider.models if m.id == model_ref.lower()]
    model = exact[0] if exact else provider.find_model(model_ref, all_providers=bundled_providers())
    if model is None:
        raise PlanError(
            f"genai-prices {GENAI_PRICES_VERSION} has no model {model_ref!r} for provider "
            f"{provider.id!r}"
        )
    return provider, model


def _price_items(price: gp.ModelPrice) -> list[tuple[str, PriceValue]]:
    return [
        (key, value)
        for key, value in vars(price).items()
        if not key.startswith("_") and isinstance(value, Decimal | gp.TieredPrices)
    ]


def _tokens_of(price: gp.ModelPrice) -> Prices:
    return {TOKEN_KEYS[k]: v for k, v in _price_items(price) if k in TOKEN_KEYS}


def _standard(
    model: gp.ModelInfo, at: date
) -> tuple[gp.ModelPrice, list[tuple[gp.TimeOfDateConstraint, gp.ModelPrice]]]:
    """The price in effect on ``at`` and the daily windows that override it, in genai-prices'
    precedence (the last active entry wins; with none active the first is used)."""
    if isinstance(model.prices, gp.ModelPrice):
        return model.prices, []
    entries = model.prices
    chosen = 0
    for index in range(len(entries) - 1, -1, -1):
        constraint = entries[index].constraint
        if constraint is None or (
            isinstance(constraint, gp.StartDateConstraint) and constraint.start_date <= at
        ):
            chosen = index
            break
    windows = [
        (entry.constraint, entry.prices)
        for entry in reversed(entries[chosen + 1 :])
        if isinstance(entry.constraint, gp.TimeOfDateConstraint)
    ]
    return entries[chosen].prices, windows


def _at_level(value: PriceValue, threshold: int | None) -> Decimal:
    """The price for a request with input tokens just above ``threshold`` (None: base)."""
    if isinstance(value, Decimal):
        return value
    price = value.base
    if threshold is not None:
        for tier in value.tiers:
            if tier.start <= threshold:
                price = tier.price
    return price


def _thresholds(*price_sets: Prices) -> list[int]:
    return sorted(
        {
            tier.start
            for prices in price_sets
            for value in prices.values()
            if isinstance(value, gp.TieredPrices)
            for tier in value.tiers
        }
    )


def _level(prices: Prices, threshold: int | None) -> FlatPrices:
    return {cat: _at_level(value, threshold) for cat, value in prices.items()}


def _complete(prices: FlatPrices, categories: Iterable[str]) -> FlatPrices:
    """Name every category explicitly (a subset without a price takes its parent's), so an
    overlay of these prices replaces exactly as genai-prices' whole price set does."""
    full = dict(prices)
    for cat in sorted(categories, key=ORDER.index):
        if cat not in full and PARENT.get(cat) in full:
            full[cat] = full[PARENT[cat]]
    return full


def _text(prices: Mapping[str, Decimal]) -> dict[str, str]:
    return {cat: str(prices[cat]) for cat in ORDER if cat in prices}


def _clock(value: Any) -> str:
    moment = datetime.combine(date(1970, 1, 1), value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        raise PlanError(f"time window boundary {value} is not a whole minute")
    return moment.strftime("%H:%M")


def _variants(
    model: gp.ModelInfo, at: date, standard: Prices, has_windows: bool, omitted: list[str]
) -> dict[str, dict[str, Any]]:
    chosen: dict[str, Prices] = {}
    for variant in model.price_variants or ():
        constraint = variant.constraint
        if isinstance(constraint, gp.TimeOfDateConstraint):
            omitted.append(f"variant {variant.when} limited to a time of day")
            continue
        if isinstance(constraint, gp.StartDateConstraint) and constraint.start_date > at:
            continue
        keys = list(variant.when)
        if len(keys) != 1 or keys[0] not in MODE_KEYS:
            omitted.append(f"variant {variant.when}")
            continue
        prices = _tokens_of(variant.prices)
        if not prices:
            continue
        mode = variant.when[keys[0]]
        merged = chosen.setdefault(mode, {})
        for cat, value in prices.items():
            merged.setdefault(cat, value)  # first matching variant wins, per price
    result: dict[str, dict[str, Any]] = {}
    for mode, prices in chosen.items():
        if has_windows:
            omitted.append(f"{mode} variant (time-of-day prices would override it)")
            continue
        if all(isinstance(v, Decimal) for v in prices.values()):
            result[mode] = {"prices": _text(_level(prices, None))}
            continue
        factor = _uniform_factor(standard, prices)
        if factor is None:
            omitted.append(
                f"{mode} variant (its prices are not one factor of the standard prices "
                "across context tiers)"
            )
        else:
            result[mode] = {"factor": str(factor)}
    return result


def _uniform_factor(standard: Prices, variant: Prices) -> Decimal | None:
    """The one factor that turns every standard price (at every tier) into the variant's."""
    merged = {**standard, **variant}
    factor: Decimal | None = None
    for threshold in [None, *_thresholds(standard, variant)]:
        base, scaled = _level(standard, threshold), _level(merged, threshold)
        for cat, price in base.items():
            if price == 0:
                if scaled[cat] != 0:
                    return None
                continue
            ratio = scaled[cat] / price
            if factor is None:
                factor = ratio
            elif ratio != factor:
                return None
    return factor.normalize() if factor is not None else None


def _extras(price: gp.ModelPrice, omitted: list[str]) -> list[dict[str, Any]]:
    registry = _get_registry()
    components: list[dict[str, Any]] = []
    for key, value in _price_items(price):
        if key in TOKEN_KEYS:
            continue
        try:
            unit = registry.unit_for_price_key(key)
        except KeyError:
            omitted.append(key)
            continue
        if unit.dimensions.get("family") == "tokens" or not isinstance(value, Decimal):
            omitted.append(key)
            continue
        components.append(
            {
                "id": unit.usage_key.replace("_", "-"),
                "type": "usage",
                "metric": unit.usage_key,
                "per": unit.per,
                "price": {"model": "unit", "unit_price": str(value)},
            }
        )
    return components


def plan_id(provider_id: str, model_id: str) -> str:
    return _PLAN_ID.sub(".", f"{provider_id}:{model_id}")


def plan_document(provider_id: str, model_ref: str, at: date | None = None) -> dict[str, Any]:
    """A plan (as a dict in the plan format) for one model, with the prices in effect on
    ``at`` (default: today, as genai-prices' own ``calc_price`` does)."""
    at = at or datetime.now(UTC).date()
    provider, model = find_model(provider_id, model_ref)
    standard_price, windows = _standard(model, at)
    standard = _tokens_of(standard_price)
    if "input" not in standard or "output" not in standard:
        raise PlanError(
            f"{provider.id}:{model.id} is not priced per input and output token in "
            f"genai-prices {GENAI_PRICES_VERSION}"
        )
    omitted: list[str] = []
    window_prices: list[tuple[gp.TimeOfDateConstraint, Prices]] = []
    for constraint, price in windows:
        prices = _tokens_of(price)
        if any(isinstance(v, gp.TieredPrices) for v in prices.values()):
            raise PlanError(
                f"{provider.id}:{model.id}: tiered prices inside a time window cannot be "
                "expressed in a ratecard plan"
            )
        window_prices.append((constraint, prices))
    variants = _variants(model, at, standard, bool(window_prices), omitted)
    categories = set(standard).union(*(set(p) for _, p in window_prices))
    for variant in variants.values():
        categories |= set(variant.get("prices", {}))
    component: dict[str, Any] = {
        "id": "tokens",
        "type": "tokens",
        "name": f"{model.name or model.id} tokens",
        "per": 1_000_000,
        "prices": _text(_complete(_level(standard, None), categories)),
    }
    thresholds = _thresholds(standard)
    if thresholds:
        component["context_tiers"] = [
            {
                "input_tokens_over": threshold,
                "prices": _text(_complete(_level(standard, threshold), categories)),
            }
            for threshold in thresholds
        ]
    if variants:
        component["variants"] = variants
    if window_prices:
        component["multipliers"] = {
            "time_of_day": [
                {
                    "from": _clock(constraint.start_time),
                    "to": _clock(constraint.end_time),
                    "tz": "UTC",
                    "prices": _text(_complete(_level(prices, None), categories)),
                }
                for constraint, prices in window_prices
            ]
        }
    extras = _extras(standard_price, omitted)
    as_of = data_as_of(at)
    notes = [
        f"Generated from genai-prices {GENAI_PRICES_VERSION} (bundled data, {SOURCE}): "
        f"the prices in effect on {at.isoformat()}; all token usage is priced at this model's "
        "rates. List prices change; check the source.",
    ]
    if variants:
        notes.append(f"Variants by the `mode` dimension: {', '.join(sorted(variants))}.")
    if omitted:
        notes.append("Not represented: " + "; ".join(sorted(set(omitted))) + ".")
    if model.price_comments:
        notes.append(f"genai-prices notes: {model.price_comments}")
    return {
        "ratecard": 1,
        "id": plan_id(provider.id, model.id),
        "name": f"{model.name or model.id} ({provider.name} API)",
        "vendor": provider.name,
        "description": " ".join(notes),
        "currency": "USD",
        "billing_period": "month",
        "source": (provider.pricing_urls or [SOURCE])[0],
        "as_of": as_of.isoformat(),
        "pricing_model": "per-token",
        "components": [component, *extras],
    }


def to_plan(provider_id: str, model_ref: str, at: date | None = None) -> Plan:
    """The validated ratecard plan for one genai-prices model (see :func:`plan_document`)."""
    from ratecard.plan import load_plan

    return load_plan(plan_document(provider_id, model_ref, at))


@cache
def listed_ids() -> tuple[str, ...]:
    """Catalog ids of the current (not deprecated) per-token models of the main providers
    whose prices map onto a ratecard plan."""
    ids: list[str] = []
    for provider in bundled_providers():
        if provider.id not in MAIN_PROVIDERS:
            continue
        for model in provider.models:
            if model.deprecated or _PLAN_ID.search(model.id):
                continue
            try:
                plan_document(provider.id, model.id)
            except PlanError:
                continue
            ids.append(plan_id(provider.id, model.id))
    return tuple(ids)
