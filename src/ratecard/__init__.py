"""ratecard: an open-source pricing engine for AI products.

>>> import ratecard
>>> plan = ratecard.load_plan("examples/plans/task-voice-agent.yaml")   # doctest: +SKIP
>>> invoice = ratecard.quote(plan, "examples/usage/voice-2026-10.yaml")  # doctest: +SKIP
>>> from ratecard.simulate import simulate   # Monte Carlo costs per scenario-month
>>> ratecard.compare([plan, "catalog:vapi-pay-as-you-go"],
...                  "examples/workloads/support-agent.yaml")               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ratecard.analyze.advise import advise
from ratecard.analyze.breakeven import breakeven
from ratecard.analyze.commitment import size_commitment
from ratecard.analyze.compare import compare
from ratecard.charges import Invoice, Line, State, evaluate, evaluate_periods
from ratecard.errors import CurrencyError, PlanError, Problem, RatecardError, UsageError
from ratecard.plan import Plan, load_plan
from ratecard.simulate.workload import load_workload
from ratecard.usage.load import load_usage
from ratecard.usage.model import Event, UsageSummary

__all__ = [
    "CurrencyError",
    "Event",
    "Invoice",
    "Line",
    "Plan",
    "PlanError",
    "Problem",
    "RatecardError",
    "State",
    "UsageError",
    "UsageSummary",
    "__version__",
    "advise",
    "breakeven",
    "compare",
    "load_plan",
    "load_usage",
    "load_workload",
    "quote",
    "quote_periods",
    "size_commitment",
]

__version__ = "0.1.0"

PlanLike = str | Path | Mapping[str, Any] | Plan
UsageLike = str | Path | Mapping[str, Any] | UsageSummary


def quote(plan: PlanLike, usage: UsageLike, state: State | None = None) -> Invoice:
    """Price one period of usage under a plan; both may be paths, dicts or loaded models."""
    return evaluate(load_plan(plan), load_usage(usage), state)


def quote_periods(plan: PlanLike, usages: Sequence[UsageLike]) -> list[Invoice]:
    """Price consecutive periods of one contract, carrying commitment and credit balances."""
    return evaluate_periods(load_plan(plan), [load_usage(u) for u in usages])
