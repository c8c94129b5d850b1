"""Small numeric helpers: the normal distribution."""

from __future__ import annotations

import math

__all__ = ["norm_cdf"]


def norm_cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2))
