"""Benchmark of the simulator: scenario-months x plans priced per second, against a bare NumPy
pass over the same arrays in the same run.

    .venv/bin/python benchmarks/simulate.py                       # 1M scenario-months x 10 plans
    .venv/bin/python benchmarks/simulate.py --scenario-months 100_000_000 --end-to-end

Three figures:

- ``pricing``: :func:`ratecard.simulate.price_block` of every plan over pre-sampled chunks,
  as :func:`ratecard.simulate.simulate` prices them when it streams statistics
  (:func:`ratecard.simulate.engine.price_chunk`; the totals only, ``details=False``, as the
  floor writes a cost and nothing else): on one thread (also with the details: units above
  fair use, shortfalls, credits used, as ``simulate(keep=True)`` prices), and on
  ``--threads`` threads, several chunks at once, each on one thread;
- ``floor``: the least work that prices one plan over the same chunks with NumPy: for each plan,
  one multiply-add per array the plan reads (each metric's total and disputed units, seats,
  active seats; ``cost += array * price``), written into preallocated buffers -- what a
  hand-written, plan-specific NumPy evaluator cannot go below -- on one thread, and on
  ``--threads`` threads two ways: each taking a share of every block, and several blocks at
  once, each on one thread (as the pricing); the threaded pricing is compared with the
  fastest of the three;
- ``end-to-end``: :func:`ratecard.simulate.simulate` with ``keep=False`` (sampling, pricing
  and streamed statistics), with the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import ratecard
from ratecard.simulate import compile_plan, layout_of, load_workload, simulate
from ratecard.simulate.engine import price_chunk, tune_allocator
from ratecard.simulate.pricing import calendar_of
from ratecard.simulate.program import SEAT
from ratecard.simulate.sampling import sample_block

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "examples/workloads/support-agent.yaml"


def plans() -> list[ratecard.Plan]:
    """The six example plans and four variants with modifiers (ten plans)."""
    examples = [ratecard.load_plan(p) for p in sorted((ROOT / "examples/plans").glob("*.yaml"))]
    base: dict[str, Any] = {"ratecard": 1, "currency": "USD"}
    actions = {
        "id": "actions",
        "type": "usage",
        "metric": "agent_actions",
        "price": {
            "model": "graduated",
            "tiers": [
                {"up_to": 10000, "unit_price": "0.10"},
                {"up_to": 50000, "unit_price": "0.08"},
                {"up_to": None, "unit_price": "0.05"},
            ],
        },
    }
    seats = {
        "id": "seats",
        "type": "seat",
        "unit_price": "40",
        "included": {"metric": "agent_actions", "quantity": 200},
        "fair_use": {"metric": "agent_actions", "quantity": 3000},
    }
    tokens = {
        "id": "llm",
        "type": "tokens",
        "per": 1000000,
        "filter": {"model": "frontier-1"},
        "prices": {"input": "3", "cache_read": "0.3", "output": "15"},
        "context_tiers": [
            {"input_tokens_over": 200000, "prices": {"input": "6", "output": "22.5"}}
        ],
        "variants": {"batch": {"factor": "0.5"}},
        "multipliers": {"region": {"eu": "1.1"}},
    }
    variants = [
        {
            **base,
            "id": "committed",
            "components": [seats, actions],
            "modifiers": {
                "commitment": {"amount": "300000", "term_months": 12, "discount_percent": "15"},
                "escalation": {"percent_per_year": "7", "protection_cap_percent": "3"},
            },
        },
        {
            **base,
            "id": "prepaid-tokens",
            "components": [tokens],
            "modifiers": {
                "commitment": {
                    "amount": "5000",
                    "term_months": 12,
                    "payment": "prepaid",
                    "discount_percent": "10",
                }
            },
        },
        {
            **base,
            "id": "capped",
            "components": [actions, tokens],
            "modifiers": {
                "minimum": {"amount": "2000"},
                "cap": {"amount": "9000"},
                "discounts": [{"percent": "10", "applies_to": ["actions"]}],
            },
        },
        {
            **base,
            "id": "credits",
            "components": [seats, tokens],
            "modifiers": {"credits": [{"amount": "20000", "expires": "2028-06-30"}]},
        },
    ]
    return examples + [ratecard.load_plan(v) for v in variants]


@dataclass
class Job:
    """A plan as :func:`ratecard.simulate.engine.price_chunk` prices it."""

    compiled: Any
    calendar: Any


def arrays_read(compiled: Any, block: Any) -> list[Any]:
    """The block arrays pricing ``compiled`` reads: each metric's total (and disputed units
    where the block has them), seats for seat components, active seats for per-user limits."""
    program = compiled.program
    arrays = [block.totals[m] for m in program.metrics if m in block.totals]
    arrays += [block.disputed[m] for m in program.metrics if m in block.disputed]
    if (program.part_kind == SEAT).any():
        arrays.append(block.seats)
    if not np.isnan(np.concatenate([program.fair_sigma, program.included_sigma])).all():
        arrays.append(block.active)
    return arrays


def floor_pass(compiled: list[Any], blocks: list[Any]) -> tuple[float, float]:
    """One multiply-add per array each plan reads, into preallocated buffers; the wall time
    and the CPU time of the thread."""
    reads = [[arrays_read(c, block) for c in compiled] for block in blocks]
    cost = np.empty(blocks[0].shape)
    scratch = np.empty(blocks[0].shape)
    started, cpu = time.perf_counter(), time.thread_time()
    for block, plans_arrays in zip(blocks, reads, strict=True):
        if block.shape != cost.shape:
            cost, scratch = np.empty(block.shape), np.empty(block.shape)
        for arrays in plans_arrays:
            cost.fill(0.0)
            for array in arrays:
                np.multiply(array, 0.01, out=scratch)
                np.add(cost, scratch, out=cost)
    return time.perf_counter() - started, time.thread_time() - cpu


def price_pass(
    pool: ThreadPoolExecutor, threads: int, jobs: list[Job], blocks: list[Any], details: bool
) -> tuple[float, float]:
    """Every plan priced over the chunks as :func:`ratecard.simulate.simulate` prices them
    (:func:`ratecard.simulate.engine.price_chunk`: each cost handed over as it is priced, and
    dropped here), the chunks on ``threads`` threads, each chunk on one; the wall time and the
    CPU time of this thread."""

    def drop(plan: int, cost: Any) -> None:
        pass

    def price(block: Any) -> None:
        price_chunk(jobs, block, drop, details=details)

    started, cpu = time.perf_counter(), time.thread_time()
    if threads == 1:
        for block in blocks:
            price(block)
    else:
        for _ in pool.map(price, blocks):
            pass
    return time.perf_counter() - started, time.thread_time() - cpu


def floor_threaded(
    compiled: list[Any], blocks: list[Any], pool: ThreadPoolExecutor, threads: int
) -> float:
    """The floor on the pool's threads, each taking an equal share of every block's months
    (all plans, one after another, over its share; buffers per thread). Of the ways to run the
    floor on several threads this one is the fastest here: each thread's arrays are a share of
    the block's, which stay in cache more (on 2 threads, 1.3-1.6x faster than one thread, where
    the plans side by side, each thread streaming whole arrays, ran slower than one thread)."""
    reads = [[arrays_read(c, block) for c in compiled] for block in blocks]

    def share(plans_arrays: list[Any], lo: int, hi: int, cost: Any, scratch: Any) -> None:
        for arrays in plans_arrays:
            cost.fill(0.0)
            for array in arrays:
                np.multiply(array.reshape(-1)[lo:hi], 0.01, out=scratch)
                np.add(cost, scratch, out=cost)

    def cuts(size: int) -> list[tuple[int, int]]:
        bounds = [size * t // threads for t in range(threads + 1)]
        return list(itertools.pairwise(bounds))

    size = blocks[0].shape[0] * blocks[0].shape[1]
    buffers = [(np.empty(hi - lo), np.empty(hi - lo)) for lo, hi in cuts(size)]
    started = time.perf_counter()
    for block, plans_arrays in zip(blocks, reads, strict=True):
        if block.shape[0] * block.shape[1] != size:
            size = block.shape[0] * block.shape[1]
            buffers = [(np.empty(hi - lo), np.empty(hi - lo)) for lo, hi in cuts(size)]
        jobs = [
            pool.submit(share, plans_arrays, lo, hi, *buffer)
            for (lo, hi), buffer in zip(cuts(size), buffers, strict=True)
        ]
        for job in jobs:
            job.result()
    return time.perf_counter() - started


def floor_chunks(
    compiled: list[Any], blocks: list[Any], pool: ThreadPoolExecutor, threads: int
) -> float:
    """The floor on the pool's threads as :func:`ratecard.simulate.simulate` runs pricing:
    several chunks at once, each on one thread (all plans, one after another; buffers per
    thread, reused)."""
    reads = [[arrays_read(c, block) for c in compiled] for block in blocks]
    local = threading.local()

    def whole(index: int) -> None:
        shape = blocks[index].shape
        if getattr(local, "shape", None) != shape:
            local.shape, local.cost, local.scratch = shape, np.empty(shape), np.empty(shape)
        cost, scratch = local.cost, local.scratch
        for arrays in reads[index]:
            cost.fill(0.0)
            for array in arrays:
                np.multiply(array, 0.01, out=scratch)
                np.add(cost, scratch, out=cost)

    started = time.perf_counter()
    for _ in pool.map(whole, range(len(blocks))):
        pass
    return time.perf_counter() - started


def per_plan(
    pool: ThreadPoolExecutor, chosen: list[Any], pairs: list[Any], blocks: list[Any], repeat: int
) -> None:
    """Each plan priced alone over the chunks, against the floor of that plan alone (1 thread
    each, best of ``repeat``), in nanoseconds of CPU time per scenario-month: where pricing
    spends its time above the floor."""
    print("per plan, 1 thread:")
    months = blocks[0].shape[1]
    count = sum(block.shape[0] for block in blocks) * months
    for plan, (compiled, calendar) in zip(chosen, pairs, strict=True):
        pricing = floor = float("inf")
        for _ in range(repeat):
            job = [Job(compiled, calendar)]
            pricing = min(pricing, price_pass(pool, 1, job, blocks, details=False)[1])
            floor = min(floor, floor_pass([compiled], blocks)[1])
        print(
            f"  {plan.id:34s} {pricing * 1e9 / count:6.2f} ns  floor {floor * 1e9 / count:6.2f} ns"
            f"  {pricing / floor:5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario-months", type=lambda s: int(s.replace("_", "")), default=1_000_000
    )
    parser.add_argument("--plans", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--end-to-end", action="store_true", help="also run simulate()")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plain-allocator", action="store_true", help="skip tune_allocator()")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--per-plan", action="store_true", help="also each plan alone against its own floor"
    )
    args = parser.parse_args()
    if not args.plain_allocator:
        print("allocator tuned:", tune_allocator())
    workload = load_workload(WORKLOAD)
    months = workload.horizon_months
    sims = max(args.scenario_months // months, 1)
    chosen = plans()[: args.plans]
    layout = layout_of(workload)
    start = workload.start
    assert start is not None
    compiled = [compile_plan(p, layout, start) for p in chosen]
    calendars = [calendar_of(p, start, months) for p in chosen]
    n = sims * months * len(chosen)
    print(
        f"{sims:,} scenarios x {months} months = {sims * months:,} scenario-months; "
        f"{len(chosen)} plans; chunk {args.chunk} scenarios"
    )
    if not args.end_to_end or args.scenario_months <= 5_000_000:
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        blocks = []
        done = 0
        while done < sims:
            size = min(args.chunk, sims - done)
            blocks.append(sample_block(workload, size, rng))
            done += size
        sampling = time.perf_counter() - started
        pairs = list(zip(compiled, calendars, strict=True))
        jobs = [Job(c, cal) for c, cal in pairs]
        best = dict.fromkeys(("pricing", "detailed", "floor"), (float("inf"), float("inf")))
        threaded = floor_2 = floor_3 = float("inf")

        def keep_best(name: str, times: tuple[float, float]) -> None:
            best[name] = min(best[name][0], times[0]), min(best[name][1], times[1])

        with ThreadPoolExecutor(args.threads) as pool:
            for _ in range(args.repeat):
                keep_best("pricing", price_pass(pool, 1, jobs, blocks, details=False))
                keep_best("detailed", price_pass(pool, 1, jobs, blocks, details=True))
                times = price_pass(pool, args.threads, jobs, blocks, details=False)
                threaded = min(threaded, times[0])
                keep_best("floor", floor_pass(compiled, blocks))
                floor_2 = min(floor_2, floor_threaded(compiled, blocks, pool, args.threads))
                floor_3 = min(floor_3, floor_chunks(compiled, blocks, pool, args.threads))
        (pricing, pricing_cpu), (detailed, _), (floor, floor_cpu) = best.values()
        print(f"sampling:  {sampling:8.3f} s  {sims * months / sampling:14,.0f} scenario-months/s")
        print(f"pricing:   {pricing:8.3f} s  {n / pricing:14,.0f} scenario-month-plans/s, 1 thread")
        print(
            f"pricing:   {detailed:8.3f} s  {n / detailed:14,.0f} scenario-month-plans/s, "
            f"1 thread, with the details ({detailed / pricing:.2f}x; as simulate(keep=True) prices)"
        )
        print(
            f"pricing:   {threaded:8.3f} s  {n / threaded:14,.0f} scenario-month-plans/s "
            f"{args.threads} threads (a chunk per thread)"
        )
        print(f"floor:     {floor:8.3f} s  {n / floor:14,.0f} scenario-month-plans/s, 1 thread")
        print(
            f"floor:     {floor_2:8.3f} s  {n / floor_2:14,.0f} scenario-month-plans/s, "
            f"{args.threads} threads (each a share of every block)"
        )
        print(
            f"floor:     {floor_3:8.3f} s  {n / floor_3:14,.0f} scenario-month-plans/s, "
            f"{args.threads} threads (a chunk per thread)"
        )
        print(
            f"ratio:     {pricing / floor:8.2f} x the floor (1 thread each; "
            f"{pricing_cpu / floor_cpu:.2f}x in CPU time)"
        )
        print(
            f"ratio:     {threaded / min(floor, floor_2, floor_3):8.2f} x the fastest floor "
            f"(pricing on {args.threads} threads, as simulate() runs)"
        )
        if args.per_plan:
            with ThreadPoolExecutor(1) as pool:
                per_plan(pool, chosen, pairs, blocks, args.repeat)
        del blocks
    if args.end_to_end:
        started = time.perf_counter()
        simulate(
            chosen,
            workload,
            sims,
            seed=7,
            keep=False,
            chunk=args.chunk,
            fast_allocator=not args.plain_allocator,
            threads=args.threads,
        )
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            f"end-to-end: {elapsed:8.3f} s  {n / elapsed:14,.0f} scenario-month-plans/s, "
            f"peak RSS {peak:.2f} GiB"
        )


if __name__ == "__main__":
    main()
