"""Ingest of clean Parquet files straight into the store, without a staging table.

Staging copies every row and canonicalises its dimensions one row at a time. When every file of
an ingest is Parquet and every row is valid, that work is not needed:

1. one aggregate pass per file counts its rows and its invalid rows, grouped by the raw
   dimension columns: the canonical JSON is then built once per distinct dimension set;
2. one pass over the ``(source, id)`` of the batch finds the events that repeat in it, and the
   first occurrence of each (usually none);
3. one ``INSERT INTO events SELECT ... FROM read_parquet(...)`` joins the small dimension map,
   keeps the first occurrence of a repeated event and skips events already stored.

Steps 1 and 2 write nothing to the store, so when a file has invalid rows (or anything else
this path does not cover) the caller falls back to staging, which lists every problem. All of
it runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ratecard.errors import Problem, UsageError
from ratecard.usage.readers import event_format
from ratecard.usage.readers.parquet import ParquetSource, inspect_parquet

__all__ = ["BulkResult", "Progress", "ingest_clean_parquet"]

Progress = Callable[[str, int, int], None]
"""Called with (file, files done, files in all) as an ingest advances."""


@dataclass(frozen=True)
class BulkResult:
    rows: int  # valid rows read
    inserted: int  # rows added to the store


def ingest_clean_parquet(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    batch: int,
    progress: Progress | None = None,
) -> BulkResult | None:
    """Insert the rows of ``files`` as batch ``batch``; None (and nothing written) if they
    are not all Parquet files without a single invalid row."""
    if not files or any(event_format(path) != "parquet" for path in files):
        return None
    sources = []
    for index, path in enumerate(files):
        source = _inspect(path, index)
        if source.problems:
            return None
        sources.append(source)
    # On an error the caller rolls back, which drops these work tables too.
    rows = _profile(con, sources, progress)
    if rows is None:
        _drop_work_tables(con)
        return None
    repeats = _find_repeats(con, sources)
    _add_dims(con)
    inserted = _insert(con, sources, batch, repeats)
    _drop_work_tables(con)
    return BulkResult(rows, inserted)


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS bulk_dims")
    con.execute("DROP TABLE IF EXISTS bulk_firsts")


def _inspect(path: Path, index: int) -> ParquetSource:
    try:
        return inspect_parquet(path, index)
    except duckdb.Error as error:
        raise UsageError(
            [Problem(f"cannot read the file as Parquet: {error}", source=str(path))]
        ) from None


def _dim_hash(source: ParquetSource) -> str:
    """A key for the raw dimension columns of a row (the map below checks it is unique)."""
    return f"hash({', '.join(source.dim_keys)})" if source.dim_keys else "0::UBIGINT"


def _profile(
    con: duckdb.DuckDBPyConnection, sources: list[ParquetSource], progress: Progress | None
) -> int | None:
    """Fill ``bulk_dims`` (file, key, canonical dims, rows, invalid rows); the valid row count,
    or None when a row is invalid or two dimension sets of a file share a key."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bulk_dims "
        "(file INTEGER, h UBIGINT, dims VARCHAR, n BIGINT, bad BIGINT)"
    )
    for index, source in enumerate(sources):
        keys = "".join(f", {key}" for key in source.dim_keys)
        _run(
            con,
            source.path,
            f"INSERT INTO bulk_dims SELECT {index}, h, {source.dims}, n, bad FROM ("
            f"SELECT {_dim_hash(source)} AS h{keys}, count(*) AS n, "
            f"count(*) FILTER (WHERE {source.check} IS NOT NULL) AS bad "
            f"FROM {source.scan} GROUP BY ALL)",
        )
        if progress is not None:
            progress(source.path, index + 1, len(sources))
    totals = con.execute(
        "SELECT coalesce(sum(n), 0), coalesce(sum(bad), 0), "
        "(SELECT count(*) FROM (SELECT file, h FROM bulk_dims GROUP BY ALL "
        "HAVING count(DISTINCT dims) > 1)) FROM bulk_dims"
    ).fetchone()
    assert totals is not None
    rows, bad, clashes = (int(x) for x in totals)
    return None if bad or clashes else rows


def _light_rows(sources: list[ParquetSource]) -> str:
    return " UNION ALL ".join(
        f"SELECT ev, source, id FROM (SELECT {s.fields} FROM {s.scan})" for s in sources
    )


def _find_repeats(con: duckdb.DuckDBPyConnection, sources: list[ParquetSource]) -> bool:
    """Keep in ``bulk_firsts`` the first occurrence of each event repeated in the batch."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bulk_firsts AS SELECT source, id, min(ev) AS ev "
        f"FROM ({_light_rows(sources)}) GROUP BY source, id HAVING min(ev) <> max(ev)"
    )
    found = con.execute("SELECT count(*) FROM bulk_firsts").fetchone()
    return bool(found and found[0])


def _add_dims(con: duckdb.DuckDBPyConnection) -> None:
    """Store the new dimension sets, numbered as staging numbers them."""
    con.execute(
        "INSERT INTO dims SELECT (SELECT coalesce(max(dims_id), 0) FROM dims) "
        "+ row_number() OVER (ORDER BY d), d FROM (SELECT DISTINCT dims AS d FROM bulk_dims) n "
        "WHERE NOT EXISTS (SELECT 1 FROM dims x WHERE x.dims = n.d)"
    )


def _insert(
    con: duckdb.DuckDBPyConnection, sources: list[ParquetSource], batch: int, repeats: bool
) -> int:
    rows = " UNION ALL ".join(
        f"SELECT {index} AS file, {_dim_hash(s)} AS h, {s.fields} FROM {s.scan}"
        for index, s in enumerate(sources)
    )
    conditions = []
    first = ""
    if repeats:
        first = "LEFT JOIN bulk_firsts f ON f.source = r.source AND f.id = r.id"
        conditions.append("(f.ev IS NULL OR f.ev = r.ev)")
    stored = con.execute("SELECT count(*) > 0 FROM (SELECT 1 FROM events LIMIT 1)").fetchone()
    if stored and stored[0]:
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM events e WHERE e.source = r.source AND e.id = r.id)"
        )
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    inserted = _run(
        con,
        ", ".join(s.path for s in sources),
        f"""INSERT INTO events
        SELECT r.source, r.id, r.customer, r.ts, r.metric, r.quantity, x.dims_id, r.status,
               r.attributed_at, r.value, {int(batch)}
        FROM ({rows}) r
        JOIN (SELECT DISTINCT b.file, b.h, d.dims_id FROM bulk_dims b
              JOIN dims d ON d.dims = b.dims) x ON x.file = r.file AND x.h = r.h
        {first}
        {where}""",
    )
    return int(inserted[0]) if inserted else 0


def _run(con: duckdb.DuckDBPyConnection, path: str, sql: str) -> tuple[int, ...] | None:
    try:
        row = con.execute(sql).fetchone()
    except duckdb.Error as error:
        raise UsageError([Problem(f"cannot read the file: {error}", source=path)]) from None
    return tuple(int(x) for x in row) if row else None
