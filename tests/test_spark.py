"""The Spark engine gives the same invoices as the DuckDB engine (and the exact evaluator)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ratecard
from ratecard.rating.engine import rate_period
from ratecard.rating.subscriptions import Subscription, month
from ratecard.store import EventStore
from tests.engine_helpers import assert_same, reference_invoice, write_jsonl

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime (java is not on PATH)", allow_module_level=True)

PLAN = {
    "ratecard": 1,
    "id": "spark",
    "currency": "EUR",
    "components": [
        {"id": "base", "type": "flat", "amount": "10"},
        {
            "id": "seats",
            "type": "seat",
            "unit_price": "30",
            "min_seats": 2,
            "proration": "daily",
            "included": {"metric": "calls", "quantity": 5},
        },
        {
            "id": "calls",
            "type": "usage",
            "metric": "calls",
            "price": {
                "model": "graduated",
                "tiers": [
                    {"up_to": 10, "unit_price": "1.00", "flat_fee": "2"},
                    {"up_to": None, "unit_price": "0.5"},
                ],
            },
            "multipliers": {
                "region": {"eu": "1.10"},
                "time_of_day": [
                    {"from": "16:30", "to": "00:30", "tz": "Europe/Paris", "factor": "0.5"}
                ],
            },
        },
        {
            "id": "minutes",
            "type": "usage",
            "metric": "minutes",
            "price": {"model": "package", "size": "2.5", "package_price": "3"},
        },
        {
            "id": "tok",
            "type": "tokens",
            "filter": {"model": "gpt-x"},
            "per": 1000000,
            "prices": {"input": "2.00", "cache_read": "0.20", "output": "12.00"},
            "context_tiers": [
                {"input_tokens_over": 1000, "prices": {"input": "4.00", "output": "18.00"}}
            ],
            "variants": {"batch": {"factor": "0.5"}},
        },
        {
            "id": "res",
            "type": "outcome",
            "metric": "resolution",
            "attribution_window": "72h",
            "price": {"model": "unit", "unit_price": "0.99"},
        },
    ],
    "modifiers": {
        "discounts": [{"percent": "10", "applies_to": ["calls"]}],
        "escalation": {"percent_per_year": "3"},
    },
}


def events() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for n in range(40):
        customer = f"c{n % 3}"
        stamp = f"2026-10-{1 + n % 28:02d}T{(n * 5) % 24:02d}:{(n * 7) % 60:02d}:00Z"
        kind = n % 4
        if kind == 0:
            result.append(
                {
                    "id": f"e{n}",
                    "customer": customer,
                    "timestamp": stamp,
                    "metric": "calls",
                    "quantity": 1 + n % 7,
                    "dimensions": {"region": ["eu", "us"][n % 2]},
                }
            )
        elif kind == 1:
            result.append(
                {
                    "id": f"e{n}",
                    "customer": customer,
                    "timestamp": stamp,
                    "metric": "minutes",
                    "quantity": f"{n % 5}.5",
                }
            )
        elif kind == 2:
            result.append(
                {
                    "id": f"e{n}",
                    "customer": customer,
                    "timestamp": stamp,
                    "dimensions": {"model": "gpt-x", **({"mode": "batch"} if n % 3 else {})},
                    "quantities": {
                        "input_tokens": 200 * n,
                        "cache_read_tokens": 10 * n,
                        "output_tokens": 30 * n,
                    },
                }
            )
        else:
            result.append(
                {
                    "id": f"e{n}",
                    "customer": customer,
                    "timestamp": stamp,
                    "metric": "resolution",
                    "attributed_at": "2026-10-02T00:00:00Z",
                    "status": ["confirmed", "reversed"][n % 2],
                }
            )
    return result


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from ratecard.rating.spark import spark_session

    session = spark_session("local[2]", "ratecard-tests", partitions=1)
    yield session
    session.stop()


def test_spark_invoices_equal_duckdb_and_the_evaluator(tmp_path: Path, spark: Any) -> None:
    from ratecard.rating.spark import rate_period_spark

    plan = ratecard.load_plan(PLAN)
    usage = events()
    subs = [
        Subscription(customer=f"c{i}", plan="p", start=date(2024, 3, 1), seats=Decimal(1 + 2 * i))
        for i in range(4)
    ]
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([write_jsonl(tmp_path / "e.jsonl", usage)])
        store.export_parquet(tmp_path / "events.parquet")
        local = {
            i.customer: i
            for i in rate_period(store, subs, {"p": plan}, month("2026-10")).invoices()
        }
    run = rate_period_spark(
        spark, str(tmp_path / "events.parquet"), subs, {"p": plan}, month("2026-10")
    )
    distributed = {i.customer: i for i in run.invoices()}
    assert set(distributed) == set(local) == {"c0", "c1", "c2", "c3"}
    for sub in subs:
        mine = distributed[sub.customer]
        for a, b in zip(
            mine.to_dict()["lines"], local[sub.customer].to_dict()["lines"], strict=True
        ):
            assert a == b
        assert mine.to_dict() == local[sub.customer].to_dict()
        assert_same(mine, reference_invoice(plan, usage, sub))
    assert sum(i.total for i in distributed.values()) > 0


def test_spark_rates_plans_outside_its_sql_with_the_exact_evaluator(
    tmp_path: Path, spark: Any
) -> None:
    """A fair-use limit takes the plan to the exact evaluator on both engines: the events
    still come from Spark (time-of-day calls, token requests and outcomes one by one)."""
    from ratecard.rating.spark import rate_period_spark

    document = {**PLAN, "components": [dict(c) for c in PLAN["components"]]}
    document["components"][1]["fair_use"] = {"metric": "calls", "quantity": 4}
    plan = ratecard.load_plan(document)
    usage = events()
    subs = [
        Subscription(customer=f"c{i}", plan="p", start=date(2024, 3, 1), seats=Decimal(1 + i))
        for i in range(3)
    ]
    parquet = tmp_path / "events.parquet"
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([write_jsonl(tmp_path / "e.jsonl", usage)])
        store.export_parquet(parquet)
    run = rate_period_spark(spark, str(parquet), subs, {"p": plan}, month("2026-10"))
    assert run.exact is not None
    assert [p.path for p in run.exact.reasons["spark"]] == ["components[1].fair_use"]
    invoices = {i.customer: i for i in run.invoices()}
    assert any(line.kind == "unserved" for i in invoices.values() for line in i.lines)
    for sub in subs:
        assert_same(invoices[sub.customer], reference_invoice(plan, usage, sub))


@pytest.mark.parametrize("fair_use", [False, True], ids=["sql", "exact"])
def test_spark_reports_the_usage_no_subscription_priced_as_duckdb_does(
    tmp_path: Path, spark: Any, fair_use: bool
) -> None:
    """c0 is subscribed from October 15 (its events of October 1-14 are not priced), c1 for
    the whole month, c2 not at all: both engines list c0's early events and all of c2's,
    counted from the rating scan (the plan in SQL) or by a pass of their own (a fair-use
    limit sends the plan to the exact evaluator)."""
    from ratecard.rating.coverage import unrated, unrated_of_scan
    from ratecard.rating.dialect import DUCKDB
    from ratecard.rating.spark import rate_period_spark, unrated_spark

    document = {**PLAN, "components": [dict(c) for c in PLAN["components"]]}
    if fair_use:
        document["components"][1]["fair_use"] = {"metric": "calls", "quantity": 4}
    plan = ratecard.load_plan(document)
    usage = events()
    subs = [
        Subscription(customer="c0", plan="p", start=date(2026, 10, 15), seats=Decimal(1)),
        Subscription(customer="c1", plan="p", start=date(2024, 3, 1), seats=Decimal(2)),
    ]
    october = month("2026-10")
    parquet = tmp_path / "events.parquet"
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([write_jsonl(tmp_path / "e.jsonl", usage)])
        store.export_parquet(parquet)
        local = rate_period(store, subs, {"p": plan}, october)
        if fair_use:
            assert local.customer_events is None
            expected = unrated(store.con, DUCKDB, subs, october)
        else:
            assert local.customer_events is not None
            expected = unrated_of_scan(local.customer_events, subs)
    run = rate_period_spark(spark, str(parquet), subs, {"p": plan}, october)
    assert (run.customer_events is None) == fair_use
    found = unrated_spark(spark, run, subs, october)
    assert found == expected
    assert [(u.customer, u.subscribed) for u in found] == [("c0", True), ("c2", False)]
    if fair_use:
        # a pass of its own counts every event-metric row (a token event has one per metric)
        def rows(customer: str, before: str = "2026-11") -> int:
            return sum(
                len(e.get("quantities", {"": 0}))
                for e in usage
                if e["customer"] == customer and e["timestamp"] < before
            )

        assert [u.events for u in found] == [rows("c0", "2026-10-15"), rows("c2")]
