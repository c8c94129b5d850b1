"""Field types shared by the plan, usage and workload models."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from ratecard.money import to_decimal

__all__ = ["STRICT", "Amount", "DecimalValue", "Duration", "Factor", "Percent", "parse_duration"]

STRICT = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _decimal(value: Any) -> Decimal:
    return to_decimal(value)


_DECIMAL_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"},
            {"type": "number"},
        ]
    }
)
_AS_STRING = PlainSerializer(lambda d: str(d), return_type=str, when_used="json")

DecimalValue = Annotated[Decimal, BeforeValidator(_decimal), _DECIMAL_SCHEMA, _AS_STRING]
"""Any finite decimal number; written as a string ("1.25") to keep it exact."""

Amount = Annotated[DecimalValue, Field(ge=0)]
"""A non-negative money amount or price, in the plan's currency."""

Factor = Annotated[DecimalValue, Field(ge=0)]
"""A non-negative multiplier: "0.5" halves a price, "1.10" adds 10 %."""

Percent = Annotated[DecimalValue, Field(ge=0, le=100)]
"""A percentage between 0 and 100."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """Parse ``"72h"``, ``"30d"``, ``"90m"``, ``"2w"`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    raise ValueError(f"expected a duration such as '72h', '30d' or '90m', got {value!r}")


def _format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[smhdw]\s*$"}),
    PlainSerializer(_format_duration, return_type=str, when_used="json"),
]
"""A duration written as a number and a unit: s, m, h, d or w ("72h")."""
