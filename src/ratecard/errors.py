"""Exceptions raised by ratecard.

Every error a user can cause carries one or more :class:`Problem` values, each naming where
the problem is (file, line, key path) and what was expected, so a whole file is reported in
one run instead of stopping at the first mistake::

    RatecardError
    ├── PlanError          a plan file or dict is invalid
    ├── UsageError         a usage summary or event is invalid
    ├── WorkloadError      a workload file or dict is invalid, or cannot be simulated
    └── CurrencyError      money of different currencies was combined
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CurrencyError",
    "PlanError",
    "Problem",
    "RatecardError",
    "UsageError",
    "WorkloadError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, and where it is."""

    message: str
    path: str = ""  # dotted key path, e.g. components[2].price.tiers[0].up_to
    source: str | None = None  # file name, or None for in-memory input
    line: int | None = None

    def __str__(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.path:
            where += f": {self.path}"
        return f"{where}: {self.message}"


class RatecardError(Exception):
    """Base of every error ratecard raises on purpose."""

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PlanError(RatecardError):
    """A plan is invalid: unknown keys, bad prices, dangling references, ..."""


class UsageError(RatecardError):
    """A usage summary or an event is invalid."""


class WorkloadError(RatecardError):
    """A workload is invalid, or a plan uses a feature the simulator cannot price."""


class CurrencyError(RatecardError):
    """Amounts of different currencies were combined, or a currency code is unknown."""
