"""Sampled usage: what the pricing kernel reads.

A :class:`Block` holds, for a chunk of scenarios over every month of the horizon, arrays of
shape ``(scenarios, months)``: seats, active seats and the total of each metric. How a metric's
total spreads over dimension groups is a constant of the workload, kept in the :class:`Layout`
(``metric -> group -> share``), so that a plan compiles to a few constants per component
whatever the number of dimension values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ratecard.simulate.stats_math import norm_cdf
from ratecard.simulate.workload import Distribution, Empirical, Fixed, LogNormal, Poisson

__all__ = ["ARRAYS", "Block", "Group", "Layout", "RequestSize"]

FloatArray = NDArray[np.float64]

ARRAYS = 16
"""The pricing kernel reads a block's arrays as a tuple of a multiple of this many (seats,
active seats, then up to 14 metric totals and disputed units in one signature)."""


@dataclass(frozen=True, slots=True)
class Group:
    """One dimension group: the dimension values the usage carries and, for usage placed in
    time, the UTC minute of the day it happens at (None: aggregated usage without a time, as
    a usage summary's ``usage`` lines)."""

    dims: tuple[tuple[str, str], ...] = ()
    at: int | None = None

    @property
    def dimensions(self) -> dict[str, str]:
        return dict(self.dims)

    def sort_key(self) -> tuple[tuple[tuple[str, str], ...], int]:
        return (self.dims, -1 if self.at is None else self.at)


@dataclass(frozen=True, slots=True)
class RequestSize:
    """The distribution of input tokens per request (one task is one request), for context
    tiers: the share of input tokens, and of requests, above a threshold."""

    kind: str  # fixed | lognormal | samples
    value: float = 0.0
    mu: float = 0.0
    sigma: float = 0.0
    samples: tuple[float, ...] = ()

    @classmethod
    def of(cls, dist: Distribution) -> RequestSize:
        if isinstance(dist, Fixed):
            return cls("fixed", value=dist.value)
        if isinstance(dist, LogNormal):
            return cls("lognormal", mu=dist.mu, sigma=dist.sigma)
        if isinstance(dist, Empirical):
            return cls("samples", samples=tuple(sorted(dist.values())))
        assert isinstance(dist, Poisson)
        if dist.mean <= 0:
            return cls("fixed", value=0.0)
        sigma2 = math.log1p(1 / dist.mean)  # moment-matched lognormal
        return cls("lognormal", mu=math.log(dist.mean) - sigma2 / 2, sigma=math.sqrt(sigma2))

    def above(self, threshold: float) -> tuple[float, float]:
        """(share of input tokens, share of requests) in requests with input > threshold."""
        if self.kind == "fixed":
            share = 1.0 if self.value > threshold else 0.0
            return share, share
        if self.kind == "samples":
            values = self.samples
            total = math.fsum(values)
            over = [v for v in values if v > threshold]
            tokens = math.fsum(over) / total if total else 0.0
            return tokens, len(over) / len(values)
        if threshold <= 0:
            return 1.0, 1.0
        z = (math.log(threshold) - self.mu) / self.sigma
        return 1 - norm_cdf(z - self.sigma), 1 - norm_cdf(z)


@dataclass(frozen=True)
class Layout:
    """The constants of a workload's usage: how each metric spreads over groups, the spread of
    one user's monthly quantity of a metric (lognormal sigma, for per-user allowances and
    fair use) and the size of requests (for context tiers)."""

    shares: Mapping[str, Mapping[Group, float]]
    per_user_sigma: Mapping[str, float] = field(default_factory=dict)
    request_size: RequestSize | None = None
    input_like: frozenset[str] = frozenset({"input_tokens", "cache_read_tokens"})
    """Metrics that scale with a request's input tokens (they follow its context tier)."""

    def groups(self, metric: str) -> Mapping[Group, float]:
        return self.shares.get(metric, {})


def _flat(array: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """``array`` as a C-contiguous float64 array of ``shape``: itself where it is one (the
    usual case: ``broadcast_to`` and ``ascontiguousarray`` cost about 20 microseconds an
    array, each time a block or a share of one is priced), else broadcast and copied."""
    if array.shape == shape and array.dtype == np.float64 and array.flags.c_contiguous:
        return array
    return np.ascontiguousarray(np.broadcast_to(array, shape), dtype=np.float64)


def _read_only(array: FloatArray) -> FloatArray:
    """A flat, read-only view of ``array``: every array of a block's tuple has one type
    (Numba types read-only and writable arrays apart, and a tuple of mixed ones cannot be
    indexed by a number at run time)."""
    view = array.reshape(-1).view()
    view.flags.writeable = False
    return view


@dataclass
class Block:
    """Sampled usage of a chunk of scenarios over the horizon; every array is
    ``(scenarios, months)``."""

    seats: FloatArray
    active: FloatArray
    totals: dict[str, FloatArray]
    disputed: dict[str, FloatArray] = field(default_factory=dict)
    tasks: FloatArray | None = None
    spikes: NDArray[np.bool_] | None = None

    _indexed: tuple[tuple[FloatArray, ...], tuple[str, ...], tuple[str, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.seats.shape[0]), int(self.seats.shape[1]))

    def indexed(self) -> tuple[tuple[FloatArray, ...], tuple[str, ...], tuple[str, ...]]:
        """Every array in one tuple, for the pricing kernel: seats, active seats, then each
        metric's total and disputed units (each ``(scenarios, months)`` array flattened, a
        view when it is C-contiguous, then empty arrays up to a multiple of :data:`ARRAYS`),
        with the metrics whose totals, then disputed units, follow seats and active seats in
        that order (blocks of one workload share them). Built on first use and kept."""
        if self._indexed is None:
            shape = self.shape
            arrays = tuple(
                _read_only(_flat(a, shape))
                for a in (self.seats, self.active, *self.totals.values(), *self.disputed.values())
            )
            # Padded to a multiple of ARRAYS with empty arrays: the tuple's length is part of
            # the kernel's signature, and each new signature is a compile of several seconds.
            padding = -len(arrays) % ARRAYS
            arrays += (_read_only(np.zeros(0)),) * padding
            self._indexed = (arrays, tuple(self.totals), tuple(self.disputed))
        return self._indexed
