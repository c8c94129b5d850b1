"""The workload format (version 1): a stochastic description of how a buyer will use a product.

A workload says how many seats there are and how they grow, how many tasks an active seat
runs in a month, what each task consumes of every plan metric, how often tasks succeed, how
usage spreads over dimensions (model, region, batch mode, off-peak hours) and how often a
month spikes. :func:`ratecard.simulate.sample_usage` turns it into scenarios.

Every quantity distribution is one of ``fixed``, ``lognormal`` (given by its median and 90th
percentile, the two numbers people can estimate), ``poisson`` and ``empirical`` (samples, from
the file or inline).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ratecard.errors import Problem, WorkloadError
from ratecard.plan.types import STRICT
from ratecard.source import load_document, validate

__all__ = [
    "Distribution",
    "Empirical",
    "Fixed",
    "LogNormal",
    "Mix",
    "Outcomes",
    "Poisson",
    "SeatGrowth",
    "Spikes",
    "Workload",
    "load_workload",
]

Share = Annotated[float, Field(ge=0, le=1)]
"""A share between 0 and 1."""

_CLOCK = r"^([01]\d|2[0-3]):([0-5]\d)$"


class Fixed(BaseModel):
    """Always the same value."""

    model_config = STRICT
    dist: Literal["fixed"]
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0


class LogNormal(BaseModel):
    """A lognormal distribution given by its median and 90th percentile (``p90 > median``):
    ``mu = ln(median)``, ``sigma = ln(p90 / median) / 1.2815515655446004``. A median of 120
    and a p90 of 600 give sigma 1.256 and a mean of ``median * exp(sigma**2 / 2)`` = 264."""

    model_config = STRICT
    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    p90: float = Field(gt=0)

    @model_validator(mode="after")
    def _spread(self) -> LogNormal:
        if self.p90 <= self.median:
            raise ValueError(
                f"p90 ({self.p90}) must be above the median ({self.median}); "
                "use dist: fixed for a constant"
            )
        return self

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return math.log(self.p90 / self.median) / Z90

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def variance(self) -> float:
        return (math.exp(self.sigma**2) - 1) * self.mean**2


Z90 = 1.2815515655446004
"""The 90th percentile of the standard normal distribution."""


class Poisson(BaseModel):
    """Counts with the given mean (and variance)."""

    model_config = STRICT
    dist: Literal["poisson"]
    mean: float = Field(ge=0)

    @property
    def variance(self) -> float:
        return self.mean


class Empirical(BaseModel):
    """Resampled from observed values: inline ``samples``, or ``file`` (one number per line, or
    a JSON list), relative to the workload file."""

    model_config = STRICT
    dist: Literal["empirical"]
    samples: list[Annotated[float, Field(ge=0)]] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Empirical:
        if (self.samples is None) == (self.file is None):
            raise ValueError("an empirical distribution needs exactly one of samples or file")
        if self.samples is not None and not self.samples:
            raise ValueError("samples must not be empty")
        return self

    def values(self) -> list[float]:
        if self.samples is None:
            raise WorkloadError(f"empirical samples of {self.file!r} were not loaded")
        return self.samples

    @property
    def mean(self) -> float:
        values = self.values()
        return math.fsum(values) / len(values)

    @property
    def variance(self) -> float:
        values = self.values()
        mean = self.mean
        return math.fsum((v - mean) ** 2 for v in values) / len(values)


Distribution = Annotated[Fixed | LogNormal | Poisson | Empirical, Field(discriminator="dist")]


class SeatGrowth(BaseModel):
    """Seats in month ``m`` (0-based): ``min(max, round(start * (1 + growth_per_month) ** m))``."""

    model_config = STRICT
    start: int = Field(ge=0)
    growth_per_month: float = Field(default=0.0, gt=-1)
    """Compounding monthly growth: "0.02" is 2 % a month."""
    max: int | None = Field(default=None, ge=0)
    """Seats never grow beyond this."""


class Outcomes(BaseModel):
    """Tasks that end in a billable outcome of ``metric``. Successes are binomial in the tasks;
    disputes are binomial in the successes and are credited in the month they occur."""

    model_config = STRICT
    metric: str = Field(min_length=1)
    success_rate: Share
    dispute_rate: Share = 0.0


class Spikes(BaseModel):
    """Months in which every per-seat quantity (and so every task) is multiplied."""

    model_config = STRICT
    monthly_probability: Share
    multiplier: float = Field(default=1.0, ge=0)


class Mix(BaseModel):
    """How usage spreads over dimensions. Each dimension's shares must add up to 1; dimensions
    are independent (``model: {a: 0.7}``, ``region: {eu: 0.2}`` puts 14 % on ``a`` in ``eu``)."""

    model_config = STRICT
    dimensions: dict[str, dict[str, Share]] = Field(default_factory=dict)
    off_peak_share: Share = 0.0
    """Share of usage at ``off_peak_time``; the rest happens at ``peak_time``. Plans' time-of-day
    windows price it as they would price an event at that time (UTC) on the period's first day."""
    off_peak_time: str = Field(default="02:00", pattern=_CLOCK)
    peak_time: str = Field(default="14:00", pattern=_CLOCK)
    batch_share: Share = 0.0
    """Share of usage carrying the dimension ``mode: batch`` (tokens variants)."""

    @field_validator("off_peak_time", "peak_time", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 22:00 as the sexagesimal number 1320.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value

    @field_validator("dimensions")
    @classmethod
    def _shares_add_up(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, shares in value.items():
            total = math.fsum(shares.values())
            if not shares or abs(total - 1) > 1e-9:
                raise ValueError(f"the shares of dimension {name!r} add up to {total}, not 1")
        if "mode" in value:
            raise ValueError("use batch_share for the mode dimension")
        return value


class Workload(BaseModel):
    """A workload, format version 1. Quantities are per month."""

    model_config = STRICT
    workload: Literal[1]
    """Workload format version."""
    name: str | None = None
    description: str | None = None
    start: date | None = None
    """Contract start and first simulated month (default: the first day of the current
    month); anniversaries, commitment terms and credit expiries count from it."""
    horizon_months: int = Field(default=36, ge=1, le=600)
    seats: SeatGrowth | Annotated[int, Field(ge=0)] = Field(default=1)
    """A plain number of seats, or growth from ``start`` up to ``max``."""
    active_share: Share = 1.0
    """Share of seats active in a month: tasks and per-seat usage come from
    ``seats * active_share`` active seats (an expected count, not rounded)."""
    per_active_seat: dict[str, Distribution] = Field(default_factory=dict)
    """Quantities one active seat uses in a month; ``tasks`` is the number of tasks."""
    per_task: dict[str, Distribution] = Field(default_factory=dict)
    """Quantities one task uses, any plan metric (token metrics, minutes, ...)."""
    cache_read_share: Share = 0.0
    """Share of input tokens read from cache (``cache_read_tokens``, a subset of input)."""
    task_metric: str | None = None
    """The plan metric that counts tasks (``agent_actions``, ``api_calls``, ...)."""
    outcomes: Outcomes | None = None
    spikes: Spikes | None = None
    mix: Mix = Field(default_factory=Mix)

    @model_validator(mode="after")
    def _consistent(self) -> Workload:
        problems = []
        if self.per_task and "tasks" not in self.per_active_seat:
            problems.append("per_task needs per_active_seat.tasks (how many tasks there are)")
        if self.task_metric is not None and self.task_metric in self.per_task:
            problems.append(f"task_metric {self.task_metric!r} is also in per_task")
        if "cache_read_tokens" in self.per_task and self.cache_read_share:
            problems.append("give cache_read_tokens in per_task or cache_read_share, not both")
        if self.outcomes is not None and "tasks" not in self.per_active_seat:
            problems.append("outcomes need per_active_seat.tasks")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def seat_growth(self) -> SeatGrowth:
        if isinstance(self.seats, SeatGrowth):
            return self.seats
        return SeatGrowth(start=self.seats)


def _read_samples(path: Path) -> list[float]:
    text = path.read_text(encoding="utf-8")
    stripped = text.strip()
    if stripped.startswith("["):
        data: Any = json.loads(stripped)
        return [float(v) for v in data]
    values = []
    for line in stripped.splitlines():
        cell = line.split(",")[0].strip()
        if cell and not cell.startswith("#"):
            values.append(float(cell))
    return values


def _load_samples(workload: Workload, base: Path | None, source: str | None) -> Workload:
    problems: list[Problem] = []

    def resolve(section: str, table: Mapping[str, Distribution]) -> dict[str, Distribution]:
        result: dict[str, Distribution] = {}
        for metric, dist in table.items():
            if isinstance(dist, Empirical) and dist.file is not None and dist.samples is None:
                path = Path(dist.file)
                if not path.is_absolute() and base is not None:
                    path = base / path
                try:
                    samples = _read_samples(path)
                except (OSError, ValueError) as exc:
                    problems.append(
                        Problem(f"cannot read samples: {exc}", f"{section}.{metric}.file", source)
                    )
                    result[metric] = dist
                    continue
                if not samples or min(samples) < 0:
                    problems.append(
                        Problem(
                            "samples must be non-negative numbers, at least one",
                            f"{section}.{metric}.file",
                            source,
                        )
                    )
                result[metric] = dist.model_copy(update={"samples": samples})
            else:
                result[metric] = dist
        return result

    per_seat = resolve("per_active_seat", workload.per_active_seat)
    per_task = resolve("per_task", workload.per_task)
    if problems:
        raise WorkloadError(problems)
    return workload.model_copy(update={"per_active_seat": per_seat, "per_task": per_task})


WorkloadSource = str | Path | Mapping[str, Any] | Workload


def load_workload(source: WorkloadSource) -> Workload:
    """Load and validate a workload from a YAML/JSON path or a dict (every problem at once,
    with file, line and key path); empirical sample files are read relative to the file."""
    if isinstance(source, Workload):
        return _load_samples(source, None, None)
    document = load_document(source, WorkloadError, "workload")
    workload = validate(Workload, document, WorkloadError)
    base = None if isinstance(source, Mapping) else Path(source).parent
    return _load_samples(workload, base, document.source)
