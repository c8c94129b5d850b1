"""Contract calendar: anniversaries and commitment-term positions of a billing period."""

from __future__ import annotations

from datetime import date

__all__ = ["months_between", "years_between"]


def months_between(start: date, later: date) -> int:
    """Whole months from ``start`` to ``later`` (2026-01-15 -> 2026-03-14 is 1)."""
    months = (later.year - start.year) * 12 + later.month - start.month
    if later.day < start.day:
        months -= 1
    return max(months, 0)


def years_between(start: date, later: date) -> int:
    """Anniversaries of ``start`` reached on or before ``later``."""
    return months_between(start, later) // 12
