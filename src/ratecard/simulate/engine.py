"""Monte Carlo simulation of plans under a workload, chunked so that memory stays bounded.

>>> result = simulate(
...     ["examples/plans/outcome-support-agent.yaml"],
...     "examples/workloads/support-agent.yaml",
...     sims=1000,
...     seed=7,
... )
>>> result.plans[0].monthly.p95 > result.plans[0].monthly.p50
True
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ratecard.plan import Plan, load_plan
from ratecard.simulate.compile import CompiledPlan, compile_plan
from ratecard.simulate.pricing import (
    Calendar,
    PlanCost,
    calendar_of,
    price_block,
)
from ratecard.simulate.sampling import layout_of, sample_block, seat_path
from ratecard.simulate.stats import Stats, StreamingStats, discount_factors, stats_of
from ratecard.simulate.usage import Block, Layout
from ratecard.simulate.workload import Workload, WorkloadSource, load_workload

__all__ = [
    "DEFAULT_CHUNK",
    "PlanResult",
    "Priced",
    "SampledUsage",
    "SimulationResult",
    "price_chunk",
    "simulate",
    "tune_allocator",
]

FloatArray = NDArray[np.float64]
DEFAULT_CHUNK = 4096
"""Scenarios drawn per chunk. Results depend on the seed and the chunk size, nothing else."""

PlanLike = str | Path | Mapping[str, Any] | Plan


@dataclass
class SampledUsage:
    """The sampled usage of every scenario (kept when ``keep=True``): arrays ``(sims, months)``
    except ``seats`` ``(months,)``."""

    seats: FloatArray
    tasks: FloatArray | None
    totals: dict[str, FloatArray]
    disputed: dict[str, FloatArray]
    spikes: NDArray[np.bool_] | None


@dataclass
class PlanResult:
    """One plan's simulated costs. ``costs[s, m]`` is scenario ``s``'s cost in month ``m``
    (exact amounts in float64, see :mod:`ratecard.simulate.pricing` for the tolerance)."""

    plan: Plan
    monthly: Stats
    """Distribution of one month's cost over all scenario-months."""
    horizon: Stats
    """Distribution of each scenario's total over the horizon."""
    tco: float
    """Mean total over the horizon, undiscounted."""
    npv: float
    """Mean present value of the horizon's costs at the discount rate (end-of-month payments)."""
    horizon_totals: FloatArray
    """Each scenario's total over the horizon, ``(sims,)``."""
    budget_exceed_probability: float | None = None
    """Share of scenario-months whose cost is above the monthly budget."""
    budget_exceed_any_month: float | None = None
    """Share of scenarios with at least one month above the monthly budget."""
    costs: FloatArray | None = None
    unserved: dict[str, FloatArray] = field(default_factory=dict)
    """Units above fair-use limits per metric, ``(sims, months)`` (not served, not billed)."""
    shortfall: FloatArray | None = None
    """Postpaid commitment shortfall billed at each term end, ``(sims, months)``."""
    forfeited: FloatArray | None = None
    """Prepaid commitment balance forfeited at each term end, ``(sims, months)``."""
    credits: FloatArray | None = None

    @property
    def id(self) -> str:
        return self.plan.id

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings rounded to the currency's minor unit,
        probabilities as numbers (null without a budget)."""
        currency = self.plan.currency

        def prob(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "plan": self.plan.id,
            "currency": currency,
            "monthly": self.monthly.to_dict(currency),
            "horizon": self.horizon.to_dict(currency),
            "tco": self.horizon.to_dict(currency)["mean"],
            "npv": Stats(self.npv, 0, 0, 0, 0, 0, 0).to_dict(currency)["mean"],
            "budget_exceed_probability": prob(self.budget_exceed_probability),
            "budget_exceed_any_month": prob(self.budget_exceed_any_month),
        }


@dataclass
class SimulationResult:
    workload: Workload
    start: date
    sims: int
    seed: int
    plans: list[PlanResult]
    usage: SampledUsage | None = None
    discount_rate: float = 0.0
    budget: float | None = None

    @property
    def months(self) -> int:
        return self.workload.horizon_months

    def plan(self, plan_id: str) -> PlanResult:
        for result in self.plans:
            if result.plan.id == plan_id:
                return result
        raise KeyError(plan_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sims": self.sims,
            "seed": self.seed,
            "months": self.months,
            "start": self.start.isoformat(),
            "discount_rate": self.discount_rate,
            "plans": [p.to_dict() for p in self.plans],
        }


@dataclass
class _Accumulator:
    compiled: CompiledPlan
    calendar: Calendar
    keep: bool
    costs: list[FloatArray] = field(default_factory=list)
    horizon: list[FloatArray] = field(default_factory=list)
    npv: float = 0.0
    over: int = 0
    over_any: int = 0
    stream: StreamingStats = field(default_factory=StreamingStats)
    counts: dict[int, NDArray[np.int64]] = field(default_factory=dict)
    """The stream's bin counts, one array per pricing thread (by its identity), summed at the
    end (integers: the sum does not depend on which thread counted what)."""
    extras: dict[str, list[FloatArray]] = field(default_factory=dict)


class Priced(Protocol):
    """A plan as :func:`price_chunk` prices it, chunk after chunk."""

    compiled: CompiledPlan
    calendar: Calendar


Reader = Callable[[int, PlanCost], None]
"""Called as ``read(plan, cost)`` with the cost of a chunk under ``plans[plan]``."""


def price_chunk(
    plans: Sequence[Priced], block: Block, read: Reader, *, details: bool = True
) -> None:
    """Price ``block`` under every plan (with ``details`` or the totals only:
    :func:`~ratecard.simulate.pricing.price_block`) on the calling thread, handing each cost to
    ``read`` as soon as it is priced, while its arrays are in the processor's cache (they are
    ``read``'s to keep).

    :func:`simulate` runs it on one thread per chunk, several chunks at once. Of the ways to
    share the work between threads it is the fastest measured: on 2 threads and the
    benchmark's 10 plans, about 15 % faster than cutting each chunk's scenarios in a share
    per thread (which doubles the calls, each with a fixed cost, and waits for the slower
    share every chunk), and that was 15-20 % faster than the plans of a chunk side by side."""
    block.indexed()
    for index, plan in enumerate(plans):
        read(index, price_block(plan.compiled, block, plan.calendar, details=details))


def _keep(acc: _Accumulator, name: str, values: FloatArray | None) -> None:
    if values is not None:
        acc.extras.setdefault(name, []).append(values)


_ALLOCATOR_TUNED = False
KEEP_HEAP = 256 * 1024 * 1024


def tune_allocator() -> bool:
    """Keep freed memory in the process heap (glibc ``mallopt``: arrays below 256 MiB come
    from the heap, and up to 256 MiB of freed heap is kept), so that the temporary arrays of
    each chunk reuse memory instead of page-faulting fresh pages: pricing runs about four
    times faster. Done once per process, on glibc only; returns whether it was applied."""
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = all(
        mallopt(option, KEEP_HEAP) == 1
        for option in (m_mmap_threshold, m_trim_threshold, m_top_pad)
    )
    _ALLOCATOR_TUNED = ok
    return ok


def first_of_this_month() -> date:
    today = date.today()
    return today.replace(day=1)


def simulate(
    plans: Sequence[PlanLike],
    workload: WorkloadSource,
    sims: int = 10_000,
    seed: int = 0,
    *,
    discount_rate: float = 0.0,
    budget: float | None = None,
    start: date | None = None,
    chunk: int = DEFAULT_CHUNK,
    keep: bool = True,
    progress: Callable[[int], None] | None = None,
    fast_allocator: bool = False,
    threads: int | None = None,
) -> SimulationResult:
    """Draw ``sims`` scenarios of ``workload`` (reproducible by ``seed``) and price every month
    of every scenario under each plan.

    ``keep=True`` keeps the cost matrix ``(sims, months)`` of each plan and the sampled usage;
    ``keep=False`` streams monthly statistics through a histogram (percentiles within 0.1 %)
    so that memory stays bounded by one chunk whatever ``sims``. ``progress`` is called with
    the number of scenarios done after each chunk. ``budget`` is a monthly budget.
    ``fast_allocator`` tunes the C allocator of the whole process once (see
    :func:`tune_allocator`); a library should not do that behind its caller's back, so it is
    off by default and the ``ratecard`` command line turns it on. ``threads`` prices that
    many chunks at once, each on a thread of its own (default: one per processor;
    :func:`price_chunk`), and draws that many chunks ahead on as many more; the results do
    not depend on it.
    """
    if fast_allocator:
        tune_allocator()
    loaded = load_workload(workload)
    start = start or loaded.start or first_of_this_month()
    months = loaded.horizon_months
    layout: Layout = layout_of(loaded)
    accumulators = []
    for source in plans:
        plan = load_plan(source)
        accumulators.append(
            _Accumulator(compile_plan(plan, layout, start), calendar_of(plan, start, months), keep)
        )
    discount = discount_factors(months, discount_rate)
    usage_parts: list[Block] = []
    seeds = np.random.SeedSequence(seed)
    workers = max(1, threads or os.cpu_count() or 1)
    sizes = [min(chunk, sims - first) for first in range(0, sims, chunk)]
    over = math.inf if budget is None else budget
    # Each chunk is drawn from a generator of its own, spawned in chunk order, ``workers``
    # chunks ahead on threads of their own (NumPy's generators release the interpreter
    # lock); each is priced on one of ``workers`` threads, several at once; and the chunks are
    # folded into the results in chunk order as they are done.
    rngs = (np.random.default_rng(seeds.spawn(1)[0]) for _ in sizes)
    with ThreadPoolExecutor(workers) as pool, ThreadPoolExecutor(workers) as sampler:
        drawn = deque(
            sampler.submit(sample_block, loaded, size, rng)
            for size, rng in zip(sizes[:workers], rngs, strict=False)
        )
        priced: deque[tuple[int, Future[list[_Chunk]]]] = deque()
        done = 0

        def fold_oldest() -> None:
            nonlocal done
            size, future = priced.popleft()
            for acc, read in zip(accumulators, future.result(), strict=True):
                read.fold(acc, months, budget)
            done += size
            if progress is not None:
                progress(done)

        for index, size in enumerate(sizes):
            block = drawn.popleft().result()
            if index + workers < len(sizes):
                drawn.append(
                    sampler.submit(sample_block, loaded, sizes[index + workers], next(rngs))
                )
            if keep:
                usage_parts.append(block)
            job = pool.submit(_read_chunk, accumulators, block, discount, over, keep)
            priced.append((size, job))
            if len(priced) > workers:
                fold_oldest()
        while priced:
            fold_oldest()
    results = [_plan_result(acc, sims, months, budget) for acc in accumulators]
    usage = _usage(usage_parts, loaded) if keep else None
    return SimulationResult(loaded, start, sims, seed, results, usage, discount_rate, budget)


@cache
def _reader() -> Callable[..., float]:
    """The compiled reader of costs, imported on first use (as the pricing kernel)."""
    from ratecard.simulate.reading import read_costs

    return read_costs


@dataclass
class _Chunk:
    """One plan's costs of one chunk, read on the thread that priced them (while they are in
    cache) into sums per scenario; folded into the plan's accumulator in chunk order, so that
    the results do not depend on which thread priced which chunk."""

    horizon: FloatArray  # each scenario's total over the horizon
    present: FloatArray  # each scenario's costs discounted
    above: NDArray[np.int64]  # each scenario's months above the budget
    nonpositive: FloatArray  # each scenario's sum of non-positive months
    top: float = -math.inf  # the largest month
    kept: PlanCost | None = None  # the costs, when kept

    @classmethod
    def read(cls, acc: _Accumulator, cost: PlanCost, discount: FloatArray, budget: float) -> _Chunk:
        total = cost.total
        size = total.shape[0]
        chunk = cls(np.empty(size), np.empty(size), np.empty(size, np.int64), np.empty(size))
        thread = threading.get_ident()
        if thread not in acc.counts:  # (kept costs are not counted: their statistics are exact)
            acc.counts[thread] = np.zeros(0, np.int64) if acc.keep else acc.stream.new_counts()
        chunk.top = _reader()(
            total,
            discount,
            budget,
            acc.counts[thread],
            *acc.stream.bin_keys,
            chunk.horizon,
            chunk.present,
            chunk.above,
            chunk.nonpositive,
        )
        if acc.keep:  # (the statistics are then worked out from the costs at the end)
            chunk.kept = cost
        return chunk

    def fold(self, acc: _Accumulator, months: int, budget: float | None) -> None:
        """Add the chunk to the plan's accumulator (chunks in order)."""
        acc.horizon.append(self.horizon)
        acc.npv += float(self.present.sum())
        if budget is not None:
            acc.over += int(self.above.sum())
            acc.over_any += int(np.count_nonzero(self.above))
        total, nonpositive = float(self.horizon.sum()), float(self.nonpositive.sum())
        acc.stream.add_summary(self.horizon.size * months, total, self.top, nonpositive)
        cost = self.kept
        if cost is not None:
            acc.costs.append(cost.total)
            for metric, values in cost.unserved.items():
                _keep(acc, "unserved:" + metric, values)
            _keep(acc, "shortfall", cost.shortfall)
            _keep(acc, "forfeited", cost.forfeited)
            _keep(acc, "credits", cost.credits)


def _read_chunk(
    accumulators: list[_Accumulator],
    block: Block,
    discount: FloatArray,
    budget: float,
    keep: bool,
) -> list[_Chunk]:
    """Price ``block`` under every plan and read the costs (on the calling thread)."""
    chunks: list[_Chunk | None] = [None] * len(accumulators)

    def read(plan: int, cost: PlanCost) -> None:
        chunks[plan] = _Chunk.read(accumulators[plan], cost, discount, budget)

    # (streamed statistics read the totals only: the units above fair use, shortfalls and
    # credits used are worked out per tile and kept only with the costs)
    price_chunk(accumulators, block, read, details=keep)
    return [chunk for chunk in chunks if chunk is not None]


def _plan_result(acc: _Accumulator, sims: int, months: int, budget: float | None) -> PlanResult:
    horizon = np.concatenate(acc.horizon) if acc.horizon else np.zeros(0)
    costs = np.concatenate(acc.costs) if acc.keep and acc.costs else None
    if not acc.keep:
        for counts in acc.counts.values():
            acc.stream.add_counts(counts)
        acc.counts.clear()
    monthly = stats_of(costs) if costs is not None else acc.stream.stats()
    extras = {name: np.concatenate(parts) for name, parts in acc.extras.items()}
    return PlanResult(
        acc.compiled.plan,
        monthly,
        stats_of(horizon),
        float(horizon.mean()) if horizon.size else 0.0,
        acc.npv / sims if sims else 0.0,
        horizon,
        None if budget is None else acc.over / max(sims * months, 1),
        None if budget is None else acc.over_any / max(sims, 1),
        costs,
        {name.split(":", 1)[1]: v for name, v in extras.items() if name.startswith("unserved:")},
        extras.get("shortfall"),
        extras.get("forfeited"),
        extras.get("credits"),
    )


def _usage(parts: list[Block], workload: Workload) -> SampledUsage:
    def join(name: str) -> dict[str, FloatArray]:
        tables = [getattr(p, name) for p in parts]
        return {k: np.concatenate([t[k] for t in tables]) for k in (tables[0] if tables else {})}

    tasks = [p.tasks for p in parts if p.tasks is not None]
    spikes = [p.spikes for p in parts if p.spikes is not None]
    return SampledUsage(
        seat_path(workload),
        np.concatenate(tasks) if tasks else None,
        join("totals"),
        join("disputed"),
        np.concatenate(spikes) if spikes else None,
    )
