"""Prices of one tokens price group, resolved by the reference itself
(:func:`ratecard.charges.tokens.resolve_prices`) on a representative request of the group: its
input tokens select the context tier, its ``mode`` the variant, its timestamp the time window
and its dimensions the dimension factors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ratecard.charges.records import Record, time_window
from ratecard.charges.tokens import resolve_prices
from ratecard.plan.components import TokensComponent

__all__ = ["resolve"]

_DAY = datetime(2026, 1, 15, tzinfo=UTC)


_INSTANTS: dict[int, tuple[TokensComponent, dict[int, datetime]]] = {}


def _instants(component: TokensComponent) -> dict[int, datetime]:
    """An instant for each window index (0: no window) that some instant reaches."""
    cached = _INSTANTS.get(id(component))
    if cached is not None and cached[0] is component:
        return cached[1]
    windows = list(component.multipliers.time_of_day) if component.multipliers else []
    found: dict[int, datetime] = {}
    for minute in range(0, 2 * 1440, 1):
        moment = _DAY + timedelta(minutes=minute)
        chosen = time_window(Record({}, {}, moment), component.multipliers)
        index = 0 if chosen is None else windows.index(chosen) + 1
        found.setdefault(index, moment)
        if len(found) == len(windows) + 1:
            break
    _INSTANTS[id(component)] = (component, found)
    return found


def resolve(
    component: TokensComponent,
    tier: int,
    mode: str | None,
    window: int,
    used: tuple[tuple[str, str], ...],
) -> tuple[dict[str, Decimal], tuple[str, ...], Decimal] | None:
    """(prices by category, labels, factor) of a group: context tier ``tier`` (0: none),
    variant ``mode`` (None: none), window ``window`` (0: none), dimension factors ``used``;
    None when no request can fall in the group (a window no instant reaches)."""
    instant = _instants(component).get(window)
    if instant is None:
        return None
    tokens = Decimal(0)
    if tier:
        tokens = Decimal(component.context_tiers[tier - 1].input_tokens_over + 1)
    dimensions = dict(used)
    if mode is not None:
        dimensions["mode"] = mode
    record = Record({"input_tokens": tokens}, dimensions, instant)
    prices, labels, factor = resolve_prices(component, record)
    return prices, tuple(labels), factor
