"""Usage normalised for the charge math: every usage line and event becomes a :class:`Record`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ratecard.plan.components import Multipliers, TimeWindow
from ratecard.usage.model import UsageSummary

__all__ = ["Record", "dimension_factor", "matches", "records_of", "time_window"]


@dataclass(frozen=True, slots=True)
class Record:
    """One usage line (``aggregated``) or one event, as the charge math sees it."""

    quantities: Mapping[str, Decimal]
    dimensions: Mapping[str, str] = field(default_factory=dict)
    timestamp: datetime | None = None
    status: str | None = None
    attributed_at: datetime | None = None
    value: Decimal | None = None
    aggregated: bool = False
    ref: str = ""  # where it came from: "usage[3]" or "events[12] (id e1)"


def records_of(summary: UsageSummary) -> list[Record]:
    """Usage lines first, then events ordered by timestamp (stable for equal or missing ones)."""
    records = [
        Record(
            {line.metric: line.quantity},
            line.dimensions,
            value=line.value,
            aggregated=True,
            ref=f"usage[{index}]",
        )
        for index, line in enumerate(summary.usage)
    ]
    indexed = list(enumerate(summary.events))
    indexed.sort(key=lambda item: _sort_key(item[1].timestamp))
    for index, event in indexed:
        ref = f"events[{index}]" + (f" (id {event.id})" if event.id else "")
        records.append(
            Record(
                event.metric_quantities(),
                event.dimensions,
                event.timestamp,
                event.status,
                event.attributed_at,
                event.value,
                ref=ref,
            )
        )
    return records


def _sort_key(timestamp: datetime | None) -> tuple[int, datetime]:
    if timestamp is None:
        return (0, datetime.min.replace(tzinfo=UTC))
    return (1, timestamp)


def matches(record: Record, filter_: Mapping[str, str | Sequence[str]]) -> bool:
    """True when the record carries every dimension value the filter asks for."""
    for key, wanted in filter_.items():
        have = record.dimensions.get(key)
        if isinstance(wanted, str):
            if have != wanted:
                return False
        elif have not in wanted:
            return False
    return True


def time_window(record: Record, multipliers: Multipliers | None) -> TimeWindow | None:
    """The first time-of-day window the record's timestamp falls in, if any."""
    if multipliers is None or record.timestamp is None:
        return None
    for window in multipliers.time_of_day:
        local = record.timestamp.astimezone(ZoneInfo(window.tz))
        if window.contains(local.hour * 60 + local.minute):
            return window
    return None


def dimension_factor(
    record: Record, multipliers: Multipliers | None
) -> tuple[Decimal, tuple[tuple[str, str], ...]]:
    """Product of the dimension factors that apply to the record, and the dimensions used."""
    factor = Decimal(1)
    used: list[tuple[str, str]] = []
    if multipliers is None:
        return factor, ()
    for name, table in multipliers.dimensions.items():
        value = record.dimensions.get(name)
        if value is not None and value in table:
            factor *= table[value]
            used.append((name, value))
    return factor, tuple(used)


def window_label(window: TimeWindow) -> str:
    effect = f" ×{window.factor}" if window.factor is not None else " (time-of-day price)"
    return window.label or f"{window.start}–{window.end} {window.tz}{effect}"
