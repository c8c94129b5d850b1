"""JSON Schemas of ratecard's file formats."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ratecard.plan.model import Plan
from ratecard.simulate.workload import Workload
from ratecard.usage.model import UsageSummary

__all__ = ["SCHEMAS", "json_schema"]

SCHEMAS: dict[str, type[BaseModel]] = {"plan": Plan, "usage": UsageSummary, "workload": Workload}


def json_schema(kind: str) -> dict[str, Any]:
    model = SCHEMAS[kind]
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://ratecard.dev/schema/{kind}-1.json"
    return schema
