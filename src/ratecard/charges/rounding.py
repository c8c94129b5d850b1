"""The one place exact amounts become billable ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from ratecard.charges.invoice import Line
from ratecard.money import RoundingMode, minor_unit, round_money

__all__ = ["round_lines"]

TIE = Decimal("1e-10")


def round_lines(lines: Sequence[Line], currency: str, mode: RoundingMode, scope: str) -> list[Line]:
    """``line`` scope: each line rounded on its own. ``invoice`` scope: the exact total is
    rounded once and the lines' rounded amounts are adjusted by whole minor units, largest
    rounding remainder first, so that they add up to it."""
    rounded = [
        replace(line, amount=round_money(line.exact_amount, currency, mode)) for line in lines
    ]
    if scope == "line" or not rounded:
        return rounded
    exact_total = sum((line.exact_amount for line in lines), Decimal(0))
    target = round_money(exact_total, currency, mode)
    unit = Decimal(1).scaleb(-minor_unit(currency))
    gap = target - sum((line.amount for line in rounded), Decimal(0))
    steps = int(abs(gap) / unit)
    if steps == 0:
        return rounded
    sign = 1 if gap > 0 else -1
    # Lines whose rounding moved them furthest against the needed direction move first; moves
    # equal to 1e-10 are ties, taken in line order (so that an engine carrying 14 decimals and
    # the evaluator carrying 60 pick the same line for 1/3 and 4/3).
    order = sorted(
        (i for i in range(len(rounded)) if rounded[i].exact_amount != 0),
        key=lambda i: (-sign * (rounded[i].exact_amount - rounded[i].amount)).quantize(TIE),
    )
    for i in order[:steps]:
        rounded[i] = replace(rounded[i], amount=rounded[i].amount + sign * unit)
    return rounded
