"""Parquet events, read and validated inside DuckDB (no Python loop over rows).

Columns are the event fields of DESIGN.md: ``id``, ``customer``, ``timestamp`` (a timestamp
with time zone, or ISO 8601 text with a zone), ``metric`` and ``quantity``, or ``quantities``
(a map of metric -> quantity), optional ``source``, ``dimensions`` (a struct, a map or JSON
text), ``dimensions.<name>`` columns, ``status``, ``attributed_at`` and ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ratecard.errors import Problem
from ratecard.usage.readers.rows import KNOWN_FIELDS, QUANTITY_MAX, STATUSES

__all__ = ["ParquetSource", "inspect_parquet", "parquet_scan"]

_DIM_PREFIX = "dimensions."
_DEC = "DECIMAL(18,6)"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ParquetSource:
    """SQL over one Parquet file: the rows in the staging shape, and a check per row.

    ``rows`` stages every row with its canonical dimensions and its list of problems. The
    other parts let the store keep a clean file as it is (a segment, :mod:`ratecard.store`)
    instead of staging it: ``check`` is NULL for a valid row; ``columns`` selects the stored
    event columns and ``dim_hash`` keys the raw dimension columns (``dims`` canonicalises
    them, so it runs over their distinct values only), both over :func:`parquet_scan` of the
    file, which depends only on ``has_map``; ``keys`` selects one ``ev, source, id`` row per
    event (not per metric) over ``event_scan``.
    """

    path: str
    rows: str  # SELECT of the staging columns plus `bad` (a list of problems, or NULL)
    problems: list[Problem]  # problems of the file as a whole (a missing column, ...)
    scan: str = ""  # FROM clause: the file's rows (one per metric)
    fields: str = ""  # the staging columns but dims and bad, as a SELECT list over scan
    check: str = "NULL"  # the first problem of a row, NULL when it is valid
    dims: str = "'{}'"  # canonical dimensions of a row, from the dim_keys columns
    dim_keys: tuple[str, ...] = ()  # the raw dimension columns, quoted
    columns: str = ""  # the stored columns (no ev, line), as a SELECT list over scan
    has_map: bool = False  # metrics come from a `quantities` map: one row per map entry
    keys: str = ""  # ev, source, id: a SELECT list over event_scan
    ts: str = "NULL"  # the event's timestamp (naive UTC), over scan
    screen_stats: str = "false"  # aggregate over scan: true when a row may be invalid
    screen_rows: str = "false"  # condition over scan: true when the row may be invalid

    @property
    def dim_hash(self) -> str:
        """A key for the raw dimension columns of a row (callers check it is unique)."""
        return f"hash({', '.join(self.dim_keys)})" if self.dim_keys else "0::UBIGINT"

    @property
    def event_scan(self) -> str:
        """The file's rows, one per event."""
        return f"read_parquet({_lit(self.path)}, file_row_number = true)"


def parquet_scan(paths: list[str], has_map: bool, *, filename: bool = False) -> str:
    """FROM clause reading the rows of ``paths`` (Parquet files of one layout), one row per
    metric, with ``file_row_number`` and, if asked, ``filename``."""
    files = "[" + ", ".join(_lit(p) for p in paths) + "]"
    options = ", filename = true" if filename else ""
    read = f"read_parquet({files}, file_row_number = true{options})"
    if not has_map:
        return read
    return (
        f"(SELECT t.*, q.q.key AS qkey, q.q.value AS qvalue FROM {read} t, "
        "LATERAL (SELECT unnest(map_entries(t.quantities)) AS q) q)"
    )


class _Checks:
    """The checks of a file's rows: each is a per-row problem message (for staging, which
    lists every bad row), and for the quick screen of a clean file either an aggregate that
    Parquet statistics can answer without reading the rows (min, max, null counts: they bound
    the values, so a clean answer is sound) or a cheap per-row condition."""

    def __init__(self) -> None:
        self.rows: list[str] = []  # CASE ... END: a problem message, NULL when the row is fine
        self.stats: list[str] = []  # aggregates, true when some row may fail a check
        self.scans: list[str] = []  # per-row conditions, true when the row may fail a check

    def append(self, row: str, *, stats: str | None = None, scan: str | None = None) -> None:
        self.rows.append(row)
        if stats is not None:
            self.stats.append(stats)
        else:
            self.scans.append(scan if scan is not None else f"({row}) IS NOT NULL")


def _timestamp(column: str, kind: str, field: str, checks: _Checks, required: bool) -> str:
    col = _q(column)
    # A TIMESTAMPTZ holds UTC microseconds: rebuilding the naive UTC timestamp from them is
    # exact and much cheaper than timezone('UTC', ...), which remains for +-infinity.
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        value = (
            f"CASE WHEN isfinite({col}) THEN make_timestamp(epoch_us({col})) "
            f"ELSE CAST(timezone('UTC', {col}) AS TIMESTAMP) END"
        )
    elif kind == "VARCHAR":
        # (DuckDB also takes hour 24 as the next day's midnight and offsets of 24 hours or
        # more, which the CSV and JSON Lines readers refuse, as Python's datetime does)
        zoned = (
            f"regexp_matches({col}, '(Z|[+-]\\d\\d:?\\d\\d)$') AND NOT "
            f"regexp_matches({col}, '[T ]24:|[+-](2[4-9]|[3-9]\\d):?\\d\\d$')"
        )
        value = (
            f"CASE WHEN {zoned} THEN make_timestamp(epoch_us(TRY_CAST({col} AS TIMESTAMPTZ))) END"
        )
        checks.append(
            f"CASE WHEN {col} IS NOT NULL AND {value} IS NULL THEN "
            f"'{field}: expected an ISO 8601 timestamp with a zone, got ' || {col} END"
        )
    else:
        checks.append(
            f"'{field}: the column has type {kind}; timestamps need a time zone "
            "(TIMESTAMP WITH TIME ZONE, or text such as 2026-10-03T17:00:00Z)'"
        )
        return "NULL::TIMESTAMP"
    if required:
        checks.append(
            f"CASE WHEN {col} IS NULL THEN '{field}: an event needs a timestamp' END",
            stats=f"count(*) > count({col})",
        )
    return value


_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}


def _exact_kind(kind: str | None) -> bool:
    """Integers and decimals of at most 6 places convert to DECIMAL(18,6) without loss."""
    if kind is None:
        return False
    if kind in _INTEGERS:
        return True
    if kind.startswith("DECIMAL("):
        scale = int(kind.rstrip(")").split(",")[1])
        return scale <= 6
    return False


def _amount(expr: str, field: str, checks: _Checks, required: bool, kind: str | None = None) -> str:
    if _exact_kind(kind):
        checks.append(
            f"CASE WHEN {expr} < 0 THEN '{field}: must not be negative, got ' "
            f"|| CAST({expr} AS VARCHAR) WHEN {expr} >= {QUANTITY_MAX} THEN "
            f"'{field}: too large, got ' || CAST({expr} AS VARCHAR) END",
            stats=f"(min({expr}) < 0 OR max({expr}) >= {QUANTITY_MAX})",
        )
        if required:
            checks.append(
                f"CASE WHEN {expr} IS NULL THEN '{field}: missing' END",
                stats=f"count(*) > count({expr})",
            )
        return f"CAST({expr} AS {_DEC})"
    value = f"TRY_CAST({expr} AS {_DEC})"
    # (a binary float's digits past the 12th place are its error, not the value written; text
    # is searched digit by digit too, where it has no exponent, so that no decimal written is
    # rounded away unseen, as the CSV reader sees every one)
    exact = f"TRY_CAST({expr} AS DECIMAL(38,12))"
    beyond = f"{exact} <> {value}"
    if kind == "VARCHAR":
        beyond += (
            f" OR (regexp_matches({expr}, '\\.[0-9]{{6}}[0-9]*[1-9]') "
            f"AND NOT regexp_matches({expr}, '[eE]'))"
        )
    checks.append(
        f"CASE WHEN {expr} IS NOT NULL AND ({value} IS NULL OR {exact} IS NULL) THEN "
        f"'{field}: not a number below {QUANTITY_MAX:,} with at most 6 decimals: ' "
        f"|| CAST({expr} AS VARCHAR) "
        f"WHEN {value} < 0 THEN '{field}: must not be negative, got ' || CAST({expr} AS VARCHAR) "
        f"WHEN {beyond} THEN '{field}: more than 6 decimal places: ' "
        f"|| CAST({expr} AS VARCHAR) END"
    )
    if required:
        checks.append(f"CASE WHEN {expr} IS NULL THEN '{field}: missing' END")
    return value


def _empty_text(column: str, kind: str | None) -> str | None:
    """An aggregate true when a VARCHAR column has a NULL or empty value ('' sorts first)."""
    if kind != "VARCHAR":
        return None
    return f"(count(*) > count({_q(column)}) OR min({_q(column)}) = '')"


def _text(column: str | None, kind: str | None = None) -> str:
    if column is None:
        return "NULL::VARCHAR"
    if kind == "VARCHAR":
        return f"NULLIF({_q(column)}, '')"
    return f"NULLIF(trim(CAST({_q(column)} AS VARCHAR)), '')"


def _dimensions(columns: dict[str, str], checks: _Checks) -> str:
    parts: list[tuple[str, str]] = []  # (name, value expression) for struct/prefixed dims
    kind = columns.get("dimensions")
    whole = None
    if kind is not None and kind.startswith("STRUCT("):
        probe = duckdb.sql(f"SELECT NULL::{kind} AS d")
        assert probe is not None
        fields = probe.types[0].children
        for name, _ in fields:
            parts.append((name, f"CAST(dimensions.{_q(name)} AS VARCHAR)"))
    elif kind is not None and (kind.startswith("MAP(") or kind == "VARCHAR" or kind == "JSON"):
        whole = "dimensions"
    elif kind is not None:
        checks.append(f"'dimensions: expected a struct, a map or JSON text, got type {kind}'")
    for column in columns:
        if column.startswith(_DIM_PREFIX):
            parts.append((column.removeprefix(_DIM_PREFIX), f"CAST({_q(column)} AS VARCHAR)"))
    if whole is not None:
        if parts:
            checks.append(
                "'dimensions: give a dimensions map or dimensions.<name> columns, not both'"
            )
        # Canonical form: keys sorted, nulls dropped, values as text (json_object sorts nothing,
        # so rebuild from the sorted entries).
        source = f"CAST({_q(whole)} AS JSON)"
        value = f"json_extract_string({source}, '$.\"' || k || '\"')"
        return (
            f"CASE WHEN {_q(whole)} IS NULL THEN '{{}}' ELSE '{{' || array_to_string("
            f"[{_json_text('k')} || ':' || {_json_text(value)} "
            f"for k in list_sort(json_keys({source})) if {value} IS NOT NULL], ',') || '}}' END"
        )
    if not parts:
        return "'{}'"
    parts.sort()
    items = ", ".join(
        f"CASE WHEN {expr} IS NOT NULL THEN {_lit(_json_key(name))} || ':' || "
        f"{_json_text(expr)} END"
        for name, expr in parts
    )
    return f"'{{' || concat_ws(',', {items}) || '}}'"


_UPPER_ESCAPES = ("000B", "000E", "000F", "001A", "001B", "001C", "001D", "001E", "001F")


def _json_text(expr: str) -> str:
    """SQL of ``expr`` as JSON text, as :func:`json.dumps` writes it (the CSV and JSON Lines
    readers' canonical form): DuckDB escapes some control characters with upper-case hex
    digits (``\\u000B``), Python with lower-case ones, and the same value must give the
    same dimensions."""
    text = f"to_json({expr})::VARCHAR"
    lowered = text
    for digits in _UPPER_ESCAPES:
        lowered = f"replace({lowered}, '\\u{digits}', '\\u{digits.lower()}')"
    return f"(CASE WHEN contains({text}, '\\u00') THEN {lowered} ELSE {text} END)"


def _json_key(name: str) -> str:
    import json

    return json.dumps(name, ensure_ascii=False)


def inspect_parquet(path: Path, file_index: int) -> ParquetSource:
    """Build the SQL that stages the rows of one Parquet file, checking every field."""
    problems: list[Problem] = []
    relation = duckdb.sql(f"SELECT * FROM read_parquet({_lit(str(path))}) LIMIT 0")
    assert relation is not None
    columns = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    unknown = [c for c in columns if c not in KNOWN_FIELDS and not c.startswith(_DIM_PREFIX)]
    for column in unknown:
        problems.append(Problem(f"unknown column {column!r}", column, str(path)))
    for column in ("id", "customer", "timestamp"):
        if column not in columns:
            problems.append(Problem(f"missing column {column!r}", column, str(path)))
    has_map = "quantities" in columns
    if "metric" not in columns and not has_map:
        problems.append(
            Problem("needs a metric column (with quantity) or quantities", "metric", str(path))
        )
    checks = _Checks()
    ts = _timestamp("timestamp", columns.get("timestamp", "VARCHAR"), "timestamp", checks, True)
    attributed = "NULL::TIMESTAMP"
    if "attributed_at" in columns:
        attributed = _timestamp(
            "attributed_at", columns["attributed_at"], "attributed_at", checks, False
        )
    value = "NULL::DECIMAL(18,6)"
    if "value" in columns:
        value = _amount(_q("value"), "value", checks, False, columns["value"])
    dims = _dimensions(columns, checks)
    status = _text("status", columns["status"]) if "status" in columns else "NULL::VARCHAR"
    allowed = ", ".join(_lit(s) for s in STATUSES)
    screen = None
    if columns.get("status") == "VARCHAR":
        screen = f"{_q('status')} NOT IN ({allowed}, '')"
    checks.append(
        f"CASE WHEN {status} IS NOT NULL AND {status} NOT IN ({allowed}) THEN "
        f"'status: unknown status ' || {status} END",
        scan=screen,
    )
    for column, message in (
        ("id", "an event needs an id"),
        ("customer", "an event needs a customer"),
    ):
        if column in columns:
            text_ = _text(column, columns[column])
            checks.append(
                f"CASE WHEN {text_} IS NULL THEN '{column}: {message}' END",
                stats=_empty_text(column, columns[column]),
            )
    source = _text("source", columns["source"]) if "source" in columns else "''"
    ident = _text("id" if "id" in columns else None, columns.get("id"))
    keys = (
        f"{file_index}::BIGINT * 4294967296 + file_row_number AS ev, "
        f"coalesce({source}, '') AS source, {ident} AS id"
    )
    stored = (
        f"coalesce({source}, '') AS source, {ident} AS id, "
        f"{_text('customer' if 'customer' in columns else None, columns.get('customer'))} "
        "AS customer, "
        f"{ts} AS ts, {status} AS status, {attributed} AS attributed_at, {value} AS value"
    )
    ev_line = (
        f"{file_index}::BIGINT * 4294967296 + file_row_number AS ev, file_row_number + 1 AS line"
    )
    scan = parquet_scan([str(path)], has_map)
    if has_map and "metric" in columns:
        checks.append(
            "CASE WHEN quantities IS NOT NULL AND metric IS NOT NULL THEN 'quantities: an event "
            "has either metric and quantity, or quantities, not both' END"
        )
    if has_map:
        quantity = _amount("qvalue", "quantities", checks, True)
        metric_expr = "CAST(qkey AS VARCHAR)"
    else:
        qexpr = _q("quantity") if "quantity" in columns else "NULL"
        amount = _amount(qexpr, "quantity", checks, False, columns.get("quantity"))
        quantity = f"coalesce({amount}, 1::{_DEC})"
        metric_expr = _text("metric" if "metric" in columns else None, columns.get("metric"))
        checks.append(
            f"CASE WHEN {metric_expr} IS NULL THEN 'metric: an event needs a metric' END",
            stats=_empty_text("metric", columns.get("metric")),
        )
    every = "[x for x in [" + ", ".join(checks.rows) + "] if x IS NOT NULL]"
    check = f"coalesce({', '.join(checks.rows)})"
    bad = f"CASE WHEN {check} IS NOT NULL THEN {every} END"
    stored += f", {metric_expr} AS metric, {quantity} AS quantity"
    fields = f"{ev_line}, {stored}"
    rows = f"SELECT {fields}, {dims} AS dims, {bad} AS bad FROM {scan}"
    dim_keys = tuple(_q(c) for c in columns if c == "dimensions" or c.startswith(_DIM_PREFIX))
    return ParquetSource(
        str(path),
        rows,
        problems,
        scan,
        fields,
        check,
        dims,
        dim_keys,
        stored,
        has_map,
        keys,
        ts,
        " OR ".join(checks.stats) or "false",
        " OR ".join(checks.scans) or "false",
    )
