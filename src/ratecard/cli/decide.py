"""`ratecard compare`, `breakeven`, `commit` and `advise`: the buyer's decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from ratecard.analyze.advise import Advice, advise
from ratecard.analyze.breakeven import breakeven, cost_curve
from ratecard.analyze.commitment import size_commitment
from ratecard.analyze.compare import Comparison, compare
from ratecard.analyze.drivers import DEFAULT_DRIVER
from ratecard.cli.app import app, out, user_errors
from ratecard.errors import RatecardError
from ratecard.report import build_report, write_pngs

Workload = Annotated[Path, typer.Option("--workload", "-w", help="Workload file (YAML or JSON).")]
Sims = Annotated[int, typer.Option(min=100, help="Scenarios to simulate.")]
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same result).")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _comparison_table(comparison: Comparison) -> Table:
    table = Table(title="Plans compared (amounts per month unless noted)", title_justify="left")
    for name in (
        "plan",
        "model",
        "expected",
        "P95",
        "P99",
        "worst",
        "TCO",
        "per task",
        "per outcome",
    ):
        table.add_column(name, justify="left" if name in {"plan", "model"} else "right")
    for entry in comparison.plans:
        m = entry.result.monthly
        table.add_row(
            entry.id,
            entry.plan.model_kind,
            *(f"{v:,.2f}" for v in (m.mean, m.p95, m.p99, m.max, entry.result.tco)),
            "" if entry.cost_per_task is None else f"{entry.cost_per_task:,.4f}",
            "" if entry.cost_per_outcome is None else f"{entry.cost_per_outcome:,.4f}",
        )
    return table


def _print_flags(comparison: Comparison) -> None:
    for entry in comparison.plans:
        for flag in entry.flags:
            colour = {"risk": "red", "warning": "yellow", "info": "white"}[flag.severity]
            out.print(f"[{colour}]{flag.severity:7}[/] {entry.id} · {flag.code}: ", end="")
            out.print(flag.message, markup=False)


def _write_report(
    comparison: Comparison,
    html_path: Path | None,
    png_dir: Path | None,
    driver: str,
    sims: int,
    seed: int,
    advice: Advice | None = None,
) -> None:
    if html_path is None and png_dir is None:
        return
    plans = [entry.plan for entry in comparison.plans]
    curve = cost_curve(plans, comparison.workload, driver, sims=max(sims // 5, 200), seed=seed)
    report = build_report(
        comparison, curve=curve, advice=advice, budget=comparison.simulation.budget
    )
    if html_path is not None:
        report.write(html_path)
        out.print(f"report written to {html_path}")
    if png_dir is not None:
        for path in write_pngs(report, png_dir):
            out.print(f"chart written to {path}")


@app.command("compare")
@user_errors
def compare_command(
    plans: Annotated[list[str], typer.Argument(help="Plan files or catalog:ID.")],
    workload: Workload,
    sims: Sims = 5000,
    seed: Seed = 7,
    budget: Annotated[float | None, typer.Option(help="Monthly budget line.")] = None,
    discount_rate: Annotated[float, typer.Option(help="Annual rate for the NPV.")] = 0.0,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the charts as PNG here.")] = None,
    driver: Annotated[str, typer.Option(help="Driver of the cost chart.")] = DEFAULT_DRIVER,
    as_json: Json = False,
) -> None:
    """Compare plans on one workload: expected and tail cost, TCO, unit costs and risk flags."""
    comparison = compare(plans, workload, sims, seed, discount_rate=discount_rate, budget=budget)
    if as_json:
        out.print_json(json.dumps(comparison.to_dict()))
    else:
        out.print(_comparison_table(comparison))
        _print_flags(comparison)
    _write_report(comparison, html, png, driver, sims, seed)


@app.command("breakeven")
@user_errors
def breakeven_command(
    plan_a: Annotated[str, typer.Argument(help="First plan.")],
    plan_b: Annotated[str, typer.Argument(help="Second plan.")],
    workload: Workload,
    driver: Annotated[
        str, typer.Option(help="What varies: tasks, seats, active_share or a metric.")
    ] = DEFAULT_DRIVER,
    sims: Sims = 1000,
    seed: Seed = 7,
    as_json: Json = False,
) -> None:
    """Find the driver value at which two plans cost the same on average."""
    found = breakeven(plan_a, plan_b, workload, driver, sims=sims, seed=seed)
    if as_json:
        out.print_json(json.dumps(found.to_dict()))
        return
    if found.value is None:
        out.print(
            f"{found.below} is cheaper for every {driver} value from "
            f"{found.curve.values[0]:,.2f} to {found.curve.values[-1]:,.2f} "
            f"(now {found.current:,.2f}): no break-even in that range"
        )
    else:
        out.print(
            f"break-even at {driver} = {found.value:,.2f} (now {found.current:,.2f}): "
            f"{found.below} is cheaper below, {found.above} above"
        )


def _schedule(text: str | None) -> list[tuple[float, float]] | None:
    if not text:
        return None
    tiers = []
    for part in text.split(","):
        amount, _, percent = part.partition(":")
        try:
            tiers.append((float(amount), float(percent)))
        except ValueError:
            raise RatecardError(
                f"--schedule: expected AMOUNT:PERCENT pairs separated by commas, got {part!r}"
            ) from None
    return tiers


@app.command("commit")
@user_errors
def commit_command(
    plan: Annotated[str, typer.Argument(help="Plan file or catalog:ID.")],
    workload: Workload,
    schedule: Annotated[
        str | None,
        typer.Option(help="Discount per commitment size per term, e.g. 50000:10,150000:15."),
    ] = None,
    term_months: Annotated[int | None, typer.Option(help="Term, for a plan without one.")] = None,
    objective: Annotated[
        str, typer.Option(help="What to minimise: mean, p50, p90, p95 or p99 of horizon cost.")
    ] = "mean",
    sims: Sims = 2000,
    seed: Seed = 7,
    as_json: Json = False,
) -> None:
    """Size a spend commitment: the amount that minimises expected (or percentile) cost."""
    if objective not in {"mean", "p50", "p90", "p95", "p99"}:
        raise RatecardError(f"--objective: expected mean, p50, p90, p95 or p99, got {objective!r}")
    chosen: Literal["mean", "p50", "p90", "p95", "p99"] = objective  # type: ignore[assignment]
    advice = size_commitment(
        plan,
        workload,
        objective=chosen,
        schedule=_schedule(schedule),
        term_months=term_months,
        sims=sims,
        seed=seed,
    )
    if as_json:
        out.print_json(json.dumps(advice.to_dict()))
        return
    c = advice.currency
    if advice.amount == 0:
        out.print(
            f"commit nothing: pay-as-you-go is cheapest ({objective} {advice.payg_cost:,.2f} {c})"
        )
    else:
        out.print(
            f"commit {advice.amount:,.2f} {c} per {advice.term_months} months "
            f"for {advice.discount_percent:g} % off: expected horizon cost "
            f"{advice.expected_cost:,.2f} {c} against {advice.payg_cost:,.2f} pay-as-you-go"
        )
        out.print(
            f"saving {advice.saving_mean:,.2f} {c} on average (P5 {advice.saving_p5:,.2f}, "
            f"P95 {advice.saving_p95:,.2f}); a shortfall is billed in "
            f"{advice.shortfall_probability:.1%} of scenarios"
        )


@app.command("advise")
@user_errors
def advise_command(
    workload: Workload,
    plans: Annotated[list[str] | None, typer.Argument(help="Candidate plans (optional).")] = None,
    sims: Sims = 2000,
    seed: Seed = 7,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the charts as PNG here.")] = None,
    as_json: Json = False,
) -> None:
    """Recommend a pricing model (and plan) with the numbers behind each step."""
    advice = advise(workload, plans or [], sims=sims, seed=seed)
    if as_json:
        out.print_json(json.dumps(advice.to_dict()))
    else:
        for number, step in enumerate(advice.steps, start=1):
            out.print(
                f"{number}. {step.question} [bold]{'yes' if step.answer else 'no'}[/]: ", end=""
            )
            out.print(step.evidence, markup=False)
        line = f"recommended model: [bold]{advice.recommended_model}[/]"
        if advice.recommended_plan:
            line += f", plan [bold]{advice.recommended_plan}[/]"
        out.print(line)
        for reason in advice.reasons:
            out.print(f"  - {reason}", markup=False)
    if advice.comparison is not None:
        _write_report(advice.comparison, html, png, DEFAULT_DRIVER, sims, seed, advice)
