"""Helpers shared by the engine tests: rate events with the engine and with the reference."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import ratecard
from ratecard import Invoice, Plan
from ratecard.rating.engine import rate_period
from ratecard.rating.subscriptions import Subscription, month
from ratecard.store import EventStore

PERIOD = "2026-10"
START, END = "2026-10-01", "2026-11-01"


def write_jsonl(path: Path, events: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def engine_invoices(
    tmp: Path, plan: Plan, events: Sequence[dict[str, Any]], subs: Sequence[Subscription]
) -> dict[str, Invoice]:
    store = EventStore(":memory:")
    if events:
        store.ingest([write_jsonl(tmp / "events.jsonl", events)])
    run = rate_period(store, subs, {"plan": plan}, month(PERIOD))
    invoices = {inv.customer or "": inv for inv in run.invoices()}
    store.close()
    return invoices


def reference_invoice(plan: Plan, events: Sequence[dict[str, Any]], sub: Subscription) -> Invoice:
    # the days of October the subscription covers: its events there, its seats those days
    first = max(sub.start, date(2026, 10, 1))
    last = min(sub.end or date(2026, 11, 1), date(2026, 11, 1))
    mine = [e for e in events if e["customer"] == sub.customer]
    mine = [e for e in mine if first.isoformat() <= e["timestamp"][:10] < last.isoformat()]
    summary: dict[str, Any] = {
        "period": {"start": START, "end": END},
        "customer": sub.customer,
        "contract_start": min(sub.start, date(2026, 10, 1)).isoformat(),
        "events": mine,
    }
    if sub.seats is not None:
        summary["seats"] = str(sub.seats)
        summary["seat_days"] = str(sub.seats * (last - first).days)
    return ratecard.quote(plan, summary)


def line_key(line: ratecard.Line) -> tuple[Any, ...]:
    return (line.kind, line.component or "", line.description)


def close(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= Decimal("1e-9") * max(1, abs(b))


def assert_same(engine: Invoice, reference: Invoice) -> None:
    """Identical rounded amounts and totals, line by line; exact figures to 1e-9."""
    mine = sorted(engine.lines, key=line_key)
    theirs = sorted(reference.lines, key=line_key)
    keys = [line_key(x) for x in mine], [line_key(x) for x in theirs]
    assert keys[0] == keys[1], (set(keys[0]) ^ set(keys[1]), mine, theirs)
    for a, b in zip(mine, theirs, strict=True):
        assert a.amount == b.amount, (a, b)
        assert close(a.exact_amount, b.exact_amount), (a, b)
        assert close(a.quantity, b.quantity), (a, b)
        assert close(a.unit_price, b.unit_price), (a, b)
        assert a.per == b.per, (a, b)
        assert a.dimensions == b.dimensions
        assert len(a.tiers) == len(b.tiers)
        for s, t in zip(a.tiers, b.tiers, strict=True):
            assert s.tier == t.tier
            assert close(s.amount, t.amount)
            assert close(s.quantity, t.quantity)
    assert engine.total == reference.total
    assert engine.subtotal == reference.subtotal
