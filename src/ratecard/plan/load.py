"""Loading plans from files or dicts, with every problem reported at once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratecard.errors import PlanError
from ratecard.plan.model import Plan, reference_problems
from ratecard.source import load_document, validate

__all__ = ["load_plan"]

PlanSource = str | Path | Mapping[str, Any] | Plan


def load_plan(source: PlanSource) -> Plan:
    """Load and validate a plan from a YAML/JSON path, a dict, or return a :class:`Plan` as is.

    Raises :class:`~ratecard.errors.PlanError` listing every problem, each with its file, line
    and key path.
    """
    if isinstance(source, Plan):
        return source
    if isinstance(source, str) and source.startswith("catalog:"):
        from ratecard.catalog import get_plan

        return get_plan(source.removeprefix("catalog:"))
    document = load_document(source, PlanError, "plan")
    references = [document.problem(loc, msg) for loc, msg in reference_problems(document.data)]
    return validate(Plan, document, PlanError, references, {"references_checked": True})
