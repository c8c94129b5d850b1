"""Bridges between the exact evaluator and the simulator, for cross-checks.

:func:`block_of` turns one usage summary into a one-scenario, one-month :class:`Block` and its
:class:`Layout`, so the simulator prices exactly what ``quote`` prices; :func:`summary_of`
turns one sampled scenario-month back into a usage summary (untimed groups become ``usage``
lines; timed groups become one event each; disputes one ``disputed`` event per group).
Requests are not split back into single events, so context tiers and per-user limits
with a non-zero spread are not reproduced by :func:`summary_of`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np

from ratecard.simulate.pricing import add_months
from ratecard.simulate.usage import Block, Group, Layout
from ratecard.usage.model import UsageSummary

__all__ = ["block_of", "summary_of"]


def _minute(moment: datetime) -> int:
    utc = moment.astimezone(UTC)
    return utc.hour * 60 + utc.minute


def block_of(summary: UsageSummary) -> tuple[Block, Layout, date]:
    """The simulator's view of one usage summary: ``(block, layout, contract start)``.
    Usage lines become untimed groups, events timed ones (each event one group, so context
    tiers are not applied to them); a ``user`` dimension is kept as a dimension, so per-user
    allowances and fair use are priced as pooled."""
    quantities: dict[str, dict[Group, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    disputed: dict[str, Decimal] = defaultdict(Decimal)
    for line in summary.usage:
        group = Group(tuple(sorted(line.dimensions.items())))
        quantities[line.metric][group] += line.quantity
    for event in summary.events:
        at = None if event.timestamp is None else _minute(event.timestamp)
        group = Group(tuple(sorted(event.dimensions.items())), at)
        for metric, quantity in event.metric_quantities().items():
            if event.status in {"disputed", "reversed"}:
                disputed[metric] += quantity
            elif event.status in {None, "confirmed"}:
                quantities[metric][group] += quantity
    totals = {m: sum(g.values(), Decimal(0)) for m, g in quantities.items()}
    shares = {
        metric: {
            group: (float(q / totals[metric]) if totals[metric] else 1.0 / len(groups))
            for group, q in groups.items()
        }
        for metric, groups in quantities.items()
    }
    seats = 0.0
    if summary.seats is not None:
        seats = float(summary.seats)
    elif summary.seat_days is not None:
        seats = float(summary.seat_days) / summary.period.days
    one = np.ones((1, 1))
    block = Block(
        seats * one,
        seats * one,
        {m: float(total) * one for m, total in totals.items()},
        {m: float(d) * one for m, d in disputed.items()},
    )
    return block, Layout(shares), summary.contract_start or summary.period.start


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _split(total: float, shares: Mapping[Group, float]) -> list[tuple[Group, Decimal]]:
    """The total's parts by group; the last part takes the remainder so that the parts add up
    to exactly the total (package and tier boundaries see the same sum)."""
    exact = _decimal(total)
    parts = []
    rest = exact
    items = list(shares.items())
    for index, (group, share) in enumerate(items):
        part = rest if index == len(items) - 1 else min(_decimal(total * share), rest)
        rest -= part
        parts.append((group, part))
    return parts


def summary_of(
    block: Block, layout: Layout, start: date, scenario: int, month: int
) -> UsageSummary:
    """The usage summary of one sampled scenario-month (see the module docstring)."""
    period_start = add_months(start, month)
    usage: list[dict[str, Any]] = []
    timed: dict[Group, dict[str, Decimal]] = defaultdict(dict)
    events: list[dict[str, Any]] = []
    for metric, total in sorted(block.totals.items()):
        for group, quantity in _split(float(total[scenario, month]), layout.groups(metric)):
            if group.at is None:
                usage.append(
                    {"metric": metric, "quantity": quantity, "dimensions": group.dimensions}
                )
            else:
                timed[group][metric] = quantity
        disputed = block.disputed.get(metric)
        if disputed is not None and disputed[scenario, month] > 0:
            for group, share in layout.groups(metric).items():
                events.append(
                    {
                        "metric": metric,
                        "quantity": _decimal(float(disputed[scenario, month]) * share),
                        "dimensions": group.dimensions,
                        "status": "disputed",
                    }
                )
    for group, quantities in timed.items():
        assert group.at is not None
        moment = datetime.combine(period_start, time(group.at // 60, group.at % 60), UTC)
        events.append(
            {
                "timestamp": moment,
                "attributed_at": moment,
                "quantities": quantities,
                "dimensions": group.dimensions,
            }
        )
    return UsageSummary.model_validate(
        {
            "period": {"start": period_start, "end": add_months(start, month + 1)},
            "contract_start": start,
            "seats": _decimal(float(block.seats[scenario, month])),
            "usage": usage,
            "events": events,
        }
    )
