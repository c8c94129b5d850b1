"""Segments: clean Parquet files kept in the store as they came, and the ``events`` view.

Rewriting ten million events into a table costs several times more than checking them, so an
ingest keeps a Parquet file whose every row is valid as it is: the file is copied into the
store's segment folder (a CSV file's conversion is written there directly) and read back
through its layout (the SQL that turned its columns into event columns when it was checked).
Files of one layout are read by one ``read_parquet``.

``events`` (a temporary view, rebuilt whenever the store changes) is the one relation every
reader uses: the event rows, then each layout's segments, with the store's columns
(:data:`COLUMNS`). A segment with skipped rows (repeats of stored events) is read on its own,
leaving them out.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ratecard.usage.readers.parquet import ParquetSource, parquet_scan

__all__ = [
    "COLUMNS",
    "add_layout",
    "copy_segment",
    "events_view",
    "layout_of",
    "stray_files",
    "sync_segment",
]

COLUMNS = "source, id, customer, ts, metric, quantity, dims_id, status, attributed_at, value, batch"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Segment:
    segment: int
    batch: int
    layout: int
    file: str
    skips: bool


@dataclass(frozen=True)
class _Layout:
    columns: str
    dim_hash: str
    has_map: bool


def layout_of(con: duckdb.DuckDBPyConnection, source: ParquetSource) -> int | None:
    """The stored layout reading ``source``'s columns as it does, if there is one."""
    rows = con.execute(
        "SELECT layout FROM layouts WHERE columns = ? AND dim_hash = ? AND has_map = ?",
        [source.columns, source.dim_hash, source.has_map],
    ).fetchall()
    return int(rows[0][0]) if rows else None


def add_layout(con: duckdb.DuckDBPyConnection, source: ParquetSource) -> int:
    found = layout_of(con, source)
    if found is not None:
        return found
    (row,) = con.execute("SELECT coalesce(max(layout), 0) + 1 FROM layouts").fetchall()
    layout = int(row[0])
    con.execute(
        "INSERT INTO layouts VALUES (?, ?, ?, ?)",
        [layout, source.columns, source.dim_hash, source.has_map],
    )
    return layout


def copy_segment(source: Path, target: Path) -> None:
    """Copy a file into the segment folder and make it durable before the batch commits."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    sync_segment(target)


def sync_segment(path: Path) -> None:
    """Make a file of the segment folder durable before the batch commits."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def stray_files(con: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """Files in the segment folder that no committed batch refers to: left by an ingest that
    was killed before it committed."""
    if not folder.is_dir():
        return []
    known = {
        name
        for (name,) in con.execute(
            "SELECT file FROM segments UNION ALL SELECT file FROM key_files"
        ).fetchall()
    }
    return [path for path in folder.iterdir() if path.name not in known]


def events_view(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    window: tuple[datetime, datetime] | None = None,
) -> str:
    """SQL of every stored event (or, with ``window``, a superset of those in it: segments
    whose events all fall outside it are left out)."""
    scope = ""
    parameters: list[object] = []
    if window is not None:
        scope = "WHERE s.last_ts >= ? AND s.first_ts < ?"
        parameters = list(window)
    segments = [
        _Segment(int(s), int(b), int(lay), str(f), bool(k))
        for s, b, lay, f, k in con.execute(
            "SELECT s.segment, s.batch, s.layout, s.file, "
            "EXISTS (SELECT 1 FROM segment_skips k WHERE k.segment = s.segment) "
            f"FROM segments s {scope} ORDER BY s.segment",
            parameters,
        ).fetchall()
    ]
    layouts = {
        int(lay): _Layout(str(c), str(h), bool(m))
        for lay, c, h, m in con.execute(
            "SELECT layout, columns, dim_hash, has_map FROM layouts"
        ).fetchall()
    }
    parts = [f"SELECT {COLUMNS} FROM event_rows"]
    together: dict[int, list[_Segment]] = {}
    for segment in segments:
        if segment.skips:
            parts.append(_read([segment], layouts[segment.layout], folder, segment.segment))
        else:
            together.setdefault(segment.layout, []).append(segment)
    for group in together.values():
        parts.append(_read(group, layouts[group[0].layout], folder, None))
    return "\nUNION ALL\n".join(parts)


def _read(segments: list[_Segment], layout: _Layout, folder: Path, skips_of: int | None) -> str:
    """One branch of the view: ``segments`` (one layout), or one segment without its skips."""
    paths = [str((folder / s.file).resolve()) for s in segments]
    if len({s.batch for s in segments}) == 1:
        batch = str(segments[0].batch)
    else:
        batch = (
            "CASE filename "
            + " ".join(
                f"WHEN {_lit(p)} THEN {s.batch}" for p, s in zip(paths, segments, strict=True)
            )
            + " END"
        )
    scan = parquet_scan(paths, layout.has_map, filename=len(segments) > 1)
    skip = ""
    if skips_of is not None:
        skip = f"WHERE r.rn NOT IN (SELECT row FROM segment_skips WHERE segment = {skips_of})"
    return f"""SELECT r.source, r.id, r.customer, r.ts, r.metric, r.quantity, m.dims_id, r.status,
        r.attributed_at, r.value, r.batch
    FROM (SELECT {layout.columns}, {layout.dim_hash} AS h, {batch} AS batch,
            file_row_number AS rn FROM {scan}) r
    JOIN layout_dims m ON m.layout = {segments[0].layout} AND m.h = r.h
    {skip}"""
