"""The few SQL spellings that differ between DuckDB and Spark SQL, and exact decimal literals.

Every amount the engines compute is a ``DECIMAL(28,14)`` (:data:`CARRY`): fourteen decimals are
kept, and each multiplication is by a literal of at most nine integer digits, so the product is
exact in both engines before it is rounded (half up) back to fourteen decimals. The pro-rata share
of a price group (``amount * units / total``) is computed on scaled integers and rounded half
up once, at fourteen decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

__all__ = ["CARRY", "DUCKDB", "SPARK", "Dialect", "lit", "mul", "text"]

CARRY = "DECIMAL(28,14)"
SCALE = 14


def lit(value: Decimal | int) -> str:
    """An exact DECIMAL literal of the smallest type that holds ``value``."""
    number = Decimal(value)
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    scale = max(-exponent, 0)
    text_ = format(number, "f")
    width = max(len(digits) + max(exponent, 0), scale + 1)
    if width > 38:
        raise ValueError(f"{number} has more than 38 digits")
    return f"CAST('{text_}' AS DECIMAL({width},{scale}))"


def text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Dialect:
    name: str

    def text(self, value: str) -> str:
        if self.name == "duckdb":
            return "'" + value.replace("'", "''") + "'"
        return text(value)

    def idiv(self, a: str, b: str) -> str:
        """Integer division of non-negative integers."""
        return f"(({a}) // ({b}))" if self.name == "duckdb" else f"(({a}) div ({b}))"

    def timestamp(self, moment: datetime | date) -> str:
        if isinstance(moment, datetime):
            return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S')}'"
        return f"TIMESTAMP '{moment.isoformat()} 00:00:00'"

    def plus_seconds(self, ts: str, seconds: int) -> str:
        if seconds == 0:
            return ts
        if self.name == "duckdb":
            return f"({ts} + INTERVAL ({seconds}) SECOND)"
        return f"({ts} + make_dt_interval(0, 0, 0, {seconds}))"

    def micros_between(self, later: str, earlier: str) -> str:
        if self.name == "duckdb":
            return f"date_diff('microsecond', {earlier}, {later})"
        return f"(unix_micros({later}) - unix_micros({earlier}))"

    def json_field(self, column: str, key: str) -> str:
        path = '$."' + key.replace('"', '\\"') + '"' if self.name == "duckdb" else f"$['{key}']"
        return (
            f"json_extract_string({column}, {self.text(path)})"
            if self.name == "duckdb"
            else (f"get_json_object({column}, {self.text(path)})")
        )

    def scaled(self, expr: str, scale: int) -> str:
        """``expr * 10^scale`` as an exact integer (``expr`` has at most ``scale`` decimals).

        Spark narrows the scale of a product whose precision passes 38 digits, so there the
        shift is done in two multiplications that each stay within 38 digits."""
        if self.name == "duckdb":
            shifted = f"CAST({expr} AS DECIMAL(38,{scale})) * {lit(Decimal(10) ** scale)}"
            return f"CAST({shifted} AS HUGEINT)"
        half = scale // 2
        first = (
            f"CAST(CAST({expr} AS DECIMAL(29,{scale})) * {lit(Decimal(10) ** half)} "
            f"AS DECIMAL(38,{scale}))"
        )
        step = f"CAST({first} AS DECIMAL(36,{scale}))"
        return f"CAST({step} * {lit(Decimal(10) ** (scale - half))} AS DECIMAL(38,0))"

    def muldiv(self, amount: str, part: str, whole: str) -> str:
        """``amount * part / whole`` (``part``, ``whole``: non-negative quantities of at most
        6 decimals; ``amount`` non-negative), rounded half up once, at 14 decimals. Computed on
        scaled integers (HUGEINT, or DECIMAL(38,0) in Spark) so the product is exact; a result
        beyond 38 digits is an overflow error, never a silently wrong amount."""
        return self.muldiv_scaled(amount, self.scaled(part, 6), self.scaled(whole, 6))

    def muldiv_scaled(self, amount: str, part: str, whole: str) -> str:
        """:meth:`muldiv` with ``part`` and ``whole`` already scaled by ``10^6`` (``scaled(q,
        6)``): a query computes them once per row or customer instead of in every share."""
        a = self.scaled(amount, SCALE)
        p, w = part, whole
        if self.name == "duckdb":
            scaled = f"((2 * {a} * {p} + {w}) // (2 * {w}))"
        else:
            scaled = f"CAST(CAST({a} * {p} AS DECIMAL(38,0)) / {w} AS DECIMAL(38,0))"
        return self.unscaled(scaled)

    def unscaled(self, integer: str) -> str:
        """An integer count of 10^-14 units back to the carry type, exactly."""
        if self.name == "duckdb":
            return (
                f"CAST(CAST({integer} AS DECIMAL(38,0)) * CAST('0.00000000000001' AS "
                f"DECIMAL(14,14)) AS {CARRY})"
            )
        tenth = "CAST('0.0000001' AS DECIMAL(7,7))"  # two steps keep Spark's products exact
        first = f"CAST(CAST({integer} AS DECIMAL(30,0)) * {tenth} AS DECIMAL(30,7))"
        return f"CAST({first} * {tenth} AS {CARRY})"

    @property
    def materialized(self) -> str:
        """``AS MATERIALIZED`` for a CTE whose expensive columns a filter on them must not
        recompute (DuckDB pushes such filters into the join below, evaluating them twice);
        Spark has no such keyword."""
        return "AS MATERIALIZED" if self.name == "duckdb" else "AS"

    def packages(self, units: str, size: Decimal, up: bool) -> str:
        """Whole packages of ``size`` in ``units`` (both exact at 14 decimals)."""
        s = int(size * Decimal(10) ** SCALE)
        u = self.scaled(units, SCALE)
        numerator = f"({u} + {s - 1})" if up else u
        return f"CAST({self.idiv(numerator, str(s))} AS DECIMAL(28,0))"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


def mul(expr: str, factor: Decimal) -> str:
    """``expr * factor`` in the carry type (exact before the rounding back to 14 decimals)."""
    if factor == 1:
        return f"CAST({expr} AS {CARRY})"
    return f"CAST(CAST({expr} AS {CARRY}) * {lit(factor)} AS {CARRY})"
