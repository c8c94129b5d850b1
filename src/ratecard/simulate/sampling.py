"""Drawing scenarios of a workload: vectorized NumPy, reproducible by seed.

In scenario ``s`` and month ``m``:

- seats are ``min(max, round(start * (1 + growth) ** m))``; active seats ``seats *
  active_share`` (an expected count);
- a spike happens with ``spikes.monthly_probability``; it multiplies every per-seat quantity;
- tasks are the sum of the active seats' draws of ``per_active_seat.tasks`` times the spike
  multiplier, rounded to a whole number; other per-seat metrics likewise (not rounded);
- each ``per_task`` metric is the sum of one draw per task;
- ``cache_read_tokens`` is ``cache_read_share`` of ``input_tokens``;
- successes are binomial in the tasks, disputes binomial in the successes (normal
  approximation when the variance ``n p (1 - p)`` is 25 or more).

A sum of ``n`` draws is exact for ``fixed`` (``n * value``) and ``poisson`` (Poisson with mean
``n * mean``); for ``lognormal`` and ``empirical`` it is the lognormal with the sum's exact
mean and variance (Fenton-Wilkinson), exact in distribution for ``n = 1`` lognormal; a single
empirical draw is resampled. Means are therefore exact for every distribution.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import NDArray

from ratecard.simulate.usage import Block, Group, Layout, RequestSize
from ratecard.simulate.workload import Distribution, Empirical, Fixed, LogNormal, Poisson, Workload

__all__ = ["aggregate", "layout_of", "sample_block", "seat_path"]

FloatArray = NDArray[np.float64]


def seat_path(workload: Workload) -> FloatArray:
    """Seats in each month of the horizon."""
    growth = workload.seat_growth
    months = np.arange(workload.horizon_months, dtype=np.float64)
    seats = np.rint(growth.start * (1.0 + growth.growth_per_month) ** months)
    if growth.max is not None:
        seats = np.minimum(seats, float(growth.max))
    result: FloatArray = seats.astype(np.float64)
    return result


def _minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _groups(workload: Workload) -> dict[Group, float]:
    mix = workload.mix
    axes: list[list[tuple[tuple[str, str] | None, float]]] = [
        [((name, value), share) for value, share in table.items() if share > 0]
        for name, table in sorted(mix.dimensions.items())
    ]
    if mix.batch_share > 0:
        modes: list[tuple[tuple[str, str] | None, float]] = [(("mode", "batch"), mix.batch_share)]
        if mix.batch_share < 1:
            modes.append((None, 1 - mix.batch_share))
        axes.append(modes)
    times: list[tuple[int | None, float]] = [(None, 1.0)]
    if mix.off_peak_share > 0:
        times = [(_minute(mix.off_peak_time), mix.off_peak_share)]
        if mix.off_peak_share < 1:
            times.append((_minute(mix.peak_time), 1 - mix.off_peak_share))
    groups: dict[Group, float] = {}
    for combo in itertools.product(*axes):
        dims = tuple(sorted(item for item, _ in combo if item is not None))
        share = math.prod(s for _, s in combo)
        for at, time_share in times:
            key = Group(dims, at)
            groups[key] = groups.get(key, 0.0) + share * time_share
    return groups


def _sigma(dist: Distribution) -> float:
    """Lognormal sigma with the distribution's coefficient of variation."""
    mean = dist.mean
    if mean <= 0:
        return 0.0
    return math.sqrt(math.log1p(dist.variance / mean**2))


def layout_of(workload: Workload) -> Layout:
    """The constants of a workload's usage (see :class:`Layout`)."""
    groups = _groups(workload)
    metrics = set(workload.per_active_seat) - {"tasks"} | set(workload.per_task)
    if workload.task_metric:
        metrics.add(workload.task_metric)
    if workload.cache_read_share and "input_tokens" in workload.per_task:
        metrics.add("cache_read_tokens")
    if workload.outcomes is not None:
        metrics.add(workload.outcomes.metric)
    per_user: dict[str, float] = {}
    for metric, dist in workload.per_active_seat.items():
        per_user["task" if metric == "tasks" else metric] = _sigma(dist)
    tasks = workload.per_active_seat.get("tasks")
    if tasks is not None:
        tasks_sigma = per_user.pop("task")
        if workload.task_metric:
            per_user[workload.task_metric] = tasks_sigma
        for metric, dist in workload.per_task.items():
            # A month of one user: a sum over their tasks of the per-task draws.
            cv2 = math.expm1(tasks_sigma**2) + (
                dist.variance / dist.mean**2 / tasks.mean if dist.mean and tasks.mean else 0.0
            )
            per_user[metric] = math.sqrt(math.log1p(cv2))
        if "cache_read_tokens" in metrics and "input_tokens" in per_user:
            per_user.setdefault("cache_read_tokens", per_user["input_tokens"])
    size = workload.per_task.get("input_tokens")
    return Layout(
        dict.fromkeys(sorted(metrics), groups),
        per_user,
        RequestSize.of(size) if size is not None else None,
    )


def aggregate(dist: Distribution, n: FloatArray, rng: np.random.Generator) -> FloatArray:
    """The sum of ``n`` independent draws of ``dist`` (element-wise; ``n`` may be fractional)."""
    if isinstance(dist, Fixed):
        return n * dist.value
    if isinstance(dist, Poisson):
        drawn: FloatArray = rng.poisson(n * dist.mean).astype(np.float64)
        return drawn
    mean, variance = dist.mean, dist.variance
    if mean <= 0:
        return np.zeros_like(n)
    positive = n > 0
    safe = np.where(positive, n, 1.0)
    sigma2 = np.log1p(variance / mean**2 / safe)
    mu = np.log(safe * mean) - sigma2 / 2
    result: FloatArray = np.exp(mu + np.sqrt(sigma2) * rng.standard_normal(n.shape))
    if isinstance(dist, LogNormal):
        return np.where(positive, result, 0.0)
    assert isinstance(dist, Empirical)
    values = np.asarray(dist.values(), dtype=np.float64)
    single = values[rng.integers(0, len(values), size=n.shape)]
    return np.where(positive, np.where(n == 1, single, result), 0.0)


NORMAL_BINOMIAL = 25.0
"""Binomial draws whose variance ``n p (1 - p)`` is at least this use the normal
approximation (rounded and clipped to ``[0, n]``): the exact sampler is ten times slower."""


def _binomial(n: FloatArray, p: float, rng: np.random.Generator) -> FloatArray:
    if p <= 0:
        return np.zeros_like(n)
    if p >= 1:
        return n.copy()
    variance = n * (p * (1 - p))
    small = variance < NORMAL_BINOMIAL
    # (drawn for the small counts only: a draw of zero trials takes no random number, so the
    # others would draw the same values, but the sampler's pass over them costs about 2 ms
    # a chunk)
    exact = np.zeros(n.shape)
    exact[small] = rng.binomial(n[small].astype(np.int64), p)
    if small.all():
        return exact
    approx = np.clip(np.rint(n * p + np.sqrt(variance) * rng.standard_normal(n.shape)), 0.0, n)
    result: FloatArray = np.where(small, exact, approx)
    return result


def sample_block(workload: Workload, scenarios: int, rng: np.random.Generator) -> Block:
    """Draw ``scenarios`` scenarios over the whole horizon."""
    months = workload.horizon_months
    shape = (scenarios, months)
    seats = np.broadcast_to(seat_path(workload), shape).copy()
    active = seats * workload.active_share
    multiplier = np.ones(shape)
    spikes = None
    if workload.spikes is not None and workload.spikes.monthly_probability > 0:
        spikes = rng.random(shape) < workload.spikes.monthly_probability
        multiplier = np.where(spikes, workload.spikes.multiplier, 1.0)
    totals: dict[str, FloatArray] = {}
    disputed: dict[str, FloatArray] = {}
    tasks = None
    for metric, dist in workload.per_active_seat.items():
        drawn = aggregate(dist, active, rng) * multiplier
        if metric == "tasks":
            tasks = np.rint(drawn)
            if workload.task_metric:
                totals[workload.task_metric] = tasks
        else:
            totals[metric] = drawn
    if tasks is not None:
        for metric, dist in workload.per_task.items():
            totals[metric] = aggregate(dist, tasks, rng)
        if workload.cache_read_share and "input_tokens" in totals:
            totals["cache_read_tokens"] = totals["input_tokens"] * workload.cache_read_share
        outcomes = workload.outcomes
        if outcomes is not None:
            successes = _binomial(tasks, outcomes.success_rate, rng)
            totals[outcomes.metric] = successes
            disputed[outcomes.metric] = _binomial(successes, outcomes.dispute_rate, rng)
    return Block(seats, active, totals, disputed, tasks, spikes)
