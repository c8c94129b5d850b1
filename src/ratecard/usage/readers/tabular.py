"""CSV and JSON Lines events (DESIGN.md section 2, one event per row or line).

CSV columns are the event fields; ``dimensions`` and ``quantities`` hold JSON objects, and a
column named ``dimensions.<name>`` gives one dimension directly (``dimensions.model``).
A JSON Lines line that is a CloudEvent (it has ``specversion``) is read as one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ratecard.usage.readers.cloudevents import add_cloudevent, is_cloudevent
from ratecard.usage.readers.rows import Batch, RowBuilder

__all__ = ["read_csv", "read_jsonl"]

_DIM_PREFIX = "dimensions."


def _csv_record(row: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    dims: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            continue
        name = key.strip()
        if name.startswith(_DIM_PREFIX):
            if value not in (None, ""):
                dims[name.removeprefix(_DIM_PREFIX)] = value
        elif value not in (None, ""):
            record[name] = value
    if dims:
        base = record.get("dimensions")
        merged = json.loads(base) if isinstance(base, str) and base.strip().startswith("{") else {}
        merged.update(dims)
        record["dimensions"] = merged
    return record


def read_csv(path: Path, progress: Any = None) -> Batch:
    builder = RowBuilder(str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line = reader.line_num
            if None in row:
                builder.reject(line, "", "more values than the header has columns", row[None])
                continue
            if any(value is None for value in row.values()):
                builder.reject(line, "", "fewer values than the header has columns")
                continue
            builder.add(_csv_record(row), line)
            if progress is not None and line % 10000 == 0:
                progress(handle.tell())
    return builder.batch()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def read_jsonl(path: Path, progress: Any = None) -> Batch:
    builder = RowBuilder(str(path))
    for number, text in _lines(path):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            builder.reject(number, "", f"not valid JSON: {error.msg}", text.strip()[:200])
            continue
        if not isinstance(record, dict):
            builder.reject(number, "", "expected a JSON object per line", record)
            continue
        if is_cloudevent(record):
            add_cloudevent(builder, record, number, "")
        else:
            builder.add(record, number)
        if progress is not None and number % 10000 == 0:
            progress(number)
    return builder.batch()
