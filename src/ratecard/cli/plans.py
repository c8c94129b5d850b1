"""`ratecard quote`, `ratecard validate` and `ratecard schema`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ratecard import quote as quote_usage
from ratecard.charges.invoice import Invoice
from ratecard.cli.app import EXIT_INVALID, app, err, out, report, user_errors
from ratecard.errors import RatecardError
from ratecard.plan import load_plan
from ratecard.schemas import SCHEMAS, json_schema


@app.command()
@user_errors
def quote(
    plan: Annotated[str, typer.Argument(help="Plan file (YAML or JSON).")],
    usage: Annotated[Path, typer.Argument(help="Usage summary for one period (YAML or JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the invoice as JSON.")] = False,
) -> None:
    """Price one period of usage under a plan and print the invoice."""
    invoice = quote_usage(plan, usage)
    if as_json:
        out.print_json(json.dumps(invoice.to_dict()))
    else:
        out.print(invoice_table(invoice))


def _num(value: Decimal | None) -> str:
    if value is None:
        return ""
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,f}"


def invoice_table(invoice: Invoice) -> Table:
    table = Table(
        title=f"{invoice.plan} · {invoice.period_start} to {invoice.period_end} "
        f"(end exclusive) · {invoice.currency}",
        title_justify="left",
    )
    table.add_column("component")
    table.add_column("description")
    table.add_column("quantity", justify="right")
    table.add_column("unit price", justify="right")
    table.add_column("amount", justify="right")
    for line in invoice.lines:
        unit = _num(line.unit_price)
        if unit and line.per != 1:
            unit += f" / {_num(line.per)}"
        table.add_row(
            line.component or "", line.description, _num(line.quantity), unit, f"{line.amount:,}"
        )
    table.add_section()
    table.add_row("", "subtotal", "", "", f"{invoice.subtotal:,}")
    table.add_row("", "[bold]total[/]", "", "", f"[bold]{invoice.total:,}[/]")
    return table


@app.command()
def validate(
    plans: Annotated[list[str], typer.Argument(help="Plan files (or catalog:ID) to check.")],
) -> None:
    """Check plan files and report every problem, with file, line and key path."""
    failed = False
    for path in plans:
        try:
            plan = load_plan(path)
        except RatecardError as error:
            failed = True
            report(error)
        else:
            out.print(
                f"ok  {path}  ({plan.id}, {plan.model_kind}, {len(plan.components)} components)"
            )
    if failed:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCHEMAS)}.")] = "plan",
) -> None:
    """Print the JSON Schema of a file format, for editors that validate while you type."""
    if kind not in SCHEMAS:
        err.print(f"error: unknown schema {kind!r}; expected one of {', '.join(SCHEMAS)}")
        raise typer.Exit(EXIT_INVALID)
    out.print_json(json.dumps(json_schema(kind)))
