"""FinOps FOCUS 1.2 cost rows from invoices: one row per invoice line.

Costs are exact decimals: ``BilledCost`` and ``EffectiveCost`` are the line's billed (rounded)
amount; ``ListCost`` and ``ContractedCost`` are the same for charges and 0 for credits and
discounts (a reduction has no list price). ``PricingQuantity`` is the line quantity in pricing
units (quantity / per) and ``PricingUnit`` names them. ratecard's own fields ride in ``x_``
columns, as the specification's extensibility rules ask.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ratecard.charges.invoice import Invoice, Line
from ratecard.plan.components import (
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan

__all__ = ["FOCUS_COLUMNS", "focus_rows"]

FOCUS_COLUMNS = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)
DECIMAL_COLUMNS = {
    "BilledCost",
    "CommitmentDiscountQuantity",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
}
TIME_COLUMNS = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
CREDIT_KINDS = {
    "discount",
    "commitment_discount",
    "credit",
    "cap",
    "outcome_reversal",
    "prepaid_drawdown",
}
ADJUSTMENT_KINDS = {
    "minimum",
    "component_minimum",
    "component_maximum",
    "commitment_shortfall",
    "late_adjustment",
    "prepaid_forfeit",
    "unserved",
}
Q = Decimal(1).scaleb(-14)


def _category(line: Line, plan: Plan | None) -> tuple[str, str]:
    """(ChargeCategory, ChargeFrequency)."""
    if line.kind in CREDIT_KINDS:
        return "Credit", "One-Time"
    if line.kind in ADJUSTMENT_KINDS:
        return "Adjustment", "One-Time"
    if line.kind == "prepaid_commitment":
        return "Purchase", "One-Time"
    component = _component(plan, line.component)
    if isinstance(component, FlatComponent | SeatComponent):
        return "Purchase", "Recurring"
    return "Usage", "Usage-Based"


def _component(plan: Plan | None, component_id: str | None) -> Any:
    if plan is None or component_id is None:
        return None
    try:
        return plan.component(component_id)
    except KeyError:
        return None


def _unit(line: Line, plan: Plan | None) -> str | None:
    component = _component(plan, line.component)
    if isinstance(component, SeatComponent):
        return "Seats"
    if isinstance(component, FlatComponent):
        return "Subscriptions"
    if isinstance(component, UsageComponent | OutcomeComponent):
        base = component.metric
    elif isinstance(component, TokensComponent):
        base = "Tokens"
    else:
        return None
    return base if line.per == 1 else f"{line.per.normalize():f} {base}"


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Q)


def focus_rows(invoices: Sequence[Invoice], plans: dict[str, Plan]) -> pa.Table:
    """FOCUS rows of ``invoices``; ``plans`` maps plan id -> plan (for units and names)."""
    columns: dict[str, list[Any]] = {name: [] for name in FOCUS_COLUMNS}
    custom: dict[str, list[Any]] = {
        k: []
        for k in (
            "x_Customer",
            "x_PlanId",
            "x_ComponentId",
            "x_LineKind",
            "x_Dimensions",
            "x_ExactAmount",
        )
    }
    for invoice in invoices:
        plan = plans.get(invoice.plan)
        start = datetime(*invoice.period_start.timetuple()[:3], tzinfo=UTC)
        end = datetime(*invoice.period_end.timetuple()[:3], tzinfo=UTC)
        vendor = (plan.vendor if plan else None) or "ratecard"
        invoice_id = f"{invoice.plan}/{invoice.customer}/{invoice.period_start:%Y-%m}"
        for line in invoice.lines:
            category, frequency = _category(line, plan)
            credit = category == "Credit"
            pricing_quantity = None if line.quantity is None else line.quantity / line.per
            dims = dict(line.dimensions)
            row: dict[str, Any] = dict.fromkeys(FOCUS_COLUMNS)
            row.update(
                BilledCost=_q(line.amount),
                EffectiveCost=_q(line.amount),
                ListCost=_q(Decimal(0) if credit else line.amount),
                ContractedCost=_q(Decimal(0) if credit else line.amount),
                BillingAccountId=invoice.customer,
                BillingAccountName=invoice.customer,
                BillingAccountType="Customer",
                BillingCurrency=invoice.currency,
                PricingCurrency=invoice.currency,
                BillingPeriodStart=start,
                BillingPeriodEnd=end,
                ChargePeriodStart=start,
                ChargePeriodEnd=end,
                ChargeCategory=category,
                ChargeClass="Correction" if str(line.kind) == "late_adjustment" else None,
                ChargeDescription=line.description,
                ChargeFrequency=frequency,
                ConsumedQuantity=_q(line.quantity) if category == "Usage" else None,
                ConsumedUnit=_unit(line, plan) if category == "Usage" else None,
                ListUnitPrice=_q(line.unit_price),
                ContractedUnitPrice=_q(line.unit_price),
                PricingCurrencyListUnitPrice=_q(line.unit_price),
                PricingCurrencyContractedUnitPrice=_q(line.unit_price),
                PricingCurrencyEffectiveCost=_q(line.amount),
                PricingQuantity=_q(pricing_quantity),
                PricingUnit=_unit(line, plan),
                PricingCategory="Standard" if category in ("Usage", "Purchase") else None,
                InvoiceId=invoice_id,
                InvoiceIssuerName=vendor,
                ProviderName=vendor,
                PublisherName=vendor,
                RegionId=dims.get("region"),
                RegionName=dims.get("region"),
                ServiceCategory="AI and Machine Learning",
                ServiceName=(plan.name if plan and plan.name else invoice.plan),
                SkuId=line.component,
                SkuPriceId=f"{invoice.plan}:{line.component}" if line.component else None,
                SkuMeter=line.component,
                SubAccountId=invoice.customer,
                SubAccountName=invoice.customer,
                SubAccountType="Customer",
                Tags=json.dumps(dims) if dims else None,
            )
            for name in FOCUS_COLUMNS:
                columns[name].append(row[name])
            custom["x_Customer"].append(invoice.customer)
            custom["x_PlanId"].append(invoice.plan)
            custom["x_ComponentId"].append(line.component)
            custom["x_LineKind"].append(line.kind)
            custom["x_Dimensions"].append(json.dumps(dims) if dims else None)
            custom["x_ExactAmount"].append(_q(line.exact_amount))
    arrays: dict[str, pa.Array] = {}
    for name, values in columns.items():
        if name in DECIMAL_COLUMNS:
            arrays[name] = pa.array(values, pa.decimal128(38, 14))
        elif name in TIME_COLUMNS:
            arrays[name] = pa.array(values, pa.timestamp("us", tz="UTC"))
        else:
            arrays[name] = pa.array(values, pa.string())
    for name, values in custom.items():
        kind = pa.decimal128(38, 14) if name == "x_ExactAmount" else pa.string()
        arrays[name] = pa.array(values, kind)
    return pa.table(arrays)
