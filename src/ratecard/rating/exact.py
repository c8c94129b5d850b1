"""Customers whose plan uses a feature the SQL engines do not rate, rated by the exact evaluator.

The SQL engines refuse a few plan features (:func:`ratecard.rating.support.unsupported`):
percentage prices, fair-use limits, per-user allowances and ``per`` values whose inverse does
not terminate. Customers on such plans are not refused: the engine reads their period's usage
from the events with two queries and prices it with :func:`ratecard.charges.evaluate`, the
reference every engine is tested against, so their invoices mean exactly what ``quote`` says.

The queries keep the Python work small. Metrics that are priced per event (percentage prices,
time-of-day multipliers, token requests, outcomes) come as events, one per ``(source, id)``;
every other metric a plan prices comes summed per customer and dimension set, which is what
the evaluator would sum anyway. The work still grows with those events and customers, unlike
the SQL path; :attr:`ExactCustomers.reasons` says which plans took it, and why.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.charges.quote import evaluate
from ratecard.charges.records import Record
from ratecard.charges.tokens import TOKEN_METRICS
from ratecard.errors import Problem
from ratecard.plan.components import (
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan
from ratecard.plan.prices import PercentagePrice
from ratecard.rating.coverage import outside_window
from ratecard.rating.customers import CustomerInputs, customer_inputs
from ratecard.rating.subscriptions import Period, Subscription
from ratecard.usage.model import Period as UsagePeriod
from ratecard.usage.model import UsageSummary

__all__ = ["ExactCustomers", "event_metrics", "exact_customers", "metric_table", "usage_queries"]


def plan_metrics(plan: Plan) -> set[str]:
    """Every metric a component of ``plan`` prices, limits or includes."""
    metrics: set[str] = set()
    for component in plan.components:
        if isinstance(component, UsageComponent | OutcomeComponent):
            metrics.add(component.metric)
        elif isinstance(component, TokensComponent):
            metrics |= TOKEN_METRICS
        elif isinstance(component, SeatComponent):
            metrics |= {a.metric for a in component.allowances + component.fair_use_limits}
    return metrics


def event_metrics(plan: Plan) -> set[str]:
    """The metrics of ``plan`` that the evaluator must see event by event: a sum per dimension
    set would lose the order (percentage prices), the time (time-of-day multipliers,
    attribution windows) or the request (token categories) an event is priced by."""
    metrics: set[str] = set()
    for component in plan.components:
        if isinstance(component, TokensComponent):
            metrics |= TOKEN_METRICS
        elif isinstance(component, OutcomeComponent) or (
            isinstance(component, UsageComponent) and _per_event(component)
        ):
            metrics.add(component.metric)
    return metrics


def _per_event(component: UsageComponent) -> bool:
    windows = component.multipliers.time_of_day if component.multipliers else []
    return isinstance(component.price, PercentagePrice) or bool(windows)


def metric_table(plans: dict[str, Plan], keys: Sequence[str]) -> pa.Table:
    """``(plan_key, metric, raw)``: the metrics each plan reads, and whether as events."""
    rows: dict[str, list[Any]] = {"plan_key": [], "metric": [], "raw": []}
    for key in keys:
        raw = event_metrics(plans[key])
        for metric in sorted(plan_metrics(plans[key])):
            rows["plan_key"].append(key)
            rows["metric"].append(metric)
            rows["raw"].append(metric in raw)
    return pa.table(
        {
            "plan_key": pa.array(rows["plan_key"], pa.string()),
            "metric": pa.array(rows["metric"], pa.string()),
            "raw": pa.array(rows["raw"], pa.bool_()),
        }
    )


def usage_queries(
    events: str, dims: str, period: Period, moment: str = "{}", windowed: bool = False
) -> tuple[str, str]:
    """(summed usage, raw events) of the customers in ``exact_subs`` for ``period``.

    ``events`` is the FROM clause giving events ``e`` (joined to their dimensions), ``dims``
    the expression of an event's canonical dimension JSON, ``moment`` how a timestamp column
    is selected (``unix_micros({})`` where a driver would shift naive timestamps to its own
    time zone). Reads the registered tables ``exact_subs (customer, plan_key)`` and
    ``exact_metrics`` (:func:`metric_table`), and ``windows`` with ``windowed``
    (:mod:`ratecard.rating.coverage`)."""
    scope = f"""FROM {events}
        JOIN exact_subs s ON s.customer = e.customer
        JOIN exact_metrics m ON m.plan_key = s.plan_key AND m.metric = e.metric
        WHERE e.ts >= TIMESTAMP '{period.start} 00:00:00'
          AND e.ts < TIMESTAMP '{period.end} 00:00:00'"""
    if windowed:
        scope += f" AND {outside_window()}"
    summed = f"""SELECT e.customer, e.metric, {dims} AS dims, sum(e.quantity) AS quantity,
            sum(e.value) AS value
        {scope} AND NOT m.raw
        GROUP BY e.customer, e.metric, {dims}
        ORDER BY e.customer, e.metric, dims"""
    ts, attributed = moment.format("e.ts"), moment.format("e.attributed_at")
    raw = f"""SELECT e.customer, e.source, e.id, {ts} AS ts, e.metric, e.quantity,
            {dims} AS dims, e.status, {attributed} AS attributed_at, e.value
        {scope} AND m.raw
        ORDER BY e.customer, e.ts, e.source, e.id, e.metric"""
    return summed, raw


@dataclass
class ExactCustomers:
    """The customers of a rating run priced by the exact evaluator, with their usage as the
    evaluator's records (usage lines first, then events by time, as ``records_of`` orders
    a usage summary's)."""

    period: Period
    inputs: list[CustomerInputs] = field(default_factory=list)
    records: dict[str, list[Record]] = field(default_factory=dict)
    reasons: dict[str, list[Problem]] = field(default_factory=dict)  # plan id -> features

    def summary(self, inputs: CustomerInputs) -> UsageSummary:
        """The usage summary ``quote`` would be given for this customer and period, less the
        usage itself (its records)."""
        return UsageSummary.model_construct(
            period=UsagePeriod.model_construct(start=self.period.start, end=self.period.end),
            customer=inputs.customer,
            contract_start=inputs.contract_start,
            seats=inputs.seats,
            seat_days=inputs.seat_days,
            usage=[],
            events=[],
            carry=None,
        )

    def invoices(self, extra: dict[str, list[Line]], states: dict[str, State]) -> Iterator[Invoice]:
        for inputs in self.inputs:
            yield evaluate(
                inputs.plan,
                self.summary(inputs),
                states.get(inputs.customer),
                extra=extra.get(inputs.customer, ()),
                records=self.records.get(inputs.customer, ()),
            )


def exact_customers(
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
    reasons: dict[str, list[Problem]],
    summed: Sequence[tuple[Any, ...]],
    raw: Sequence[tuple[Any, ...]],
) -> ExactCustomers:
    """Gather the rows of :func:`usage_queries` into each customer's records."""
    result = ExactCustomers(period, list(customer_inputs(list(subs), plans, period)))
    result.reasons = reasons
    parsed: dict[str, dict[str, str]] = {}

    def dimensions(text: str) -> dict[str, str]:
        if text not in parsed:
            parsed[text] = {str(k): str(v) for k, v in json.loads(text).items()}
        return parsed[text]

    records: dict[str, list[Record]] = defaultdict(list)
    for customer, metric, dims, quantity, value in summed:
        records[customer].append(
            Record(
                {metric: quantity},
                dimensions(dims),
                value=value,
                aggregated=True,
                ref=f"{metric} of customer {customer}",
            )
        )
    # One record per event (source, id): the rows of a request that used several metrics
    # become one record again, as the event was written.
    requests: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for row in raw:
        requests.setdefault((row[0], row[1], row[2]), []).append(row)
    for rows in requests.values():
        customer, source, ident, ts, _, _, dims, status, attributed, value = rows[0]
        records[customer].append(
            Record(
                {row[4]: row[5] for row in rows},
                dimensions(dims),
                _aware(ts),
                status,
                _aware(attributed),
                value,
                ref=f"event {source}/{ident}",
            )
        )
    result.records = dict(records)
    return result


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(moment: datetime | int | None) -> datetime | None:
    """Store timestamps are naive UTC (or microseconds since the epoch)."""
    if moment is None:
        return None
    if isinstance(moment, int):
        return _EPOCH + timedelta(microseconds=moment)
    return moment.replace(tzinfo=UTC)
