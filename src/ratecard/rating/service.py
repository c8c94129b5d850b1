"""A rating run as the CLI sees it: rate a period, fold in late events, issue the invoices."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.errors import Problem, UsageError
from ratecard.rating.engine import RatingRun, rate_period
from ratecard.rating.late import (
    LateEvents,
    adjustment_lines,
    find_late,
    issued_customers,
    issued_invoice,
    previous_states,
    record_issued,
    state_of,
)
from ratecard.rating.subscriptions import Period, Subscriptions
from ratecard.store.events import EventStore

__all__ = ["RateResult", "rate"]


@dataclass
class RateResult:
    period: Period
    run: RatingRun
    invoices: list[Invoice]
    late: list[LateEvents] = field(default_factory=list)  # adjusted on this period's invoices
    deferred: list[LateEvents] = field(default_factory=list)  # customer not billed this period
    issued: bool = False


def rate(
    store: EventStore, subscriptions: Subscriptions, period: Period, *, issue: bool = True
) -> RateResult:
    """Rate ``period`` for every subscribed customer. Late events of issued periods become
    ``late_adjustment`` lines; with ``issue`` the invoices are recorded as issued."""
    already = issued_customers(store, period)
    if already:
        raise UsageError(
            [
                Problem(
                    f"period {period.label} was already issued for {len(already)} customers "
                    f"(e.g. {already[0]!r}); issued invoices are final, and events that arrive "
                    "for it later are billed as adjustments on the next period",
                    "period",
                )
            ]
        )
    watermark = store.watermark()
    active = subscriptions.for_period(period)
    run = rate_period(store, active, subscriptions.plans, period)
    billed = {s.customer for s in active}
    late = find_late(store, period.start)
    extra: dict[str, list[Line]] = defaultdict(list)
    rerated: list[Invoice] = []
    result_late: list[LateEvents] = []
    deferred: list[LateEvents] = []
    by_period: dict[Period, list[LateEvents]] = defaultdict(list)
    for item in late:
        (by_period[item.period] if item.customer in billed else deferred).append(item)
    for earlier, items in sorted(by_period.items(), key=lambda kv: kv[0].start):
        customers = {i.customer for i in items}
        subs = [s for s in subscriptions.for_period(earlier) if s.customer in customers]
        again = rate_period(store, subs, subscriptions.plans, earlier)
        for invoice in again.invoices():
            old = issued_invoice(store, invoice.customer or "", earlier)
            extra[invoice.customer or ""] += adjustment_lines(old, invoice, earlier)
            rerated.append(invoice)
        result_late += items
    states: dict[str, State] = {}
    for customer, document in previous_states(store, period).items():
        plan = next((subscriptions.plans[s.plan] for s in active if s.customer == customer), None)
        if plan is not None and plan.id == document.get("plan"):
            states[customer] = state_of(document, len(plan.modifiers.credits))
    invoices = list(run.invoices(extra, states))
    if issue:
        store.con.execute("BEGIN TRANSACTION")
        try:
            record_issued(store, invoices, watermark)
            record_issued(store, rerated, watermark, replace=True)
            store.con.execute("COMMIT")
        except BaseException:
            store.con.execute("ROLLBACK")
            raise
    return RateResult(period, run, invoices, result_late, deferred, issue)
