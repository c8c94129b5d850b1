"""One plan group's charge lines as SQL (DuckDB or Spark SQL).

Inputs, as tables: ``events`` (the store's rows, or their Parquet export), ``subs`` (plan group
and customer), ``codes`` (metric, dimension key -> union code) and ``ucodes`` (union code ->
metric and each plan group's code), ``tcodes`` (plan group, tokens component, dimension key ->
group) and ``subs_<pg>`` (per customer: billed seats of each seat component, included units of
each metric), and ``windows`` when some subscription covers part of the period. The event scan
(:func:`scan_sql`, kept as ``scan``) sums all customers' events at once; :func:`base_sql`
groups those sums by customer, metric, dimension code and event code (time window, outcome
class) for each plan group; every component then prices its few aggregated rows
(:func:`lines_sql`).
Every line comes out with the columns of :data:`LINE_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ratecard.charges.tokens import ORDER, PARENT
from ratecard.plan.components import (
    TOKEN_CATEGORIES,
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.prices import GraduatedPercentagePrice, PackagePrice
from ratecard.rating.coverage import outside_window
from ratecard.rating.dialect import CARRY, SCALE, Dialect, lit, mul
from ratecard.rating.layout import OUTCOME_CLASSES, Metered, PlanLayout, Tokens
from ratecard.rating.price_sql import charge_sql
from ratecard.rating.support import inverse
from ratecard.rating.windows import window_index

__all__ = [
    "CUSTOMER_EVENTS",
    "LINE_COLUMNS",
    "Group",
    "TokenKey",
    "base_sql",
    "lines_sql",
    "requests_sql",
    "scan_sql",
]

LINE_COLUMNS = (
    "pg",
    "customer",
    "comp",
    "ord_ts",
    "ord_k",
    "kind",
    "label",
    "quantity",
    "unit_price",
    "per",
    "exact",
    "included",
    "late",
    "tiers",
)
ZERO = Decimal(0)
TOKEN_METRICS = list(TOKEN_CATEGORIES.values())


@dataclass(frozen=True)
class TokenKey:
    category: str
    price: Decimal  # price * factor, before escalation
    labels: tuple[str, ...]


@dataclass
class Group:
    """Customers on one plan at one escalation factor."""

    pg: int
    layout: PlanLayout
    escalation: Decimal
    seat_columns: dict[int, str] = field(default_factory=dict)  # component -> billed seats column
    included_columns: dict[str, str] = field(default_factory=dict)  # metric -> included column
    token_keys: dict[int, list[TokenKey]] = field(default_factory=dict)


def _event_code(dialect: Dialect, metered: Metered, start: date, end: date) -> str:
    component = metered.component
    window = window_index(dialect, metered.windows, "e.ts", start, end)
    if not isinstance(component, OutcomeComponent):
        return window
    attributed = "TRUE"
    if component.attribution_window is not None:
        micros = int(component.attribution_window.total_seconds() * 1_000_000)
        delay = dialect.micros_between("e.ts", "e.attributed_at")
        attributed = f"(e.attributed_at IS NOT NULL AND {delay} >= 0 AND {delay} <= {micros})"
    status = (
        "CASE WHEN e.status IN ('disputed', 'reversed') THEN 2 "
        f"WHEN e.status IS NULL OR e.status = 'confirmed' THEN CASE WHEN {attributed} THEN 0 "
        "ELSE 1 END ELSE 3 END"
    )
    return f"(({window}) * {OUTCOME_CLASSES} + {status})"


def _event_columns(
    dialect: Dialect, groups: Sequence[Group], start: date, end: date
) -> dict[str, list[str]]:
    """Per metric, the distinct event-code expressions of all plan groups (column ``e{i}`` of
    the event sums holds the ``i``-th)."""
    found: dict[str, list[str]] = {}
    for group in groups:
        for metric, metric_layout in group.layout.metrics.items():
            for metered in metric_layout.components:
                if metered.event_radix > 1:
                    code = _event_code(dialect, metered, start, end)
                    exprs = found.setdefault(metric, [])
                    if code not in exprs:
                        exprs.append(code)
    return found


def _group_event_code(
    dialect: Dialect, groups: Sequence[Group], columns: dict[str, list[str]], start: date, end: date
) -> str:
    """Each plan group's event code, put together from the event sums' ``e{i}`` columns."""
    branches = []
    for group in groups:
        for metric, metric_layout in group.layout.metrics.items():
            parts = [
                f"a.e{columns[metric].index(_event_code(dialect, m, start, end))} * {m.event_base}"
                for m in metric_layout.components
                if m.event_radix > 1
            ]
            if parts:
                pg = "" if len(groups) == 1 else f"s.pg = {group.pg} AND "
                branches.append(
                    f"WHEN {pg}u.metric = {dialect.text(metric)} THEN {' + '.join(parts)}"
                )
    return f"CASE {' '.join(branches)} ELSE 0 END" if branches else "0"


def scan_sql(
    dialect: Dialect,
    groups: Sequence[Group],
    start: date,
    end: date,
    dims_key: str,
    windowed: bool = False,
) -> str:
    """The one scan over events: every customer's usage in the period, summed.

    Events are summed per customer, union code (``codes.uc``: one per distinct set of plan
    group codes of a metric and dimension set; events no plan group prices are left out) and
    the event-code expressions of all plan groups, without looking at subscriptions: joining
    every event to its customer's plan group costs as much as the scan itself, joining the
    sums (a few per customer and metric) costs little (:func:`base_sql`). Customers without a
    subscription are summed too, and with ``windowed`` ``outside`` marks events outside their
    customer's subscription days (:mod:`ratecard.rating.coverage`): the events no
    subscription prices are then counted from the sums, without a pass of their own."""
    columns = _event_columns(dialect, groups, start, end)
    width = max((len(exprs) for exprs in columns.values()), default=0)
    event_columns = []
    for i in range(width):
        branches = " ".join(
            f"WHEN {dialect.text(metric)} THEN {exprs[i]}"
            for metric, exprs in columns.items()
            if i < len(exprs)
        )
        event_columns.append(f"CASE e.metric {branches} ELSE 0 END AS e{i}")
    keys = "".join(f", e{i}" for i in range(width))
    # only value-based prices read event values: other runs skip summing them
    valued = any(
        isinstance(metered.component.price, GraduatedPercentagePrice)
        for group in groups
        for metered in group.layout.metered.values()
    )
    val = "sum(value)" if valued else "CAST(NULL AS DECIMAL(38,6))"
    outside, window_join = "false", ""
    if windowed:
        outside = (
            "coalesce(e.ts < CAST(w.from_day AS TIMESTAMP) "
            "OR e.ts >= CAST(w.to_day AS TIMESTAMP), false)"
        )
        window_join = "LEFT JOIN windows w ON w.customer = e.customer"
    return f"""SELECT customer, uc, outside{keys}, sum(quantity) AS units, {val} AS val,
            count(*) AS n, min(ts) AS first_ts
        FROM (SELECT e.customer, c.uc, {outside} AS outside,
                {"".join(f"{c}, " for c in event_columns)}e.quantity, e.value, e.ts
            FROM events e
            JOIN codes c ON c.metric = e.metric AND c.dkey = e.{dims_key}
            {window_join}
            WHERE e.ts >= {dialect.timestamp(start)} AND e.ts < {dialect.timestamp(end)}) x
        GROUP BY customer, uc, outside{keys}"""


def base_sql(dialect: Dialect, groups: Sequence[Group], start: date, end: date) -> str:
    """Every plan group's metered usage, from the sums of :func:`scan_sql` (the relation
    ``scan``): each sum gets its customer's plan group and is grouped by that group's codes."""
    columns = _event_columns(dialect, groups, start, end)
    if len(groups) == 1:
        code = f"u.code_{groups[0].pg}"
    else:
        code = "CASE s.pg " + " ".join(f"WHEN {g.pg} THEN u.code_{g.pg}" for g in groups) + " END"
    event_code = _group_event_code(dialect, groups, columns, start, end)
    return f"""SELECT pg, customer, metric, code, ekey, sum(units) AS units, sum(val) AS val,
        sum(n) AS n, min(first_ts) AS first_ts
    FROM (SELECT s.pg, a.customer, u.metric, {code} AS code, {event_code} AS ekey, a.units,
            a.val, a.n, a.first_ts
        FROM scan a
        JOIN subs s ON s.customer = a.customer
        JOIN ucodes u ON u.uc = a.uc
        WHERE NOT a.outside) x
    WHERE code IS NOT NULL
    GROUP BY pg, customer, metric, code, ekey"""


CUSTOMER_EVENTS = """SELECT customer, sum(n) AS events,
    coalesce(sum(n) FILTER (WHERE outside), 0) AS outside
FROM scan GROUP BY customer"""
"""Per customer, the period's events and those outside the subscription's days."""


def requests_sql(
    dialect: Dialect,
    pgs: Sequence[int],
    start: date,
    end: date,
    dims_key: str,
    windowed: bool = False,
) -> str:
    """Token events gathered per request (one event id, several token metrics)."""
    sums = ", ".join(
        f"sum(CASE WHEN e.metric = '{metric}' THEN e.quantity ELSE 0 END) AS t_{category}"
        for category, metric in TOKEN_CATEGORIES.items()
    )
    metrics = ", ".join(f"'{m}'" for m in TOKEN_METRICS)
    return f"""SELECT s.pg, e.customer, e.source, e.id, e.{dims_key} AS dkey, min(e.ts) AS ts,
        {sums}
    FROM events e JOIN subs s ON s.customer = e.customer
    WHERE e.metric IN ({metrics}) AND s.pg IN ({", ".join(str(p) for p in pgs)})
      AND e.ts >= {dialect.timestamp(start)} AND e.ts < {dialect.timestamp(end)}
      {_covered(windowed)}
    GROUP BY s.pg, e.customer, e.source, e.id, e.{dims_key}"""


def _covered(windowed: bool) -> str:
    return f"AND {outside_window()}" if windowed else ""


def _line(
    pg: int,
    customer: str,
    comp: int,
    ord_ts: str,
    ord_k: str,
    kind: str,
    label: str,
    quantity: str,
    unit: str,
    per: Decimal,
    exact: str,
    included: str = "NULL",
    late: str = "NULL",
    tiers: str = "NULL",
) -> str:
    return (
        f"SELECT {pg} AS pg, {customer} AS customer, {comp} AS comp, "
        f"CAST({ord_ts} AS TIMESTAMP) AS ord_ts, CAST({ord_k} AS BIGINT) AS ord_k, "
        f"'{kind}' AS kind, CAST({label} AS BIGINT) AS label, "
        f"CAST({quantity} AS {CARRY}) AS quantity, CAST({unit} AS {CARRY}) AS unit_price, "
        f"{lit(per)} AS per, CAST({exact} AS {CARRY}) AS exact, "
        f"CAST({included} AS {CARRY}) AS included, CAST({late} AS BIGINT) AS late, "
        f"CAST({tiers} AS STRING) AS tiers"
    )


def _subscription_line(
    group: Group, index: int, quantity: str, unit_price: Decimal, exact: str
) -> str:
    """A charge line per subscribed customer that needs no events: a flat fee or seats."""
    line = _line(
        group.pg, "customer", index, "NULL", "0", "charge", "-1",
        quantity, lit(unit_price), Decimal(1), exact,
    )  # fmt: skip
    return line + f" FROM subs_{group.pg}"


def _digit(dialect: Dialect, column: str, base: int, radix: int) -> str:
    return f"({dialect.idiv(column, str(base))} % {radix})"


def _metered_sql(
    dialect: Dialect, group: Group, metered: Metered, ctes: list[str], earlier: list[str]
) -> list[str]:
    """CTEs and line SELECTs of one usage or outcome component."""
    pg, ci, component = group.pg, metered.index, metered.component
    name = f"m{pg}_{ci}"
    value_based = isinstance(component.price, GraduatedPercentagePrice)
    outcome = isinstance(component, OutcomeComponent)
    per = Decimal(1) if value_based else component.per
    inv = inverse(per)
    assert inv is not None
    units = "coalesce(val, 0)" if value_based else "units"
    dcode = _digit(dialect, "code", metered.code_base, metered.code_radix)
    ecode = _digit(dialect, "ekey", metered.event_base, metered.event_radix)
    windows = metered.window_count
    if outcome:
        window, cls = dialect.idiv(ecode, str(OUTCOME_CLASSES)), f"({ecode} % {OUTCOME_CLASSES})"
    else:
        window, cls = ecode, "0"
    rows = f"""SELECT customer, {dcode} - 1 AS g, {window} AS w, {cls} AS cls, {units} AS u,
            n, first_ts AS ft
        FROM base WHERE pg = {pg} AND metric = {dialect.text(component.metric)} AND {dcode} > 0"""
    if len(group.layout.metrics[component.metric].components) == 1:
        # the only component of its metric: base rows map one to one to its price groups
        ctes.append(f"{name}_agg AS ({rows})")
    else:
        ctes.append(
            f"""{name}_agg AS (SELECT customer, g, w, cls, sum(u) AS u, sum(n) AS n,
                min(ft) AS ft FROM ({rows}) x GROUP BY customer, g, w, cls)"""
        )
    combos = metered.combos()
    nonplain = [code for code, combo in combos.items() if not combo.plain]
    nonplain_sql = (
        f"(g * {windows} + w) IN ({', '.join(map(str, nonplain))})" if nonplain else "FALSE"
    )
    ctes.append(
        f"""{name}_sum AS (SELECT customer,
            sum(CASE WHEN cls = 0 THEN u ELSE 0 END) AS total,
            sum(CASE WHEN cls = 0 AND {nonplain_sql} THEN 1 ELSE 0 END) AS np,
            sum(CASE WHEN cls = 1 THEN n ELSE 0 END) AS late,
            sum(CASE WHEN cls = 2 THEN u ELSE 0 END) AS rev_u,
            sum(CASE WHEN cls = 2 THEN n ELSE 0 END) AS rev_n
        FROM {name}_agg GROUP BY customer)"""
    )
    included = lit(ZERO)
    joins = ""
    column = group.included_columns.get(component.metric)
    if isinstance(component, UsageComponent) and not value_based and column is not None:
        used = " + ".join(f"coalesce({p}.total, 0)" for p in earlier) or lit(ZERO)
        # (the total cast to the carry type: LEAST would round both to the total's 6 places)
        included = (
            f"LEAST(GREATEST(s.{column} - ({used}), {lit(ZERO)}), "
            f"CAST(coalesce(x.total, 0) AS {CARRY}))"
        )
        joins = "".join(f" LEFT JOIN {p}_sum {p} ON {p}.customer = s.customer" for p in earlier)
        earlier.append(name)
    elif isinstance(component, UsageComponent) and not value_based:
        earlier.append(name)
    q_units = f"(coalesce(x.total, 0) - {included})"
    # without included units the billable units are a sum of quantities, of few decimals
    q = dialect.product(q_units, inv, few=included == lit(ZERO))
    ctes.append(
        f"""{name}_tot AS (SELECT s.customer, coalesce(x.total, 0) AS total,
            coalesce(x.np, 0) AS np, coalesce(x.late, 0) AS late, coalesce(x.rev_u, 0) AS rev_u,
            coalesce(x.rev_n, 0) AS rev_n, CAST({included} AS {CARRY}) AS inc,
            CAST({q_units} AS {CARRY}) AS billable, {q} AS q
        FROM subs_{pg} s LEFT JOIN {name}_sum x ON x.customer = s.customer{joins})"""
    )
    charge = charge_sql(dialect, component.price, "q")
    package = isinstance(component.price, PackagePrice)
    esc = group.escalation
    ctes.append(
        f"""{name}_chg AS (SELECT *, {charge.amount} AS a, {charge.unit_times(esc)} AS up,
            {charge.quantity} AS pq, {charge.slices} AS sl FROM {name}_tot)"""
    )
    late = "late" if outcome else "NULL"
    selects = [
        _line(
            pg,
            "customer",
            ci,
            "NULL",
            "-1",
            "charge",
            "-1",
            "pq" if package else "billable",
            "up",
            Decimal(1) if package else per,
            dialect.product("a", esc),
            "inc",
            late,
            "CAST(billable AS STRING)" if package else "sl",
        )
        + f" FROM {name}_chg WHERE (np = 0 OR total = 0) "
        # the quantity first: DuckDB pushes this filter below the projection of ``a`` and
        # computes ``a`` again for every row it tests
        + f"AND NOT ({'pq' if package else 'billable'} = 0 AND a = 0)"
    ]
    if nonplain:
        selects.append(_price_group_lines(dialect, group, metered, name))
        selects[-1] = _droppable(dialect, ctes, f"{name}_pr", selects[-1])
    if outcome:
        both = charge_sql(
            dialect,
            component.price,
            f"CAST(CAST(total + rev_u AS {CARRY}) * {lit(inv)} AS {CARRY})",
        )
        selects.append(
            _line(
                pg,
                "customer",
                ci,
                "NULL",
                "0",
                "outcome_reversal",
                "-1",
                "rev_u",
                "NULL",
                Decimal(1),
                f"-({mul(f'({both.amount}) - a', esc)})",
                "NULL",
                "rev_n",
            )
            + f" FROM {name}_chg WHERE rev_n > 0"
        )
        selects[-1] = _droppable(dialect, ctes, f"{name}_rev", selects[-1])
    return selects


def _price_group_lines(dialect: Dialect, group: Group, metered: Metered, name: str) -> str:
    """The lines of a customer whose usage of a component falls into price groups other than
    the plain one: each group's share of the customer's billable units and charge (``c``: the
    customer's ``_chg`` row), at the group's factor or replacement price."""
    pg, ci, component = group.pg, metered.index, metered.component
    esc = group.escalation
    windows = metered.window_count
    package = isinstance(component.price, PackagePrice)
    per = Decimal(1) if isinstance(component.price, GraduatedPercentagePrice) else component.per
    code = f"(a.g * {windows} + a.w)"
    charge = charge_sql(dialect, component.price, "c.q")

    def prorata(scaled: str) -> str:
        """``amount * units / total`` of the group, rounded once; ``scaled`` is the amount as
        a count of 10^-14 (units and total come scaled too, as ``a.su`` and ``c.st``,
        computed once per row and customer)."""
        share = dialect.share(scaled, "a.su", "c.st")
        return f"CASE WHEN c.total = 0 THEN {lit(ZERO)} ELSE {share} END"

    def charge_share(factor: Decimal) -> str:
        # the customer's charge times the factor, from ``c.sa`` (the charge as a count of
        # 10^-14, once per customer) where the dialect can
        product = dialect.scaled_product("c.sa", factor)
        if product is None:
            return prorata(dialect.scaled(mul("c.a", factor), SCALE))
        return prorata(product)

    units_branches, amount_branches = [], []
    for key, combo in metered.combos().items():
        if combo.replacement is not None:
            units_branches.append(f"WHEN {key} THEN {lit(combo.replacement * esc)}")
            replaced = dialect.scaled(mul("c.q", combo.replacement * esc), SCALE)
            amount_branches.append(f"WHEN {key} THEN {prorata(replaced)}")
        else:
            unit = "NULL" if package else charge.unit_times(combo.factor * esc)
            units_branches.append(f"WHEN {key} THEN {unit}")
            amount_branches.append(f"WHEN {key} THEN {charge_share(combo.factor * esc)}")
    line = _line(
        pg,
        "a.customer",
        ci,
        "a.ft",
        code,
        "charge",
        code,
        # without included units the billable units are the total, and a group's share of
        # them is its own units: no per-row division
        f"CASE WHEN c.inc = 0 THEN CAST(a.u AS {CARRY}) "
        f"ELSE {prorata(dialect.scaled('c.billable', SCALE))} END",
        f"CASE {code} {' '.join(units_branches)} END",
        per,
        f"CASE {code} {' '.join(amount_branches)} END",
        "c.inc",
        "c.late" if isinstance(component, OutcomeComponent) else "NULL",
    )
    sa = f", {dialect.scaled('a', SCALE)} AS sa" if dialect.hugeint else ""
    return (
        line + f" FROM (SELECT *, {dialect.scaled('u', 6)} AS su FROM {name}_agg WHERE cls = 0) a"
        f" JOIN (SELECT *, {dialect.scaled('total', 6)} AS st{sa} FROM {name}_chg"
        " WHERE np > 0 AND total > 0) c ON c.customer = a.customer"
    )


def _droppable(dialect: Dialect, ctes: list[str], name: str, select: str) -> str:
    """Metered components with no usage and no charge add no line (``_drop_empty``). The lines
    go to a materialized CTE first: a filter pushed into their join would compute the pro-rata
    amounts twice."""
    ctes.append(f"{name} {dialect.materialized} ({select})")
    return f"SELECT * FROM {name} WHERE NOT (exact = 0 AND quantity = 0)"


def _token_units(category: str, priced: set[str]) -> str:
    """Units of a category summed over requests (see :func:`request_categories`)."""
    if category in PARENT:
        return f"s_{category}"
    children = [c for c, parent in PARENT.items() if parent == category]
    expr = f"s_{category}"
    for child in children:
        if child in priced:
            expr += f" - (s_{child} - z_{child})"
        else:
            expr += f" + z_{child}"
    return expr


def _tokens_sql(
    dialect: Dialect, group: Group, tokens: Tokens, ctes: list[str], start: date, end: date
) -> list[str]:
    from ratecard.rating.token_prices import resolve

    pg, ci, component = group.pg, tokens.index, tokens.component
    name = f"t{pg}_{ci}"
    tiers = component.context_tiers
    tier_sql = "0"
    if tiers:
        branches = [
            f"WHEN r.t_input > {tier.input_tokens_over} THEN {index}"
            for index, tier in reversed(list(enumerate(tiers, start=1)))
        ]
        tier_sql = f"CASE {' '.join(branches)} ELSE 0 END"
    windows = list(component.multipliers.time_of_day) if component.multipliers else []
    window_sql = window_index(dialect, windows, "r.ts", start, end)
    sums = []
    for category in ORDER:
        sums.append(f"sum(r.t_{category}) AS s_{category}")
        parent = PARENT.get(category)
        if parent is not None:
            sums.append(
                f"sum(CASE WHEN r.t_{parent} = 0 THEN r.t_{category} ELSE 0 END) AS z_{category}"
            )
    ctes.append(
        f"""{name}_agg AS (SELECT customer, dg, t, w, {", ".join(sums)}, min(ts) AS ft
        FROM (SELECT r.*, tc.dg, {tier_sql} AS t, {window_sql} AS w
            FROM req r JOIN tcodes tc ON tc.pg = {pg} AND tc.comp = {ci} AND tc.dkey = r.dkey
            WHERE r.pg = {pg}) r
        GROUP BY customer, dg, t, w)"""
    )
    keys: dict[TokenKey, int] = {}
    per_category: dict[str, list[tuple[str, int, str]]] = {}
    nw = len(windows) + 1
    nt = len(tiers) + 1
    for (mode, used), dg in tokens.groups.items():
        for tier in range(nt):
            for window in range(nw):
                resolved = resolve(component, tier, mode, window, used)
                if resolved is None:
                    continue
                prices, labels, factor = resolved
                priced = set(prices)
                combo = (dg * nt + tier) * nw + window
                for category in ORDER:
                    if category not in priced and category not in ("input", "output"):
                        continue
                    price = prices.get(category, prices.get(PARENT.get(category, ""), ZERO))
                    key = TokenKey(category, price * factor, labels)
                    index = keys.setdefault(key, len(keys))
                    per_category.setdefault(category, []).append(
                        (str(combo), index, _token_units(category, priced))
                    )
    group.token_keys[ci] = list(keys)
    if not keys:
        return []
    combo_sql = f"((dg * {nt} + t) * {nw} + w)"
    parts = []
    for entries in per_category.values():
        key_case = " ".join(f"WHEN {c} THEN {k}" for c, k, _ in entries)
        unit_case = " ".join(f"WHEN {c} THEN {u}" for c, _, u in entries)
        parts.append(
            f"SELECT customer, CASE {combo_sql} {key_case} END AS k, "
            f"CASE {combo_sql} {unit_case} END AS units, ft FROM {name}_agg"
        )
    ctes.append(
        f"""{name}_keys AS (SELECT customer, k, sum(units) AS units, min(ft) AS ft
        FROM ({" UNION ALL ".join(parts)}) x WHERE k IS NOT NULL
        GROUP BY customer, k)"""
    )
    inv = inverse(component.per)
    assert inv is not None
    esc = group.escalation
    unit_case = " ".join(f"WHEN {i} THEN {lit(k.price * esc)}" for k, i in keys.items())
    amount_case = " ".join(
        f"WHEN {i} THEN {mul(mul('units', inv), k.price * esc)}" for k, i in keys.items()
    )
    return [
        _line(
            pg,
            "customer",
            ci,
            "ft",
            "k",
            "charge",
            "k",
            "units",
            f"CASE k {unit_case} END",
            component.per,
            f"CASE k {amount_case} END",
        )
        + f" FROM {name}_keys WHERE units > 0"
    ]


def lines_sql(
    dialect: Dialect, group: Group, start: date, end: date
) -> tuple[list[str], list[str]]:
    """(CTEs, line SELECTs) of every component of one plan group."""
    ctes: list[str] = []
    selects: list[str] = []
    earlier: dict[str, list[str]] = {}
    esc = group.escalation
    for index, component in enumerate(group.layout.plan.components):
        if isinstance(component, FlatComponent):
            amount = component.amount * esc
            selects.append(_subscription_line(group, index, lit(Decimal(1)), amount, lit(amount)))
        elif isinstance(component, SeatComponent):
            column = group.seat_columns[index]
            price = component.unit_price * esc
            exact = dialect.product(column, price)
            selects.append(_subscription_line(group, index, column, price, exact))
        elif isinstance(component, UsageComponent | OutcomeComponent):
            metered = group.layout.metered[index]
            chain = earlier.setdefault(component.metric, [])
            selects += _metered_sql(dialect, group, metered, ctes, chain)
        elif isinstance(component, TokensComponent):
            selects += _tokens_sql(dialect, group, group.layout.tokens[index], ctes, start, end)
    return ctes, selects
