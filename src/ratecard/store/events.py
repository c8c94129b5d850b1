"""The embedded event store: a DuckDB file and a folder of segments, created on first use.

Ingest is exactly once and all or nothing: the files of one call are checked and deduplicated
on ``(source, id)`` (against the store and within the batch, the first occurrence wins; see
:mod:`ratecard.store.keys`) inside one transaction. A Parquet file whose every row is valid is
kept as it is, as a segment (:mod:`ratecard.store.segments`). A CSV file is first converted by
DuckDB into a Parquet file in the segment folder, where that file is certain to read as the
CSV reader reads the CSV (:mod:`ratecard.usage.readers.csvparquet`), and kept as a segment in
its turn if every row is valid. Other files, and CSV files whose conversion is refused or has an
invalid row (the conversion is then deleted), are staged row by row into ``event_rows``: rows
with their line numbers, problems and rejects are the row readers' own. A file with invalid
rows rolls the whole call back unless ``skip_invalid`` is set. Segment and key files are written
before the commit and only the committed catalog refers to them, so a process killed mid-ingest
leaves the store as it was (the next writer deletes the stray files).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ratecard.errors import Problem, UsageError
from ratecard.store import keys as dedup
from ratecard.store.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from ratecard.store.segments import (
    add_layout,
    copy_segment,
    events_view,
    stray_files,
    sync_segment,
)
from ratecard.usage.readers import event_format, read_events
from ratecard.usage.readers.csvparquet import convert_csv
from ratecard.usage.readers.parquet import ParquetSource, inspect_parquet

__all__ = ["EventStore", "IngestReport", "Progress"]

Progress = Callable[[str, int, int], None]
"""Called with (file, files done, files in all) as an ingest advances."""

_STAGING = """CREATE TEMP TABLE staging (
    ev BIGINT, line BIGINT, source VARCHAR, id VARCHAR, customer VARCHAR, ts TIMESTAMP,
    dims VARCHAR, status VARCHAR, attributed_at TIMESTAMP, value DECIMAL(18,6),
    metric VARCHAR, quantity DECIMAL(18,6), bad VARCHAR[], file VARCHAR)"""
_COLUMNS = (
    "ev, line, source, id, customer, ts, dims, status, attributed_at, value, metric, quantity"
)
_FILE = 4294967296  # ev = file index * _FILE + row (or event ordinal) in the file
CSV_SEGMENT_BYTES = 1 << 20
"""Smaller CSV files are read row by row: the CSV reader is about as quick for them, and the
store does not gather one segment file per small file."""


@dataclass
class IngestReport:
    """What one ingest did."""

    batch: int | None
    files: list[str]
    rows: int = 0  # event-metric rows read and valid
    inserted: int = 0  # rows added to the store
    duplicates: int = 0  # valid rows skipped: their event was already stored or repeated
    rejected: int = 0  # invalid rows (only with skip_invalid)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Clean:
    """A file of the batch without an invalid row: it becomes a segment. ``source`` reads
    ``path``, or for a CSV file its conversion, already in the segment folder under its
    segment's name (``converted``)."""

    index: int
    path: Path
    source: ParquetSource
    rows: int
    converted: bool = False


def _segment_name(batch: int, index: int) -> str:
    return f"b{batch:06d}-{index}.parquet"


class EventStore:
    """Events in a DuckDB database file (``":memory:"`` for a throwaway store) and its
    segment folder (``<file>.segments``; a temporary folder for a throwaway store)."""

    def __init__(self, path: str | Path, *, read_only: bool = False, threads: int | None = None):
        self.path = str(path)
        self._temporary = self.path == ":memory:"
        if self._temporary:
            self.folder = Path(tempfile.mkdtemp(prefix="ratecard-segments-"))
            weakref.finalize(self, shutil.rmtree, self.folder, True)
        else:
            self.folder = Path(self.path + ".segments")
        if not self._temporary and not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as error:
            raise UsageError(
                [Problem(f"cannot open the event store: {error}", source=self.path)]
            ) from None
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        if read_only:
            self._check_version()
        else:
            self._prepare()
        self._refresh_view()

    def _check_version(self) -> None:
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        if not rows or int(rows[0][0]) != SCHEMA_VERSION:
            found = rows[0][0] if rows else "none"
            raise UsageError(
                [
                    Problem(
                        f"the store has format version {found}, this ratecard reads "
                        f"{SCHEMA_VERSION}: open it once for writing (ratecard ingest or rate) "
                        "to upgrade it",
                        source=self.path,
                    )
                ]
            )

    def _prepare(self) -> None:
        """Create or upgrade the tables, and drop what a killed ingest left behind."""
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        version = int(rows[0][0]) if rows else SCHEMA_VERSION
        con.execute("BEGIN TRANSACTION")
        for old in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[old]:
                con.execute(statement)
        for statement in SCHEMA:
            con.execute(statement)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
        con.execute("COMMIT")
        for path in stray_files(con, self.folder):
            path.unlink()
        rows = con.execute("SELECT value FROM meta WHERE key = 'key_hash'").fetchall()
        if not rows or rows[0][0] != dedup.hash_canary(con):
            self._rebuild_keys()

    def _rebuild_keys(self) -> None:
        """Write every batch's key file again (a new store, one of version 1, or a DuckDB
        whose hash changed)."""
        con = self.con
        canary = dedup.hash_canary(con)
        self._refresh_view()
        old = [
            self.folder / name for (name,) in con.execute("SELECT file FROM key_files").fetchall()
        ]
        with self._transaction() as written:
            con.execute("DELETE FROM key_files")
            for (batch,) in con.execute("SELECT DISTINCT batch FROM events ORDER BY 1").fetchall():
                found = dedup.find_duplicates(
                    con,
                    f"SELECT DISTINCT 0 AS ev, source, id FROM events WHERE batch = {int(batch)}",
                    [],
                    "events",
                )
                self._write_keys(int(batch), found.keys, written, suffix=f"h{canary}")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('key_hash', ?)", [canary])
        for path in old:
            if path not in written:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self.con.close()
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[list[Path]]:
        """A transaction, and the list of files written for it: kept on commit, deleted on
        rollback (a killed process leaves them to the next writer: :func:`stray_files`)."""
        written: list[Path] = []
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield written
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            for path in written:
                path.unlink(missing_ok=True)
            raise

    # -- the events view ---------------------------------------------------------------
    def _refresh_view(self, window: tuple[datetime, datetime] | None = None) -> None:
        sql = events_view(self.con, self.folder, window)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW events AS {sql}")

    @contextmanager
    def window(self, start: datetime, end: datetime) -> Iterator[None]:
        """Within the block, ``events`` leaves out segments with no event in
        ``[start, end)`` (events outside it may remain: filter on ``ts`` as well)."""
        self._refresh_view((start, end))
        try:
            yield
        finally:
            self._refresh_view()

    # -- ingest ------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        skip_invalid: bool = False,
        rejects: Path | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Add the events of ``paths`` in one transaction; see the module docstring."""
        files = [Path(p) for p in paths]
        for path in files:
            event_format(path)  # unknown extensions fail before anything starts
            if not path.is_file():
                raise UsageError([Problem("no such file", source=str(path))])
        report = IngestReport(None, [str(p) for p in files])
        con = self.con
        try:
            with self._transaction() as written:
                rejected_records: list[dict[str, Any]] = []
                self._ingest(files, report, rejected_records, skip_invalid, progress, written)
                if rejects is not None and skip_invalid:
                    _write_rejects(rejects, rejected_records, report.problems)
        finally:
            for table in ("staging", "bulk_dims", "batch_skips"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
            self._refresh_view()
        return report

    def _ingest(
        self,
        files: list[Path],
        report: IngestReport,
        rejected: list[dict[str, Any]],
        skip_invalid: bool,
        progress: Progress | None,
        written: list[Path],
    ) -> None:
        con = self.con
        number = self._next_batch()
        con.execute(
            "CREATE OR REPLACE TEMP TABLE bulk_dims (file INTEGER, h UBIGINT, dims VARCHAR, "
            "n BIGINT, bad BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP)"
        )
        clean: list[_Clean] = []
        staged = False
        for index, path in enumerate(files):
            if event_format(path) == "csv" and path.stat().st_size >= CSV_SEGMENT_BYTES:
                kept = self._clean_csv(path, index, number, written)
            else:
                kept = self._clean_parquet(path, index)
            if kept is not None:
                clean.append(kept)
            else:
                if not staged:
                    con.execute(_STAGING)
                    staged = True
                self._stage(path, index, report, rejected)
            if progress is not None:
                progress(str(path), index + 1, len(files))
        report.rejected = len(rejected)
        if report.problems and not skip_invalid:
            raise UsageError(report.problems)
        report.rows = sum(c.rows for c in clean)
        batch_events = [f"SELECT {c.source.keys} FROM {c.source.event_scan}" for c in clean]
        if staged:
            (row,) = con.execute("SELECT count(*) FROM staging WHERE bad IS NULL").fetchall()
            report.rows += int(row[0])
            batch_events.append("SELECT DISTINCT ev, source, id FROM staging WHERE bad IS NULL")
        if not batch_events:
            self._record_batch(report, number)
            return
        found = dedup.find_duplicates(
            con, " UNION ALL ".join(batch_events), self._stored_keys(), "events"
        )
        self._add_dims(staged)
        for item in clean:
            report.inserted += self._keep_segment(item, number, found.skipped > 0, written)
        if staged:
            report.inserted += self._insert_staged(number, found.skipped > 0)
        if report.inserted:
            self._write_keys(number, found.keys, written)
        self._record_batch(report, number)

    def _clean_parquet(self, path: Path, index: int) -> _Clean | None:
        """A Parquet file, if :meth:`_screen` finds it clean; None sends it to staging."""
        if event_format(path) != "parquet":
            return None
        return self._screen(path, index, _inspect(path, index))

    def _clean_csv(self, path: Path, index: int, number: int, written: list[Path]) -> _Clean | None:
        """A CSV file, converted into a Parquet file under its segment's name, if the
        conversion is exact and :meth:`_screen` finds it clean; else None (the conversion
        deleted), which sends the CSV file to the CSV reader."""
        target = self.folder / _segment_name(number, index)
        self.folder.mkdir(parents=True, exist_ok=True)
        written.append(target)  # deleted if the ingest fails
        # its own connection: a refused conversion aborts the transaction it runs in
        converter = self.con.cursor()
        try:
            rows = convert_csv(converter, path, target)
        finally:
            converter.close()
        if not rows:  # (an empty file too: the screen of no rows would add dimensions {})
            target.unlink(missing_ok=True)
            return None
        kept = self._screen(path, index, _inspect(target, index))
        if kept is None:
            target.unlink()
            return None
        return replace(kept, converted=True)

    def _screen(self, path: Path, index: int, source: ParquetSource) -> _Clean | None:
        """Screen a Parquet file: one aggregate over its statistics (min, max, null counts),
        one pass over its rows (rows and possibly invalid rows per raw dimension key, the
        canonical dimensions of each, the time span). The file, if no row can be invalid and
        its dimension keys are unambiguous; None sends it to staging, which lists problems."""
        if source.problems:
            return None
        _run(self.con, source.path, f"SELECT {source.screen_stats} FROM {source.scan}")
        (flagged,) = self.con.fetchall()
        if flagged[0]:
            return None
        keys = "".join(f", {key}" for key in source.dim_keys)
        _run(
            self.con,
            source.path,
            f"INSERT INTO bulk_dims SELECT {index}, h, {source.dims}, n, bad, first_ts, last_ts "
            f"FROM (SELECT {source.dim_hash} AS h{keys}, count(*) AS n, "
            f"count(*) FILTER (WHERE {source.screen_rows}) AS bad, "
            f"min({source.ts}) AS first_ts, max({source.ts}) AS last_ts "
            f"FROM {source.scan} GROUP BY ALL)",
        )
        (row,) = self.con.execute(
            f"""SELECT coalesce(sum(n), 0), coalesce(sum(bad), 0),
                (SELECT count(*) FROM (SELECT h FROM bulk_dims WHERE file = {index}
                    GROUP BY h HAVING count(DISTINCT dims) > 1)),
                (SELECT count(*) FROM bulk_dims b
                    JOIN layouts l ON l.columns = ? AND l.dim_hash = ? AND l.has_map = ?
                    JOIN layout_dims m ON m.layout = l.layout AND m.h = b.h
                    JOIN dims d ON d.dims_id = m.dims_id
                    WHERE b.file = {index} AND d.dims <> b.dims)
            FROM bulk_dims WHERE file = {index}""",
            [source.columns, source.dim_hash, source.has_map],
        ).fetchall()
        rows, bad, clashes, stored_clashes = (int(x) for x in row)
        if bad or clashes or stored_clashes:
            self.con.execute(f"DELETE FROM bulk_dims WHERE file = {index}")
            return None
        return _Clean(index, path, source, rows)

    def _stage(
        self, path: Path, index: int, report: IngestReport, rejected: list[dict[str, Any]]
    ) -> None:
        con = self.con
        name = str(path).replace("'", "''")
        if event_format(path) == "parquet":
            source = _inspect(path, index)
            if source.problems:
                report.problems.extend(source.problems)
                return
            _run(
                con,
                str(path),
                f"INSERT INTO staging SELECT {_COLUMNS}, bad, '{name}' FROM ({source.rows})",
            )
            bad = con.execute(
                "SELECT min(line), bad FROM staging WHERE bad IS NOT NULL AND file = ? "
                "GROUP BY ev, bad ORDER BY 1",
                [str(path)],
            ).fetchall()
            for line, reasons in bad:
                found = [_problem(str(path), line, reason) for reason in reasons]
                report.problems.extend(found)
                rejected.append(
                    {"file": str(path), "line": line, "reasons": [str(p) for p in found]}
                )
            return
        batch = read_events(path)
        report.problems.extend(batch.problems)
        rejected.extend({"file": str(path), **r} for r in batch.rejected)
        con.register("batch_rows", batch.table)
        con.execute(
            f"INSERT INTO staging SELECT {index}::BIGINT * {_FILE} + ordinal, line, source, "
            f"id, customer, ts, dims, status, attributed_at, value, metric, quantity, NULL, "
            f"'{name}' FROM batch_rows"
        )
        con.unregister("batch_rows")

    def _next_batch(self) -> int:
        (batch,) = self.con.execute("SELECT coalesce(max(batch), 0) + 1 FROM batches").fetchall()
        return int(batch[0])

    def _stored_keys(self) -> list[dedup.Keys]:
        names = self.con.execute("SELECT file FROM key_files ORDER BY batch").fetchall()
        return [dedup.load_keys(self.folder / name) for (name,) in names]

    def _write_keys(
        self, number: int, keys: dedup.Keys, written: list[Path], suffix: str = ""
    ) -> None:
        name = f"b{number:06d}{'-' + suffix if suffix else ''}.keys.npy"
        self.folder.mkdir(parents=True, exist_ok=True)
        written.append(self.folder / name)
        dedup.write_keys(self.folder / name, keys)
        self.con.execute("INSERT INTO key_files VALUES (?, ?, ?)", [number, name, int(keys.size)])

    def _add_dims(self, staged: bool) -> None:
        """Store the batch's new dimension sets, numbered in the order of their JSON."""
        new = ["SELECT dims AS d FROM bulk_dims"]
        if staged:
            new.append("SELECT dims FROM staging WHERE bad IS NULL")
        self.con.execute(
            "INSERT INTO dims SELECT (SELECT coalesce(max(dims_id), 0) FROM dims) "
            "+ row_number() OVER (ORDER BY d), d FROM (SELECT DISTINCT d FROM ("
            + " UNION ALL ".join(new)
            + ")) n WHERE NOT EXISTS (SELECT 1 FROM dims x WHERE x.dims = n.d)"
        )

    def _keep_segment(self, item: _Clean, number: int, skips: bool, written: list[Path]) -> int:
        """Keep a clean file as a segment of batch ``number``; the rows it adds."""
        con = self.con
        index, source = item.index, item.source
        skipped_rows = 0
        if skips:
            mine = f"SELECT ev % {_FILE} FROM batch_skips WHERE ev // {_FILE} = {index}"
            (row,) = con.execute(
                f"SELECT count(*) FROM {source.scan} WHERE file_row_number IN ({mine})"
            ).fetchall()
            skipped_rows = int(row[0])
        rows = item.rows - skipped_rows
        if not rows:
            if item.converted:
                Path(source.path).unlink()
            return 0
        layout = add_layout(con, source)
        con.execute(
            f"""INSERT INTO layout_dims SELECT DISTINCT {layout}, b.h, d.dims_id
            FROM bulk_dims b JOIN dims d ON d.dims = b.dims
            WHERE b.file = {index} AND NOT EXISTS
                (SELECT 1 FROM layout_dims m WHERE m.layout = {layout} AND m.h = b.h)"""
        )
        (row,) = con.execute("SELECT coalesce(max(segment), 0) + 1 FROM segments").fetchall()
        segment = int(row[0])
        name = _segment_name(number, index)
        if item.converted:
            sync_segment(self.folder / name)
        else:
            written.append(self.folder / name)
            copy_segment(item.path, self.folder / name)
        con.execute(
            f"""INSERT INTO segments SELECT {segment}, {number}, {layout}, ?, ?, {rows},
                min(first_ts), max(last_ts) FROM bulk_dims WHERE file = {index}""",
            [name, str(item.path)],
        )
        if skipped_rows:
            con.execute(
                f"INSERT INTO segment_skips SELECT {segment}, ev % {_FILE} FROM batch_skips "
                f"WHERE ev // {_FILE} = {index}"
            )
        return rows

    def _insert_staged(self, number: int, skips: bool) -> int:
        skip = "AND s.ev NOT IN (SELECT ev FROM batch_skips)" if skips else ""
        (row,) = self.con.execute(
            f"""INSERT INTO event_rows
            SELECT s.source, s.id, s.customer, s.ts, s.metric, s.quantity, x.dims_id, s.status,
                   s.attributed_at, s.value, {number}
            FROM staging s JOIN dims x ON x.dims = s.dims
            WHERE s.bad IS NULL {skip}"""
        ).fetchall()
        return int(row[0])

    def _record_batch(self, report: IngestReport, number: int) -> None:
        report.duplicates = report.rows - report.inserted
        report.batch = number
        self.con.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)",
            [
                number,
                datetime.now(UTC).replace(tzinfo=None),
                json.dumps(report.files),
                report.inserted,
                report.duplicates,
                report.rejected,
            ],
        )

    # -- queries -----------------------------------------------------------------------
    def count(self) -> int:
        # fetchall: a result left half-read blocks the connection's next registration
        (row,) = self.con.execute(
            "SELECT (SELECT count(*) FROM event_rows) + "
            "(SELECT coalesce(sum(rows), 0) FROM segments)"
        ).fetchall()
        return int(row[0])

    def watermark(self) -> int:
        (row,) = self.con.execute("SELECT coalesce(max(batch), 0) FROM batches").fetchall()
        return int(row[0])

    def export_parquet(self, path: Path) -> None:
        """The events with their dimensions as JSON text, for the distributed engine."""
        target = str(path).replace("'", "''")
        self.con.execute(
            "COPY (SELECT e.* EXCLUDE (dims_id), d.dims FROM events e JOIN dims d USING (dims_id))"
            f" TO '{target}' (FORMAT parquet)"
        )


def _inspect(path: Path, index: int) -> ParquetSource:
    try:
        return inspect_parquet(path, index)
    except duckdb.Error as error:
        raise UsageError(
            [Problem(f"cannot read the file as Parquet: {error}", source=str(path))]
        ) from None


def _run(con: duckdb.DuckDBPyConnection, path: str, sql: str) -> None:
    try:
        con.execute(sql)
    except duckdb.Error as error:
        raise UsageError([Problem(f"cannot read the file: {error}", source=path)]) from None


def _problem(file: str, line: int | None, reason: str) -> Problem:
    field_name, _, message = reason.partition(": ")
    return Problem(message or reason, field_name if message else "", file, line)


def _write_rejects(path: Path, records: list[dict[str, Any]], problems: list[Problem]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=str) + "\n")
