"""One shape for every event format: validated rows ready for the store.

Every reader turns its input into mappings in the shape of DESIGN.md (``id``, ``customer``,
``timestamp``, ``metric``/``quantity`` or ``quantities``, ``dimensions``, ``status``,
``attributed_at``, ``value``, optional ``source``) and hands them to :class:`RowBuilder`, which
checks each field, collects every problem with its line or row number, and explodes a
``quantities`` map into one row per metric (the rows share the event's ``source`` and ``id``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ratecard.errors import Problem
from ratecard.money import to_decimal

__all__ = [
    "EVENT_SCHEMA",
    "KNOWN_FIELDS",
    "QUANTITY_MAX",
    "QUANTITY_SCALE",
    "STATUSES",
    "Batch",
    "RowBuilder",
    "canonical_dimensions",
]

QUANTITY_SCALE = 6
QUANTITY_MAX = Decimal(10) ** 12
STATUSES = ("confirmed", "pending", "disputed", "reversed")
KNOWN_FIELDS = frozenset(
    {
        "id",
        "source",
        "customer",
        "timestamp",
        "metric",
        "quantity",
        "quantities",
        "dimensions",
        "status",
        "attributed_at",
        "value",
    }
)
_DEC = pa.decimal128(18, QUANTITY_SCALE)
EVENT_SCHEMA = pa.schema(
    [
        ("ordinal", pa.int64()),
        ("line", pa.int64()),
        ("source", pa.string()),
        ("id", pa.string()),
        ("customer", pa.string()),
        ("ts", pa.timestamp("us")),
        ("metric", pa.string()),
        ("quantity", _DEC),
        ("dims", pa.string()),
        ("status", pa.string()),
        ("attributed_at", pa.timestamp("us")),
        ("value", _DEC),
    ]
)
"""Staged rows: timestamps are UTC without a zone, amounts DECIMAL(18, 6)."""


def canonical_dimensions(dimensions: Mapping[str, Any]) -> str:
    """Dimensions as compact JSON with sorted keys: equal label sets give equal strings."""
    return json.dumps(
        {str(k): str(v) for k, v in sorted(dimensions.items()) if v is not None},
        separators=(",", ":"),
        ensure_ascii=False,
    )


@dataclass
class Batch:
    """Rows read from one input, and the problems of the rows that were rejected."""

    file: str
    table: pa.Table
    problems: list[Problem] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0


class RowBuilder:
    """Validates event records one at a time and accumulates the good rows column-wise."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
        self.problems: list[Problem] = []
        self.rejected: list[dict[str, Any]] = []
        self.events = 0

    def problem(self, line: int | None, path: str, message: str) -> Problem:
        return Problem(message, path, self.file, line)

    def add(
        self,
        record: Mapping[str, Any],
        line: int | None,
        default_source: str = "",
        where: str = "",
    ) -> None:
        """Validate one event; good rows are kept, every problem is recorded."""
        found: list[Problem] = []

        def bad(path: str, message: str) -> None:
            found.append(self.problem(line, where + path, message))

        unknown = sorted(set(record) - KNOWN_FIELDS)
        for name in unknown:
            bad(
                name, f"unknown field {name!r} (expected some of {', '.join(sorted(KNOWN_FIELDS))})"
            )
        event_id = _text(record.get("id"))
        if not event_id:
            bad("id", "an event needs an id (events are deduplicated on source and id)")
        customer = _text(record.get("customer"))
        if not customer:
            bad("customer", "an event needs a customer")
        source = _text(record.get("source")) or default_source
        ts = _timestamp(record.get("timestamp"), "timestamp", bad, required=True)
        attributed = _timestamp(record.get("attributed_at"), "attributed_at", bad, required=False)
        quantities = _quantities(record, bad)
        dims = _dimensions(record.get("dimensions"), bad)
        status = _text(record.get("status")) or None
        if status is not None and status not in STATUSES:
            bad("status", f"unknown status {status!r} (expected one of {', '.join(STATUSES)})")
        value = None
        if record.get("value") not in (None, ""):
            value = _amount(record.get("value"), "value", bad)
        if found:
            self.problems.extend(found)
            self.rejected.append(
                {"line": line, "record": _jsonable(record), "reasons": [str(p) for p in found]}
            )
            return
        self.events += 1
        for metric, quantity in quantities:
            cols = self.columns
            cols["ordinal"].append(self.events)
            cols["line"].append(line)
            cols["source"].append(source)
            cols["id"].append(event_id)
            cols["customer"].append(customer)
            cols["ts"].append(ts)
            cols["metric"].append(metric)
            cols["quantity"].append(quantity)
            cols["dims"].append(dims)
            cols["status"].append(status)
            cols["attributed_at"].append(attributed)
            cols["value"].append(value)

    def reject(self, line: int | None, path: str, message: str, raw: Any = None) -> None:
        """Record a record that could not even be parsed (bad JSON, a short CSV row)."""
        problem = self.problem(line, path, message)
        self.problems.append(problem)
        self.rejected.append({"line": line, "record": raw, "reasons": [str(problem)]})

    def batch(self) -> Batch:
        table = pa.Table.from_pydict(self.columns, schema=EVENT_SCHEMA)
        return Batch(self.file, table, self.problems, self.rejected, self.events)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _timestamp(value: Any, path: str, bad: Any, *, required: bool) -> datetime | None:
    if value in (None, ""):
        if required:
            bad(path, "an event needs a timestamp (e.g. 2026-10-03T17:00:00Z)")
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            bad(path, f"expected an ISO 8601 timestamp with a zone, got {value!r}")
            return None
    else:
        bad(path, f"expected an ISO 8601 timestamp with a zone, got {value!r}")
        return None
    if parsed.tzinfo is None:
        bad(path, f"timestamps need a time zone (e.g. 2026-10-03T17:00:00Z), got {value!r}")
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _amount(value: Any, path: str, bad: Any) -> Decimal | None:
    try:
        number = to_decimal(value)
    except ValueError as error:
        bad(path, str(error))
        return None
    if number < 0:
        bad(path, f"must not be negative, got {value!r}")
        return None
    if number >= QUANTITY_MAX:
        bad(path, f"too large: the store keeps values below {QUANTITY_MAX:,}, got {value!r}")
        return None
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > QUANTITY_SCALE:
        bad(path, f"more than {QUANTITY_SCALE} decimal places: {value!r}")
        return None
    return number


def _quantities(record: Mapping[str, Any], bad: Any) -> list[tuple[str, Decimal]]:
    metric = _text(record.get("metric"))
    raw_map = record.get("quantities")
    if isinstance(raw_map, str) and raw_map.strip():
        try:
            raw_map = json.loads(raw_map)
        except json.JSONDecodeError:
            bad("quantities", "expected a JSON object of metric -> quantity")
            return []
    if raw_map in (None, "", {}):
        raw_map = None
    if raw_map is not None:
        if metric or record.get("quantity") not in (None, ""):
            bad("quantities", "an event has either metric and quantity, or quantities, not both")
            return []
        if not isinstance(raw_map, Mapping) or not raw_map:
            bad("quantities", "expected a map of metric -> quantity naming at least one metric")
            return []
        result = []
        for name, raw in raw_map.items():
            amount = _amount(raw, f"quantities.{name}", bad)
            if amount is not None:
                result.append((str(name), amount))
        return result
    if not metric:
        bad("metric", "an event needs a metric (with quantity) or a quantities map")
        return []
    raw = record.get("quantity")
    amount = Decimal(1) if raw in (None, "") else _amount(raw, "quantity", bad)
    return [] if amount is None else [(metric, amount)]


def _dimensions(value: Any, bad: Any) -> str:
    if value in (None, ""):
        return "{}"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            bad("dimensions", "expected a JSON object of dimension -> value")
            return "{}"
    if not isinstance(value, Mapping):
        bad("dimensions", f"expected a map of dimension -> value, got {type(value).__name__}")
        return "{}"
    for key, item in value.items():
        if isinstance(item, Mapping | list):
            bad(f"dimensions.{key}", "a dimension value must be a string or number")
    return canonical_dimensions(value)


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(k): v if isinstance(v, str | int | float | bool | None) else str(v)
        for k, v in record.items()
    }
