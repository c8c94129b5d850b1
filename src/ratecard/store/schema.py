"""The tables of the embedded event store (DuckDB).

``events``    one row per event and metric; ``(source, id)`` identifies an event
``dims``      each distinct set of dimensions once (canonical JSON), referenced by ``dims_id``
``batches``   one row per committed ingest; ``events.batch`` says which one brought a row
``issued``    invoices issued per customer and period, with the batch watermark they saw
"""

from __future__ import annotations

__all__ = ["SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS events (
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
    """CREATE TABLE IF NOT EXISTS issued (
        customer VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL,
        plan VARCHAR NOT NULL, watermark INTEGER NOT NULL, invoice VARCHAR NOT NULL,
        issued_at TIMESTAMP NOT NULL
    )""",
]
