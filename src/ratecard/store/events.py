"""The embedded event store: a DuckDB file, created on first use.

Ingest is exactly once and all or nothing: every file of one call is staged, checked and
deduplicated on ``(source, id)`` (against the store and within the batch, the first occurrence
wins) inside one transaction; a file with invalid rows rolls the whole call back unless
``skip_invalid`` is set, and a process killed mid-ingest leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ratecard.errors import Problem, UsageError
from ratecard.store.bulk import Progress, ingest_clean_parquet
from ratecard.store.schema import SCHEMA, SCHEMA_VERSION
from ratecard.usage.readers import event_format, read_events
from ratecard.usage.readers.parquet import inspect_parquet

__all__ = ["EventStore", "IngestReport"]

_STAGING = """CREATE TEMP TABLE staging (
    ev BIGINT, line BIGINT, source VARCHAR, id VARCHAR, customer VARCHAR, ts TIMESTAMP,
    dims VARCHAR, status VARCHAR, attributed_at TIMESTAMP, value DECIMAL(18,6),
    metric VARCHAR, quantity DECIMAL(18,6), bad VARCHAR[], file VARCHAR)"""
_COLUMNS = (
    "ev, line, source, id, customer, ts, dims, status, attributed_at, value, metric, quantity"
)


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


class EventStore:
    """Events in a DuckDB database file (``":memory:"`` for a throwaway store)."""

    def __init__(self, path: str | Path, *, read_only: bool = False, threads: int | None = None):
        self.path = str(path)
        if self.path != ":memory:" and not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as error:
            raise UsageError(
                [Problem(f"cannot open the event store: {error}", source=self.path)]
            ) from None
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        if not read_only:
            for statement in SCHEMA:
                self.con.execute(statement)
            self.con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(SCHEMA_VERSION)],
            )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        con.execute("BEGIN TRANSACTION")
        try:
            rejected_records: list[dict[str, Any]] = []
            if not self._ingest_clean_parquet(files, report, progress):
                self._ingest_staged(files, report, rejected_records, skip_invalid, progress)
            if rejects is not None and skip_invalid:
                _write_rejects(rejects, rejected_records, report.problems)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return report

    def _ingest_clean_parquet(
        self, files: list[Path], report: IngestReport, progress: Progress | None
    ) -> bool:
        """The fast path (:mod:`ratecard.store.bulk`); False when it does not apply."""
        number = self._next_batch()
        result = ingest_clean_parquet(self.con, files, number, progress)
        if result is None:
            return False
        report.rows = result.rows
        report.inserted = result.inserted
        self._record_batch(report, number)
        return True

    def _ingest_staged(
        self,
        files: list[Path],
        report: IngestReport,
        rejected_records: list[dict[str, Any]],
        skip_invalid: bool,
        progress: Progress | None,
    ) -> None:
        con = self.con
        con.execute("DROP TABLE IF EXISTS staging")
        con.execute(_STAGING)
        for index, path in enumerate(files):
            self._stage(path, index, report, rejected_records)
            if progress is not None:
                progress(str(path), index + 1, len(files))
        report.rejected = len(rejected_records)
        if report.problems and not skip_invalid:
            raise UsageError(report.problems)
        self._commit_batch(report)
        con.execute("DROP TABLE staging")

    def _stage(
        self, path: Path, index: int, report: IngestReport, rejected: list[dict[str, Any]]
    ) -> None:
        con = self.con
        name = str(path).replace("'", "''")
        if event_format(path) == "parquet":
            try:
                source = inspect_parquet(path, index)
            except duckdb.Error as error:
                raise UsageError(
                    [Problem(f"cannot read the file as Parquet: {error}", source=str(path))]
                ) from None
            if source.problems:
                report.problems.extend(source.problems)
                return
            try:
                con.execute(
                    f"INSERT INTO staging SELECT {_COLUMNS}, bad, '{name}' FROM ({source.rows})"
                )
            except duckdb.Error as error:
                raise UsageError(
                    [Problem(f"cannot read the file: {error}", source=str(path))]
                ) from None
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
            f"INSERT INTO staging SELECT {index}::BIGINT * 4294967296 + ordinal, line, source, "
            f"id, customer, ts, dims, status, attributed_at, value, metric, quantity, NULL, "
            f"'{name}' FROM batch_rows"
        )
        con.unregister("batch_rows")

    def _next_batch(self) -> int:
        (batch,) = self.con.execute("SELECT coalesce(max(batch), 0) + 1 FROM batches").fetchall()
        return int(batch[0])

    def _commit_batch(self, report: IngestReport) -> None:
        con = self.con
        number = self._next_batch()
        con.execute(
            "INSERT INTO dims SELECT (SELECT coalesce(max(dims_id), 0) FROM dims) "
            "+ row_number() OVER (ORDER BY d), d FROM (SELECT DISTINCT dims AS d FROM staging "
            "WHERE bad IS NULL) n WHERE NOT EXISTS (SELECT 1 FROM dims x WHERE x.dims = n.d)"
        )
        empty = con.execute("SELECT count(*) = 0 FROM (SELECT 1 FROM events LIMIT 1)").fetchone()
        anti = (
            ""
            if empty and empty[0]
            else "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.source = s.source AND e.id = s.id)"
        )
        counts = con.execute("SELECT count(*) FROM staging WHERE bad IS NULL").fetchone()
        assert counts is not None
        report.rows = int(counts[0])
        inserted = con.execute(
            f"""INSERT INTO events
            SELECT s.source, s.id, s.customer, s.ts, s.metric, s.quantity, x.dims_id, s.status,
                   s.attributed_at, s.value, {number}
            FROM staging s
            JOIN dims x ON x.dims = s.dims
            SEMI JOIN (SELECT source, id, min(ev) AS ev FROM staging WHERE bad IS NULL
                       GROUP BY source, id) f
                ON f.source = s.source AND f.id = s.id AND f.ev = s.ev
            WHERE s.bad IS NULL {anti}"""
        ).fetchone()
        report.inserted = int(inserted[0]) if inserted else 0
        self._record_batch(report, number)

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
        (row,) = self.con.execute("SELECT count(*) FROM events").fetchall()
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


def _problem(file: str, line: int | None, reason: str) -> Problem:
    field_name, _, message = reason.partition(": ")
    return Problem(message or reason, field_name if message else "", file, line)


def _write_rejects(path: Path, records: list[dict[str, Any]], problems: list[Problem]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=str) + "\n")
