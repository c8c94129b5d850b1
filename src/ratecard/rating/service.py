"""A rating run as the CLI sees it: rate a period, fold in late events, issue the invoices."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.errors import Problem, UsageError
from ratecard.rating.coverage import Unrated, unrated, unrated_of_scan
from ratecard.rating.dialect import DUCKDB
from ratecard.rating.engine import RatingRun, rate_period
from ratecard.rating.late import (
    LateEvents,
    adjustment_lines,
    find_late,
    issued_customers,
    issued_invoice,
    latest_issued,
    previous_states,
    record_issued,
    state_of,
)
from ratecard.rating.subscriptions import Period, Subscription, Subscriptions, month
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
    unrated: list[Unrated] = field(default_factory=list)  # events no subscription priced
    kept: int = 0  # customers already issued for the period, left as they were


def rate(
    store: EventStore, subscriptions: Subscriptions, period: Period, *, issue: bool = True
) -> RateResult:
    """Rate ``period`` for every subscribed customer not yet invoiced for it (a customer
    added to an issued month is invoiced on its own; issued invoices are never redone).
    Late events of issued periods become ``late_adjustment`` lines; with ``issue`` the
    invoices are recorded as issued."""
    already = set(issued_customers(store, period))
    subscribed = subscriptions.for_period(period)
    active = [s for s in subscribed if s.customer not in already]
    if already and not active:
        example = sorted(already)[0]
        raise UsageError(
            [
                Problem(
                    f"period {period.label} was already issued for every subscribed customer "
                    f"({len(already)}, e.g. {example!r}); issued invoices are final, and events "
                    "that arrive for it later are billed as adjustments on the next period",
                    "period",
                )
            ]
        )
    watermark = store.watermark()
    _check_order(store, subscriptions, active, period)
    run = rate_period(store, active, subscriptions.plans, period)
    if run.customer_events is not None:
        left_out = unrated_of_scan(run.customer_events, subscribed)
    else:
        with store.window(_midnight(period.start), _midnight(period.end)):
            left_out = unrated(store.con, DUCKDB, subscribed, period)
    billed = {s.customer for s in active}
    late = find_late(store, period.start)
    result_late = [item for item in late if item.customer in billed]
    deferred = [item for item in late if item.customer not in billed]
    extra, rerated, carried = _rerate(store, subscriptions, result_late, period)
    states: dict[str, State] = {}
    plan_of = {s.customer: subscriptions.plans[s.plan] for s in active}
    for customer, document in previous_states(store, period).items():
        plan = plan_of.get(customer)
        if plan is not None and plan.id == document.get("plan"):
            states[customer] = state_of(document, len(plan.modifiers.credits))
    for customer, handover in carried.items():
        if handover.until == period.start and handover.plan == plan_of[customer].id:
            states[customer] = handover.state
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
    return RateResult(period, run, invoices, result_late, deferred, issue, left_out, len(already))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _check_order(
    store: EventStore, subscriptions: Subscriptions, active: list[Subscription], period: Period
) -> None:
    """Periods are issued in order, customer by customer: each starts from the balances
    (credits, prepaid commitments, commitment terms) the one before handed over, so rating a
    month before one already issued, or after a month the customer was subscribed in but not
    invoiced, would spend a balance twice or never."""
    latest = latest_issued(store)
    previous = month(f"{period.start - timedelta(days=1):%Y-%m}")
    subscribed_before = {
        s.customer for s in subscriptions.items if s.active(previous.start, previous.end)
    }
    problems = []
    for sub in active:
        last = latest.get(sub.customer)
        if last is None:
            continue
        if last > period.start:
            problems.append(
                Problem(
                    f"customer {sub.customer!r} was already invoiced for {last:%Y-%m}, after "
                    f"{period.label}: periods are rated in order",
                    "period",
                )
            )
        elif last < previous.start and sub.customer in subscribed_before:
            problems.append(
                Problem(
                    f"customer {sub.customer!r} was subscribed in {previous.label} but not "
                    f"invoiced for it: rate {previous.label} first",
                    "period",
                )
            )
    if problems:
        raise UsageError(problems[:20])


@dataclass(frozen=True)
class _Handover:
    """The contract state a period hands to the one starting on ``until``."""

    plan: str
    state: State
    until: date


def _rerate(
    store: EventStore, subscriptions: Subscriptions, late: list[LateEvents], period: Period
) -> tuple[dict[str, list[Line]], list[Invoice], dict[str, _Handover]]:
    """Re-rate every issued period from each customer's earliest late one up to ``period``,
    carrying the contract state from one to the next: a late event changes what the later
    periods drew from credits, prepaid balances and commitments, and adjusting only its own
    period would spend a balance twice. Returns the adjustment lines per customer, the
    re-rated invoices (which replace the issued ones), and the state each customer's last
    re-rated period hands over."""
    first: dict[str, date] = {}
    for item in late:
        first[item.customer] = min(first.get(item.customer, item.period.start), item.period.start)
    extra: dict[str, list[Line]] = defaultdict(list)
    rerated: list[Invoice] = []
    handed: dict[str, _Handover] = {}
    if not first:
        return extra, rerated, handed
    current = month(f"{min(first.values()):%Y-%m}")
    while current.start < period.start:
        issued = set(issued_customers(store, current))
        subs = [
            s
            for s in subscriptions.for_period(current)
            if s.customer in issued and first.get(s.customer, period.start) <= current.start
        ]
        before = previous_states(store, current)
        states: dict[str, State] = {}
        for sub in subs:
            plan = subscriptions.plans[sub.plan]
            handover = handed.get(sub.customer)
            if handover is not None and handover.until == current.start:
                if handover.plan == plan.id:
                    states[sub.customer] = handover.state
            elif sub.customer in before and before[sub.customer].get("plan") == plan.id:
                # the chain starts here: from the state the issued period before handed over
                document = before[sub.customer]
                states[sub.customer] = state_of(document, len(plan.modifiers.credits))
        again = rate_period(store, subs, subscriptions.plans, current)
        for invoice in again.invoices(states=states):
            customer = invoice.customer or ""
            old = issued_invoice(store, customer, current)
            extra[customer] += adjustment_lines(old, invoice, current)
            rerated.append(invoice)
            handed[customer] = _Handover(invoice.plan, invoice.state or State(), current.end)
        current = month(f"{current.end:%Y-%m}")
    return extra, rerated, handed
