"""Loading usage summaries from files or dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratecard.errors import UsageError
from ratecard.source import load_document, validate
from ratecard.usage.model import UsageSummary

__all__ = ["load_usage"]

UsageSource = str | Path | Mapping[str, Any] | UsageSummary


def load_usage(source: UsageSource) -> UsageSummary:
    """Load and validate a usage summary (DESIGN.md section 2) from a path or a dict."""
    if isinstance(source, UsageSummary):
        return source
    document = load_document(source, UsageError, "usage")
    return validate(UsageSummary, document, UsageError)
