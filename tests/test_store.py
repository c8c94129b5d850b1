"""The event store's own machinery: segments, key files, the events view, upgrades."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratecard.errors import UsageError
from ratecard.store import EventStore
from ratecard.store import keys as store_keys


def parquet(path: Path, ids: list[str], *, day: int = 3, month: int = 10) -> Path:
    n = len(ids)
    moment = datetime(2026, month, day, 17, tzinfo=UTC)
    pq.write_table(
        pa.table(
            {
                "id": ids,
                "customer": ["acme"] * n,
                "timestamp": pa.array([moment] * n, pa.timestamp("us", tz="UTC")),
                "metric": ["calls"] * n,
                "quantity": pa.array(range(1, n + 1), pa.int64()),
            }
        ),
        path,
    )
    return path


def csv(path: Path, ids: list[str]) -> Path:
    lines = ["id,customer,timestamp,metric,quantity"]
    lines += [f"{i},acme,2026-10-03T17:00:00Z,calls,{n}" for n, i in enumerate(ids, 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_ids(store: EventStore) -> list[tuple[str, int]]:
    rows = store.con.execute("SELECT id, quantity FROM events ORDER BY id").fetchall()
    return [(i, int(q)) for i, q in rows]


@pytest.mark.parametrize("write", [parquet, csv])
def test_hash_collisions_never_drop_or_keep_the_wrong_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any
) -> None:
    """With a hash of three values nearly every event is a candidate: the exact comparison
    must still keep each distinct event once, the first occurrence."""
    monkeypatch.setattr(store_keys, "KEY", "hash(source, id) % 3")
    suffix = "parquet" if write is parquet else "csv"
    first = write(tmp_path / f"a.{suffix}", [f"e{i}" for i in range(20)])
    second = write(tmp_path / f"b.{suffix}", ["e5", "x1", "x2", "x1", "e19", "x3"])
    with EventStore(tmp_path / "s.duckdb") as store:
        assert store.ingest([first]).inserted == 20
        report = store.ingest([second])
        assert (report.inserted, report.duplicates) == (3, 3)
        ids = stored_ids(store)
    expected = sorted([(f"e{i}", i + 1) for i in range(20)] + [("x1", 2), ("x2", 3), ("x3", 6)])
    assert ids == expected


def test_a_changed_hash_rebuilds_the_key_files(tmp_path: Path) -> None:
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([parquet(tmp_path / "a.parquet", ["1", "2"])])
        old = sorted(p.name for p in store.folder.glob("*.keys.npy"))
        store.con.execute("UPDATE meta SET value = 'another' WHERE key = 'key_hash'")
    with EventStore(tmp_path / "s.duckdb") as store:
        new = sorted(p.name for p in store.folder.glob("*.keys.npy"))
        assert len(old) == len(new) == 1
        assert old != new
        assert store.con.execute("SELECT file FROM key_files").fetchall() == [(new[0],)]
        assert store.ingest([csv(tmp_path / "b.csv", ["2", "3"])]).inserted == 1


def test_a_version_1_store_is_upgraded_and_its_events_deduplicate(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute(
        "CREATE TABLE events (source VARCHAR NOT NULL, id VARCHAR NOT NULL, customer VARCHAR "
        "NOT NULL, ts TIMESTAMP NOT NULL, metric VARCHAR NOT NULL, quantity DECIMAL(18,6) NOT "
        "NULL, dims_id INTEGER NOT NULL, status VARCHAR, attributed_at TIMESTAMP, "
        "value DECIMAL(18,6), batch INTEGER NOT NULL)"
    )
    con.execute("CREATE TABLE dims (dims_id INTEGER NOT NULL, dims VARCHAR NOT NULL)")
    con.execute(
        "CREATE TABLE batches (batch INTEGER NOT NULL, ingested_at TIMESTAMP NOT NULL, "
        "files VARCHAR NOT NULL, events BIGINT NOT NULL, duplicates BIGINT NOT NULL, "
        "rejected BIGINT NOT NULL)"
    )
    con.execute("INSERT INTO dims VALUES (1, '{}')")
    con.execute(
        "INSERT INTO events VALUES ('', 'old', 'acme', TIMESTAMP '2026-10-02 10:00:00', "
        "'calls', 7, 1, NULL, NULL, NULL, 1)"
    )
    con.execute("INSERT INTO batches VALUES (1, now()::TIMESTAMP, '[]', 1, 0, 0)")
    con.close()
    with pytest.raises(UsageError, match="format version 1"):
        EventStore(path, read_only=True)
    with EventStore(path) as store:
        assert stored_ids(store) == [("old", 7)]
        report = store.ingest([parquet(tmp_path / "a.parquet", ["old", "new"])])
        assert (report.inserted, report.duplicates) == (1, 1)
        assert stored_ids(store) == [("new", 2), ("old", 7)]
    with EventStore(path, read_only=True) as store:
        assert store.count() == 2


def test_the_window_leaves_out_segments_of_other_months(tmp_path: Path) -> None:
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([parquet(tmp_path / "oct.parquet", ["o1", "o2"], month=10)])
        store.ingest([parquet(tmp_path / "nov.parquet", ["n1"], month=11)])
        store.ingest([csv(tmp_path / "rows.csv", ["r1"])])  # rows are always in the view

        def ids() -> list[str]:
            return [i for (i,) in store.con.execute("SELECT id FROM events ORDER BY id").fetchall()]

        assert ids() == ["n1", "o1", "o2", "r1"]
        with store.window(datetime(2026, 11, 1), datetime(2026, 12, 1)):
            assert ids() == ["n1", "r1"]
        with store.window(datetime(2026, 10, 3, 17, 0, 1), datetime(2026, 11, 1)):
            assert ids() == ["r1"]
        assert ids() == ["n1", "o1", "o2", "r1"]


def test_a_moved_store_reads_its_segments_from_the_new_place(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    with EventStore(first / "s.duckdb") as store:
        store.ingest([parquet(tmp_path / "a.parquet", ["1", "2"])])
        before = stored_ids(store)
    shutil.move(first, second)
    with EventStore(second / "s.duckdb") as store:
        assert stored_ids(store) == before
        assert store.ingest([parquet(tmp_path / "a.parquet", ["1", "2"])]).inserted == 0


# -- the screen of a clean file agrees with staging's row checks ---------------------------

_TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "b c", "é"]))
_STATUS = st.one_of(st.none(), st.sampled_from(["", "confirmed", "reversed", "bogus"]))
_QUANTITY = st.one_of(st.none(), st.integers(-2, 3), st.just(10**12))
_ROW = st.tuples(_TEXT, _TEXT, st.booleans(), _TEXT, _QUANTITY, _STATUS)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=6))
def test_a_file_screened_clean_has_no_invalid_row(tmp_path: Path, rows: list[Any]) -> None:
    moment = datetime(2026, 10, 3, 17, tzinfo=UTC)
    path = tmp_path / "f.parquet"
    ids, customers, stamped, metrics, quantities, statuses = zip(*rows, strict=True)
    pq.write_table(
        pa.table(
            {
                "id": pa.array(ids, pa.string()),
                "customer": pa.array(customers, pa.string()),
                "timestamp": pa.array(
                    [moment if s else None for s in stamped], pa.timestamp("us", tz="UTC")
                ),
                "metric": pa.array(metrics, pa.string()),
                "quantity": pa.array(quantities, pa.int64()),
                "status": pa.array(statuses, pa.string()),
            }
        ),
        path,
    )
    with EventStore(":memory:") as store:
        store.con.execute(
            "CREATE TEMP TABLE bulk_dims (file INTEGER, h UBIGINT, dims VARCHAR, n BIGINT, "
            "bad BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP)"
        )
        screened_clean = store._clean_parquet(path, 0) is not None
        try:
            store.ingest([path])
            valid = True
        except UsageError:
            valid = False
    assert not screened_clean or valid  # a clean screen is never wrong
    assert screened_clean or not valid  # and every valid file passes it
