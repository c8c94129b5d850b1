"""Writing rated invoices: JSON (``Invoice.to_dict()`` per invoice) or Parquet (one row per
line, decimals exact), and FinOps FOCUS 1.2 cost rows (CSV or Parquet)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ratecard.charges.invoice import Invoice
from ratecard.errors import Problem, UsageError
from ratecard.rating.focus import FOCUS_COLUMNS, focus_rows

__all__ = ["write_focus", "write_invoices"]

DEC = pa.decimal128(38, 14)


def _suffix(path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise UsageError(
            [
                Problem(
                    f"unknown output type {path.suffix!r}; expected {' or '.join(allowed)}",
                    source=str(path),
                )
            ]
        )
    return suffix


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-14))


def invoice_lines_table(invoices: Sequence[Invoice]) -> pa.Table:
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "customer",
            "plan",
            "currency",
            "period_start",
            "period_end",
            "line",
            "kind",
            "component",
            "description",
            "quantity",
            "unit_price",
            "per",
            "exact_amount",
            "amount",
            "dimensions",
            "invoice_total",
        )
    }
    for invoice in invoices:
        for number, line in enumerate(invoice.lines):
            rows["customer"].append(invoice.customer)
            rows["plan"].append(invoice.plan)
            rows["currency"].append(invoice.currency)
            rows["period_start"].append(invoice.period_start)
            rows["period_end"].append(invoice.period_end)
            rows["line"].append(number)
            rows["kind"].append(line.kind)
            rows["component"].append(line.component)
            rows["description"].append(line.description)
            rows["quantity"].append(_dec(line.quantity))
            rows["unit_price"].append(_dec(line.unit_price))
            rows["per"].append(_dec(line.per))
            rows["exact_amount"].append(_dec(line.exact_amount))
            rows["amount"].append(_dec(line.amount))
            rows["dimensions"].append(
                json.dumps(dict(line.dimensions)) if line.dimensions else None
            )
            rows["invoice_total"].append(_dec(invoice.total))
    decimals = ("quantity", "unit_price", "per", "exact_amount", "amount", "invoice_total")
    types = dict.fromkeys(decimals, DEC)
    return pa.table({k: pa.array(v, types.get(k)) for k, v in rows.items()})


def write_invoices(path: Path, invoices: Sequence[Invoice]) -> None:
    kind = _suffix(path, ("json", "parquet"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "json":
        path.write_text(json.dumps([inv.to_dict() for inv in invoices], indent=1) + "\n")
    else:
        pq.write_table(invoice_lines_table(invoices), path)


def write_focus(path: Path, invoices: Sequence[Invoice], plans: dict[str, Any]) -> None:
    kind = _suffix(path, ("csv", "parquet"))
    path.parent.mkdir(parents=True, exist_ok=True)
    table = focus_rows(invoices, plans)
    if kind == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(
            table.select(
                list(FOCUS_COLUMNS) + [c for c in table.column_names if c.startswith("x_")]
            ),
            path,
        )
