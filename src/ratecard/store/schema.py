"""The tables of the embedded event store (DuckDB).

``event_rows``     events written row by row (staged ingests: CSV, JSONL, CloudEvents, OTLP,
                   Parquet files with invalid rows); ``(source, id)`` identifies an event
``segments``       clean Parquet files kept as they came, one per file of a batch, in the
                   store's segment folder; ``segment_skips`` lists the rows of a segment that
                   repeat an event stored before (or earlier in its batch)
``layouts``        how a segment's columns read as event columns (SQL over the file),
                   shared by files of one shape; ``layout_dims`` maps a layout's raw
                   dimension key to ``dims_id``
``dims``           each distinct set of dimensions once (canonical JSON), referenced by
                   ``dims_id``
``batches``        one row per committed ingest; an event's ``batch`` says which one brought it
``key_files``      the deduplication key file of each batch (sorted hashes of its events)
``issued``         invoices issued per customer and period, with the batch watermark they saw

Readers never name these tables: ``events`` is a view over rows and segments
(:mod:`ratecard.store.segments`).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS event_rows (
        source VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        customer VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        metric VARCHAR NOT NULL,
        quantity DECIMAL(18,6) NOT NULL,
        dims_id INTEGER NOT NULL,
        status VARCHAR,
        attributed_at TIMESTAMP,
        value DECIMAL(18,6),
        batch INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dims (dims_id INTEGER NOT NULL, dims VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch INTEGER NOT NULL, ingested_at TIMESTAMP NOT NULL, files VARCHAR NOT NULL,
        events BIGINT NOT NULL, duplicates BIGINT NOT NULL, rejected BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS layouts (
        layout INTEGER NOT NULL, columns VARCHAR NOT NULL, dim_hash VARCHAR NOT NULL,
        has_map BOOLEAN NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS layout_dims (
        layout INTEGER NOT NULL, h UBIGINT NOT NULL, dims_id INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS segments (
        segment INTEGER NOT NULL, batch INTEGER NOT NULL, layout INTEGER NOT NULL,
        file VARCHAR NOT NULL, source_file VARCHAR NOT NULL, rows BIGINT NOT NULL,
        first_ts TIMESTAMP, last_ts TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS segment_skips (segment INTEGER NOT NULL, row BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS key_files (
        batch INTEGER NOT NULL, file VARCHAR NOT NULL, keys BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS issued (
        customer VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL,
        plan VARCHAR NOT NULL, watermark INTEGER NOT NULL, invoice VARCHAR NOT NULL,
        issued_at TIMESTAMP NOT NULL
    )""",
]

MIGRATIONS = {
    # version 1 kept every event in one table, `events`; its key files are built on open
    1: ["ALTER TABLE events RENAME TO event_rows"],
}
