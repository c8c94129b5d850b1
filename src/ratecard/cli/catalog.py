"""`ratecard catalog list` and `ratecard catalog show`: the shipped plans of real vendors."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from ratecard.catalog import MODELS, get_plan, list_entries
from ratecard.cli.app import app, out, user_errors
from ratecard.plan.components import (
    FlatComponent,
    OutcomeComponent,
    SeatComponent,
    TokensComponent,
    UsageComponent,
)
from ratecard.plan.model import Plan

catalog_app = typer.Typer(
    name="catalog",
    help="Plans of real vendors shipped with ratecard; use one anywhere as catalog:ID.",
    no_args_is_help=True,
)
app.add_typer(catalog_app)


@catalog_app.command("list")
@user_errors
def list_command(
    model: Annotated[
        str | None,
        typer.Option("--model", help=f"Only one pricing model: {', '.join(MODELS)}."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
) -> None:
    """List catalog plans: id, vendor, pricing model, source and the date of the price."""
    entries = list_entries(model)
    if as_json:
        out.print_json(json.dumps([entry.to_dict() for entry in entries]))
        return
    table = Table(title=f"ratecard catalog · {len(entries)} plans", title_justify="left")
    table.add_column("id", no_wrap=True)  # ids are meant to be copied whole
    for column in ("vendor", "model", "as_of", "source"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry.id, entry.vendor, entry.model, str(entry.as_of), entry.source)
    out.print(table)


def _component_summary(component: Any) -> str:
    if isinstance(component, FlatComponent):
        return f"flat {component.amount} per period"
    if isinstance(component, SeatComponent):
        text = f"seat {component.unit_price} per seat"
        if component.min_seats:
            text += f", minimum {component.min_seats} seats"
        for allowance in component.allowances:
            scope = "pooled" if allowance.pooled else "per user"
            text += f", includes {allowance.quantity} {allowance.metric} per seat ({scope})"
        return text
    if isinstance(component, TokensComponent):
        prices = ", ".join(
            f"{cat} {price}"
            for cat, price in component.prices.model_dump(exclude_none=True).items()
        )
        text = f"tokens per {component.per:,}: {prices}"
        if component.context_tiers:
            text += f"; {len(component.context_tiers)} context tier(s)"
        if component.variants:
            text += f"; variants {', '.join(component.variants)}"
        if component.multipliers and component.multipliers.time_of_day:
            text += f"; {len(component.multipliers.time_of_day)} time-of-day window(s)"
        return text
    if isinstance(component, UsageComponent | OutcomeComponent):
        kind = "outcome" if isinstance(component, OutcomeComponent) else "usage"
        per = f" per {component.per:,}" if component.per != 1 else ""
        price = component.price.model_dump(exclude_none=True)
        detail = price.get("unit_price", price.get("model"))
        return f"{kind} {component.metric}{per}: {detail}"
    return str(component.type)


def summary(plan: Plan) -> list[str]:
    lines = [
        f"{plan.name or plan.id} ({plan.vendor or 'unknown vendor'})",
        f"id: catalog:{plan.id} · model: {plan.model_kind} · {plan.currency} per "
        f"{plan.billing_period}",
        f"source: {plan.source}",
        f"as_of: {plan.as_of} (list prices change: check the source before relying on them)",
    ]
    lines += [f"- {c.id}: {_component_summary(c)}" for c in plan.components]
    return lines


def plan_yaml(plan: Plan) -> str:
    """The plan in the plan format, keys in model order, defaults left out."""
    data = plan.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    data = {"ratecard": plan.ratecard, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@catalog_app.command("show")
@user_errors
def show_command(
    catalog_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A catalog id (github-copilot-business, openai:gpt-5, openai:gpt-5@2025-09-01).",
        ),
    ],
) -> None:
    """Print a catalog plan as YAML, preceded by a summary in YAML comments."""
    plan = get_plan(catalog_id.removeprefix("catalog:"))
    for line in summary(plan):
        out.print(f"# {line}", markup=False, highlight=False, soft_wrap=True)
    out.print(plan_yaml(plan), markup=False, highlight=False, soft_wrap=True, end="")
