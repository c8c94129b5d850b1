"""Workload drivers: the quantity a break-even or a sensitivity chart varies.

A driver is ``tasks`` (tasks per active seat per month, the default), ``seats`` (seats at the
start), ``active_share``, or any metric of ``per_active_seat`` or ``per_task``. Setting a
driver to a value rescales its distribution so that its *mean* becomes that value and its
shape (the spread relative to the mean) stays the same.
"""

from __future__ import annotations

from ratecard.errors import WorkloadError
from ratecard.simulate.workload import (
    Distribution,
    Empirical,
    Fixed,
    LogNormal,
    Poisson,
    SeatGrowth,
    Workload,
)

__all__ = ["DEFAULT_DRIVER", "driver_names", "driver_value", "with_driver"]

DEFAULT_DRIVER = "tasks"


def driver_names(workload: Workload) -> list[str]:
    names = ["seats", "active_share"]
    names += list(workload.per_active_seat)
    names += [m for m in workload.per_task if m not in names]
    return names


def _distribution(workload: Workload, driver: str) -> tuple[str, Distribution]:
    if driver in workload.per_active_seat:
        return "per_active_seat", workload.per_active_seat[driver]
    if driver in workload.per_task:
        return "per_task", workload.per_task[driver]
    raise WorkloadError(
        f"unknown driver {driver!r}: expected one of {', '.join(driver_names(workload))}"
    )


def _mean(dist: Distribution) -> float:
    return float(dist.mean)


def driver_value(workload: Workload, driver: str = DEFAULT_DRIVER) -> float:
    """The driver's current mean value."""
    if driver == "seats":
        return float(workload.seat_growth.start)
    if driver == "active_share":
        return workload.active_share
    return _mean(_distribution(workload, driver)[1])


def _scaled(dist: Distribution, factor: float) -> Distribution:
    if isinstance(dist, Fixed):
        return dist.model_copy(update={"value": dist.value * factor})
    if isinstance(dist, LogNormal):
        return dist.model_copy(update={"median": dist.median * factor, "p90": dist.p90 * factor})
    if isinstance(dist, Poisson):
        return dist.model_copy(update={"mean": dist.mean * factor})
    assert isinstance(dist, Empirical)
    return dist.model_copy(update={"samples": [v * factor for v in dist.values()]})


def with_driver(workload: Workload, driver: str, value: float) -> Workload:
    """A copy of ``workload`` whose driver has mean ``value`` (same shape)."""
    if value < 0:
        raise WorkloadError(f"driver {driver!r} cannot be negative (got {value})")
    if driver == "seats":
        growth = workload.seat_growth
        seats = SeatGrowth(
            start=max(round(value), 0),
            growth_per_month=growth.growth_per_month,
            max=None if growth.max is None else max(growth.max, round(value)),
        )
        return workload.model_copy(update={"seats": seats})
    if driver == "active_share":
        return workload.model_copy(update={"active_share": min(max(value, 0.0), 1.0)})
    section, dist = _distribution(workload, driver)
    current = _mean(dist)
    if current <= 0:
        raise WorkloadError(f"driver {driver!r} has mean 0 and cannot be scaled")
    table = dict(getattr(workload, section))
    table[driver] = _scaled(dist, value / current)
    return workload.model_copy(update={section: table})
