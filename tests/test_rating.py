"""Rating a store: subscriptions, outputs (invoices, FOCUS), late events, unsupported plans."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import ratecard
from ratecard.cli import app
from ratecard.errors import UsageError
from ratecard.rating.coverage import unrated
from ratecard.rating.dialect import DUCKDB
from ratecard.rating.engine import rate_period
from ratecard.rating.focus import FOCUS_COLUMNS
from ratecard.rating.service import rate
from ratecard.rating.subscriptions import load_subscriptions, month
from ratecard.store import EventStore
from tests.engine_helpers import write_jsonl

D = Decimal
PLAN = """\
ratecard: 1
id: team
name: Team
vendor: Example Inc.
currency: USD
components:
  - {id: platform, type: flat, amount: "100"}
  - {id: seats, type: seat, unit_price: "30", proration: daily,
     included: {metric: calls, quantity: 10}}
  - id: calls
    type: usage
    metric: calls
    price: {model: unit, unit_price: "0.10"}
    multipliers: {region: {eu: "1.10"}}
"""
EVENTS = """\
id,customer,timestamp,metric,quantity,dimensions.region
1,acme,2026-10-02T10:00:00Z,calls,50,eu
2,acme,2026-10-03T10:00:00Z,calls,20,us
3,beta,2026-10-20T10:00:00Z,calls,500,
4,acme,2026-11-01T00:00:00Z,calls,1000,
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "plan.yaml").write_text(PLAN)
    (tmp_path / "subs.yaml").write_text(
        "subscriptions:\n"
        "  - {customer: acme, plan: plan.yaml, start: 2026-01-01, seats: 3}\n"
        "  - {customer: beta, plan: plan.yaml, start: 2026-10-15, seats: 10,\n"
        "     seat_changes: [{at: 2026-10-20, seats: 15}]}\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    store = tmp_path / "store.duckdb"
    with EventStore(store) as s:
        s.ingest([events])
    return tmp_path, store


def acme_on(
    folder: Path, plan_id: str, body: str, start: str = "2026-01-01", seats: str = "3"
) -> Path:
    """Write a USD plan (``body``: its components and modifiers, YAML) and a subscriptions
    file putting acme on it; the subscriptions file's path."""
    (folder / f"{plan_id}.yaml").write_text(
        f"ratecard: 1\nid: {plan_id}\ncurrency: USD\ncomponents:\n{body}"
    )
    seats_part = f", seats: {seats}" if seats else ""
    subs = folder / f"{plan_id}-subs.yaml"
    subs.write_text(
        f"subscriptions:\n  - {{customer: acme, plan: {plan_id}.yaml, start: {start}{seats_part}}}\n"
    )
    return subs


def late_calls(folder: Path, name: str, ident: int, timestamp: str, quantity: int) -> Path:
    """A CSV file of one late calls event of acme."""
    path = folder / name
    path.write_text(
        f"id,customer,timestamp,metric,quantity\n{ident},acme,{timestamp},calls,{quantity}\n"
    )
    return path


def test_golden_invoices(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    subs = load_subscriptions(folder / "subs.yaml")
    with EventStore(store_path) as store:
        result = rate(store, subs, month("2026-10"))
    acme, beta = sorted(result.invoices, key=lambda i: i.customer or "")
    # acme: 3 seats all month (93 seat-days / 31 days); 70 calls, 30 included, taken pro rata:
    # eu 50/70 of 40 billable = 28.571428... at 0.11, us 20/70 of 40 = 11.428571... at 0.10
    assert [(line.component, line.amount) for line in acme.lines] == [
        ("platform", D("100.00")),
        ("seats", D("90.00")),
        ("calls", D("3.14")),
        ("calls", D("1.14")),
    ]
    assert acme.total == D("194.28")
    # beta: 10 seats for 5 days + 15 seats for 12 days = 230 seat-days / 31 days;
    # 230/31 * 10 calls included = 74.19..., 500 - 74.19... = 425.806... calls at 0.10
    assert [(line.component, line.amount) for line in beta.lines] == [
        ("platform", D("100.00")),
        ("seats", D("222.58")),
        ("calls", D("42.58")),
    ]
    reference = ratecard.quote(
        ratecard.load_plan(folder / "plan.yaml"),
        {
            "period": {"start": "2026-10-01", "end": "2026-11-01"},
            "seat_days": "230",
            "seats": 15,
            "usage": [{"metric": "calls", "quantity": "500"}],
        },
    )
    assert reference.total == beta.total
    # the prorated allowance is carried exactly (a 6-place rounding of it, as DuckDB's LEAST
    # of a 14-place and a 6-place decimal gave, would make this 425.806452)
    (calls,) = [line for line in beta.lines if line.component == "calls"]
    assert abs(calls.quantity - (500 - D(2300) / D(31))) < D("1e-12")
    assert calls.description == "calls (74.193548 included)"


def test_subscriptions_from_csv(tmp_path: Path, setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    (folder / "subs.csv").write_text(
        "customer,plan,start,end,seats\nacme,plan.yaml,2026-01-01,,3\n"
    )
    subs = load_subscriptions(folder / "subs.csv")
    with EventStore(store_path) as store:
        run = rate_period(store, subs.for_period(month("2026-10")), subs.plans, month("2026-10"))
    assert [inv.total for inv in run.invoices()] == [D("194.28")]


def test_sql_rounded_lines_add_up_to_the_invoices(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    subs = load_subscriptions(folder / "subs.yaml")
    with EventStore(store_path) as store:
        run = rate_period(store, subs.items, subs.plans, month("2026-10"))
    totals: dict[str, Decimal] = {}
    for row in run.lines.to_pylist():
        totals[row["customer"]] = totals.get(row["customer"], D(0)) + row["amount"]
    assert totals == {inv.customer: inv.total for inv in run.invoices()}


def test_cli_rate_writes_invoices_and_focus(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "rate",
            "--store",
            str(store_path),
            "--subscriptions",
            str(folder / "subs.yaml"),
            "--period",
            "2026-10",
            "--out",
            str(folder / "inv.json"),
            "--focus",
            str(folder / "focus.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    invoices = json.loads((folder / "inv.json").read_text())
    assert {i["customer"]: i["total"] for i in invoices} == {"acme": "194.28", "beta": "365.16"}
    assert set(invoices[0]) == {
        "plan",
        "customer",
        "currency",
        "period",
        "lines",
        "subtotal",
        "total",
        "exact_total",
        "state",
    }
    with (folder / "focus.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert set(FOCUS_COLUMNS) <= set(rows[0])
    assert sum(D(r["BilledCost"]) for r in rows) == D("559.44")
    assert {r["ChargeCategory"] for r in rows} == {"Purchase", "Usage"}
    seat = next(r for r in rows if r["x_ComponentId"] == "seats" and r["x_Customer"] == "acme")
    assert (seat["PricingUnit"], D(seat["PricingQuantity"]), seat["BillingCurrency"]) == (
        "Seats",
        D(3),
        "USD",
    )
    assert seat["ChargePeriodStart"].startswith("2026-10-01")


def test_cli_rate_names_customers_rated_by_the_exact_evaluator(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    acme_on(
        folder,
        "fair",
        "  - {id: seats, type: seat, unit_price: '30', fair_use: {metric: calls, quantity: 20}}\n"
        "  - {id: calls, type: usage, metric: calls, price: {model: unit, unit_price: '0.10'}}\n",
    )
    result = CliRunner().invoke(
        app,
        ["rate", "--store", str(store_path), "--subscriptions", str(folder / "fair-subs.yaml"),
         "--period", "2026-10", "--dry-run", "--out", str(folder / "inv.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "exact evaluator: 1 customers on plan fair (a fair_use limit" in result.output
    # 3 seats * 30 = 90.00; 70 calls, fair use 3 * 20 = 60 served: 60 * 0.10 = 6.00
    invoices = json.loads((folder / "inv.json").read_text())
    assert [(i["customer"], i["total"]) for i in invoices] == [("acme", "96.00")]


def test_cli_rate_parquet_outputs(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    result = CliRunner().invoke(
        app,
        [
            "rate",
            "--store",
            str(store_path),
            "--subscriptions",
            str(folder / "subs.yaml"),
            "--period",
            "2026-10",
            "--out",
            str(folder / "inv.parquet"),
            "--focus",
            str(folder / "focus.parquet"),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = pq.read_table(folder / "inv.parquet").to_pylist()
    assert sum(r["amount"] for r in lines) == D("559.44")
    focus = pq.read_table(folder / "focus.parquet")
    assert str(focus.schema.field("BilledCost").type) == "decimal128(38, 14)"


def test_late_events_become_adjustments_on_the_next_period(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    subs = load_subscriptions(folder / "subs.yaml")
    late = folder / "late.csv"
    late.write_text(
        "id,customer,timestamp,metric,quantity\n9,acme,2026-10-05T00:00:00Z,calls,100\n"
    )
    with EventStore(store_path) as store:
        october = rate(store, subs, month("2026-10"))
        store.ingest([late])
        with pytest.raises(UsageError, match="already issued"):
            rate(store, subs, month("2026-10"))
        november = rate(store, subs, month("2026-11"))
        store.ingest([late])  # a duplicate: nothing new is late
        december = rate(store, subs, month("2026-12"))
    issued = {i.customer: i for i in october.invoices}
    assert issued["acme"].total == D("194.28")  # the issued invoice does not change
    assert [(i.customer, i.period.label, i.events) for i in november.late] == [
        ("acme", "2026-10", 1)
    ]
    acme = next(i for i in november.invoices if i.customer == "acme")
    adjustments = [line for line in acme.lines if line.kind == "late_adjustment"]
    # October re-rated: 170 calls, 30 included: eu 50/170 * 140 * 0.11 + us 120/170 * 140 * 0.10
    assert [(a.component, a.amount) for a in adjustments] == [("calls", D("10.13"))]
    assert not december.late
    assert all(line.kind != "late_adjustment" for i in december.invoices for line in i.lines)


def test_exact_path_customers_carry_credits_and_get_late_adjustments(
    setup: tuple[Path, Path],
) -> None:
    """A fair-use plan (the exact evaluator's) through ``rate``: a late October event is
    adjusted in November, and the credit balance November starts from is the one the
    re-rated October leaves (not the issued one, which would spend the last 3.00 twice)."""
    folder, store_path = setup
    subs = load_subscriptions(
        acme_on(
            folder,
            "fair",
            "  - {id: seats, type: seat, unit_price: '30', fair_use: {metric: calls, quantity: 50}}\n"
            "  - {id: calls, type: usage, metric: calls, price: {model: unit, unit_price: '0.10'}}\n"
            "modifiers: {credits: [{amount: '100'}]}\n",
        )
    )
    late = late_calls(folder, "late.csv", 9, "2026-10-05T00:00:00Z", 100)
    with EventStore(store_path) as store:
        october = rate(store, subs, month("2026-10"))
        store.ingest([late])
        november = rate(store, subs, month("2026-11"))
    (oct_invoice,), (nov_invoice,) = october.invoices, november.invoices
    # October: 90.00 seats + 70 calls (under 3 * 50) * 0.10 = 97.00, all paid by the credit
    assert oct_invoice.total == D("0.00")
    lines = [(line.kind, line.component, line.amount) for line in nov_invoice.lines]
    # October re-rated with the late 100 calls: 170 calls, 150 served = 15.00 (billed 7.00:
    # +8.00), so the credit pays 100.00 of it (billed 97.00: -3.00) and none is left for
    # November: 90.00 seats + 1000 calls, 150 served = 15.00. The grant is spent once.
    assert lines == [
        ("charge", "seats", D("90.00")),
        ("unserved", "seats", D("0.00")),
        ("charge", "calls", D("15.00")),
        ("late_adjustment", "calls", D("8.00")),
        ("late_adjustment", None, D("-3.00")),
    ]
    assert nov_invoice.state.credits == (D(0),)
    assert nov_invoice.total == D("110.00")


def test_late_events_re_rate_the_issued_periods_after_them(setup: tuple[Path, Path]) -> None:
    """A late October event found when December is rated: November is rated again too, from
    the credit balance the re-rated October leaves, so the grant is never spent twice."""
    folder, store_path = setup
    subs = load_subscriptions(
        acme_on(
            folder,
            "credit",
            "  - {id: seats, type: seat, unit_price: '30'}\n"
            "  - {id: calls, type: usage, metric: calls, price: {model: unit, unit_price: '0.10'}}\n"
            "modifiers: {credits: [{amount: '150'}]}\n",
        )
    )
    late = late_calls(folder, "late.csv", 9, "2026-10-05T00:00:00Z", 100)
    with EventStore(store_path) as store:
        october = rate(store, subs, month("2026-10"))
        november = rate(store, subs, month("2026-11"))
        store.ingest([late])
        december = rate(store, subs, month("2026-12"))
    # October 90.00 + 70 calls 7.00 = 97.00, credited; November 90.00 + 1000 calls 100.00 =
    # 190.00, the credit's last 53.00 off: 137.00.
    assert [i.invoices[0].total for i in (october, november)] == [D("0.00"), D("137.00")]
    # Re-rated: October 90.00 + 170 calls 17.00 = 107.00, all credited (+10.00 calls, -10.00
    # credit); November then has 43.00 of credit, not 53.00 (+10.00 credit). December:
    # 90.00 seats, no calls, no credit left: 90.00 + 10.00 - 10.00 + 10.00 = 100.00.
    (invoice,) = december.invoices
    adjustments = [
        (line.description.split(" re-rated")[0], line.component, line.amount)
        for line in invoice.lines
        if line.kind == "late_adjustment"
    ]
    assert adjustments == [
        ("2026-10", "calls", D("10.00")),
        ("2026-10", None, D("-10.00")),
        ("2026-11", None, D("10.00")),
    ]
    assert invoice.total == D("100.00")
    # Over the three months: 107.00 + 190.00 + 90.00 charged, 150.00 credited, 237.00 paid.
    assert D("0.00") + D("137.00") + invoice.total == D("237.00")


def test_a_subscription_from_mid_month_prepays_its_term_once(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    subs = load_subscriptions(
        acme_on(
            folder,
            "prepaid",
            "  - {id: calls, type: usage, metric: calls, price: {model: unit, unit_price: '0.10'}}\n"
            "modifiers: {commitment: {amount: '500', term_months: 12, payment: prepaid}}\n",
            start="2026-10-02",
            seats="",
        )
    )
    with EventStore(store_path) as store:
        october = rate(store, subs, month("2026-10"))
        november = rate(store, subs, month("2026-11"))
    # October opens the term: 500.00 prepaid (70 calls = 7.00 drawn); November is its second
    # month: 1000 calls = 100.00 drawn from the 493.00 left, nothing more invoiced
    assert [i.invoices[0].total for i in (october, november)] == [D("500.00"), D("0.00")]
    assert november.invoices[0].state.prepaid_balance == D("393.00")


def test_an_adjusted_period_re_rated_again_keeps_its_earlier_adjustment(
    setup: tuple[Path, Path],
) -> None:
    """November carries an adjustment for October; a late November event then re-rates
    November, whose own charges are compared, not the adjustment it carried."""
    folder, store_path = setup
    subs = load_subscriptions(folder / "subs.yaml")
    late_october = late_calls(folder, "late-oct.csv", 9, "2026-10-05T00:00:00Z", 100)
    late_november = late_calls(folder, "late-nov.csv", 10, "2026-11-05T00:00:00Z", 10)
    with EventStore(store_path) as store:
        rate(store, subs, month("2026-10"))
        store.ingest([late_october])
        november = rate(store, subs, month("2026-11"))
        store.ingest([late_november])
        december = rate(store, subs, month("2026-12"))
    (nov,) = [i for i in november.invoices if i.customer == "acme"]
    assert [line.amount for line in nov.lines if line.kind == "late_adjustment"] == [D("10.13")]
    # November re-rated: 1010 calls, 30 included (3 seats * 10) -> 980 * 0.10 = 98.00 where
    # 1000 - 30 = 970 * 0.10 = 97.00 was billed: +1.00, and October's +10.13 stays paid
    (dec,) = [i for i in december.invoices if i.customer == "acme"]
    adjustments = [line.amount for line in dec.lines if line.kind == "late_adjustment"]
    assert adjustments == [D("1.00")]


def test_a_plan_billed_yearly_is_refused_by_monthly_rating(setup: tuple[Path, Path]) -> None:
    folder, store_path = setup
    (folder / "annual-subs.yaml").write_text(
        "subscriptions:\n"
        "  - {customer: acme, plan: 'catalog:claude-team-standard-annual', start: 2026-01-01,"
        " seats: 5}\n"
    )
    result = CliRunner().invoke(
        app,
        ["rate", "--store", str(store_path), "--subscriptions", str(folder / "annual-subs.yaml"),
         "--period", "2026-10", "--dry-run"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "is billed per year; ratecard rate issues monthly invoices" in result.output
    assert "Traceback" not in result.output


def test_periods_are_rated_in_order(setup: tuple[Path, Path]) -> None:
    """Each period starts from the balances the one before handed over: skipping a month the
    customer was subscribed in, or going back before an issued one, is refused."""
    folder, store_path = setup
    subs = load_subscriptions(folder / "subs.yaml")
    with EventStore(store_path) as store:
        rate(store, subs, month("2026-10"))
        with pytest.raises(UsageError, match="not invoiced for it: rate 2026-11 first"):
            rate(store, subs, month("2026-12"))
        rate(store, subs, month("2026-11"))
        rate(store, subs, month("2026-12"))
        with pytest.raises(UsageError, match="already issued"):
            rate(store, subs, month("2026-11"))
        with pytest.raises(UsageError, match="invoiced for 2026-12, after 2026-09"):
            rate(store, subs, month("2026-09"))


def test_plans_the_sql_does_not_rate_go_to_the_exact_evaluator(tmp_path: Path) -> None:
    """Percentage prices, ``per: 3`` and fair use are not in the SQL; those customers are
    priced by ``evaluate`` from the store's events, beside a customer the SQL rates."""
    exotic = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "exotic",
            "components": [
                {
                    "id": "fees",
                    "type": "usage",
                    "metric": "payments",
                    "per": 3,
                    "price": {"model": "percentage", "percent": "2.9", "fixed_fee": "0.30"},
                },
                {
                    "id": "seats",
                    "type": "seat",
                    "unit_price": "10",
                    "fair_use": {"metric": "calls", "quantity": 100},
                },
                {
                    "id": "calls",
                    "type": "usage",
                    "metric": "calls",
                    "price": {"model": "unit", "unit_price": "0.5"},
                },
            ],
        }
    )
    plain = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "plain",
            "components": [
                {
                    "id": "calls",
                    "type": "usage",
                    "metric": "calls",
                    "price": {"model": "unit", "unit_price": "0.5"},
                },
            ],
        }
    )
    events = [
        {"id": "p1", "customer": "a", "timestamp": "2026-10-02T10:00:00Z", "metric": "payments",
         "value": "100.00"},
        {"id": "p2", "customer": "a", "timestamp": "2026-10-03T10:00:00Z", "metric": "payments",
         "value": "20.00"},
        {"id": "c1", "customer": "a", "timestamp": "2026-10-04T10:00:00Z", "metric": "calls",
         "quantity": 150, "dimensions": {"region": "eu"}},
        {"id": "c2", "customer": "a", "timestamp": "2026-10-05T10:00:00Z", "metric": "calls",
         "quantity": 100},
        {"id": "c3", "customer": "b", "timestamp": "2026-10-05T10:00:00Z", "metric": "calls",
         "quantity": 100},
        {"id": "old", "customer": "a", "timestamp": "2026-09-30T23:59:59Z", "metric": "calls",
         "quantity": 1000},
    ]  # fmt: skip
    from ratecard.rating.subscriptions import Subscription

    start = month("2026-10").start
    subs = [
        Subscription(customer="a", plan="x", start=start, seats=D(2)),
        Subscription(customer="b", plan="p", start=start),
    ]
    with EventStore(":memory:") as store:
        store.ingest([write_jsonl(tmp_path / "e.jsonl", events)])
        run = rate_period(store, subs, {"x": exotic, "p": plain}, month("2026-10"))
        invoices = {i.customer: i for i in run.invoices()}
    assert run.exact is not None
    assert [p.path for p in run.exact.reasons["exotic"]] == [
        "components[0].per",
        "components[0].price",
        "components[1].fair_use",
    ]
    # fees: (2.9% of 100.00 + 0.30) + (2.9% of 20.00 + 0.30) = 3.20 + 0.88 = 4.08
    # seats: 2 * 10 = 20.00; fair use 2 * 100 = 200 of the 250 calls served (September's
    # 1000 are outside the period): 50 unserved, 200 * 0.5 = 100.00. Total 124.08.
    lines = {(line.component, line.kind): line.amount for line in invoices["a"].lines}
    assert lines == {
        ("fees", "charge"): D("4.08"),
        ("seats", "charge"): D("20.00"),
        ("seats", "unserved"): D("0.00"),
        ("calls", "charge"): D("100.00"),
    }
    assert invoices["a"].total == D("124.08")
    assert invoices["b"].total == D("50.00")  # the SQL path: 100 * 0.5


def test_invalid_token_requests_are_reported(tmp_path: Path) -> None:
    plan = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "p",
            "components": [
                {"id": "tok", "type": "tokens", "prices": {"input": "1", "output": "2"}}
            ],
        }
    )
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps(
            {
                "id": "r1",
                "customer": "a",
                "timestamp": "2026-10-02T00:00:00Z",
                "quantities": {"input_tokens": 5, "cache_read_tokens": 9},
            }
        )
    )
    from ratecard.rating.subscriptions import Subscription

    with EventStore(":memory:") as store:
        store.ingest([events])
        with pytest.raises(UsageError, match="exceed input_tokens"):
            rate_period(
                store,
                [Subscription(customer="a", plan="p", start=month("2026-10").start)],
                {"p": plan},
                month("2026-10"),
            )


def calls_plan_and_zeta(setup: tuple[Path, Path]) -> tuple[Path, Path]:
    """Write calls.yaml (calls at 0.10) and store zeta's 4 calls of October 9; ``setup``."""
    folder, store_path = setup
    (folder / "calls.yaml").write_text(
        "ratecard: 1\nid: calls\ncurrency: USD\ncomponents:\n"
        "  - {id: calls, type: usage, metric: calls, price: {model: unit, unit_price: '0.10'}}\n"
    )
    zeta = folder / "zeta.csv"
    zeta.write_text("id,customer,timestamp,metric,quantity\nz1,zeta,2026-10-09T08:00:00Z,calls,4\n")
    with EventStore(store_path) as store:
        store.ingest([zeta])
    return setup


def test_only_the_subscription_days_are_rated_and_the_rest_is_reported(
    setup: tuple[Path, Path],
) -> None:
    """acme's calls: 50 on October 2, 20 on October 3. Subscribed from October 3, acme is
    billed the 20 (20 x 0.10 = 2.00); until October 3 (exclusive), the 50 (5.00). Events no
    subscription covered are listed, with zeta, who has no subscription at all."""
    folder, store_path = calls_plan_and_zeta(setup)
    totals = {}
    for name, dates in (
        ("from", "start: 2026-10-03"),
        ("until", "start: 2026-01-01, end: 2026-10-03"),
    ):
        subs = folder / f"{name}.yaml"
        subs.write_text(f"subscriptions:\n  - {{customer: acme, plan: calls.yaml, {dates}}}\n")
        with EventStore(store_path) as store:
            loaded = load_subscriptions(subs)
            result = rate(store, loaded, month("2026-10"), issue=False)
            # counted from the rating scan's sums; a pass of its own finds the same
            october = month("2026-10")
            assert result.unrated == unrated(store.con, DUCKDB, loaded.for_period(october), october)
        (invoice,) = result.invoices
        totals[name] = invoice.total
        # beta (no subscription here) and zeta are not rated, and acme's other day is reported
        assert [(u.customer, u.events, u.subscribed) for u in result.unrated] == [
            ("acme", 1, True),
            ("beta", 1, False),
            ("zeta", 1, False),
        ]
    assert totals == {"from": D("2.00"), "until": D("5.00")}


def test_a_customer_added_to_an_issued_month_is_invoiced_on_its_own(
    setup: tuple[Path, Path],
) -> None:
    """October was issued for acme and beta; zeta's subscription is added afterwards. Rating
    October again invoices zeta alone (4 calls x 0.10 = 0.40) and leaves the issued ones."""
    folder, store_path = calls_plan_and_zeta(setup)
    subs = folder / "subs.yaml"
    with EventStore(store_path) as store:
        first = rate(store, load_subscriptions(subs), month("2026-10"))
        assert [(u.customer, u.subscribed) for u in first.unrated] == [("zeta", False)]
        subs.write_text(
            subs.read_text() + "  - {customer: zeta, plan: calls.yaml, start: 2026-10-01}\n"
        )
        again = rate(store, load_subscriptions(subs), month("2026-10"))
        assert [(i.customer, i.total) for i in again.invoices] == [("zeta", D("0.40"))]
        assert again.kept == 2
        assert again.unrated == []
        with pytest.raises(UsageError, match="already issued for every subscribed customer"):
            rate(store, load_subscriptions(subs), month("2026-10"))
