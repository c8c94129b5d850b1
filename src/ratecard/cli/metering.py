"""`ratecard ingest` and `ratecard rate`: events into the store, invoices out of it."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ratecard.cli.app import app, err, out, user_errors
from ratecard.errors import Problem, UsageError

if TYPE_CHECKING:
    from ratecard.rating.coverage import Unrated

DEFAULT_STORE = Path("ratecard.duckdb")
StoreOption = Annotated[
    Path, typer.Option("--store", help="Event store (a DuckDB file, created on first use).")
]


@app.command()
@user_errors
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Event files: .csv, .jsonl, .json (CloudEvents or OTLP/JSON), .parquet."
        ),
    ],
    store: StoreOption = DEFAULT_STORE,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Store the valid rows and write the rejected ones to --rejects."
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where --skip-invalid writes rejected rows with their reasons (JSON Lines)."
        ),
    ] = None,
) -> None:
    """Add events to the store, exactly once (deduplicated on source and id) and all or
    nothing: a file with invalid rows is rejected whole unless --skip-invalid."""
    from ratecard.store import EventStore

    if skip_invalid and rejects is None:
        rejects = store.with_name(store.stem + ".rejects.jsonl")
    with (
        EventStore(store) as events,
        Progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=len(files) < 2 and not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("", total=len(files))

        def advance(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=Path(name).name)

        report = events.ingest(files, skip_invalid=skip_invalid, rejects=rejects, progress=advance)
    out.print(
        f"ingested {report.inserted:,} rows into {store} (batch {report.batch}); "
        f"{report.duplicates:,} duplicates skipped, {report.rejected:,} rejected"
    )
    if report.rejected and rejects is not None:
        out.print(f"rejected rows and reasons: {rejects}")


@app.command()
@user_errors
def rate(
    subscriptions: Annotated[
        Path,
        typer.Option(
            "--subscriptions", help="Subscriptions (YAML, or CSV customer,plan,start,end,seats)."
        ),
    ],
    period: Annotated[str, typer.Option(help="Billing month, e.g. 2026-10.")],
    store: StoreOption = DEFAULT_STORE,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Invoices: .json (Invoice.to_dict per invoice) or .parquet (lines)."
        ),
    ] = None,
    focus: Annotated[
        Path | None, typer.Option(help="FinOps FOCUS 1.2 cost rows: .csv or .parquet.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Rate without recording the period as issued.")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="duckdb (the store) or spark (Parquet events, see --events).")
    ] = "duckdb",
    events_path: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help="Spark: Parquet events in the store's shape (ratecard export); "
            "paths or URLs (s3a://, hdfs://), repeatable.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark: master URL (local[4], spark://host:7077, yarn); "
            "default: whatever spark-submit or SPARK_* settings give.",
        ),
    ] = None,
) -> None:
    """Rate every customer's usage for a period in the store and issue the invoices.
    Events that arrive later for an issued period become adjustments on the next one."""
    from ratecard.rating.outputs import write_focus, write_invoices
    from ratecard.rating.service import RateResult
    from ratecard.rating.service import rate as rate_period
    from ratecard.rating.subscriptions import load_subscriptions, month
    from ratecard.store import EventStore

    subs = load_subscriptions(subscriptions)
    chosen = month(period)
    if engine == "spark":
        from ratecard.rating.spark import rate_period_spark, spark_session, unrated_spark

        if not events_path:
            raise UsageError([Problem("--engine spark needs --events (Parquet)", "events")])
        session = spark_session(spark_master)
        subscribed = subs.for_period(chosen)
        try:
            run = rate_period_spark(session, events_path, subscribed, subs.plans, chosen)
            left_out = unrated_spark(session, run, subscribed, chosen)
        finally:
            session.stop()
        result = RateResult(chosen, run, list(run.invoices()), unrated=left_out)
        dry_run = True
    elif engine == "duckdb":
        with EventStore(store) as events:
            result = rate_period(events, subs, chosen, issue=not dry_run)
    else:
        raise UsageError(
            [Problem(f"unknown engine {engine!r}: expected duckdb or spark", "engine")]
        )
    if out_path is not None:
        write_invoices(out_path, result.invoices)
    if focus is not None:
        write_focus(focus, result.invoices, {p.id: p for p in subs.plans.values()})
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in result.invoices:
        totals[invoice.currency] += invoice.total
    table = Table(
        title=f"rated {chosen.label}: {len(result.invoices):,} invoices", title_justify="left"
    )
    table.add_column("currency")
    table.add_column("total", justify="right")
    for currency, amount in sorted(totals.items()):
        table.add_row(currency, f"{amount:,}")
    out.print(table)
    exact = result.run.exact
    if exact is not None:
        for plan_id, features in sorted(exact.reasons.items()):
            customers = sum(1 for inputs in exact.inputs if inputs.plan.id == plan_id)
            out.print(
                f"exact evaluator: {customers:,} customers on plan {plan_id} "
                f"({'; '.join(sorted({p.message for p in features}))}: not in the SQL engine)"
            )
    for item in result.late:
        out.print(
            f"late: {item.events} events for {item.customer} in {item.period.label} "
            f"(already issued) billed as adjustments on {chosen.label}"
        )
    for item in result.deferred:
        out.print(
            f"late: {item.events} events for {item.customer} in {item.period.label} "
            "(already issued) held: the customer has no invoice this period"
        )
    if result.kept:
        out.print(
            f"{result.kept:,} customers already issued for {chosen.label} kept their invoices; "
            "only the others were rated"
        )
    _print_unrated(result.unrated, chosen.label)
    if not dry_run:
        out.print(f"period {chosen.label} recorded as issued in {store}")


def _print_unrated(unrated: list[Unrated], label: str) -> None:
    """Usage no subscription priced: a sign of a missing or mis-dated subscription."""
    for subscribed, why in (
        (False, f"with no subscription in {label}"),
        (True, "outside their subscription's days"),
    ):
        found = [u for u in unrated if u.subscribed == subscribed]
        if found:
            names = ", ".join(repr(u.customer) for u in found[:3])
            more = f" and {len(found) - 3:,} more" if len(found) > 3 else ""
            out.print(
                f"not rated: {sum(u.events for u in found):,} events of {len(found):,} "
                f"customers {why} ({names}{more})"
            )


@app.command()
@user_errors
def export(
    out_path: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the store's events as Parquet, for `ratecard rate --engine spark`."""
    from ratecard.store import EventStore

    with EventStore(store, read_only=True) as events:
        events.export_parquet(out_path)
        count = events.count()
    out.print(f"wrote {count:,} event rows to {out_path}")
