"""The reading kernel: a plan's costs of a share of scenarios reduced, in one compiled pass
over them while they are in the processor's cache, to what the simulation keeps of them.

For each scenario: its total over the horizon, its present value, its months above the
budget and the sum of its non-positive months; for the share: its largest month; and each
month counted in the bin of :class:`~ratecard.simulate.stats.StreamingStats` it falls in.
The sums are per scenario, so that they do not depend on how a chunk was cut into shares; the
bin counts are integers, whose sum depends on no order. As NumPy reductions this took about
ten passes over the costs and three times as long as pricing them; here it takes about two
thirds as long (the histogram's scattered increments most of it).

Imported on first use, as the pricing kernel (Numba costs half a second to load).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

__all__ = ["read_costs"]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def read_costs(
    total: Any,
    discount: Any,
    budget: float,
    counts: Any,
    low: int,
    high: int,
    shift: int,
    first: int,
    horizon: Any,
    present: Any,
    above: Any,
    nonpositive: Any,
) -> float:
    """Reduce ``total`` ``(scenarios, months)`` into the rows ``horizon``, ``present`` (the
    months weighted by ``discount``), ``above`` (months above ``budget``) and ``nonpositive``,
    one value per scenario, and, unless ``counts`` is empty, add each month to ``counts``: a
    positive cost in bin ``(min(max(bits, low), high) >> shift) - first`` of its IEEE 754
    bits ``bits``, any other in bin 0. Returns the largest month (``-inf`` for no month).

    The sums over a scenario's months may be reassociated (``fastmath``: partial sums side by
    side, as vector instructions), the same way whatever the thread and the share; the
    histogram is a loop of its own (in the same loop as the sums, its scattered increments
    kept them from vectorising: about twice as slow)."""
    scenarios, months = total.shape
    for s in range(scenarios):
        row = total[s]
        whole, value, over, negative = 0.0, 0.0, 0, 0.0
        for m in range(months):
            cost = row[m]
            whole += cost
            value += cost * discount[m]
            over += cost > budget
            negative += min(cost, 0.0)
        horizon[s] = whole
        present[s] = value
        above[s] = over
        nonpositive[s] = negative
    flat = total.reshape(-1)
    top = -math.inf
    for i in range(flat.shape[0]):
        top = max(top, flat[i])
    if counts.shape[0] > 0:
        bits = flat.view(np.int64)
        for i in range(flat.shape[0]):
            key = bits[i]
            key = low if key < low else high if key > high else key
            counts[(key >> shift) - first if flat[i] > 0.0 else 0] += 1
    return top
