"""OpenTelemetry GenAI spans as OTLP/JSON (an ``ExportTraceServiceRequest``).

Each span carrying ``gen_ai.usage.*`` attributes becomes one request event: ``input_tokens``,
``output_tokens``, ``cache_read_tokens`` (``gen_ai.usage.cache_read.input_tokens``),
``cache_write_tokens`` (``gen_ai.usage.cache_creation.input_tokens``) and ``reasoning_tokens``
(``gen_ai.usage.reasoning.output_tokens``). Cache tokens are a subset of input tokens and
reasoning tokens of output tokens, as in the token semantics of DESIGN.md. The id is
``traceId:spanId`` (source ``otlp``), the timestamp the span's end, the dimensions ``model``
(``gen_ai.request.model``) and ``provider`` (``gen_ai.provider.name``); the customer comes from
the span or resource attribute ``ratecard.customer``, ``customer.id`` or ``enduser.id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ratecard.usage.readers.rows import Batch, RowBuilder

__all__ = ["is_otlp", "read_otlp"]

USAGE = {
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.usage.cache_read.input_tokens": "cache_read_tokens",
    "gen_ai.usage.cache_creation.input_tokens": "cache_write_tokens",
    "gen_ai.usage.reasoning.output_tokens": "reasoning_tokens",
}
DIMENSIONS = {"gen_ai.request.model": "model", "gen_ai.provider.name": "provider"}
CUSTOMER_KEYS = ("ratecard.customer", "customer.id", "enduser.id")
SOURCE = "otlp"


def is_otlp(document: Any) -> bool:
    return isinstance(document, Mapping) and "resourceSpans" in document


def _value(any_value: Any) -> Any:
    if not isinstance(any_value, Mapping):
        return None
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in any_value:
            return any_value[key]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {
        item["key"]: _value(item.get("value"))
        for item in items
        if isinstance(item, Mapping) and "key" in item
    }


def _time(nanos: Any) -> str | None:
    try:
        seconds = int(nanos) / 1e9 if int(nanos) else None
    except (TypeError, ValueError):
        return None
    if seconds is None:
        return None
    whole, rest = divmod(int(nanos), 1_000_000_000)
    moment = datetime.fromtimestamp(whole, UTC).replace(microsecond=rest // 1000)
    return moment.isoformat()


def _span_event(span: Mapping[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    attributes = {**resource, **_attributes(span.get("attributes"))}
    quantities = {USAGE[k]: v for k, v in attributes.items() if k in USAGE and v is not None}
    if not quantities:
        return None
    customer = next((attributes[k] for k in CUSTOMER_KEYS if attributes.get(k)), None)
    dims = {name: attributes[key] for key, name in DIMENSIONS.items() if attributes.get(key)}
    trace, span_id = span.get("traceId"), span.get("spanId")
    return {
        "id": f"{trace}:{span_id}" if trace and span_id else None,
        "source": SOURCE,
        "customer": customer,
        "timestamp": _time(span.get("endTimeUnixNano") or span.get("startTimeUnixNano")),
        "quantities": quantities,
        "dimensions": dims,
    }


def _check_subsets(event: dict[str, Any]) -> str | None:
    q = event["quantities"]
    try:
        cached = int(q.get("cache_read_tokens", 0)) + int(q.get("cache_write_tokens", 0))
        if cached > int(q.get("input_tokens", 0)):
            return "cache_read + cache_creation tokens exceed gen_ai.usage.input_tokens"
        if int(q.get("reasoning_tokens", 0)) > int(q.get("output_tokens", 0)):
            return "reasoning tokens exceed gen_ai.usage.output_tokens"
    except (TypeError, ValueError):
        return None  # the row builder names the field that is not a number
    return None


def read_otlp(path: Path, document: Mapping[str, Any]) -> Batch:
    builder = RowBuilder(str(path))
    for r, resource_spans in enumerate(document.get("resourceSpans") or []):
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        for s, scope in enumerate(resource_spans.get("scopeSpans") or []):
            for p, span in enumerate(scope.get("spans") or []):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{p}]."
                if not isinstance(span, Mapping):
                    builder.reject(None, where.rstrip("."), "expected a span object", span)
                    continue
                event = _span_event(span, resource)
                if event is None:
                    continue  # not a GenAI span with usage
                subset = _check_subsets(event)
                if subset is not None:
                    builder.reject(None, where + "attributes", subset, event)
                    continue
                builder.add(event, None, where=where)
    return builder.batch()
