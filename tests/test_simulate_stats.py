"""Statistical truth: simulated costs against analytic results, within sampling error."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ratecard
from ratecard.simulate import simulate, stats_of
from ratecard.simulate.stats import StreamingStats, discount_factors

ROOT = Path(__file__).resolve().parent.parent

Z95 = 1.6448536269514722
UNIT = ratecard.load_plan(
    {
        "ratecard": 1,
        "id": "per-call",
        "components": [
            {
                "id": "calls",
                "type": "usage",
                "metric": "calls",
                "price": {"model": "unit", "unit_price": "0.01"},
            }
        ],
    }
)


def workload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workload": 1,
        "start": "2026-01-01",
        "horizon_months": 12,
        "seats": 1,
        "per_active_seat": {"tasks": {"dist": "fixed", "value": 1}},
        "per_task": {"calls": {"dist": "lognormal", "median": 100, "p90": 400}},
    }
    base.update(changes)
    return base


def test_lognormal_mean_and_p95_within_sampling_error():
    """One task a month of lognormal(median 100, p90 400) calls at 0.01 each: the monthly cost
    is lognormal with mu = ln 1, sigma = ln 4 / z90."""
    result = simulate([UNIT], workload(), sims=20_000, seed=11)
    costs = result.plans[0].costs
    assert costs is not None
    n = costs.size
    sigma = math.log(4) / 1.2815515655446004
    mean = math.exp(sigma**2 / 2)  # median 1.00
    sd = mean * math.sqrt(math.expm1(sigma**2))
    assert result.plans[0].monthly.mean == pytest.approx(mean, abs=4 * sd / math.sqrt(n))
    p95 = math.exp(Z95 * sigma)
    density = math.exp(-(Z95**2) / 2) / (p95 * sigma * math.sqrt(2 * math.pi))
    se = math.sqrt(0.05 * 0.95 / n) / density
    assert result.plans[0].monthly.p95 == pytest.approx(p95, abs=4 * se)
    # CVaR95 of a lognormal: E[X | X > q95] = mean * Phi(sigma - z95) / 0.05
    cvar = mean * 0.5 * math.erfc(-(sigma - Z95) / math.sqrt(2)) / 0.05
    assert result.plans[0].monthly.cvar95 == pytest.approx(cvar, rel=0.05)


def test_sum_over_tasks_keeps_the_exact_mean_and_variance():
    """100 tasks of the same lognormal: the month's calls have mean 100 m and variance 100 v."""
    data = workload(per_active_seat={"tasks": {"dist": "fixed", "value": 100}})
    result = simulate([UNIT], data, sims=10_000, seed=3)
    assert result.usage is not None
    calls = result.usage.totals["calls"]
    sigma = math.log(4) / 1.2815515655446004
    m = 100 * math.exp(sigma**2 / 2)
    v = math.expm1(sigma**2) * m**2
    n = calls.size
    assert calls.mean() == pytest.approx(100 * m, abs=4 * math.sqrt(100 * v / n))
    assert calls.var() == pytest.approx(100 * v, rel=0.1)


def test_seat_growth_compounds_up_to_the_maximum():
    data = workload(horizon_months=40, seats={"start": 50, "growth_per_month": "0.02", "max": 90})
    result = simulate([UNIT], data, sims=1, seed=0)
    assert result.usage is not None
    seats = result.usage.seats
    expected = np.minimum(np.rint(50 * 1.02 ** np.arange(40)), 90)
    assert seats.tolist() == expected.tolist()
    assert seats[12] == round(50 * 1.02**12) == 63
    assert seats[-1] == 90


def test_spikes_happen_at_their_monthly_probability():
    data = workload(
        per_active_seat={"tasks": {"dist": "fixed", "value": 10}},
        per_task={"calls": {"dist": "fixed", "value": 1}},
        spikes={"monthly_probability": 0.1, "multiplier": 3},
    )
    result = simulate([UNIT], data, sims=10_000, seed=5)
    assert result.usage is not None
    assert result.usage.spikes is not None
    spikes = result.usage.spikes
    share = spikes.mean()
    assert share == pytest.approx(0.1, abs=4 * math.sqrt(0.1 * 0.9 / spikes.size))
    tasks = result.usage.tasks
    assert tasks is not None
    assert set(np.unique(tasks[spikes]).tolist()) == {30.0}
    assert set(np.unique(tasks[~spikes]).tolist()) == {10.0}
    costs = result.plans[0].costs
    assert costs is not None
    assert costs[spikes].tolist() == pytest.approx([0.30] * int(spikes.sum()))


def test_poisson_tasks_and_binomial_outcomes():
    plan = ratecard.load_plan("examples/plans/outcome-support-agent.yaml")
    data = workload(
        seats=20,
        per_active_seat={"tasks": {"dist": "poisson", "mean": 30}},
        per_task={},
        outcomes={"metric": "resolution", "success_rate": 0.6, "dispute_rate": 0.1},
    )
    result = simulate([plan], data, sims=5_000, seed=9)
    assert result.usage is not None
    assert result.usage.tasks is not None
    tasks = result.usage.tasks
    assert tasks.mean() == pytest.approx(600, abs=4 * math.sqrt(600 / tasks.size))
    assert tasks.var() == pytest.approx(600, rel=0.05)
    successes = result.usage.totals["resolution"]
    disputes = result.usage.disputed["resolution"]
    assert successes.sum() / tasks.sum() == pytest.approx(0.6, abs=0.002)
    assert disputes.sum() / successes.sum() == pytest.approx(0.1, abs=0.003)
    costs = result.plans[0].costs
    assert costs is not None
    # 0.99 per resolution, disputes credited, 200.00 floor
    assert costs == pytest.approx(np.maximum(0.99 * (successes - disputes), 200.0))


def test_same_seed_same_result_different_seed_different_result():
    a = simulate([UNIT], workload(), sims=3000, seed=1, chunk=1000)
    b = simulate([UNIT], workload(), sims=3000, seed=1, chunk=1000)
    c = simulate([UNIT], workload(), sims=3000, seed=2, chunk=1000)
    assert a.plans[0].costs is not None
    assert b.plans[0].costs is not None
    assert c.plans[0].costs is not None
    assert np.array_equal(a.plans[0].costs, b.plans[0].costs)
    assert not np.array_equal(a.plans[0].costs, c.plans[0].costs)


@pytest.mark.parametrize("keep", [True, False])
def test_threads_do_not_change_the_result(keep: bool):
    """Chunks are drawn ahead and priced several at once, each on a thread of its own, and
    folded in chunk order: on 1, 2 or 3 threads every figure is the same to the last digit,
    kept costs and streamed statistics alike (5 chunks, the last one short)."""
    plans = sorted((ROOT / "examples/plans").glob("*.yaml"))
    spec = ROOT / "examples/workloads/support-agent.yaml"
    done: list[int] = []
    runs = [
        simulate(
            plans, spec, sims=1100, seed=3, chunk=256, threads=threads, keep=keep, budget=900.0,
            progress=done.append if threads == 2 else None,
        )
        for threads in (1, 2, 3)
    ]  # fmt: skip
    assert done == [256, 512, 768, 1024, 1100]  # (in chunk order)
    one = runs[0]
    for other in runs[1:]:
        for a, b in zip(one.plans, other.plans, strict=True):
            assert (a.monthly, a.horizon) == (b.monthly, b.horizon)
            assert (a.npv, a.tco) == (b.npv, b.tco)
            assert a.budget_exceed_probability == b.budget_exceed_probability
            assert a.budget_exceed_any_month == b.budget_exceed_any_month
            assert np.array_equal(a.horizon_totals, b.horizon_totals)
            if keep:
                assert a.costs is not None
                assert b.costs is not None
                assert np.array_equal(a.costs, b.costs)
                assert a.unserved.keys() == b.unserved.keys()
                for metric, units in a.unserved.items():
                    assert np.array_equal(units, b.unserved[metric])
                for name in ("shortfall", "forfeited", "credits"):
                    mine, theirs = getattr(a, name), getattr(b, name)
                    assert (mine is None) == (theirs is None)
                    assert mine is None or np.array_equal(mine, theirs)
    assert len({p.monthly.mean for p in one.plans}) == len(plans)  # (each plan priced as itself)


def test_streaming_statistics_agree_with_exact_ones():
    kept = simulate([UNIT], workload(), sims=5000, seed=4, keep=True)
    streamed = simulate([UNIT], workload(), sims=5000, seed=4, keep=False)
    assert streamed.plans[0].costs is None
    assert streamed.usage is None
    exact, approx = kept.plans[0].monthly, streamed.plans[0].monthly
    assert approx.mean == pytest.approx(exact.mean, rel=1e-12)
    assert approx.max == exact.max
    for name in ("p50", "p90", "p95", "p99", "cvar95"):
        assert getattr(approx, name) == pytest.approx(getattr(exact, name), rel=2e-3), name
    assert np.array_equal(kept.plans[0].horizon_totals, streamed.plans[0].horizon_totals)


def test_streaming_stats_of_known_values():
    stream = StreamingStats()
    values = np.arange(1, 10_001, dtype=np.float64)
    for part in np.split(values, 10):
        stream.add(part)
    got, want = stream.stats(), stats_of(values)
    assert want.p50 == pytest.approx(5000.5)
    assert want.cvar95 == pytest.approx(9750.5, abs=1)
    for name in ("mean", "p50", "p90", "p95", "p99", "max", "cvar95"):
        assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-3), name


def test_the_compiled_reader_agrees_with_numpy():
    """The reader of costs sums each scenario's months (total, present value, months above the
    budget, non-positive months) and counts every month in the stream's bins: as NumPy does,
    bins and extremes included (zero, negative, below and above the histogram's range)."""
    from ratecard.simulate.reading import read_costs

    rng = np.random.default_rng(11)
    total = rng.lognormal(5, 3, (300, 24)) * rng.choice(
        [1.0, 0.0, -1.0], (300, 24), p=[0.8, 0.1, 0.1]
    )
    total[0, :3] = [1e-9, 1e20, StreamingStats.HIGH]
    discount = discount_factors(24, 0.08)
    stream = StreamingStats()
    counts = stream.new_counts()
    out = [np.empty(300), np.empty(300), np.empty(300, np.int64), np.empty(300)]
    top = read_costs(total, discount, 500.0, counts, *stream.bin_keys, *out)
    horizon, present, above, nonpositive = out
    assert top == total.max()
    np.testing.assert_allclose(horizon, total.sum(axis=1), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(present, total @ discount, rtol=1e-12, atol=1e-9)
    assert np.array_equal(above, (total > 500.0).sum(axis=1))
    np.testing.assert_allclose(nonpositive, np.minimum(total, 0).sum(axis=1), rtol=1e-12)
    assert np.array_equal(counts, stream.histogram(total))
    assert counts[0] == (total <= 0).sum() > 0
    empty = np.zeros(0, np.int64)  # (kept costs: no histogram)
    assert read_costs(total, discount, 500.0, empty, *stream.bin_keys, *out) == top


def test_streamed_tail_of_a_constant_cost_is_the_cost():
    """Every month costs 500.00: a histogram bin's centre lies above it, but the streamed CVaR
    (like the percentiles) cannot exceed the largest month."""
    stream = StreamingStats()
    stream.add(np.full(10_000, 500.0))
    got = stream.stats()
    assert (got.mean, got.p50, got.p95, got.p99, got.max, got.cvar95) == (500.0,) * 6


def test_tco_npv_and_budget():
    flat = ratecard.load_plan(
        {"ratecard": 1, "id": "flat", "components": [{"id": "f", "type": "flat", "amount": "100"}]}
    )
    result = simulate([flat, UNIT], workload(), sims=2000, seed=0, discount_rate=0.08, budget=2.0)
    fixed, metered = result.plans
    assert fixed.tco == pytest.approx(1200.0)
    assert fixed.npv == pytest.approx(100 * sum(1.08 ** (-(m + 1) / 12) for m in range(12)))
    assert fixed.npv == pytest.approx(100 * discount_factors(12, 0.08).sum())
    assert fixed.budget_exceed_probability == 1.0
    assert metered.costs is not None
    assert metered.budget_exceed_probability == pytest.approx(float((metered.costs > 2.0).mean()))
    assert metered.budget_exceed_any_month == pytest.approx(
        float((metered.costs > 2.0).any(axis=1).mean())
    )
    assert metered.horizon.mean == pytest.approx(metered.tco)
    data = fixed.to_dict()
    assert data["tco"] == "1200.00"
    assert data["monthly"]["p99"] == "100.00"


def test_context_tiers_follow_the_distribution_of_request_sizes():
    """Input tokens per request lognormal(median 100k, p90 400k), context tier above 200k:
    the share of input tokens in requests above 200k is 1 - Phi((ln 200k - mu - s^2) / s),
    the share of requests (and so of their fixed output) 1 - Phi((ln 200k - mu) / s)."""
    plan = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "tokens",
            "components": [
                {
                    "id": "llm",
                    "type": "tokens",
                    "per": 1000000,
                    "prices": {"input": "1", "output": "10"},
                    "context_tiers": [
                        {"input_tokens_over": 200000, "prices": {"input": "3", "output": "20"}}
                    ],
                }
            ],
        }
    )
    data = workload(
        per_active_seat={"tasks": {"dist": "fixed", "value": 1000}},
        per_task={
            "input_tokens": {"dist": "lognormal", "median": 100000, "p90": 400000},
            "output_tokens": {"dist": "fixed", "value": 1000},
        },
    )
    result = simulate([plan], data, sims=4000, seed=2)
    sigma = math.log(4) / 1.2815515655446004
    mu = math.log(100000)
    z = (math.log(200000) - mu) / sigma

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    tokens_over, requests_over = 1 - phi(z - sigma), 1 - phi(z)
    mean_input = 1000 * 100000 * math.exp(sigma**2 / 2)
    expected = (
        mean_input * ((1 - tokens_over) * 1 + tokens_over * 3)
        + 1000 * 1000 * ((1 - requests_over) * 10 + requests_over * 20)
    ) / 1e6
    costs = result.plans[0].costs
    assert costs is not None
    sd = float(costs.std())
    assert float(costs.mean()) == pytest.approx(expected, abs=4 * sd / math.sqrt(costs.size))
    # Without the tier the same tokens would cost visibly less.
    assert expected > (mean_input * 1 + 1000 * 1000 * 10) / 1e6 * 1.3


def test_per_user_allowance_matches_users_drawn_one_by_one():
    """50 users, each lognormal(median 200, p90 600) premium requests, 300 included per user
    (pooled: false): the simulator's overage is within 3 % of drawing every user."""
    plan = ratecard.load_plan("examples/plans/seat-coding-assistant.yaml")
    data = workload(
        seats=50,
        per_active_seat={"premium_requests": {"dist": "lognormal", "median": 200, "p90": 600}},
        per_task={},
    )
    result = simulate([plan], data, sims=2000, seed=8)
    costs = result.plans[0].costs
    assert costs is not None
    overage = float(costs.mean()) - 50 * 19.0
    sigma = math.log(3) / 1.2815515655446004
    rng = np.random.default_rng(0)
    users = rng.lognormal(math.log(200), sigma, size=(20000, 50))
    brute = float(np.maximum(users - 300, 0).sum(axis=1).mean()) * 0.04
    assert overage == pytest.approx(brute, rel=0.03)
    # Pooled, the allowance of light users would cover heavy ones: much less overage.
    pooled = float(np.maximum(users.sum(axis=1) - 300 * 50, 0).mean()) * 0.04
    assert pooled < 0.5 * brute
