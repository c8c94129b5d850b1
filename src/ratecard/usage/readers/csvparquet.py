"""CSV files converted by DuckDB into Parquet files that read as the CSV reader reads them.

:func:`.tabular.read_csv` reads a CSV file row by row in Python. :func:`convert_csv` has DuckDB
write the file as Parquet instead, with the CSV reader's normalisation applied: empty values
become NULL, ``id``, ``source``, ``customer``, ``metric`` and ``status`` are stripped as
:func:`str.strip` does, timestamps become ``TIMESTAMP WITH TIME ZONE`` and amounts
``DECIMAL(18,6)``. Read through :mod:`.parquet`, the result gives the rows ``read_csv`` gives,
as long as that path finds no invalid row.

It converts a file only where that equality is certain, and otherwise returns None (the
caller then reads the file with ``read_csv``, which lists problems with their line numbers):

- the header is one line of distinct field names (stripped; bare, or quoted with no comma or
  quote inside) among ``id``, ``source``, ``customer``, ``timestamp``, ``metric``,
  ``quantity``, ``status``, ``attributed_at``, ``value`` and ``dimensions.<name>``, with
  ``id``, ``customer``, ``timestamp`` and ``metric``: no ``dimensions`` or ``quantities`` JSON
  column, whose reading (merging, number formats) is the CSV reader's own;
- the text is UTF-8 with no quote next to a space (DuckDB drops spaces around quoted values,
  Python keeps them) and no carriage return but before a line feed;
- every row has as many values as the header, and none longer than the csv module's field
  size limit (:func:`csv.field_size_limit`, which makes ``read_csv`` fail); no quoted value
  holds a line break (DuckDB pads short rows with NULL, as the checks need, only without);
- timestamps are ``YYYY-MM-DD[T ]hh:mm:ss[.ffffff]`` with ``Z`` or ``+hh:mm`` (years 1000 to
  2999, hours below 24, offsets below 24 hours), where DuckDB and
  :meth:`datetime.fromisoformat` agree (DuckDB refuses the days a month lacks, as Python does);
- quantities and values are plain decimals (12 digits at most, 6 decimals at most);
- dimension values hold none of the control characters whose JSON escape DuckDB writes in
  upper case (Python in lower case).

Each rule was checked against Python's csv module, :meth:`datetime.fromisoformat` and
:func:`json.dumps` (tests/test_ingest_csv.py compares whole ingests).
"""

from __future__ import annotations

import csv
import functools
import mmap
import re
from pathlib import Path

import duckdb

__all__ = ["convert_csv"]

_TEXT = frozenset({"id", "source", "customer", "metric", "status"})  # stripped by read_csv
_TIMES = frozenset({"timestamp", "attributed_at"})
_AMOUNTS = frozenset({"quantity", "value"})
_REQUIRED = frozenset({"id", "customer", "timestamp", "metric"})
_DIM_PREFIX = "dimensions."

# A header field: bare, or quoted with neither a comma nor a quote inside.
_FIELD = r'(?:"[^",\r\n]*"|[^",\r\n]*)'
_HEADER = re.compile(rf"{_FIELD}(?:,{_FIELD})*\r?\n")

_HOURS, _SIXTY = "([01][0-9]|2[0-3])", "[0-5][0-9]"  # DuckDB takes 24:00:00, Python does not
_TIMESTAMP = (
    r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    rf"[T ]{_HOURS}:{_SIXTY}:{_SIXTY}(\.[0-9]{{1,6}})?(Z|[+-]{_HOURS}:{_SIXTY})"
)
_AMOUNT = r"[0-9]{1,12}(\.[0-9]{1,6})?"
_UPPER_ESCAPES = r"[\x0b\x0e\x0f\x1a-\x1f]"  # DuckDB's to_json writes \u000B, Python \u000b
_NULL = "\x01"  # DuckDB's NULL text: other values, even empty ones, stay text


@functools.cache
def _space() -> tuple[str, str]:
    """The characters :meth:`str.strip` removes, as text and as a regular expression class."""
    space = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    return space, "[" + "".join(f"\\x{{{ord(c):x}}}" for c in space) + "]"


def _strip(value: str) -> str:
    """SQL of ``value`` stripped as :meth:`str.strip` strips (DuckDB's trim with a set of
    characters is slow: only values with white space at an end go through it)."""
    space, edge = _space()
    return (
        f"CASE WHEN regexp_matches({value}, {_lit(f'^{edge}|{edge}$')}) "
        f"THEN trim({value}, {_lit(space)}) ELSE {value} END"
    )


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header(path: Path) -> list[str] | None:
    """The stripped column names, if the file's text and header suit the conversion."""
    with path.open("rb") as handle:
        if not path.stat().st_size:
            return None
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as text:
            if text.find(b'"') >= 0 and (text.find(b' "') >= 0 or text.find(b'" ') >= 0):
                return None
            if text.find(b"\r") >= 0 and re.search(rb"\r(?!\n)", text):
                return None
            end = text.find(b"\n")
            if end < 0:
                return None
            try:
                line = text[: end + 1].decode("utf-8")
            except UnicodeDecodeError:
                return None
    if not _HEADER.fullmatch(line):
        return None
    names = [name.strip() for name in next(csv.reader([line]))]
    known = _TEXT | _TIMES | _AMOUNTS
    if len(set(names)) < len(names) or not set(names) >= _REQUIRED:
        return None
    if any(n not in known and not n.startswith(_DIM_PREFIX) for n in names):
        return None
    return names


def convert_csv(con: duckdb.DuckDBPyConnection, path: Path, target: Path) -> int | None:
    """Write the events of CSV file ``path`` as Parquet file ``target``: the number of rows
    written, or None, with no ``target`` left, where the module's rules do not hold. ``con``
    must not be in a transaction that matters: a refused conversion aborts it."""
    names = _header(path)
    if names is None:
        return None
    raw = [f"v{i}" for i in range(len(names) + 1)]  # one more: a row with too many values
    columns = "{" + ", ".join(f"{_lit(v)}: 'VARCHAR'" for v in raw) + "}"
    scan = (
        f"read_csv({_lit(str(path))}, columns = {columns}, header = true, delim = ',', "
        "quote = '\"', escape = '\"', comment = '', auto_detect = false, strict_mode = true, "
        f"null_padding = true, nullstr = {_lit(_NULL)}, encoding = 'utf-8')"
    )
    # a padded (NULL) value means too few values, a value in the extra column too many
    problems = [f"{raw[-1]} IS NOT NULL"] + [f"{v} IS NULL" for v in raw[:-1]]
    limit = csv.field_size_limit()
    outputs = []
    for name, v in zip(names, raw[:-1], strict=True):
        value = f"NULLIF({v}, '')"
        problems.append(f"strlen({v}) > {limit}")
        if name in _TEXT:
            value = f"NULLIF({_strip(v)}, '')"
        elif name in _TIMES:
            problems.append(f"NOT regexp_full_match({value}, {_lit(_TIMESTAMP)})")
            value = f"CAST({value} AS TIMESTAMPTZ)"
        elif name in _AMOUNTS:
            problems.append(f"NOT regexp_full_match({value}, {_lit(_AMOUNT)})")
            value = f"CAST({value} AS DECIMAL(18,6))"
        else:
            problems.append(f"regexp_matches({v}, {_lit(_UPPER_ESCAPES)})")
        outputs.append(f"{value} AS {_q(name)}")
    # error() stops the copy at the first row the rules leave out (NULL conditions: empty
    # values, which pass)
    check = f"CASE WHEN {' OR '.join(f'coalesce({p}, false)' for p in problems)} "
    check += "THEN error('not for the CSV fast path') ELSE true END"
    try:
        (written,) = con.execute(
            f"COPY (SELECT {', '.join(outputs)} FROM {scan} WHERE {check}) "
            f"TO {_lit(str(target))} (FORMAT parquet, USE_TMP_FILE false)"
        ).fetchall()
    except duckdb.Error:
        target.unlink(missing_ok=True)
        return None
    return int(written[0])
