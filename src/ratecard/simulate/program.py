"""A compiled plan flattened to arrays: what the pricing kernel reads.

:mod:`ratecard.simulate.compile` turns each component into a few float constants; this module
lays those constants out as parallel NumPy arrays (one entry per component, limit, tier,
token coefficient or credit grant, in the order the evaluator applies them), so that one
compiled kernel (:mod:`ratecard.simulate.kernel`) prices every plan without Python in its
loop. Metrics are referred to by their position in :attr:`Program.metrics`; the pricer maps
those positions to a block's arrays when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ratecard.plan.model import Plan
from ratecard.simulate.compile import (
    CompiledPlan,
    FlatPart,
    Limit,
    MeteredPart,
    SeatPart,
    TokensPart,
)
from ratecard.simulate.price_math import ArrayPrice

__all__ = [
    "FLAT",
    "GRADUATED",
    "OUTCOME",
    "PACKAGE",
    "SEAT",
    "TOKENS",
    "UNIT",
    "USAGE",
    "VOLUME",
    "Program",
    "grant_order",
    "program_of",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Component kinds.
FLAT, SEAT, USAGE, OUTCOME, TOKENS = range(5)
# Price models.
UNIT, GRADUATED, VOLUME, PACKAGE = range(4)
_PRICE_KINDS = {"unit": UNIT, "graduated": GRADUATED, "volume": VOLUME, "package": PACKAGE}


@dataclass(frozen=True)
class Program:
    """One plan, flattened. Arrays indexed by component (``part_*``, ``price_*``), tier
    (``tier_*``), token coefficient (``coef_*``), fair-use or included limit (``fair_*``,
    ``included_*``) and credit grant (``grant_*``, in the order grants are used)."""

    metrics: tuple[str, ...]
    """The metrics the plan reads; ``*_metric`` arrays index this tuple."""
    unserved_metrics: tuple[str, ...]
    """Metrics with a fair-use limit, in the order of the kernel's unserved outputs."""

    part_kind: IntArray
    part_metric: IntArray
    part_amount: FloatArray  # flat amount or seat unit price
    part_min_seats: FloatArray
    part_per: FloatArray
    part_matched: FloatArray
    part_kappa: FloatArray
    part_rho: FloatArray
    part_minimum: FloatArray  # -inf without a component minimum
    part_maximum: FloatArray  # +inf without a component maximum
    part_kept: FloatArray  # 1 - the sum of the discounts that apply to the component
    part_committed: IntArray  # 1 when the commitment counts the component

    price_kind: IntArray
    price_unit: FloatArray  # unit price or package price
    price_fee_at_zero: IntArray
    price_size: FloatArray
    price_free: FloatArray
    price_round_up: IntArray
    tier_start: IntArray
    tier_count: IntArray
    tier_upper: FloatArray
    tier_price: FloatArray
    tier_fee: FloatArray

    coef_start: IntArray
    coef_count: IntArray
    coef_metric: IntArray
    coef_value: FloatArray

    fair_seat: IntArray  # the seat component's position
    fair_metric: IntArray
    fair_quantity: FloatArray
    fair_sigma: FloatArray  # nan: pooled
    fair_out: IntArray  # position in unserved_metrics
    included_seat: IntArray
    included_metric: IntArray
    included_quantity: FloatArray
    included_sigma: FloatArray

    commitment: FloatArray
    """``[present, amount, term months, discount, overage discount, prepaid]``."""
    minimum: float  # nan without a plan minimum
    cap: float  # nan without a cap

    grant_amount: FloatArray
    grant_all: IntArray  # 1: covers the whole invoice, 0: only the components listed
    grant_start: IntArray
    grant_count: IntArray
    grant_parts: IntArray

    def arrays(self) -> tuple[FloatArray | IntArray | float, ...]:
        """Everything but the metric names, in the order of the kernel's arguments."""
        return tuple(getattr(self, f.name) for f in fields(self)[2:])

    def arguments(
        self, totals: tuple[str, ...], disputed: tuple[str, ...]
    ) -> tuple[FloatArray | IntArray | float, ...]:
        """The kernel's arguments from ``total_slot`` on, for a block whose array tuple holds
        seats, active seats, the totals of ``totals`` and the disputed units of ``disputed``
        (:meth:`Block.indexed <ratecard.simulate.usage.Block.indexed>`): each metric's slots
        in that tuple (-1 where the block lacks it), then :meth:`arrays`. Built once per block
        layout and kept: a plan is priced block after block of one workload, and building them
        takes longer than pricing a small block."""
        key = (totals, disputed)
        found = self._arguments.get(key)
        if found is None:
            if len(self._arguments) >= _LAYOUTS:
                self._arguments.clear()
            total_at = {m: 2 + i for i, m in enumerate(totals)}
            disputed_at = {m: 2 + len(totals) + i for i, m in enumerate(disputed)}
            total_slot = _ints([total_at.get(m, -1) for m in self.metrics])
            disputed_slot = _ints([disputed_at.get(m, -1) for m in self.metrics])
            found = self._arguments[key] = (total_slot, disputed_slot, *self.arrays())
        return found

    @cached_property
    def _arguments(
        self,
    ) -> dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[FloatArray | IntArray | float, ...]]:
        return {}


_LAYOUTS = 8
"""Block layouts whose kernel arguments a :class:`Program` keeps (a workload has one)."""


def _ints(values: list[int]) -> IntArray:
    return np.array(values, dtype=np.int64)


def _floats(values: list[float]) -> FloatArray:
    return np.array(values, dtype=np.float64)


_INT_FIELDS = frozenset(f.name for f in fields(Program) if f.type == "IntArray")


class _Builder:
    """Collects the arrays of a :class:`Program` component by component."""

    def __init__(self, compiled: CompiledPlan) -> None:
        self.compiled = compiled
        self.metrics: list[str] = []
        self.ints: dict[str, list[int]] = {}
        self.floats: dict[str, list[float]] = {}

    def metric(self, name: str) -> int:
        if name not in self.metrics:
            self.metrics.append(name)
        return self.metrics.index(name)

    def add(self, **values: float) -> None:
        for key, value in values.items():
            if key in _INT_FIELDS:
                self.ints.setdefault(key, []).append(int(value))
            else:
                self.floats.setdefault(key, []).append(float(value))

    def price(self, price: ArrayPrice | None) -> None:
        start = len(self.floats.get("tier_upper", []))
        if price is not None:
            for upper, unit, fee in zip(price.uppers, price.prices, price.fees, strict=True):
                self.add(tier_upper=upper, tier_price=unit, tier_fee=fee)
        self.add(
            price_kind=_PRICE_KINDS[price.kind] if price is not None else UNIT,
            price_unit=price.unit_price if price is not None else 0.0,
            price_fee_at_zero=int(price is None or price.fee_at_zero),
            price_size=price.size if price is not None else 1.0,
            price_free=price.free_units if price is not None else 0.0,
            price_round_up=int(price is None or price.round_up),
            tier_start=start,
            tier_count=len(price.uppers) if price is not None else 0,
        )

    def coefficients(self, part: TokensPart | None) -> None:
        start = len(self.ints.get("coef_metric", []))
        items = list(part.coefficients.items()) if part is not None else []
        for metric, value in items:
            self.add(coef_metric=self.metric(metric), coef_value=value)
        self.add(coef_start=start, coef_count=len(items))

    def limits(self, prefix: str, limits: tuple[Limit, ...], unserved: list[str]) -> None:
        positions = {part.id: i for i, part in enumerate(self.compiled.parts)}
        for limit in limits:
            self.add(
                **{
                    f"{prefix}_seat": positions[limit.seat],
                    f"{prefix}_metric": self.metric(limit.metric),
                    f"{prefix}_quantity": limit.quantity,
                    f"{prefix}_sigma": (
                        np.nan if limit.per_user_sigma is None else limit.per_user_sigma
                    ),
                }
            )
            if prefix == "fair":
                if limit.metric not in unserved:
                    unserved.append(limit.metric)
                self.add(fair_out=unserved.index(limit.metric))

    def int_array(self, key: str) -> IntArray:
        return _ints(self.ints.get(key, []))

    def float_array(self, key: str) -> FloatArray:
        return _floats(self.floats.get(key, []))


def _part(builder: _Builder, part: FlatPart | SeatPart | MeteredPart | TokensPart) -> None:
    compiled = builder.compiled
    modifiers = compiled.plan.modifiers
    discount = sum(
        float(d.percent) / 100
        for d in modifiers.discounts
        if d.applies_to is None or part.id in d.applies_to
    )
    commitment = modifiers.commitment
    committed = commitment is not None and (
        commitment.applies_to is None or part.id in commitment.applies_to
    )
    metered = part if isinstance(part, MeteredPart) else None
    kind = {FlatPart: FLAT, SeatPart: SEAT, TokensPart: TOKENS}.get(type(part))
    if metered is not None:
        kind = OUTCOME if metered.outcome else USAGE
    assert kind is not None
    builder.add(
        part_kind=kind,
        part_metric=builder.metric(metered.metric) if metered is not None else -1,
        part_amount=(
            part.amount
            if isinstance(part, FlatPart)
            else part.unit_price
            if isinstance(part, SeatPart)
            else 0.0
        ),
        part_min_seats=part.min_seats if isinstance(part, SeatPart) else 0.0,
        part_per=metered.per if metered is not None else 1.0,
        part_matched=metered.matched if metered is not None else 1.0,
        part_kappa=metered.kappa if metered is not None else 1.0,
        part_rho=metered.rho if metered is not None else 0.0,
        part_minimum=compiled.minimums.get(part.id, -np.inf),
        part_maximum=compiled.maximums.get(part.id, np.inf),
        part_kept=1.0 - discount if discount else 1.0,
        part_committed=int(committed),
    )
    builder.price(metered.price if metered is not None else None)
    builder.coefficients(part if isinstance(part, TokensPart) else None)


def grant_order(plan: Plan) -> list[int]:
    """Positions of the plan's credit grants in the order they are used: oldest expiry
    first, then plan order."""
    grants = plan.modifiers.credits
    return sorted(
        range(len(grants)),
        key=lambda i: (grants[i].expires is None, grants[i].expires or date.max, i),
    )


def program_of(compiled: CompiledPlan) -> Program:
    """Flatten ``compiled`` for the kernel."""
    builder = _Builder(compiled)
    for part in compiled.parts:
        _part(builder, part)
    unserved: list[str] = []
    builder.limits("fair", compiled.fair_use, unserved)
    builder.limits("included", compiled.included, unserved)
    modifiers = compiled.plan.modifiers
    commitment = np.zeros(6)
    if modifiers.commitment is not None:
        c = modifiers.commitment
        rate = float(c.discount_percent) / 100
        overage = rate
        if c.overage_discount_percent is not None:
            overage = float(c.overage_discount_percent) / 100
        prepaid = float(c.payment == "prepaid")
        commitment = _floats([1.0, float(c.amount), float(c.term_months), rate, overage, prepaid])
    positions = {part.id: i for i, part in enumerate(compiled.parts)}
    grant_parts: list[int] = []
    for index in grant_order(compiled.plan):
        grant = modifiers.credits[index]
        named = [positions[name] for name in grant.applies_to or ()]
        builder.add(
            grant_amount=float(grant.amount),
            grant_all=int(grant.applies_to is None),
            grant_start=len(grant_parts),
            grant_count=len(named),
        )
        grant_parts += named
    ints, floats = builder.int_array, builder.float_array
    return Program(
        metrics=tuple(builder.metrics),
        unserved_metrics=tuple(unserved),
        part_kind=ints("part_kind"),
        part_metric=ints("part_metric"),
        part_amount=floats("part_amount"),
        part_min_seats=floats("part_min_seats"),
        part_per=floats("part_per"),
        part_matched=floats("part_matched"),
        part_kappa=floats("part_kappa"),
        part_rho=floats("part_rho"),
        part_minimum=floats("part_minimum"),
        part_maximum=floats("part_maximum"),
        part_kept=floats("part_kept"),
        part_committed=ints("part_committed"),
        price_kind=ints("price_kind"),
        price_unit=floats("price_unit"),
        price_fee_at_zero=ints("price_fee_at_zero"),
        price_size=floats("price_size"),
        price_free=floats("price_free"),
        price_round_up=ints("price_round_up"),
        tier_start=ints("tier_start"),
        tier_count=ints("tier_count"),
        tier_upper=floats("tier_upper"),
        tier_price=floats("tier_price"),
        tier_fee=floats("tier_fee"),
        coef_start=ints("coef_start"),
        coef_count=ints("coef_count"),
        coef_metric=ints("coef_metric"),
        coef_value=floats("coef_value"),
        fair_seat=ints("fair_seat"),
        fair_metric=ints("fair_metric"),
        fair_quantity=floats("fair_quantity"),
        fair_sigma=floats("fair_sigma"),
        fair_out=ints("fair_out"),
        included_seat=ints("included_seat"),
        included_metric=ints("included_metric"),
        included_quantity=floats("included_quantity"),
        included_sigma=floats("included_sigma"),
        commitment=commitment,
        minimum=np.nan if modifiers.minimum is None else float(modifiers.minimum.amount),
        cap=np.nan if modifiers.cap is None else float(modifiers.cap.amount),
        grant_amount=floats("grant_amount"),
        grant_all=ints("grant_all"),
        grant_start=ints("grant_start"),
        grant_count=ints("grant_count"),
        grant_parts=_ints(grant_parts),
    )
