"""Late events: usage for a period whose invoices were already issued.

Issuing a period records, per customer, the invoice and the store's batch watermark. An event
ingested later (a higher batch) with a timestamp in an issued period is never folded into that
invoice: the next rating run reports it, re-rates the issued period with every event now known,
and bills the difference per component as ``late_adjustment`` lines on the period being rated.
Issued periods after it are rated again too, each from the state the one before now hands
over (credits, prepaid balances and commitment terms run through time). The issued records
then move to the new watermark, so each late event is adjusted exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ratecard.charges.invoice import Invoice, Line, LineKind, State
from ratecard.rating.subscriptions import Period
from ratecard.store.events import EventStore

__all__ = [
    "LateEvents",
    "adjustment_lines",
    "find_late",
    "issued_customers",
    "latest_issued",
    "previous_states",
    "record_issued",
    "state_of",
]

LATE_KIND: LineKind = "late_adjustment"


@dataclass(frozen=True)
class LateEvents:
    customer: str
    period: Period
    events: int  # event-metric rows ingested after the period was issued


def find_late(store: EventStore, before: date) -> list[LateEvents]:
    """Late events of issued periods that ended on or before ``before``."""
    rows = store.con.execute(
        """SELECT i.customer, i.period_start, i.period_end, count(*)
        FROM issued i JOIN events e ON e.customer = i.customer
            AND e.ts >= CAST(i.period_start AS TIMESTAMP) AND e.ts < CAST(i.period_end AS TIMESTAMP)
            AND e.batch > i.watermark
        WHERE i.period_end <= ?
        GROUP BY ALL ORDER BY 2, 1""",
        [before],
    ).fetchall()
    return [LateEvents(c, Period(s, e), int(n)) for c, s, e, n in rows]


def issued_customers(store: EventStore, period: Period) -> list[str]:
    rows = store.con.execute(
        "SELECT customer FROM issued WHERE period_start = ? ORDER BY 1", [period.start]
    ).fetchall()
    return [row[0] for row in rows]


def issued_invoice(store: EventStore, customer: str, period: Period) -> dict[str, Any]:
    (row,) = store.con.execute(
        "SELECT invoice FROM issued WHERE customer = ? AND period_start = ?",
        [customer, period.start],
    ).fetchall()
    document: dict[str, Any] = json.loads(row[0])
    return document


def _by_component(lines: list[dict[str, Any]]) -> dict[str, tuple[str | None, Decimal]]:
    totals: dict[str, tuple[str | None, Decimal]] = {}
    for line in lines:
        key = line["component"] or line["kind"]
        _, amount = totals.get(key, (None, Decimal(0)))
        totals[key] = (line["component"], amount + Decimal(line["amount"]))
    return totals


def adjustment_lines(old: dict[str, Any], new: Invoice, period: Period) -> list[Line]:
    """One line per component (or modifier kind) whose billed amount changed once the issued
    period was rated again with the late events (its own, or an earlier period's that changed
    the balances it started from)."""
    # The issued invoice's own adjustments (for periods before it) are not part of what it
    # charged for itself: the re-rated invoice has none, and counting them would refund them.
    before = _by_component([line for line in old["lines"] if line["kind"] != LATE_KIND])
    after = _by_component([line.to_dict() for line in new.lines])
    lines = []
    for key in sorted(set(before) | set(after)):
        component, was = before.get(key, (None, Decimal(0)))
        component_now, now = after.get(key, (component, Decimal(0)))
        delta = now - was
        if delta:
            lines.append(
                Line(
                    LATE_KIND,
                    component_now or component,
                    f"{period.label} re-rated with late events: {key} (issued {was}, now {now})",
                    None,
                    None,
                    delta,
                    amount=delta,
                )
            )
    return lines


def state_of(document: dict[str, Any], credits: int) -> State:
    """The contract state an issued invoice handed to the next period."""
    data = document.get("state") or {}
    balances: list[Decimal | None] = [None] * credits
    for item in data.get("credits", []):
        if item["index"] < credits:
            balances[item["index"]] = Decimal(item["remaining"])
    prepaid = data.get("prepaid_balance")
    return State(
        Decimal(data.get("commitment_counted", "0")),
        None if prepaid is None else Decimal(prepaid),
        tuple(balances),
    )


def previous_states(store: EventStore, period: Period) -> dict[str, dict[str, Any]]:
    """Each customer's latest issued invoice before ``period`` (usually the one that ended
    when it starts; an older one when the customer had no invoice in between)."""
    rows = store.con.execute(
        """SELECT customer, invoice FROM issued WHERE period_end <= ?
        QUALIFY row_number() OVER (PARTITION BY customer ORDER BY period_start DESC) = 1""",
        [period.start],
    ).fetchall()
    return {customer: json.loads(text) for customer, text in rows}


def latest_issued(store: EventStore) -> dict[str, date]:
    """The start of each customer's latest issued period."""
    rows = store.con.execute(
        "SELECT customer, max(period_start) FROM issued GROUP BY customer"
    ).fetchall()
    return dict(rows)


def record_issued(
    store: EventStore, invoices: list[Invoice], watermark: int, replace: bool = False
) -> None:
    """Record issued invoices (or, with ``replace``, their re-rated version) in one go."""
    con = store.con
    if not invoices:
        return
    rows = [
        (
            inv.customer or "",
            inv.period_start,
            inv.period_end,
            inv.plan,
            watermark,
            json.dumps(inv.to_dict()),
        )
        for inv in invoices
    ]
    if replace:
        for customer, start, *_ in rows:
            con.execute(
                "DELETE FROM issued WHERE customer = ? AND period_start = ?", [customer, start]
            )
    con.executemany("INSERT INTO issued VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", rows)
