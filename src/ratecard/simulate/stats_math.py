"""Small numeric helpers: the normal distribution and lognormal partial moments."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["excess_share", "norm_cdf", "norm_cdf_array"]

FloatArray = NDArray[np.float64]


def norm_cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def norm_cdf_array(x: FloatArray) -> FloatArray:
    """The standard normal distribution function over an array (Abramowitz and Stegun 7.1.26;
    absolute error below 1.5e-7, enough for the share of usage above a per-user limit)."""
    z = np.abs(x) / math.sqrt(2)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-z * z)
    result: FloatArray = 0.5 * (1.0 + np.sign(x) * erf)
    return result


def excess_share(mean: FloatArray, limit: float, sigma: float) -> FloatArray:
    """``E[(X - limit)+] / E[X]`` for a lognormal ``X`` with the given mean and log-sigma: the
    share of usage above a per-user limit when each user's usage is lognormal around ``mean``.
    ``sigma = 0`` is the exact ``max(mean - limit, 0) / mean``; a zero mean gives 0."""
    safe = np.where(mean > 0, mean, 1.0)
    if sigma <= 0 or limit <= 0:
        share = np.maximum(safe - limit, 0.0) / safe
    else:
        d1 = (np.log(safe / limit) + sigma * sigma / 2) / sigma
        share = norm_cdf_array(d1) - limit / safe * norm_cdf_array(d1 - sigma)
        share = np.clip(share, 0.0, 1.0)
    result: FloatArray = np.where(mean > 0, share, 0.0)
    return result
