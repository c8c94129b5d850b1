"""Shipped plans of real vendors (placeholder until the catalog issue lands)."""

from __future__ import annotations

from ratecard.errors import PlanError
from ratecard.plan.model import Plan

__all__ = ["get_plan"]


def get_plan(catalog_id: str) -> Plan:
    """The catalog plan ``catalog_id``; raises PlanError when there is none."""
    raise PlanError(f"no catalog plan {catalog_id!r}: the catalog is empty")
