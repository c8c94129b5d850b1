"""The vectorized rating engine on DuckDB: every customer's invoice for one period.

Aggregation and charge computation run as SQL inside DuckDB (one scan of the period's events
for all plans, then a few rows per customer and component); Python only prepares per-customer
inputs from the subscriptions and, when asked for invoice objects, formats lines and runs the
reference modifier pipeline (:mod:`ratecard.charges.modifiers`) and rounding on them.
"""

from __future__ import annotations

import decimal
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.errors import PlanError, Problem, UsageError
from ratecard.money import CONTEXT, minor_unit
from ratecard.plan.components import SeatComponent
from ratecard.plan.model import Plan
from ratecard.rating.assemble import assemble
from ratecard.rating.compile import (
    CUSTOMER_EVENTS,
    LINE_COLUMNS,
    Group,
    base_sql,
    lines_sql,
    requests_sql,
    scan_sql,
)
from ratecard.rating.coverage import partial_windows
from ratecard.rating.customers import Customers, customer_inputs
from ratecard.rating.dialect import DUCKDB, Dialect
from ratecard.rating.exact import ExactCustomers, exact_customers, metric_table, usage_queries
from ratecard.rating.layout import layout_plan
from ratecard.rating.subscriptions import Period, Subscription
from ratecard.rating.support import unsupported
from ratecard.store.events import EventStore

__all__ = ["RatingRun", "plan_groups", "rate_period", "split_by_support"]

CARRY_TYPE = pa.decimal128(28, 14)
Q14 = Decimal(1).scaleb(-14)


def _carry(value: Decimal) -> Decimal:
    return value.quantize(Q14, rounding=ROUND_HALF_UP, context=CONTEXT)


def _carry_array(values: list[Decimal]) -> pa.Array:
    """DECIMAL(28,14) values, converting each distinct value once (seats repeat a lot)."""
    distinct = {v: _carry(v) for v in set(values)}
    return pa.array([distinct[v] for v in values], CARRY_TYPE)


@dataclass
class RatingRun:
    """The result of one rating run: line rows per plan group, and the customer inputs."""

    period: Period
    groups: list[Group]
    customers: dict[int, Customers]  # plan group -> its customers
    lines: pa.Table  # LINE_COLUMNS + amount (rounded half up per line)
    exact: ExactCustomers | None = None  # customers whose plan the SQL does not rate
    # per customer with events in the period: events, and those outside the subscription's
    # days (CUSTOMER_EVENTS; None when no plan went through the SQL scan)
    customer_events: pa.Table | None = None

    def invoices(
        self,
        extra: dict[str, list[Line]] | None = None,
        states: dict[str, State] | None = None,
    ) -> Iterator[Invoice]:
        """Invoice objects, customer by customer (formatting and the modifier pipeline);
        ``extra`` lines (late adjustments) and ``states`` (carried balances) by customer."""
        extra = extra or {}
        states = states or {}
        by_key: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        for row in self.lines.to_pylist():
            by_key[(row["pg"], row["customer"])].append(row)
        for group in self.groups:
            for inputs in self.customers[group.pg]:
                rows = by_key.get((group.pg, inputs.customer), [])
                yield assemble(
                    group,
                    inputs,
                    rows,
                    self.period,
                    states.get(inputs.customer),
                    extra.get(inputs.customer, ()),
                )
        if self.exact is not None:
            yield from self.exact.invoices(extra, states)


def split_by_support(
    subs: Sequence[Subscription], plans: dict[str, Plan]
) -> tuple[list[Subscription], list[Subscription], dict[str, list[Problem]]]:
    """(subscriptions the SQL rates, those the exact evaluator rates, and why: plan id ->
    the features of its plan that the SQL does not rate). Rating runs month by month, so a
    plan billed yearly is refused rather than charged its yearly prices every month."""
    yearly = sorted({s.plan for s in subs if plans[s.plan].billing_period != "month"})
    if yearly:
        raise PlanError(
            [
                Problem(
                    f"plan {plans[key].id!r} is billed per {plans[key].billing_period}; "
                    "ratecard rate issues monthly invoices (price it with `ratecard quote` "
                    "over its billing period)",
                    "billing_period",
                    key,
                )
                for key in yearly
            ]
        )
    reasons = {key: unsupported(plans[key]) for key in {s.plan for s in subs}}
    vector = [s for s in subs if not reasons[s.plan]]
    exact = [s for s in subs if reasons[s.plan]]
    return vector, exact, {plans[k].id: found for k, found in reasons.items() if found}


def exact_tables(subs: Sequence[Subscription], plans: dict[str, Plan]) -> dict[str, pa.Table]:
    """The tables :func:`ratecard.rating.exact.usage_queries` reads."""
    return {
        "exact_subs": pa.table(
            {
                "customer": pa.array([s.customer for s in subs], pa.string()),
                "plan_key": pa.array([s.plan for s in subs], pa.string()),
            }
        ),
        "exact_metrics": metric_table(plans, sorted({s.plan for s in subs})),
    }


def plan_groups(
    dialect: Dialect,
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
    dims: Sequence[tuple[Any, dict[str, str]]],
) -> tuple[list[Group], dict[int, Customers], dict[str, pa.Table]]:
    """Plan groups (plan x escalation), their customers, and the input tables to register;
    every plan of ``subs`` must be one the SQL rates (:func:`split_by_support`)."""
    people = customer_inputs(list(subs), plans, period)
    layouts = {key: layout_plan(plans[key], dims) for key in {s.plan for s in subs}}
    groups: dict[tuple[str, Decimal], Group] = {}
    members: dict[int, Customers] = {}
    group_of: list[int] = []  # profile -> plan group
    for profile in people.profiles:
        group_key = (profile.plan_key, profile.escalation)
        if group_key not in groups:
            group = Group(len(groups), layouts[profile.plan_key], profile.escalation)
            groups[group_key] = group
            members[group.pg] = Customers(people.profiles)
        group_of.append(groups[group_key].pg)
    for name, index in zip(people.names, people.profile_of, strict=True):
        customers = members[group_of[index]]
        customers.names.append(name)
        customers.profile_of.append(index)
    tables: dict[str, pa.Table] = {}
    subs_cols: dict[str, list[Any]] = {"pg": [], "customer": []}
    codes: dict[tuple[str, Any], dict[int, int]] = defaultdict(dict)  # (metric, dkey) -> codes
    tcodes: dict[str, list[Any]] = {"pg": [], "comp": [], "dkey": [], "dg": []}
    for group in groups.values():
        plan = group.layout.plan
        customers = members[group.pg]
        subs_cols["pg"] += [group.pg] * len(customers)
        subs_cols["customer"] += customers.names
        seat_ids = [i for i, c in enumerate(plan.components) if isinstance(c, SeatComponent)]
        profiles = [p for p, pg in zip(people.profiles, group_of, strict=True) if pg == group.pg]
        metrics = sorted({m for p in profiles for m in p.included})
        group.seat_columns = {i: f"seat_{i}" for i in seat_ids}
        group.included_columns = {m: f"inc_{j}" for j, m in enumerate(metrics)}
        # Each column is worked out once per profile, then taken for every customer.
        which = pa.array(customers.profile_of, pa.int64())
        arrays = {"customer": pa.array(customers.names, pa.string())}
        for i in seat_ids:
            values = [p.billed.get(i, Decimal(0)) for p in people.profiles]
            arrays[f"seat_{i}"] = _carry_array(values).take(which)
        for j, m in enumerate(metrics):
            values = [p.included.get(m, Decimal(0)) for p in people.profiles]
            arrays[f"inc_{j}"] = _carry_array(values).take(which)
        tables[f"subs_{group.pg}"] = pa.table(arrays)
        for metric, dkey, code in group.layout.codes:
            codes[(metric, dkey)][group.pg] = code
        for ci, tokens in group.layout.tokens.items():
            for dkey, dg in tokens.codes.items():
                tcodes["pg"].append(group.pg)
                tcodes["comp"].append(ci)
                tcodes["dkey"].append(dkey)
                tcodes["dg"].append(dg)
    key_type = pa.int32() if dialect.name == "duckdb" else pa.string()
    tables["subs"] = pa.table(
        {
            "pg": pa.array(subs_cols["pg"], pa.int32()),
            "customer": pa.array(subs_cols["customer"], pa.string()),
        }
    )
    tables.update(_code_tables(codes, [g.pg for g in groups.values()], key_type))
    tables["tcodes"] = pa.table(
        {
            "pg": pa.array(tcodes["pg"], pa.int32()),
            "comp": pa.array(tcodes["comp"], pa.int32()),
            "dkey": pa.array(tcodes["dkey"], key_type),
            "dg": pa.array(tcodes["dg"], pa.int64()),
        }
    )
    return list(groups.values()), members, tables


def _code_tables(
    codes: dict[tuple[str, Any], dict[int, int]], pgs: list[int], key_type: pa.DataType
) -> dict[str, pa.Table]:
    """``codes`` (metric, dimension key -> union code) and ``ucodes`` (union code -> metric and
    each plan group's code): dimension sets that every plan group codes alike share a union
    code, so the event scan groups by one integer for all plan groups."""
    union: dict[tuple[str, tuple[int | None, ...]], int] = {}
    keys = list(codes)
    ucs = [
        union.setdefault((metric, tuple(codes[(metric, dkey)].get(pg) for pg in pgs)), len(union))
        for metric, dkey in keys
    ]
    by_uc = list(union)
    return {
        "codes": pa.table(
            {
                "metric": pa.array([k[0] for k in keys], pa.string()),
                "dkey": pa.array([k[1] for k in keys], key_type),
                "uc": pa.array(ucs, pa.int32()),
            }
        ),
        "ucodes": pa.table(
            {
                "uc": pa.array(range(len(by_uc)), pa.int32()),
                "metric": pa.array([metric for metric, _ in by_uc], pa.string()),
                **{
                    f"code_{pg}": pa.array([row[i] for _, row in by_uc], pa.int64())
                    for i, pg in enumerate(pgs)
                },
            }
        ),
    }


@dataclass(frozen=True)
class Statements:
    """The SQL of a rating run: the event scan (to keep as ``scan``), the plan groups' usage
    over it (to keep as ``base``), the token requests scan (to keep as ``req``) if any plan
    prices tokens, and one lines query per plan group."""

    scan: str
    base: str
    requests: str | None
    lines: list[str]


def statements(
    dialect: Dialect, groups: Sequence[Group], period: Period, dims_key: str, windowed: bool
) -> Statements:
    """The statements of a run; with ``windowed`` the scans read ``windows``
    (:mod:`ratecard.rating.coverage`)."""
    scan = scan_sql(dialect, groups, period.start, period.end, dims_key, windowed)
    base = base_sql(dialect, groups, period.start, period.end)
    token_pgs = [g.pg for g in groups if g.layout.tokens]
    requests = (
        requests_sql(dialect, token_pgs, period.start, period.end, dims_key, windowed)
        if token_pgs
        else None
    )
    queries = []
    for group in groups:
        ctes, selects = lines_sql(dialect, group, period.start, period.end)
        minor = minor_unit(group.layout.plan.currency)
        body = " UNION ALL ".join(selects)
        with_ = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
        queries.append(
            f"{with_}SELECT {', '.join(LINE_COLUMNS)}, "
            f"{dialect.rounded('exact', minor)} AS amount FROM ({body}) l"
        )
    return Statements(scan, base, requests, queries)


def arrow_of(result: Any) -> pa.Table:
    """A relation's rows as an Arrow table (the method's name changed in DuckDB 2)."""
    fetch = getattr(result, "to_arrow_table", None) or result.arrow
    table: pa.Table = fetch()
    return table


REQUEST_CHECK = """SELECT source, id, customer,
    CASE WHEN t_input > 0 AND t_cache_read + t_cache_write > t_input
         THEN 'cache_read + cache_write tokens exceed input_tokens'
         WHEN t_input > 0 AND t_audio_input > t_input - t_cache_read - t_cache_write
         THEN 'audio_input tokens exceed the uncached input tokens'
         ELSE 'reasoning + audio_output tokens exceed output_tokens' END AS reason
    FROM req
    WHERE (t_input > 0 AND (t_cache_read + t_cache_write > t_input
           OR t_audio_input > t_input - t_cache_read - t_cache_write))
       OR (t_output > 0 AND t_reasoning + t_audio_output > t_output)
    ORDER BY customer, source, id LIMIT 1000"""


def check_requests(rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        raise UsageError(
            [
                Problem(reason, f"event {source}/{ident} (customer {customer})")
                for source, ident, customer, reason in rows
            ]
        )


def rate_period(
    store: EventStore,
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
) -> RatingRun:
    """Rate every subscribed customer's usage in ``period`` inside the store's DuckDB; the
    customers on plans the SQL does not rate are priced by the exact evaluator."""
    with store.window(_midnight(period.start), _midnight(period.end)):
        return _rate_period(store, subs, plans, period)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _rate_period(
    store: EventStore,
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
) -> RatingRun:
    con = store.con
    windows = partial_windows(subs, period)
    if windows is None:
        return _rate_subscribed(con, subs, plans, period, False)
    con.register("windows", windows)
    try:
        return _rate_subscribed(con, subs, plans, period, True)
    finally:
        con.unregister("windows")


def _rate_subscribed(
    con: Any,
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
    windowed: bool,
) -> RatingRun:
    vector, exact, reasons = split_by_support(subs, plans)
    groups: list[Group] = []
    members: dict[int, Customers] = {}
    parts: list[pa.Table] = []
    customer_events = None
    if vector:
        groups, members, parts, customer_events = _rate_sql(con, vector, plans, period, windowed)
    lines = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
    run = RatingRun(period, groups, members, lines, customer_events=customer_events)
    if exact:
        tables = exact_tables(exact, plans)
        summed, raw = usage_queries(
            "events e JOIN dims d ON d.dims_id = e.dims_id", "d.dims", period, windowed=windowed
        )
        for name, table in tables.items():
            con.register(name, table)
        try:
            rows = con.execute(summed).fetchall(), con.execute(raw).fetchall()
        finally:
            for name in tables:
                con.unregister(name)
        run.exact = exact_customers(exact, plans, period, reasons, *rows)
    return run


def _rate_sql(
    con: Any,
    subs: Sequence[Subscription],
    plans: dict[str, Plan],
    period: Period,
    windowed: bool,
) -> tuple[list[Group], dict[int, Customers], list[pa.Table], pa.Table]:
    """Plan groups, their customers, line rows and the events per customer (SQL path)."""
    dims = [(k, json.loads(d)) for k, d in con.execute("SELECT dims_id, dims FROM dims").fetchall()]
    groups, members, tables = plan_groups(DUCKDB, subs, plans, period, dims)
    sql = statements(DUCKDB, groups, period, "dims_id", windowed)
    with decimal.localcontext(CONTEXT):
        for name, table in tables.items():
            con.register(name, table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE scan AS {sql.scan}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE base AS {sql.base}")
            customer_events = arrow_of(con.sql(CUSTOMER_EVENTS))
            if sql.requests is not None:
                con.execute(f"CREATE OR REPLACE TEMP TABLE req AS {sql.requests}")
                check_requests(con.execute(REQUEST_CHECK).fetchall())
            parts = [arrow_of(con.sql(query)) for query in sql.lines]
        finally:
            for name in tables:
                con.unregister(name)
            for name in ("scan", "base", "req"):
                con.execute(f"DROP TABLE IF EXISTS {name}")
    return groups, members, parts, customer_events
