"""Deriving a workload from recorded usage: independent of where the rows come from (a file,
the store), so that any source that yields :class:`FitRow` values can be fitted.

What is fitted, from one customer's rows:

- tasks: the quantity of ``task_metric`` per month, or else the number of distinct requests
  (rows sharing an ``id``) per month;
- seats: distinct values of the ``user`` dimension per month (1 without it), their first value
  and compound monthly growth;
- tasks per active seat and each other metric per task: ``fixed`` when every sample is equal,
  else ``lognormal`` from the sample median and 90th percentile;
- ``cache_read_share``: cache read over input tokens;
- outcomes: rows with a ``status`` name the outcome metric; success rate = confirmed / tasks,
  dispute rate = disputed / (confirmed + disputed);
- the mix: shares of each dimension's values over requests, the ``mode: batch`` share and the
  share of requests between 22:00 and 06:00 UTC (off peak);
- spikes: months above twice the median month, their frequency and mean multiplier.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ratecard.errors import WorkloadError
from ratecard.simulate.pricing import add_months
from ratecard.simulate.workload import Workload
from ratecard.usage.model import Event

__all__ = ["FitRow", "fit_workload", "rows_from_events", "rows_from_records"]

TASKS_FALLBACK = "requests"
OFF_PEAK_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4, 5})


@dataclass(frozen=True, slots=True)
class FitRow:
    """One metric of one event."""

    timestamp: datetime
    metric: str
    quantity: float
    customer: str | None = None
    request: str | None = None  # rows of one request share it (the event id)
    dimensions: dict[str, str] = field(default_factory=dict)
    status: str | None = None


def rows_from_events(events: Iterable[Event]) -> list[FitRow]:
    """Rows of events; events without a timestamp are skipped (they have no month)."""
    rows = []
    for index, event in enumerate(events):
        if event.timestamp is None:
            continue
        request = event.id or f"#{index}"
        for metric, quantity in event.metric_quantities().items():
            rows.append(
                FitRow(
                    event.timestamp,
                    metric,
                    float(quantity),
                    event.customer,
                    request,
                    dict(event.dimensions),
                    event.status,
                )
            )
    return rows


def _distribution(samples: list[float]) -> dict[str, Any]:
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        return {"dist": "fixed", "value": 0.0}
    median = float(np.median(values))
    p90 = float(np.quantile(values, 0.9))
    if median > 0 and p90 > median * (1 + 1e-9):
        return {"dist": "lognormal", "median": _nice(median), "p90": _nice(p90)}
    return {"dist": "fixed", "value": _nice(float(values.mean()))}


def _nice(value: float) -> float:
    return float(f"{value:.6g}")


def _month(moment: datetime) -> tuple[int, int]:
    utc = moment.astimezone(UTC)
    return (utc.year, utc.month)


def fit_workload(
    rows: Iterable[FitRow],
    customer: str | None = None,
    task_metric: str | None = None,
    horizon_months: int = 36,
) -> Workload:
    """Fit a workload to one customer's rows (all rows when ``customer`` is None)."""
    mine = [r for r in rows if customer is None or r.customer == customer]
    if not mine:
        raise WorkloadError(f"no usage rows for customer {customer!r}")
    outcome_metrics = {r.metric for r in mine if r.status is not None}
    usage = [r for r in mine if r.metric not in outcome_metrics]
    months = sorted({_month(r.timestamp) for r in mine})
    tasks_by_month: dict[tuple[int, int], float] = defaultdict(float)
    users_by_month: dict[tuple[int, int], set[str]] = defaultdict(set)
    tasks_by_user_month: dict[tuple[tuple[int, int], str], float] = defaultdict(float)
    requests: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    request_rows: dict[str, FitRow] = {}
    for index, row in enumerate(usage):
        month = _month(row.timestamp)
        user = row.dimensions.get("user")
        if user is not None:
            users_by_month[month].add(user)
        key = row.request or f"#{index}"
        requests[key][row.metric] += row.quantity
        request_rows.setdefault(key, row)
        if task_metric is not None and row.metric == task_metric:
            tasks_by_month[month] += row.quantity
            tasks_by_user_month[(month, user or "")] += row.quantity
    if task_metric is None:
        for row in request_rows.values():
            month = _month(row.timestamp)
            tasks_by_month[month] += 1
            tasks_by_user_month[(month, row.dimensions.get("user") or "")] += 1
    seats = [max(len(users_by_month[m]), 1) for m in months]
    growth = 0.0
    if len(months) > 1 and seats[0] > 0:
        growth = (seats[-1] / seats[0]) ** (1 / (len(months) - 1)) - 1
    total_tasks = math.fsum(tasks_by_month.values())
    if total_tasks <= 0:
        raise WorkloadError(f"no tasks found for customer {customer!r} (task metric {task_metric})")
    per_task: dict[str, Any] = {}
    metrics = {m for r in request_rows.values() for m in requests[r.request or ""]} | {
        r.metric for r in usage
    }
    for metric in sorted(metrics - {task_metric, "cache_read_tokens"}):
        samples = [q[metric] for q in requests.values() if metric in q]
        total = math.fsum(samples)
        if len(samples) >= 0.9 * total_tasks:
            per_task[metric] = _distribution(samples)
        else:
            per_task[metric] = {"dist": "fixed", "value": _nice(total / total_tasks)}
    input_total = math.fsum(q.get("input_tokens", 0.0) for q in requests.values())
    cache_total = math.fsum(q.get("cache_read_tokens", 0.0) for q in requests.values())
    data: dict[str, Any] = {
        "workload": 1,
        "name": f"fitted from {len(mine)} rows" + (f" of {customer}" if customer else ""),
        "start": add_months(date(*months[-1], 1), 1),
        "horizon_months": horizon_months,
        "seats": {"start": seats[0], "growth_per_month": _nice(growth)} if growth else seats[0],
        "per_active_seat": {"tasks": _distribution(list(tasks_by_user_month.values()))},
        "per_task": per_task,
        "task_metric": task_metric,
        "mix": _mix(list(request_rows.values())),
    }
    if input_total > 0 and cache_total > 0:
        data["cache_read_share"] = min(_nice(cache_total / input_total), 1.0)
    outcomes = _outcomes(mine, outcome_metrics, total_tasks)
    if outcomes is not None:
        data["outcomes"] = outcomes
    spikes = _spikes([tasks_by_month[m] for m in months])
    if spikes is not None:
        data["spikes"] = spikes
    return Workload.model_validate(data)


def _outcomes(rows: list[FitRow], metrics: set[str], tasks: float) -> dict[str, Any] | None:
    if not metrics:
        return None
    counts: Counter[str] = Counter()
    metric = sorted(metrics)[0]
    for row in rows:
        if row.metric == metric and row.status is not None:
            counts[row.status] += int(row.quantity) if row.quantity else 1
    confirmed, disputed = counts["confirmed"], counts["disputed"] + counts["reversed"]
    return {
        "metric": metric,
        "success_rate": min(_nice((confirmed + disputed) / tasks), 1.0),
        "dispute_rate": _nice(disputed / (confirmed + disputed)) if confirmed + disputed else 0.0,
    }


def _mix(requests: list[FitRow]) -> dict[str, Any]:
    values: dict[str, Counter[str]] = defaultdict(Counter)
    for row in requests:
        for name, value in row.dimensions.items():
            if name not in {"user", "mode"}:
                values[name][value] += 1
    dimensions = {}
    for name, counter in values.items():
        total = sum(counter.values())
        shares = {value: count / total for value, count in sorted(counter.items())}
        # Rounded shares that still add up to exactly 1.
        rounded = {value: _nice(share) for value, share in shares.items()}
        last = next(reversed(rounded))
        rounded[last] = 1 - math.fsum(v for k, v in rounded.items() if k != last)
        dimensions[name] = rounded
    count = max(len(requests), 1)
    batch = sum(1 for r in requests if r.dimensions.get("mode") == "batch") / count
    off_peak = sum(1 for r in requests if r.timestamp.astimezone(UTC).hour in OFF_PEAK_HOURS)
    return {
        "dimensions": dimensions,
        "batch_share": _nice(batch),
        "off_peak_share": _nice(off_peak / count),
    }


def _spikes(monthly: list[float]) -> dict[str, Any] | None:
    if len(monthly) < 3:
        return None
    median = float(np.median(monthly))
    if median <= 0:
        return None
    spikes = [m / median for m in monthly if m > 2 * median]
    if not spikes:
        return None
    return {
        "monthly_probability": _nice(len(spikes) / len(monthly)),
        "multiplier": _nice(math.fsum(spikes) / len(spikes)),
    }


def rows_from_records(table: Iterable[dict[str, Any]]) -> list[FitRow]:
    """Rows from mappings in the readers' and store's staged shape (``ts``, ``metric``,
    ``quantity``, ``dims`` as JSON, ``customer``, ``id``, ``source``, ``status``)."""
    rows = []
    for index, record in enumerate(table):
        moment = record["ts"]
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        quantity = record.get("quantity")
        dims = record.get("dims") or "{}"
        request = record.get("id")
        if request is not None:
            request = f"{record.get('source') or ''}/{request}"
        rows.append(
            FitRow(
                moment,
                record["metric"],
                float(quantity if quantity is not None else Decimal(1)),
                record.get("customer"),
                request or f"#{index}",
                json.loads(dims) if isinstance(dims, str) else dict(dims),
                record.get("status"),
            )
        )
    return rows
