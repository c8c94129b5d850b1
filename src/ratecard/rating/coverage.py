"""Which events a rating run prices: a subscribed customer's, within the subscription's days.

A subscription that starts or ends inside the period covers only its own days: no plan applied
to the customer before or after them, so their events there are not priced (seats are already
counted over those days only). Events of customers with no subscription in the period are not
priced either. Neither kind is dropped silently: they are listed per customer, counted from the
rating scan's sums (:func:`unrated_of_scan`: events of the metrics and dimensions the run's
plans price), or, when no plan went through the SQL scan, by a pass of their own
(:func:`unrated`: every event).

The scans read the table ``windows (customer, from_day, to_day)``, registered only when some
subscription covers part of the period (:func:`partial_windows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ratecard.rating.dialect import Dialect
from ratecard.rating.subscriptions import Period, Subscription

__all__ = [
    "Unrated",
    "coverage_table",
    "outside_window",
    "partial_windows",
    "unrated",
    "unrated_of_scan",
    "unrated_sql",
]


def _windows(subs: Sequence[Subscription], period: Period, partial: bool) -> pa.Table:
    customers, starts, ends = [], [], []
    for sub in subs:
        first = max(sub.start, period.start)
        last = period.end if sub.end is None else min(sub.end, period.end)
        if partial and first == period.start and last == period.end:
            continue
        customers.append(sub.customer)
        starts.append(first)
        ends.append(last)
    return pa.table(
        {
            "customer": pa.array(customers, pa.string()),
            "from_day": pa.array(starts, pa.date32()),
            "to_day": pa.array(ends, pa.date32()),
        }
    )


def partial_windows(subs: Sequence[Subscription], period: Period) -> pa.Table | None:
    """The days of ``period`` each subscription covers, for those not covering all of it;
    None when every one covers the whole period."""
    table = _windows(subs, period, partial=True)
    return table if table.num_rows else None


def outside_window(alias: str = "e") -> str:
    """A condition, to AND into a scan of events ``alias``: the event is not outside its
    customer's subscription days (reads ``windows``)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM windows w WHERE w.customer = {alias}.customer AND "
        f"({alias}.ts < CAST(w.from_day AS TIMESTAMP) "
        f"OR {alias}.ts >= CAST(w.to_day AS TIMESTAMP)))"
    )


@dataclass(frozen=True)
class Unrated:
    """A customer's events in the period that no subscription priced."""

    customer: str
    events: int  # event-metric rows
    subscribed: bool  # True: the events fall outside the subscription's days


def unrated_sql(dialect: Dialect, period: Period) -> str:
    """Per customer, the events of ``period`` outside every subscription (reads
    ``coverage``, the days each subscription covers: :func:`coverage_table`)."""
    start, end = dialect.timestamp(period.start), dialect.timestamp(period.end)
    return f"""SELECT e.customer, count(*) AS events, bool_or(c.customer IS NOT NULL) AS subscribed
    FROM events e
    LEFT JOIN (SELECT customer, min(from_day) AS from_day, max(to_day) AS to_day
               FROM coverage GROUP BY customer) c ON c.customer = e.customer
    WHERE e.ts >= {start} AND e.ts < {end}
      AND (c.customer IS NULL OR e.ts < CAST(c.from_day AS TIMESTAMP)
           OR e.ts >= CAST(c.to_day AS TIMESTAMP))
    GROUP BY e.customer
    ORDER BY e.customer"""


def coverage_table(subs: Sequence[Subscription], period: Period) -> pa.Table:
    """The days of ``period`` every subscription of ``subs`` covers."""
    return _windows(subs, period, partial=False)


def unrated_of_scan(customer_events: pa.Table, subs: Sequence[Subscription]) -> list[Unrated]:
    """The events no subscription of ``subs`` priced, from a rating scan's count per customer
    (:data:`ratecard.rating.compile.CUSTOMER_EVENTS`): no extra pass over the events."""
    subscribed = {s.customer for s in subs}
    found = []
    for row in sorted(customer_events.to_pylist(), key=lambda r: str(r["customer"])):
        customer = str(row["customer"])
        if customer not in subscribed:
            found.append(Unrated(customer, int(row["events"]), False))
        elif row["outside"]:
            found.append(Unrated(customer, int(row["outside"]), True))
    return found


def unrated(
    con: Any, dialect: Dialect, subs: Sequence[Subscription], period: Period
) -> list[Unrated]:
    """Events of ``period`` in the store of ``con`` that no subscription of ``subs`` prices
    (a pass over the period's events, for runs without a SQL scan to count from)."""
    con.register("coverage", coverage_table(subs, period))
    try:
        rows = con.execute(unrated_sql(dialect, period)).fetchall()
    finally:
        con.unregister("coverage")
    return [Unrated(str(c), int(n), bool(s)) for c, n, s in rows]
