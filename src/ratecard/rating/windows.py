"""Time-of-day windows in SQL: the local minute of day of a UTC timestamp, per time zone.

A zone's UTC offset is constant between its transitions, so the local time of an event is its
UTC time plus the offset of the segment it falls in; the segments of a billing period are worked
out once here, and the SQL adds a constant per segment (no per-row time zone library calls).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ratecard.plan.components import TimeWindow
from ratecard.rating.dialect import Dialect

__all__ = ["local_minute", "offsets", "window_index"]


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    delta = moment.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offsets(tz: str, start: date, end: date) -> list[tuple[datetime | None, int]]:
    """[(from this UTC instant (None: the start), offset in seconds)] covering the period."""
    zone = ZoneInfo(tz)
    moment = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=1)
    stop = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    segments: list[tuple[datetime | None, int]] = [(None, _offset(zone, moment))]
    step = timedelta(hours=1)
    while moment < stop:
        nxt = moment + step
        if _offset(zone, nxt) != segments[-1][1]:
            low, high = moment, nxt  # the change happens in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), _offset(zone, nxt)))
        moment = nxt
    return segments


def local_minute(dialect: Dialect, ts: str, tz: str, start: date, end: date) -> str:
    """SQL for the minute of the day (0..1439) of ``ts`` (UTC) in ``tz``."""
    segments = offsets(tz, start, end)
    if len(segments) == 1:
        local = dialect.plus_seconds(ts, segments[0][1])
    else:
        branches = []
        for (_, offset), (until, _) in itertools.pairwise(segments):
            assert until is not None
            branches.append(
                f"WHEN {ts} < {dialect.timestamp(until.replace(tzinfo=None))} "
                f"THEN {dialect.plus_seconds(ts, offset)}"
            )
        local = f"CASE {' '.join(branches)} ELSE {dialect.plus_seconds(ts, segments[-1][1])} END"
    return f"(hour({local}) * 60 + minute({local}))"


def _contains(window: TimeWindow, minute: str) -> str:
    start, end = window.start_minute, window.end_minute
    if start < end:
        return f"({minute} >= {start} AND {minute} < {end})"
    return f"({minute} >= {start} OR {minute} < {end})"


def window_index(
    dialect: Dialect, windows: list[TimeWindow], ts: str, start: date, end: date
) -> str:
    """SQL: 1 + the index of the first window containing ``ts``, or 0."""
    if not windows:
        return "0"
    minutes: dict[str, str] = {}
    branches = []
    for index, window in enumerate(windows, start=1):
        if window.tz not in minutes:
            minutes[window.tz] = local_minute(dialect, ts, window.tz, start, end)
        branches.append(f"WHEN {_contains(window, minutes[window.tz])} THEN {index}")
    return f"CASE {' '.join(branches)} ELSE 0 END"
