"""CloudEvents 1.0 in JSON, single (``application/cloudevents+json``) or batched (a JSON array,
``application/cloudevents-batch+json``). ``id``, ``source``, ``specversion`` and ``type`` are
required; ``subject`` is the customer, ``time`` the timestamp, and ``data`` carries the usage
fields (``metric``/``quantity`` or ``quantities``, ``dimensions``, ``status``,
``attributed_at``, ``value``). Events are deduplicated on ``source`` + ``id``, as OpenMeter does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratecard.usage.readers.rows import Batch, RowBuilder

__all__ = ["add_cloudevent", "is_cloudevent", "read_cloudevents"]

_REQUIRED = ("id", "source", "specversion", "type")
_DATA_FIELDS = (
    "metric",
    "quantity",
    "quantities",
    "dimensions",
    "status",
    "attributed_at",
    "value",
)


def is_cloudevent(record: Mapping[str, Any]) -> bool:
    return "specversion" in record


def add_cloudevent(
    builder: RowBuilder, event: Mapping[str, Any], line: int | None, where: str
) -> None:
    missing = [name for name in _REQUIRED if event.get(name) in (None, "")]
    if missing:
        for name in missing:
            builder.reject(line, where + name, f"a CloudEvent needs {name!r}", dict(event))
        return
    if str(event["specversion"]) != "1.0":
        builder.reject(
            line,
            where + "specversion",
            f"only CloudEvents 1.0 is read, got specversion {event['specversion']!r}",
            dict(event),
        )
        return
    data = event.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            builder.reject(line, where + "data", "data is not a JSON object", dict(event))
            return
    if not isinstance(data, Mapping):
        builder.reject(
            line, where + "data", "data must be an object with the usage fields", dict(event)
        )
        return
    unknown = sorted(set(data) - set(_DATA_FIELDS))
    if unknown:
        builder.reject(
            line,
            where + "data." + unknown[0],
            f"unknown data fields {unknown} (expected some of {', '.join(_DATA_FIELDS)})",
            dict(event),
        )
        return
    record = {name: data[name] for name in _DATA_FIELDS if name in data}
    record.update(
        id=event["id"],
        source=event["source"],
        customer=event.get("subject"),
        timestamp=event.get("time"),
    )
    builder.add(record, line, where=where)


def read_cloudevents(path: Path, document: Any) -> Batch:
    """A parsed JSON document holding one CloudEvent or an array of them."""
    builder = RowBuilder(str(path))
    events = document if isinstance(document, list) else [document]
    for index, event in enumerate(events):
        where = f"[{index}]." if isinstance(document, list) else ""
        if not isinstance(event, Mapping):
            builder.reject(None, where.rstrip("."), "expected a CloudEvent object", event)
            continue
        add_cloudevent(builder, event, None, where)
    return builder.batch()
