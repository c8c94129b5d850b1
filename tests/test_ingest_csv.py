"""The CSV fast path: a CSV file converted by DuckDB into a segment stores what the CSV reader
stores (ratecard.usage.readers.csvparquet), and falls back to that reader otherwise."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ratecard.errors import UsageError
from ratecard.store import EventStore
from ratecard.store import events as store_events
from ratecard.usage.readers import csvparquet


def stored(store: EventStore) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT e.source, e.id, e.customer, e.ts, e.metric, e.quantity, d.dims, e.status, "
        "e.attributed_at, e.value, e.batch FROM events e JOIN dims d USING (dims_id) "
        "ORDER BY ALL"
    ).fetchall()


def segments(store: EventStore) -> list[tuple[Any, ...]]:
    return store.con.execute("SELECT source_file, rows FROM segments ORDER BY segment").fetchall()


def catalog_files(store: EventStore) -> set[str]:
    """The segment folder's files that the committed catalog names."""
    return {
        name
        for (name,) in store.con.execute(
            "SELECT file FROM segments UNION ALL SELECT file FROM key_files"
        ).fetchall()
    }


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CSV file, however small, is offered to the fast path."""
    monkeypatch.setattr(store_events, "CSV_SEGMENT_BYTES", 0)


HEADER = "id,customer,timestamp,metric,quantity,dimensions.model"


def write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# -- the fast path is taken, and left ---------------------------------------------------------


@pytest.mark.usefixtures("fast")
def test_a_clean_csv_file_becomes_a_segment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "1,acme,2026-10-03T19:00:00+02:00,input_tokens,1500,gpt-x",
        " 2 ,acme, 2026-10-03 17:00:00.5Z,calls,,",  # id stripped; timestamp padded: fallback
        "3,beta,2026-10-03T17:00:00Z,calls,0.25,",
    )
    with EventStore(tmp_path / "s.duckdb") as store:
        report = store.ingest([path])
        assert segments(store) == []  # the padded timestamp sent it to the CSV reader
        assert (report.rows, report.inserted) == (3, 3)
    clean = write(
        tmp_path / "clean.csv",
        "1,acme,2026-10-03T19:00:00+02:00,input_tokens,1500,gpt-x",
        " 2 ,acme,2026-10-03 17:00:00.5Z,calls,,",
        "3,beta,2026-10-03T17:00:00Z,calls,0.25,",
        "1,acme,2026-10-03T17:00:00Z,calls,9,",  # a repeat: the first occurrence wins
    )
    with EventStore(tmp_path / "t.duckdb") as store:
        report = store.ingest([clean])
        assert (report.rows, report.inserted, report.duplicates) == (4, 3, 1)
        assert segments(store) == [(str(clean), 3)]
        assert store.con.execute("SELECT count(*) FROM event_rows").fetchall() == [(0,)]
        assert [(r[1], str(r[3]), r[5], r[6]) for r in stored(store)] == [
            ("1", "2026-10-03 17:00:00", 1500, '{"model":"gpt-x"}'),
            ("2", "2026-10-03 17:00:00.500000", 1, "{}"),
            ("3", "2026-10-03 17:00:00", 0.25, "{}"),
        ]
        assert {p.name for p in store.folder.iterdir()} == catalog_files(store)


@pytest.mark.usefixtures("fast")
def test_a_file_with_a_bad_row_falls_back_with_line_numbers(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", "9,acme,2026-10-03T17:00:00Z,x,1,m")
    bad = write(
        tmp_path / "bad.csv",
        "1,acme,2026-10-03T17:00:00Z,calls,5,m",
        ",acme,2026-10-03T17:00:00Z,calls,5,m",  # the conversion takes it, the screen does not
        "3,acme,2026-10-03T17:00:00Z,calls,-1,m",  # the conversion refuses it
    )
    with EventStore(tmp_path / "s.duckdb") as store:
        with pytest.raises(UsageError) as caught:
            store.ingest([good, bad])
        assert [(p.source, p.line, p.path) for p in caught.value.problems] == [
            (str(bad), 3, "id"),
            (str(bad), 4, "quantity"),
        ]
        assert store.count() == 0
        assert list(store.folder.iterdir()) == []  # the conversion of good.csv is gone
        report = store.ingest([good, bad], skip_invalid=True)
        assert (report.inserted, report.rejected) == (2, 2)
        assert segments(store) == [(str(good), 1)]  # bad.csv was read by the CSV reader
        assert {p.name for p in store.folder.iterdir()} == catalog_files(store)


def test_small_files_are_read_by_the_csv_reader(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "1,acme,2026-10-03T17:00:00Z,calls,5,m")
    with EventStore(":memory:") as store:
        assert store.ingest([path]).inserted == 1
        assert segments(store) == []


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize(
    "text",
    [
        "",  # no header
        "id,customer,timestamp,metric\n",  # no rows: nothing to keep
        "id,customer,timestamp,metric,dimensions\n1,a,2026-10-03T17:00:00Z,m,{}\n",
        'id,customer,timestamp,metric\n1, "a",2026-10-03T17:00:00Z,m\n',  # space by a quote
        "id,customer,timestamp,metric\r1,a,2026-10-03T17:00:00Z,m\r",  # bare carriage returns
        "id,id,timestamp,metric\n1,a,2026-10-03T17:00:00Z,m\n",  # a name twice
        "id,customer,timestamp,metric\n1,a,2026-10-03T17:00:00Z,m,\n",  # too many values
        "id,customer,timestamp,metric\n1,a,2026-10-03T17:00:00Z\n",  # too few
        "id,customer,timestamp,metric\n1,a,2026-10-03T17:00Z,m\n",  # not the strict form
    ],
)
def test_no_conversion_is_left_after_a_fallback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    with EventStore(tmp_path / "s.duckdb") as store:
        with contextlib.suppress(UsageError):
            store.ingest([path])
        assert segments(store) == []
        assert {p.name for p in store.folder.iterdir()} <= catalog_files(store)


@pytest.mark.usefixtures("fast")
def test_a_failed_batch_leaves_no_conversion(tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "1,acme,2026-10-03T17:00:00Z,calls,5,m")
    with EventStore(tmp_path / "s.duckdb") as store:
        store.ingest([first])
        kept = sorted(store.folder.iterdir())
        before = stored(store)
        clean = write(tmp_path / "b.csv", "2,acme,2026-10-03T17:00:00Z,calls,5,m")
        missing = tmp_path / "broken.parquet"
        missing.write_bytes(b"not parquet")
        with pytest.raises(UsageError, match="cannot read the file as Parquet"):
            store.ingest([clean, missing])
        assert sorted(store.folder.iterdir()) == kept
        assert stored(store) == before
        # a file whose every event is stored already is converted, then not kept
        report = store.ingest([first])
        assert (report.inserted, report.duplicates) == (0, 1)
        assert sorted(store.folder.iterdir()) == kept


def test_large_files_take_the_fast_path_in_row_order(tmp_path: Path) -> None:
    """Big enough for DuckDB to read it in parallel: the first occurrence still wins."""
    path = tmp_path / "big.csv"
    n = 60_000
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,customer,timestamp,metric,quantity\n")
        for i in range(n):
            handle.write(f"e{i % (n - 7)},c{i % 13},2026-10-03T17:00:00Z,calls,{i}\n")
    assert path.stat().st_size >= store_events.CSV_SEGMENT_BYTES
    with EventStore(":memory:", threads=4) as store:
        report = store.ingest([path])
        assert (report.inserted, report.duplicates) == (n - 7, 7)
        assert segments(store) == [(str(path), n - 7)]
        repeated = store.con.execute(
            "SELECT id, quantity FROM events WHERE id IN ('e0', 'e6', 'e7') ORDER BY id"
        ).fetchall()
        assert [(i, int(q)) for i, q in repeated] == [("e0", 0), ("e6", 6), ("e7", 7)]


KILLER = """
import sys, time
from ratecard.store import events

events.CSV_SEGMENT_BYTES = 0
real = events.convert_csv
def stopped(*args, **kwargs):
    result = real(*args, **kwargs)
    print("stopped after the conversion", result, flush=True)
    time.sleep(600)
    return result
events.convert_csv = stopped
store = events.EventStore(sys.argv[1])
store.ingest(sys.argv[2:3])
"""


def test_sigkill_after_the_conversion_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store_path = tmp_path / "s.duckdb"
    first = write(tmp_path / "first.csv", "1,acme,2026-10-03T17:00:00Z,calls,5,m")
    with EventStore(store_path) as store:
        store.ingest([first])
        before = stored(store)
        kept = sorted(store.folder.iterdir())
    big = write(tmp_path / "big.csv", *(f"k{i},c,2026-10-03T17:00:00Z,x,{i},m" for i in range(500)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    with subprocess.Popen(
        [sys.executable, "-c", KILLER, str(store_path), str(big)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stopped after the conversion 500"
        assert len(list(store.folder.iterdir())) > len(kept)  # the conversion is there
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with EventStore(store_path) as store:
        assert stored(store) == before
        assert sorted(store.folder.iterdir()) == kept
        assert store.ingest([big]).inserted == 500


# -- the fast path stores what the CSV reader stores -------------------------------------------

_REQUIRED = ["id", "customer", "timestamp", "metric"]
# Values the fast path takes (white space around text is stripped, as the CSV reader does),
# then values it leaves to the CSV reader, valid or not.
_TIMES = [
    "2026-10-03T17:00:00Z",
    "2026-10-03T19:00:00+02:00",
    "2026-10-03 12:30:00.5-04:30",
    "2026-10-03T17:00:00.123456+00:00",
    "1999-12-31T23:59:59-23:59",
]
_AMOUNTS = ["", "1", "1.5", "0.000001", "007", "999999999999.999999"]
_DIMS = ["gpt-x", "", "a b", "é", "x,y", " eu", 'q"x']
_CLEAN = {
    "id": ["1", "2", "3", "x-1", " 2", "2\u3000"],
    "customer": ["acme", "beta", " acme", "é", "a,b", 'q"x'],
    "timestamp": _TIMES,
    "metric": ["calls", "input_tokens", " calls"],
    "quantity": _AMOUNTS,
    "value": _AMOUNTS,
    "attributed_at": ["", *_TIMES],
    "status": ["", "confirmed", "pending"],
    "source": ["", "svc-a", "svc-b", " svc-a"],
    "dimensions.model": _DIMS,
    "dimensions.region": _DIMS,
}
_TIMES_ELSE = [
    "2026-10-03T17:00Z",  # Python reads these
    "20261003T170000Z",
    " 2026-10-03T17:00:00Z",
    "2026-10-03T17:00:00.1234567Z",
    "0001-01-01T00:00:00Z",
    "2026-10-03T17:00:00",  # and not these
    "2026-10-03",
    "yesterday",
    "2026-02-30T00:00:00Z",
    "2026-10-03T24:00:00Z",
    "2026-10-03T17:00:00+24:00",
    "",
]
_AMOUNTS_ELSE = ["1000000000000", "-1", "-0", "1e3", "1_000", "1.5000000", " 2 ", "abc", "NaN"]
_ELSE = {
    "id": ["", " "],
    "customer": ["", 'say "hi"'],
    "timestamp": _TIMES_ELSE,
    "metric": [""],
    "quantity": _AMOUNTS_ELSE,
    "value": _AMOUNTS_ELSE,
    "attributed_at": _TIMES_ELSE,
    "status": ["bogus", " confirmed", "Confirmed"],
    "source": [],
    "dimensions.model": ["\x0b", "\x1f", "line\nbreak"],
    "dimensions.region": [],
    "dimensions": ['{"model":"x"}', '{"a":1,"b":"2"}', "", "not json", "[1]"],
}


@dataclass
class _File:
    header: list[str]
    rows: list[list[str]]
    quoting: int
    newline: str

    def write(self, path: Path) -> Path:
        text = io.StringIO()
        writer = csv.writer(text, quoting=self.quoting, lineterminator=self.newline)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        path.write_text(text.getvalue(), encoding="utf-8", newline="")
        return path


@st.composite
def csv_files(draw: st.DrawFn) -> _File:
    """A file of values the fast path takes, then up to two flaws: a value it leaves to the
    CSV reader (valid or not), a row of another length, or a JSON dimensions column."""
    optional = [n for n in _CLEAN if n not in _REQUIRED]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True, max_size=4))
    names = draw(st.permutations([*_REQUIRED, *chosen]))
    header = [draw(st.sampled_from([n] * 5 + [f" {n}"])) for n in names]
    rows = [
        [draw(st.sampled_from(_CLEAN[n])) for n in names] for _ in range(draw(st.integers(0, 6)))
    ]
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        flaw = draw(st.sampled_from(["value", "value", "value", "shape", "json"]))
        if flaw == "json":
            header.append("dimensions")
            for row in rows:
                row.append(draw(st.sampled_from(_ELSE["dimensions"])))
        elif rows:
            row = draw(st.sampled_from(rows))
            column = draw(st.integers(0, len(names) - 1))
            if flaw == "value" and _ELSE[names[column]]:
                row[column] = draw(st.sampled_from(_ELSE[names[column]]))
            elif flaw == "shape":  # one value more (empty or not), or one less
                extra = draw(st.sampled_from(["x", "", None]))
                if extra is None:
                    row.pop()
                else:
                    row.append(extra)
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL] * 3 + [csv.QUOTE_ALL]))
    return _File(header, rows, quoting, draw(st.sampled_from(["\r\n", "\n"])))


def _ingest(store: EventStore, paths: list[Path], skip_invalid: bool, rejects: Path) -> Any:
    try:
        report = store.ingest(paths, skip_invalid=skip_invalid, rejects=rejects)
    except UsageError as error:
        return error.problems
    text = rejects.read_text() if rejects.exists() else None
    return (report, text)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.lists(csv_files(), min_size=1, max_size=2), skip_invalid=st.booleans())
def test_the_fast_path_stores_what_the_csv_reader_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[_File], skip_invalid: bool
) -> None:
    paths = [f.write(tmp_path / f"{i}.csv") for i, f in enumerate(files)]
    results = []
    for threshold in (0, 1 << 62):  # every file offered to the fast path, then none
        monkeypatch.setattr(store_events, "CSV_SEGMENT_BYTES", threshold)
        with EventStore(":memory:") as store:
            outcomes = [
                _ingest(store, paths, skip_invalid, tmp_path / f"r{threshold}-1.jsonl"),
                _ingest(store, paths[:1], skip_invalid, tmp_path / f"r{threshold}-2.jsonl"),
            ]
            fast_segments = len(segments(store))
            dims = store.con.execute("SELECT * FROM dims ORDER BY ALL").fetchall()
            results.append((outcomes, stored(store), dims))
            if threshold == 0:
                event(f"segments: {fast_segments}")
                assert {p.name for p in store.folder.iterdir()} == catalog_files(store)
    assert results[0] == results[1]


def test_the_conversion_agrees_with_json_dumps_and_strip() -> None:
    """The rules of csvparquet rest on these: DuckDB's to_json escapes as json.dumps does
    except for the characters it sends back, and trim with the set that str.strip removes."""
    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    con = duckdb.connect()
    con.register("chars", pa.table({"s": chars}))
    escaped = con.execute(
        "SELECT s, to_json(s)::VARCHAR, regexp_matches(s, ?) FROM chars",
        [csvparquet._UPPER_ESCAPES],
    ).fetchall()
    differ = {c for c, e, _ in escaped if e != json.dumps(c, ensure_ascii=False)}
    assert differ == {c for c, _, refused in escaped if refused}
    samples = [" a ", "\u3000a\x85", "\t\n", "a b", "\x1c\x1dx\x1e\x1f", "é\u2028"]
    space = "".join(c for c in chars if c.isspace())
    got = con.execute(
        f"SELECT {csvparquet._strip('s')} FROM unnest(?) t(s)", [[*samples, space]]
    ).fetchall()
    assert [g for (g,) in got] == [s.strip() for s in [*samples, space]]


def test_timestamps_of_the_strict_form_read_as_python_reads_them() -> None:
    """Every time of day, every offset, every day of years with and without 29 February: where
    DuckDB reads a timestamp of the form the conversion takes, Python reads the same instant."""
    days = [
        f"{y}-{m:02d}-{d:02d}"
        for y in (1000, 1900, 2000, 2024, 2026, 2999)
        for m in range(1, 13)
        for d in range(1, 32)
    ]
    times = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(25) for m in range(61) for s in (0, 59, 60)]
    offsets = [f"{sign}{h:02d}:{m:02d}" for sign in "+-" for h in range(25) for m in range(61)]
    texts = [f"{day}T12:00:00Z" for day in days]
    texts += [f"2026-10-03 {time}.5Z" for time in times]
    texts += [
        f"{day}T{time}{offset}"
        for day in ("1000-01-01", "2999-12-31")
        for time in ("00:00:00", "23:59:59.999999")
        for offset in offsets
    ]
    strict = [t for t in texts if re.fullmatch(csvparquet._TIMESTAMP, t)]
    got = duckdb.execute(
        "SELECT epoch_us(TRY_CAST(t AS TIMESTAMPTZ)) FROM unnest(?) x(t)", [strict]
    ).fetchall()
    assert len(strict) > 10_000
    for text, (micros,) in zip(strict, got, strict=True):
        if micros is None:
            continue  # DuckDB refuses it: the CSV reader reads the file
        moment = datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
        assert (moment - datetime(1970, 1, 1)) // timedelta(microseconds=1) == micros, text
