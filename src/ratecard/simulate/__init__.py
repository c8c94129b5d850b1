"""Workloads, Monte Carlo scenarios and total cost of ownership over a horizon.

>>> from ratecard.simulate import simulate
>>> result = simulate(
...     ["examples/plans/outcome-support-agent.yaml"],
...     "examples/workloads/support-agent.yaml",
...     sims=10_000,
...     seed=7,
... )
>>> result.plans[0].costs.shape  # (scenarios, months)
(10000, 36)

The simulator prices with floats; every amount is within 1e-9 relative of the exact Decimal
evaluator on the same usage (before rounding to the minor unit), see
:mod:`ratecard.simulate.pricing`. What it cannot price yet is listed in :data:`UNSUPPORTED`.
"""

from ratecard.simulate.compile import CompiledPlan, compile_plan
from ratecard.simulate.crosscheck import block_of, summary_of
from ratecard.simulate.engine import PlanResult, SampledUsage, SimulationResult, simulate
from ratecard.simulate.fit import fit_workload
from ratecard.simulate.pricing import PlanCost, calendar_of, price_block
from ratecard.simulate.sampling import layout_of, sample_block
from ratecard.simulate.stats import Stats, stats_of
from ratecard.simulate.usage import Block, Group, Layout
from ratecard.simulate.workload import Workload, load_workload

__all__ = [
    "UNSUPPORTED",
    "Block",
    "CompiledPlan",
    "Group",
    "Layout",
    "PlanCost",
    "PlanResult",
    "SampledUsage",
    "SimulationResult",
    "Stats",
    "Workload",
    "block_of",
    "calendar_of",
    "compile_plan",
    "fit_workload",
    "layout_of",
    "load_workload",
    "price_block",
    "sample_block",
    "simulate",
    "stats_of",
    "summary_of",
]

UNSUPPORTED: tuple[str, ...] = (
    "percentage and graduated_percentage prices (they need each event's value)",
    "billing_period: year",
    "per-user (pooled: false) allowances and fair use are priced from the spread of one "
    "user's usage (lognormal), not from individual users",
    "context tiers are priced from the distribution of input tokens per task (one task is "
    "one request)",
    "time-of-day windows are evaluated on the first simulated month (daylight saving time "
    "shifts of later months are ignored)",
    "rounding: amounts are exact; invoices round each line to the minor unit",
    "disputed outcomes of a component with a filter are credited in the share of confirmed "
    "outcomes that pass the filter (sampled disputes carry no dimensions)",
)
"""Plan features the simulator cannot price, or prices approximately."""
