"""Variants of a plan with one feature removed, to measure what that feature costs.

Simulating the plan and its variant with the same seed (common random numbers) gives the
feature's effect scenario by scenario, not just on average.
"""

from __future__ import annotations

from typing import Any

from ratecard.plan.components import SeatComponent, UsageComponent
from ratecard.plan.model import Plan

__all__ = ["overage_components", "without", "without_component_limits", "without_minimums"]


def _rebuild(plan: Plan, data: dict[str, Any]) -> Plan:
    return Plan.model_validate(data, context={"references_checked": False})


def without(
    plan: Plan, *, modifiers: tuple[str, ...] = (), components: tuple[str, ...] = ()
) -> Plan:
    """The plan without the named modifiers and components (the id gets a ``.without`` suffix)."""
    data = plan.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["id"] = plan.id + ".without"
    data["modifiers"] = {k: v for k, v in data.get("modifiers", {}).items() if k not in modifiers}
    kept = [c for c in data["components"] if c["id"] not in components]
    if not kept:
        kept = [{"id": "nothing", "type": "flat", "amount": "0"}]
    data["components"] = kept
    gone = set(components)
    mods = data["modifiers"]
    for key in ("discounts", "credits"):
        entries = []
        for entry in mods.get(key, []):
            names = entry.get("applies_to")
            if names is not None:
                names = [n for n in names if n not in gone]
                if not names:
                    continue
                entry = {**entry, "applies_to": names}
            entries.append(entry)
        if key in mods:
            mods[key] = entries
    commitment = mods.get("commitment")
    if commitment and commitment.get("applies_to") is not None:
        names = [n for n in commitment["applies_to"] if n not in gone]
        if names:
            mods["commitment"] = {**commitment, "applies_to": names}
        else:
            mods.pop("commitment")
    return _rebuild(plan, data)


def without_minimums(plan: Plan) -> Plan:
    """No plan minimum, no component minimums, no minimum seats."""
    data = plan.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["id"] = plan.id + ".without"
    data["modifiers"] = {k: v for k, v in data.get("modifiers", {}).items() if k != "minimum"}
    for component in data["components"]:
        component.pop("minimum", None)
        if component["type"] == "seat":
            component["min_seats"] = 0
    return _rebuild(plan, data)


def without_component_limits(plan: Plan) -> Plan:
    data = plan.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["id"] = plan.id + ".without"
    for component in data["components"]:
        component.pop("maximum", None)
    return _rebuild(plan, data)


def overage_components(plan: Plan) -> list[str]:
    """Usage components that bill a metric some seat includes: the plan's overage."""
    included = {
        allowance.metric
        for component in plan.components
        if isinstance(component, SeatComponent)
        for allowance in component.allowances
    }
    return [c.id for c in plan.components if isinstance(c, UsageComponent) and c.metric in included]
