"""Shared helpers: plans and usage written inline in the plan language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

import ratecard
from ratecard import Invoice


def doc(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def plan_of(components: str, modifiers: str = "", extra: str = "") -> ratecard.Plan:
    """A USD monthly plan from YAML snippets of components (and modifiers)."""
    text = "ratecard: 1\nid: golden\ncurrency: USD\n" + extra + "components:\n" + components
    if modifiers:
        text += "\nmodifiers:\n" + modifiers
    return ratecard.load_plan(doc(text))


def usage_of(body: str = "", period: str = "{start: 2026-10-01, end: 2026-11-01}") -> Any:
    return ratecard.load_usage(doc(f"period: {period}\n{body}"))


def amounts(invoice: Invoice) -> list[tuple[str, str | None, Decimal]]:
    return [(line.kind, line.component, line.amount) for line in invoice.lines]


@pytest.fixture
def d() -> type[Decimal]:
    return Decimal
