"""Ingestion: every format, exactly once, all or nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ratecard.cli import app
from ratecard.errors import UsageError
from ratecard.store import EventStore

D = Decimal


def rows(store: EventStore) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT e.source, e.id, e.customer, strftime(e.ts, '%Y-%m-%dT%H:%M:%S'), e.metric, "
        "e.quantity, d.dims, e.status, e.value FROM events e JOIN dims d USING (dims_id) "
        "ORDER BY e.source, e.id, e.metric"
    ).fetchall()


def test_csv_with_dimension_columns_and_zones(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "id,customer,timestamp,metric,quantity,dimensions.model,dimensions.region\n"
        "1,acme,2026-10-03T19:00:00+02:00,input_tokens,1500,gpt-x,eu\n"
        "2,acme,2026-10-03T17:00:00Z,agent_actions,,,\n"
    )
    with EventStore(tmp_path / "s.duckdb") as store:
        report = store.ingest([path])
        assert (report.inserted, report.duplicates, report.rejected) == (2, 0, 0)
        assert rows(store) == [
            (
                "",
                "1",
                "acme",
                "2026-10-03T17:00:00",
                "input_tokens",
                D("1500"),
                '{"model":"gpt-x","region":"eu"}',
                None,
                None,
            ),
            # quantity defaults to 1, as Event.metric_quantities does
            ("", "2", "acme", "2026-10-03T17:00:00", "agent_actions", D("1"), "{}", None, None),
        ]


def test_jsonl_quantities_map_explodes_into_one_row_per_metric(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "r1",
                "customer": "acme",
                "timestamp": "2026-10-03T17:00:05Z",
                "dimensions": {"model": "gpt-x"},
                "quantities": {
                    "input_tokens": 300000,
                    "cache_read_tokens": 50000,
                    "output_tokens": 10,
                },
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "o1",
                "customer": "acme",
                "timestamp": "2026-10-03T17:00:00Z",
                "metric": "resolution",
                "quantity": 1,
                "status": "confirmed",
                "attributed_at": "2026-10-02T09:00:00Z",
                "value": "120.00",
            }
        )
        + "\n"
    )
    with EventStore(":memory:") as store:
        store.ingest([path])
        got = rows(store)
    assert [(r[1], r[4], r[5]) for r in got] == [
        ("o1", "resolution", D("1")),
        ("r1", "cache_read_tokens", D("50000")),
        ("r1", "input_tokens", D("300000")),
        ("r1", "output_tokens", D("10")),
    ]
    assert got[0][7:] == ("confirmed", D("120.00"))


def test_parquet_with_struct_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    moment = datetime(2026, 10, 3, 17, tzinfo=UTC)
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b"],
                "customer": ["acme", "beta"],
                "timestamp": pa.array([moment, moment], pa.timestamp("us", tz="UTC")),
                "metric": ["calls", "calls"],
                "quantity": [1.5, 2.0],
                "dimensions": [{"region": "eu", "model": "x"}, {"region": None, "model": "y"}],
            }
        ),
        path,
    )
    with EventStore(":memory:") as store:
        store.ingest([path])
        assert [(r[1], r[5], r[6]) for r in rows(store)] == [
            ("a", D("1.5"), '{"model":"x","region":"eu"}'),
            ("b", D("2"), '{"model":"y"}'),
        ]


def test_cloudevents_single_and_batched_dedup_on_source_and_id(tmp_path: Path) -> None:
    def event(source: str, ident: str, quantity: int) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "type": "com.example.usage",
            "source": source,
            "id": ident,
            "subject": "acme",
            "time": "2026-10-03T17:00:00Z",
            "data": {"metric": "calls", "quantity": quantity},
        }

    single = tmp_path / "one.json"
    single.write_text(json.dumps(event("svc-a", "1", 5)))
    batch = tmp_path / "batch.json"
    # the same id from another source is another event; the repeat of svc-a/1 is not
    batch.write_text(json.dumps([event("svc-b", "1", 7), event("svc-a", "1", 99)]))
    with EventStore(":memory:") as store:
        store.ingest([single])
        report = store.ingest([batch])
        assert (report.inserted, report.duplicates) == (1, 1)
        assert [(r[0], r[1], r[5]) for r in rows(store)] == [
            ("svc-a", "1", D("5")),
            ("svc-b", "1", D("7")),
        ]


def test_cloudevent_without_required_attributes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [{"specversion": "1.0", "id": "1", "subject": "acme", "data": {"metric": "calls"}}]
        )
    )
    with EventStore(":memory:") as store, pytest.raises(UsageError) as caught:
        store.ingest([path])
    assert {p.path for p in caught.value.problems} == {"[0].source", "[0].type"}


def otlp_span(trace: str, span: str, **usage: int) -> dict[str, Any]:
    attributes = [
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-x"}},
        {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
    ]
    names = {
        "input": "gen_ai.usage.input_tokens",
        "output": "gen_ai.usage.output_tokens",
        "cache_read": "gen_ai.usage.cache_read.input_tokens",
        "cache_write": "gen_ai.usage.cache_creation.input_tokens",
        "reasoning": "gen_ai.usage.reasoning.output_tokens",
    }
    attributes += [{"key": names[k], "value": {"intValue": str(v)}} for k, v in usage.items()]
    return {
        "traceId": trace,
        "spanId": span,
        "name": "chat gpt-x",
        "startTimeUnixNano": "1790960400000000000",
        "endTimeUnixNano": "1790960401500000000",
        "attributes": attributes,
    }


def test_otlp_genai_spans_become_token_requests(tmp_path: Path) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "ratecard.customer", "value": {"stringValue": "acme"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            otlp_span(
                                "t1",
                                "s1",
                                input=1000,
                                output=200,
                                cache_read=300,
                                cache_write=100,
                                reasoning=50,
                            ),
                            {
                                "traceId": "t1",
                                "spanId": "s2",
                                "name": "not genai",
                                "attributes": [],
                            },
                        ]
                    }
                ],
            }
        ]
    }
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(document))
    with EventStore(":memory:") as store:
        store.ingest([path])
        got = rows(store)
    assert {(r[4], r[5]) for r in got} == {
        ("input_tokens", D(1000)),
        ("output_tokens", D(200)),
        ("cache_read_tokens", D(300)),
        ("cache_write_tokens", D(100)),
        ("reasoning_tokens", D(50)),
    }
    assert {(r[0], r[1], r[2], r[3], r[6]) for r in got} == {
        ("otlp", "t1:s1", "acme", "2026-10-02T17:00:01", '{"model":"gpt-x","provider":"openai"}')
    }


def test_otlp_cache_above_input_is_rejected(tmp_path: Path) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "enduser.id", "value": {"stringValue": "acme"}}]
                },
                "scopeSpans": [{"spans": [otlp_span("t", "s", input=10, cache_read=20)]}],
            }
        ]
    }
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(document))
    with EventStore(":memory:") as store, pytest.raises(UsageError, match="exceed"):
        store.ingest([path])


def test_reingest_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "id,customer,timestamp,metric,quantity\n"
        "1,acme,2026-10-03T17:00:00Z,calls,5\n1,acme,2026-10-03T17:00:00Z,calls,6\n"
    )
    with EventStore(tmp_path / "s.duckdb") as store:
        first = store.ingest([path])
        before = rows(store)
        second = store.ingest([path, path])
        assert (first.inserted, first.duplicates) == (1, 1)  # the first occurrence wins
        assert (second.inserted, second.duplicates) == (0, 4)
        assert (
            rows(store)
            == before
            == [("", "1", "acme", "2026-10-03T17:00:00", "calls", D(5), "{}", None, None)]
        )


BAD = (
    "id,customer,timestamp,metric,quantity\n"
    "1,acme,2026-10-03T17:00:00Z,calls,5\n"
    ",acme,2026-10-03T17:00:00Z,calls,5\n"
    "3,acme,2026-10-03,calls,-1\n"
    "4,acme,2026-10-03T17:00:00Z,calls,0.1234567\n"
)


def test_invalid_rows_reject_the_whole_batch_listing_every_row(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,customer,timestamp,metric,quantity\n9,acme,2026-10-03T17:00:00Z,x,1\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    with EventStore(tmp_path / "s.duckdb") as store:
        with pytest.raises(UsageError) as caught:
            store.ingest([good, bad])
        assert store.count() == 0
        assert store.watermark() == 0
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (3, "id"),
        (4, "timestamp"),
        (4, "quantity"),
        (5, "quantity"),
    ]
    assert all(p.source == str(bad) for p in caught.value.problems)


def test_invalid_parquet_rows_are_listed_with_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["a", None, "c"],
                "customer": ["x", "y", "z"],
                "timestamp": ["2026-10-03T17:00:00Z", "2026-10-03T17:00:00Z", "yesterday"],
                "metric": ["m", "m", "m"],
                "quantity": [1, 2, -3],
            }
        ),
        path,
    )
    with EventStore(":memory:") as store:
        with pytest.raises(UsageError) as caught:
            store.ingest([path])
        assert store.count() == 0
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (2, "id"),
        (3, "timestamp"),
        (3, "quantity"),
    ]


@pytest.mark.parametrize(
    ("stamp", "accepted"),
    [
        ("2026-10-03T24:00:00Z", False),  # DuckDB alone reads hour 24 as the next midnight
        ("2026-10-03T17:00:00+24:00", False),  # an offset of a day or more
        ("2026-10-03T17:00:00-2400", False),
        ("2026-10-03T17:00:00+23:59", True),
        ("2026-10-03T23:59:59Z", True),
    ],
)
def test_parquet_text_timestamps_are_read_as_the_csv_reader_reads_them(
    tmp_path: Path, stamp: str, accepted: bool
) -> None:
    parquet, text = tmp_path / "e.parquet", tmp_path / "e.csv"
    pq.write_table(
        pa.table(
            {"id": ["a"], "customer": ["x"], "timestamp": [stamp], "metric": ["m"], "quantity": [1]}
        ),
        parquet,
    )
    text.write_text(f"id,customer,timestamp,metric,quantity\na,x,{stamp},m,1\n")
    for path in (parquet, text):
        with EventStore(":memory:") as store:
            if accepted:
                store.ingest([path])
                assert store.con.sql("SELECT ts FROM events").fetchall() == [
                    (datetime.fromisoformat(stamp).astimezone(UTC).replace(tzinfo=None),)
                ]
            else:
                with pytest.raises(UsageError) as caught:
                    store.ingest([path])
                assert [p.path for p in caught.value.problems] == ["timestamp"]
                assert store.count() == 0


@pytest.mark.parametrize(
    ("quantity", "stored"),
    [
        ("1.0000000000001", None),  # a 13th decimal: rounded away unseen before, refused now
        ("1.00000000000000000001", None),
        ("1.0000001", None),
        ("1.5000000000000", "1.500000"),  # zeros past the 6th place change nothing
        ("1.0000001e1", "10.000001"),
        ("1e3", "1000.000000"),
    ],
)
def test_parquet_text_quantities_keep_every_decimal_written(
    tmp_path: Path, quantity: str, stored: str | None
) -> None:
    """A quantity written as text in Parquet is read as the CSV reader reads it: six
    decimals at most, however many zeros or digits follow."""
    for path in (tmp_path / "e.parquet", tmp_path / "e.csv"):
        if path.suffix == ".parquet":
            columns = {"id": ["a"], "customer": ["x"], "timestamp": ["2026-10-03T17:00:00Z"]}
            pq.write_table(pa.table({**columns, "metric": ["m"], "quantity": [quantity]}), path)
        else:
            path.write_text(
                f"id,customer,timestamp,metric,quantity\na,x,2026-10-03T17:00:00Z,m,{quantity}\n"
            )
        with EventStore(":memory:") as store:
            if stored is None:
                with pytest.raises(UsageError, match="more than 6 decimal places"):
                    store.ingest([path])
                assert store.count() == 0
            else:
                store.ingest([path])
                assert store.con.sql("SELECT quantity FROM events").fetchall() == [
                    (Decimal(stored),)
                ]


def test_control_characters_in_dimensions_give_one_dimension_set_in_every_format(
    tmp_path: Path,
) -> None:
    """DuckDB writes some control characters' JSON escapes in upper case, Python in lower
    case: a value with them, from a Parquet column, a Parquet JSON column or JSON Lines, is
    one set of dimensions."""
    value = "a\x0bb\x1fc\u00e9\x01"
    event = {"customer": ["x"], "timestamp": ["2026-10-03T17:00:00Z"], "metric": ["m"]}
    columns = tmp_path / "columns.parquet"
    pq.write_table(
        pa.table({"id": ["a"], **event, "quantity": [1], "dimensions.region": [value]}), columns
    )
    document = tmp_path / "json.parquet"
    dims = json.dumps({"region": value})
    pq.write_table(
        pa.table({"id": ["b"], **event, "quantity": [1], "dimensions": [dims]}), document
    )
    lines = tmp_path / "e.jsonl"
    lines.write_text(
        json.dumps(
            {"id": "c", "customer": "x", "timestamp": "2026-10-03T17:00:00Z", "metric": "m"}
            | {"quantity": 1, "dimensions": {"region": value}}
        )
        + "\n"
    )
    with EventStore(tmp_path / "s.duckdb") as store:
        for path in (columns, document, lines):
            store.ingest([path])
        assert store.con.sql("SELECT dims FROM dims").fetchall() == [
            (json.dumps({"region": value}, ensure_ascii=False, separators=(",", ":")),)
        ]
        assert store.con.sql("SELECT count(DISTINCT dims_id) FROM events").fetchall() == [(1,)]


def test_skip_invalid_keeps_valid_rows_and_writes_rejects(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    rejects = tmp_path / "rejects.jsonl"
    with EventStore(":memory:") as store:
        report = store.ingest([bad], skip_invalid=True, rejects=rejects)
        assert (report.inserted, report.rejected) == (1, 3)
        assert [r[1] for r in rows(store)] == ["1"]
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [r["line"] for r in lines] == [3, 4, 5]
    assert "must not be negative" in " ".join(lines[1]["reasons"])


def test_cli_reports_bad_rows_with_exit_code_2_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    result = CliRunner().invoke(app, ["ingest", str(bad), "--store", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{bad}:4: quantity: must not be negative" in result.output


KILLER = """
import sys, time
from ratecard.store import EventStore, events, keys

def stop_after(module, name):
    real = getattr(module, name)
    def stopped(*args, **kwargs):
        result = real(*args, **kwargs)
        print("stopped after " + name, flush=True)
        time.sleep(600)
        return result
    setattr(module, name, stopped)

point = sys.argv[3]
if point == "copy_segment":
    stop_after(events, "copy_segment")
elif point == "write_keys":
    stop_after(keys, "write_keys")
else:
    stop_after(EventStore, "_insert_staged")
store = EventStore(sys.argv[1])
store.ingest(sys.argv[2:3])
"""


@pytest.mark.parametrize(
    ("point", "suffix"),
    [("copy_segment", "parquet"), ("write_keys", "parquet"), ("_insert_staged", "csv")],
)
def test_sigkill_mid_ingest_leaves_the_store_as_it_was(
    tmp_path: Path, point: str, suffix: str
) -> None:
    """Killed once the batch's files or rows are written but before it commits."""
    store_path = tmp_path / "s.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("id,customer,timestamp,metric,quantity\n1,acme,2026-10-03T17:00:00Z,x,1\n")
    with EventStore(store_path) as store:
        store.ingest([first])
        before = rows(store)
        kept = sorted(store.folder.iterdir())
    big = tmp_path / f"big.{suffix}"
    n = 1000
    table = pa.table(
        {
            "id": pa.array([f"k{i}" for i in range(n)]),
            "customer": pa.array(["c"] * n),
            "timestamp": pa.array(["2026-10-03T17:00:00Z"] * n),
            "metric": pa.array(["x"] * n),
            "quantity": pa.array(range(n), pa.int64()),
        }
    )
    if suffix == "parquet":
        pq.write_table(table, big)
    else:
        pa.csv.write_csv(table, big)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    with subprocess.Popen(
        [sys.executable, "-c", KILLER, str(store_path), str(big), point],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == f"stopped after {point}"
        if point != "_insert_staged":  # the uncommitted batch's files are there
            assert len(list(store.folder.iterdir())) > len(kept)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
    with EventStore(store_path) as store:
        assert rows(store) == before
        assert store.watermark() == 1
        assert sorted(store.folder.iterdir()) == kept  # what the killed ingest wrote is gone
        # and the store still works
        assert store.ingest([first]).duplicates == 1
        assert store.ingest([big]).inserted == n


# -- segments: clean Parquet files are kept as they came (ratecard.store.segments) ----------


def parquet_events(path: Path, ids: list[str], quantities: list[int], **extra: Any) -> Path:
    moment = datetime(2026, 10, 3, 17, tzinfo=UTC)
    n = len(ids)
    columns: dict[str, Any] = {
        "id": ids,
        "customer": ["acme"] * n,
        "timestamp": pa.array([moment] * n, pa.timestamp("us", tz="UTC")),
        "metric": ["calls"] * n,
        "quantity": pa.array(quantities, pa.int64()),
        **extra,
    }
    pq.write_table(pa.table(columns), path)
    return path


def stored(store: EventStore) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT e.*, d.dims FROM events e JOIN dims d USING (dims_id) ORDER BY ALL"
    ).fetchall()


def test_parquet_dedup_first_occurrence_wins_within_the_batch_and_against_the_store(
    tmp_path: Path,
) -> None:
    first = parquet_events(tmp_path / "a.parquet", ["1", "2", "1"], [10, 20, 30])
    second = parquet_events(tmp_path / "b.parquet", ["2", "3", "3"], [40, 50, 60])
    with EventStore(tmp_path / "s.duckdb") as store:
        report = store.ingest([first, second])
        assert (report.rows, report.inserted, report.duplicates) == (6, 3, 3)
        assert [(r[1], r[5]) for r in rows(store)] == [("1", D(10)), ("2", D(20)), ("3", D(50))]
        before = stored(store)
        again = store.ingest([second, first])
        assert (again.inserted, again.duplicates) == (0, 6)
        assert stored(store) == before
        more = parquet_events(tmp_path / "c.parquet", ["3", "4"], [70, 80])
        assert store.ingest([more]).inserted == 1
        assert [(r[1], r[5]) for r in rows(store)][-1] == ("4", D(80))


def test_parquet_quantities_map_keeps_every_metric_of_the_first_event(tmp_path: Path) -> None:
    moment = datetime(2026, 10, 3, 17, tzinfo=UTC)
    path = tmp_path / "q.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["r1", "r1", "r2"],
                "customer": ["acme", "acme", "acme"],
                "timestamp": pa.array([moment] * 3, pa.timestamp("us", tz="UTC")),
                "quantities": pa.array(
                    [[("in", 1), ("out", 2)], [("in", 9)], [("in", 3)]],
                    pa.map_(pa.string(), pa.int64()),
                ),
            }
        ),
        path,
    )
    with EventStore(":memory:") as store:
        report = store.ingest([path])
        assert (report.rows, report.inserted, report.duplicates) == (4, 3, 1)
        assert [(r[1], r[4], r[5]) for r in rows(store)] == [
            ("r1", "in", D(1)),
            ("r1", "out", D(2)),
            ("r2", "in", D(3)),
        ]


@pytest.mark.parametrize(
    "dims",
    [
        {"dimensions": [{"region": "eu", "model": "x"}, {"region": None, "model": "y"}, None]},
        {"dimensions": ['{"b": "2", "a": 1}', None, '{"a": null}']},
        {"dimensions.model": ["x", None, "y"], "dimensions.region": ["eu", "us", None]},
        {},
    ],
)
def test_bulk_and_staged_ingest_store_identical_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dims: dict[str, Any]
) -> None:
    path = parquet_events(tmp_path / "e.parquet", ["1", "2", "1"], [1, 2, 3], **dims)
    extra = parquet_events(tmp_path / "f.parquet", ["2", "4"], [5, 6])
    with EventStore(":memory:") as store:
        bulk = [store.ingest([path, extra]), store.ingest([extra])]
        bulk_rows = stored(store)
        bulk_dims = store.con.execute("SELECT * FROM dims ORDER BY ALL").fetchall()
        # both files were kept as segments, the first with its repeated event skipped
        assert store.con.execute("SELECT segment, rows FROM segments").fetchall() == [
            (1, 2),
            (2, 1),
        ]
        assert store.con.execute("SELECT count(*) FROM event_rows").fetchall() == [(0,)]
    monkeypatch.setattr(EventStore, "_clean_parquet", lambda *a: None)
    with EventStore(":memory:") as store:
        staged = [store.ingest([path, extra]), store.ingest([extra])]
        assert stored(store) == bulk_rows
        assert store.con.execute("SELECT * FROM dims ORDER BY ALL").fetchall() == bulk_dims
    assert [(r.rows, r.inserted, r.duplicates, r.batch) for r in bulk] == [
        (r.rows, r.inserted, r.duplicates, r.batch) for r in staged
    ]


def test_parquet_with_bad_rows_falls_back_to_staging_for_skip_invalid(tmp_path: Path) -> None:
    good = parquet_events(tmp_path / "good.parquet", ["1", "2"], [1, 2])
    bad = parquet_events(tmp_path / "bad.parquet", ["3", "4", "5"], [3, -4, 5])
    rejects = tmp_path / "rejects.jsonl"
    with EventStore(":memory:") as store:
        with pytest.raises(UsageError) as caught:
            store.ingest([good, bad])
        assert [(p.source, p.line, p.path) for p in caught.value.problems] == [
            (str(bad), 2, "quantity")
        ]
        assert store.count() == 0
        assert store.watermark() == 0
        report = store.ingest([good, bad], skip_invalid=True, rejects=rejects)
        assert (report.inserted, report.rejected) == (4, 1)
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [(r["file"], r["line"]) for r in lines] == [(str(bad), 2)]
    assert "must not be negative" in lines[0]["reasons"][0]


def test_parquet_and_csv_in_one_batch(tmp_path: Path) -> None:
    parquet = parquet_events(tmp_path / "a.parquet", ["1", "2"], [1, 2])
    csv = tmp_path / "b.csv"
    csv.write_text("id,customer,timestamp,metric,quantity\n2,acme,2026-10-03T17:00:00Z,calls,9\n")
    with EventStore(":memory:") as store:
        report = store.ingest([parquet, csv])
        assert (report.inserted, report.duplicates) == (2, 1)
        assert [(r[1], r[5]) for r in rows(store)] == [("1", D(1)), ("2", D(2))]


def test_unreadable_parquet_dimensions_fail_cleanly_and_leave_the_store(tmp_path: Path) -> None:
    good = parquet_events(tmp_path / "good.parquet", ["1"], [1])
    broken = parquet_events(tmp_path / "bad.parquet", ["2"], [2], dimensions=["{not json"])
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([good])
        before = stored(store)
        with pytest.raises(UsageError, match="cannot read the file"):
            store.ingest([good, broken])
        assert stored(store) == before
        assert store.watermark() == 1
        assert store.ingest([good]).duplicates == 1
