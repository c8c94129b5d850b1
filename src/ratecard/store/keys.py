"""Deduplication keys: exactly once without rereading the stored events.

Each committed batch leaves a key file: the sorted, distinct 64-bit hashes of its events'
``(source, id)``. A new batch hashes its events once and sorts the hashes; a hash that repeats
within the batch, or that a key file holds, only makes its event a *candidate*. Candidates are
then compared on their exact ``(source, id)`` in SQL, so a hash collision can never drop an
event; the first occurrence in the batch wins. In the usual batch (no repeats) there are no
candidates and nothing else is read.

The hash is DuckDB's ``hash(source, id)``. A later DuckDB may hash differently, so the store
keeps the hash of a fixed pair (:data:`CANARY`) and rebuilds its key files when it changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "CANARY",
    "KEY",
    "Dedup",
    "find_duplicates",
    "hash_canary",
    "load_keys",
    "write_keys",
]

Keys = npt.NDArray[np.uint64]

KEY = "hash(source, id)"
CANARY = "SELECT hash('ratecard', 'canary')"


def hash_canary(con: duckdb.DuckDBPyConnection) -> str:
    (row,) = con.execute(CANARY).fetchall()
    return str(row[0])


@dataclass(frozen=True)
class Dedup:
    """The outcome for one batch: its distinct key hashes, and how many of its events repeat
    an event stored before or earlier in the batch (listed in the temp table
    ``batch_skips(ev)``, which exists only when there are some)."""

    keys: Keys
    skipped: int


def find_duplicates(
    con: duckdb.DuckDBPyConnection, events: str, stored: list[Keys], known: str
) -> Dedup:
    """Deduplicate ``events`` (SQL giving one ``ev, source, id`` row per event of the batch)
    against itself and the ``stored`` key files; ``known`` names the relation of stored
    events, read only for candidates."""
    con.execute("DROP TABLE IF EXISTS batch_skips")
    hashes = con.execute(f"SELECT {KEY} AS h FROM ({events})").fetchnumpy()["h"]
    keys: Keys = np.sort(np.asarray(hashes, dtype=np.uint64))
    repeated = keys[1:] == keys[:-1]
    distinct = _distinct(keys)
    in_batch = _distinct(keys[1:][repeated])
    held = np.zeros(distinct.size, dtype=bool)
    for file in stored:
        held |= _held(distinct, file)
    in_store = distinct[held]
    if not in_batch.size and not in_store.size:
        return Dedup(distinct, 0)
    skips = []
    if in_store.size:
        # stored before: the exact pairs, among the candidates (all of them when most events
        # are candidates: filtering on the hash would then cost more than it saves)
        few = in_store.size * 4 < distinct.size
        candidate = f"WHERE {KEY} IN (SELECT h FROM dedup_stored)" if few else ""
        skips.append(
            f"""SELECT b.ev FROM (SELECT ev, source, id FROM ({events}) {candidate}) b
            SEMI JOIN (SELECT source, id FROM {known} {candidate}) k
                ON k.source = b.source AND k.id = b.id"""
        )
    if in_batch.size:
        # repeated in the batch: all but the first occurrence of each exact pair
        skips.append(
            f"""SELECT ev FROM (
                SELECT source, id, unnest(list(ev ORDER BY ev)[2:]) AS ev
                FROM ({events}) WHERE {KEY} IN (SELECT h FROM dedup_repeats)
                GROUP BY source, id)"""
        )
    con.register("dedup_stored", pa.table({"h": in_store}))
    con.register("dedup_repeats", pa.table({"h": in_batch}))
    try:
        con.execute(f"CREATE TEMP TABLE batch_skips AS {' UNION '.join(skips)}")
    finally:
        con.unregister("dedup_stored")
        con.unregister("dedup_repeats")
    (row,) = con.execute("SELECT count(*) FROM batch_skips").fetchall()
    return Dedup(distinct, int(row[0]))


def _distinct(keys: Keys) -> Keys:
    """The distinct values of sorted ``keys`` (np.unique would sort them again)."""
    if not keys.size:
        return keys
    first: Keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return first


def _held(keys: Keys, stored: Keys) -> npt.NDArray[np.bool_]:
    """Which of ``keys`` (sorted) ``stored`` (sorted) holds."""
    if not stored.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.searchsorted(stored, keys)
    held: npt.NDArray[np.bool_] = stored[np.minimum(at, stored.size - 1)] == keys
    return held


def write_keys(path: Path, keys: Keys) -> None:
    """Write a key file and make it durable before the batch commits."""
    with path.open("wb") as handle:
        np.save(handle, keys)
        handle.flush()
        os.fsync(handle.fileno())


def load_keys(path: Path) -> Keys:
    keys: Keys = np.load(path, mmap_mode="r")
    return keys
