"""Event readers: CSV, JSON Lines, Parquet, CloudEvents 1.0 and OpenTelemetry GenAI spans.

Each reader yields a :class:`Batch` of validated rows in one shape (:data:`EVENT_SCHEMA`);
Parquet files are read by the store's SQL engine directly (:mod:`.parquet`), so that large files
never pass through Python row by row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ratecard.errors import Problem, UsageError
from ratecard.usage.readers.cloudevents import read_cloudevents
from ratecard.usage.readers.otel import is_otlp, read_otlp
from ratecard.usage.readers.rows import EVENT_SCHEMA, Batch, canonical_dimensions
from ratecard.usage.readers.tabular import read_csv, read_jsonl

__all__ = ["EVENT_SCHEMA", "Batch", "canonical_dimensions", "event_format", "read_events"]

FORMATS = ("csv", "jsonl", "json", "parquet")


def event_format(path: Path) -> str:
    """The format of an event file, from its extension."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"ndjson", "jsonl"}:
        return "jsonl"
    if suffix in {"csv", "json", "parquet"}:
        return suffix
    raise UsageError(
        [
            Problem(
                f"unknown event file type {path.suffix!r}; expected .csv, .jsonl, .json "
                "(CloudEvents or OTLP/JSON) or .parquet",
                source=str(path),
            )
        ]
    )


def read_events(path: Path, progress: Any = None) -> Batch:
    """Read and validate a CSV, JSON Lines or JSON (CloudEvents, OTLP) file of events."""
    if not path.is_file():
        raise UsageError([Problem("no such file", source=str(path))])
    kind = event_format(path)
    if kind == "csv":
        return read_csv(path, progress)
    if kind == "jsonl":
        return read_jsonl(path, progress)
    if kind == "json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise UsageError(
                [Problem(f"not valid JSON: {error.msg}", source=str(path), line=error.lineno)]
            ) from None
        if is_otlp(document):
            return read_otlp(path, document)
        return read_cloudevents(path, document)
    raise ValueError(f"{kind} files are read by the store (ratecard.store)")
