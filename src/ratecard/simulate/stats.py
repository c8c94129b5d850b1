"""Cost statistics: mean, percentiles, maximum and CVaR, exact over arrays or streamed through a
fine log-spaced histogram when the scenario-months do not fit in memory."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from ratecard.money import round_money

__all__ = ["Stats", "StreamingStats", "discount_factors", "stats_of"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
QUANTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class Stats:
    """A cost distribution in numbers. ``cvar95`` is the mean of the worst 5 % (the values at
    or above the 95th percentile)."""

    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    cvar95: float

    def to_dict(self, currency: str) -> dict[str, str]:
        """Decimal strings rounded to the currency's minor unit."""
        return {
            name: str(round_money(Decimal(repr(float(getattr(self, name)))), currency))
            for name in ("mean", "p50", "p90", "p95", "p99", "max", "cvar95")
        }


def stats_of(values: FloatArray) -> Stats:
    """Exact statistics of ``values`` (percentiles by linear interpolation, as NumPy's
    default)."""
    flat = np.ravel(values)
    if flat.size == 0:
        return Stats(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    p50, p90, p95, p99 = (float(v) for v in np.quantile(flat, QUANTILES))
    tail = flat[flat >= p95]
    return Stats(float(flat.mean()), p50, p90, p95, p99, float(flat.max()), float(tail.mean()))


class StreamingStats:
    """Statistics of a stream of chunks in bounded memory: exact mean and maximum; percentiles
    and CVaR from a histogram whose bins are 2**-10 of an octave wide (under 0.1 % relative),
    so within 0.1 % of the exact values for positive costs (a bin stands for its centre).
    Non-positive values share one bin, reported at their mean.

    A value's bin is the top bits of its IEEE 754 representation (exponent and the first ten
    mantissa bits): one shift per value, no logarithm."""

    SHIFT = 42  # 52 mantissa bits, keep 10
    LOW = 1e-6
    HIGH = 1e15

    def __init__(self) -> None:
        self._low = int(np.float64(self.LOW).view(np.int64)) >> self.SHIFT
        high = int(np.float64(self.HIGH).view(np.int64)) >> self.SHIFT
        self._bins = high - self._low + 2
        self._counts = np.zeros(self._bins, dtype=np.int64)
        self._nonpositive = 0.0  # the sum of the values in bin 0
        keys = (np.arange(self._bins, dtype=np.int64) - 1 + self._low) << self.SHIFT
        self._centers: FloatArray = (keys | (1 << (self.SHIFT - 1))).view(np.float64)
        self._n = 0
        self._total = 0.0
        self._max = -math.inf
        low = int(np.float64(self.LOW).view(np.int64))
        self.bin_keys = (low, int(np.float64(self.HIGH).view(np.int64)), self.SHIFT, self._low - 1)
        """How a value's bin is found, for a compiled reader: a positive value whose IEEE 754
        bits are ``bits`` falls in bin ``(min(max(bits, low), high) >> shift) - first``, any
        other in bin 0; as ``(low, high, shift, first)``."""

    def add(self, values: FloatArray) -> None:
        flat = np.ravel(values)
        if flat.size == 0:
            return
        self.add_summary(
            flat.size, float(flat.sum()), float(flat.max()), float(np.minimum(flat, 0.0).sum())
        )
        self.add_counts(self.histogram(flat))

    def new_counts(self) -> IntArray:
        """A zero count per bin."""
        return np.zeros(self._bins, dtype=np.int64)

    def histogram(self, values: FloatArray) -> IntArray:
        """The bin counts of ``values``."""
        flat = np.ravel(values)
        clipped = np.clip(flat, self.LOW, self.HIGH)
        index = (clipped.view(np.int64) >> self.SHIFT) - (self._low - 1)
        index *= flat > 0
        counts: IntArray = np.bincount(index, minlength=self._bins)
        return counts

    def add_summary(self, n: int, total: float, top: float, nonpositive: float) -> None:
        """Add ``n`` values given their sum, maximum and the sum of the non-positive ones (the
        caller sums them in an order of its own choosing, so that the result need not depend
        on how a chunk was cut into shares); their bin counts go to :meth:`add_counts`."""
        self._n += n
        self._total += total
        self._max = max(self._max, top)
        self._nonpositive += nonpositive

    def add_counts(self, counts: IntArray) -> None:
        """Add bin counts (:meth:`histogram`, or a compiled reader's: :attr:`bin_keys`)."""
        self._counts += counts

    def _value(self, position: float) -> float:
        """The value at a rank (0-based, fractional) in the sorted stream."""
        cumulative = np.cumsum(self._counts)
        index = int(np.searchsorted(cumulative, position + 1, side="left"))
        index = min(index, self._bins - 1)
        if index == 0:
            return self._nonpositive / int(self._counts[0]) if self._counts[0] else 0.0
        return float(self._centers[index])

    def stats(self) -> Stats:
        if self._n == 0:
            return Stats(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        p50, p90, p95, p99 = (min(self._value(q * (self._n - 1)), self._max) for q in QUANTILES)
        start = math.floor(0.95 * (self._n - 1))
        cumulative = np.cumsum(self._counts)
        first = int(np.searchsorted(cumulative, start + 1, side="left"))
        tail_count = int(self._counts[first:].sum())
        tail_sum = float(self._counts[max(first, 1) :] @ self._centers[max(first, 1) :])
        if first == 0:
            tail_sum += self._nonpositive
        tail = tail_sum / tail_count if tail_count else p95
        # (a bin stands for its centre, which may lie above every value in it: the tail's
        # mean is kept between the 95th percentile and the maximum, as the exact one is)
        cvar = min(max(tail, p95), self._max)
        return Stats(self._total / self._n, p50, p90, p95, p99, self._max, cvar)


def discount_factors(months: int, annual_rate: float) -> FloatArray:
    """Present value of 1 paid at the end of each month: ``(1 + rate) ** -((m + 1) / 12)``."""
    m = np.arange(months, dtype=np.float64)
    result: FloatArray = (1.0 + annual_rate) ** (-(m + 1.0) / 12.0)
    return result
