"""`ratecard simulate` and `ratecard fit`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ratecard.cli.app import app, err, out, user_errors
from ratecard.errors import Problem, UsageError
from ratecard.simulate import SimulationResult, fit_workload, load_workload, simulate
from ratecard.simulate.fit import FitRow, rows_from_events, rows_from_records
from ratecard.usage.model import Event

EXACT_LIMIT = 5_000_000
"""Scenario-months up to which monthly percentiles are exact (the cost matrix is kept)."""


@app.command("simulate")
@user_errors
def simulate_command(
    plans: Annotated[list[str], typer.Argument(help="Plan files (YAML or JSON).")],
    workload: Annotated[Path, typer.Option("--workload", "-w", help="Workload file.")],
    sims: Annotated[int, typer.Option(min=1, help="Number of scenarios.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same result).")] = 0,
    budget: Annotated[
        float | None, typer.Option(help="Monthly budget: report the chance of exceeding it.")
    ] = None,
    discount_rate: Annotated[
        float, typer.Option(help="Annual discount rate for the net present value (0.08).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Simulate a workload's cost under each plan: monthly and horizon spread, TCO and NPV."""
    loaded = load_workload(workload)
    # Exact percentiles while the cost matrices are small; streamed (within 0.1 %) beyond.
    keep = sims * loaded.horizon_months <= EXACT_LIMIT
    if as_json:
        result = simulate(
            plans, loaded, sims, seed, discount_rate=discount_rate, budget=budget, keep=keep
        )
        out.print_json(json.dumps(result.to_dict()))
        return
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} scenarios"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("simulate", total=sims)
        result = simulate(
            plans,
            loaded,
            sims,
            seed,
            discount_rate=discount_rate,
            budget=budget,
            keep=keep,
            progress=lambda done: progress.update(task, completed=done),
        )
    out.print(results_table(result))


def results_table(result: SimulationResult) -> Table:
    months = result.months
    currencies = sorted({p.plan.currency for p in result.plans})
    title = (
        f"{result.sims:,} scenarios × {months} months from {result.start} · seed {result.seed}"
        f" · {', '.join(currencies)}"
    )
    if result.discount_rate:
        title += f" · NPV at {result.discount_rate:g}"
    table = Table(title=title, title_justify="left")
    table.add_column("plan", no_wrap=True)
    for name in ("month mean", "month P95", "CVaR95", "TCO", "TCO P95", "NPV"):
        table.add_column(name, justify="right")
    if result.budget is not None:
        table.add_column(f"P(>{result.budget:,.0f})", justify="right")
    for plan in result.plans:
        data = plan.to_dict()
        m, h = data["monthly"], data["horizon"]
        row = [
            plan.id,
            _money(m["mean"]),
            _money(m["p95"]),
            _money(m["cvar95"]),
            _money(data["tco"]),
            _money(h["p95"]),
            _money(data["npv"]),
        ]
        if plan.budget_exceed_probability is not None:
            row.append(f"{plan.budget_exceed_probability:.1%}")
        table.add_row(*row)
    return table


def _money(text: str) -> str:
    return f"{float(text):,.0f}"


def _read_rows(path: Path) -> list[FitRow]:
    from ratecard.usage.readers import read_events

    batch = read_events(path)
    if batch.problems:
        raise UsageError(batch.problems)
    return rows_from_records(batch.table.to_pylist())


def _store_rows(path: Path, customer: str | None) -> list[FitRow]:
    """The stored events (of ``customer``, if given) in the order they happened."""
    from ratecard.store import EventStore

    if not path.is_file():
        raise UsageError([Problem("no such event store", source=str(path))])
    where = "WHERE e.customer = ?" if customer is not None else ""
    with EventStore(path, read_only=True) as store:
        table = store.con.execute(
            "SELECT e.source, e.id, e.customer, e.ts, e.metric, e.quantity, d.dims, e.status "
            f"FROM events e JOIN dims d USING (dims_id) {where} "
            "ORDER BY e.ts, e.source, e.id, e.metric",
            [customer] if customer is not None else [],
        ).fetchall()
    names = ("source", "id", "customer", "ts", "metric", "quantity", "dims", "status")
    return rows_from_records(dict(zip(names, row, strict=True)) for row in table)


def _read_events_plain(path: Path) -> list[FitRow]:
    """JSON Lines of events, for when the readers are unavailable."""
    events = []
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                events.append(Event.model_validate_json(line))
            except ValueError as exc:
                problems.append(Problem(str(exc).splitlines()[0], source=str(path), line=number))
    if problems:
        raise UsageError(problems)
    return rows_from_events(events)


@app.command("fit")
@user_errors
def fit_command(
    events: Annotated[
        Path | None, typer.Option("--events", help="Event file (JSONL or CSV).")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Event store to fit from (filled by ratecard ingest)."),
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Fit this customer's usage.")
    ] = None,
    task_metric: Annotated[
        str | None, typer.Option(help="The metric that counts tasks (default: requests).")
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, help="Horizon of the workload in months.")] = 36,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the workload here.")
    ] = None,
) -> None:
    """Derive a workload from recorded events (tasks, seats, tokens per task, outcomes, mix),
    read from an event file or from the event store."""
    if (events is None) == (store is None):
        raise UsageError([Problem("give one of --events FILE or --store PATH", "events")])
    if store is not None:
        rows = _store_rows(store, customer)
    else:
        assert events is not None
        if not events.is_file():
            raise UsageError([Problem("no such event file", source=str(events))])
        try:
            rows = _read_rows(events)
        except ImportError:  # pragma: no cover - readers need pyarrow
            rows = _read_events_plain(events)
    workload = fit_workload(rows, customer, task_metric, horizon)
    dumped = workload.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data: dict[str, Any] = {}
    for key, value in dumped.items():
        data[key] = value
        if key == "start":
            data["horizon_months"] = workload.horizon_months
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if output is None:
        out.print(text, markup=False, end="")
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
