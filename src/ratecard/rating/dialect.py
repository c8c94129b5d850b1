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
from decimal import ROUND_HALF_UP, Context, Decimal

__all__ = ["CARRY", "DUCKDB", "SPARK", "Dialect", "carried", "lit", "mul", "text"]

CARRY = "DECIMAL(28,14)"
SCALE = 14
WIDE = Context(prec=80)  # enough digits for any product of two DECIMAL(38) values


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


def carried(value: Decimal) -> Decimal:
    """``value`` as the carry type holds it: rounded half up at 14 decimals, as a CAST to
    :data:`CARRY` rounds (both engines round half away from zero)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent >= -SCALE:
        return value
    return value.quantize(Decimal(1).scaleb(-SCALE), rounding=ROUND_HALF_UP, context=WIDE)


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
            wide = f"CAST({shifted} AS HUGEINT)"
            return self._narrow_first(expr, 18 - 2 * scale, self._scaled_narrow(expr, scale), wide)
        half = scale // 2
        first = (
            f"CAST(CAST({expr} AS DECIMAL(29,{scale})) * {lit(Decimal(10) ** half)} "
            f"AS DECIMAL(38,{scale}))"
        )
        step = f"CAST({first} AS DECIMAL(36,{scale}))"
        return f"CAST({step} * {lit(Decimal(10) ** (scale - half))} AS DECIMAL(38,0))"

    @staticmethod
    def _scaled_narrow(expr: str, scale: int) -> str:
        """:meth:`scaled` in 64-bit integers, for ``|expr| < 10^(18 - 2 * scale)`` (the
        shifted DECIMAL(18) is computed in 64 bits, so its raw digits must fit too)."""
        shifted = f"CAST({expr} AS DECIMAL(18,{scale})) * {lit(Decimal(10) ** scale)}"
        return f"CAST(CAST({shifted} AS BIGINT) AS HUGEINT)"

    @staticmethod
    def _narrow_first(expr: str, digits: int, narrow: str, wide: str) -> str:
        """``narrow`` where ``|expr| < 10^digits``, else ``wide``. DuckDB keeps a DECIMAL of
        up to 18 digits in 64 bits and a wider one in 128 bits, where every rescale and cast
        to an integer is a 128-bit division (several times slower than the rest of a line's
        arithmetic together): values that fit take the 64-bit spelling of the same exact
        computation."""
        if digits < 1:
            return wide
        bound = 10**digits
        return f"CASE WHEN {expr} > -{bound} AND {expr} < {bound} THEN {narrow} ELSE {wide} END"

    def rounded(self, amount: str, decimals: int) -> str:
        """A carry amount rounded half up to ``decimals`` (at most 4), as DECIMAL(38,4)."""
        wide = f"CAST(CAST({amount} AS DECIMAL(38,{decimals})) AS DECIMAL(38,4))"
        if not self.hugeint:
            return wide
        narrow = (
            f"CAST(CAST(CAST({amount} AS DECIMAL(18,{SCALE})) AS DECIMAL(18,{decimals})) "
            "AS DECIMAL(38,4))"
        )
        return self._narrow_first(amount, 18 - SCALE, narrow, wide)

    def product(self, expr: str, factor: Decimal, few: bool = False) -> str:
        """``mul(expr, factor)``, with a 64-bit spelling of the same computation where ``expr``
        is small enough (see :meth:`_narrow_first`): the wide product of a fractional factor
        is rounded back to 14 decimals by a 128-bit division per row.

        The 64-bit spelling holds ``expr`` as a DECIMAL(18,s) and multiplies it by the factor's
        literal, which DuckDB does in 64 bits for two DECIMALs of at most 18 digits whose
        product has at most 18 decimals (an overflow is an error there, never a wider type:
        the bound keeps the raw product below 10^18, ``expr`` rounded up included). ``s`` is
        14, where the cast rounds ``expr`` exactly as the cast to the carry type does and the
        product is rounded half away from zero at 14 decimals in 64 bits, as the wide cast
        rounds it. With ``few`` (``expr`` usually has fewer decimals, as a sum of quantities
        does) ``s`` is 14 less the factor's decimals, so that the product is exact; that path
        is taken only where ``expr`` holds no more decimals (a check without a division where
        its type has no more)."""
        wide = mul(expr, factor)
        if not self.hugeint or factor == 1:
            return wide
        number = factor.normalize()
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        places = max(-exponent, 0)
        if places == 0:  # an integer factor: the wide product needs no rounding either
            return wide
        raw = abs(int(number.scaleb(places)))
        decimals = SCALE - places if few else SCALE
        if decimals < 0 or decimals + places > 18:
            return wide
        # one less: the cast may round ``expr`` up to the bound, which must fit too
        bound = 10 ** (18 - decimals) // raw - 1
        if bound < 1:
            return wide
        held = f"CAST({expr} AS DECIMAL(18,{decimals}))"
        narrow = f"{held} * {lit(number)}"
        if decimals + places > SCALE:
            narrow = f"CAST({narrow} AS DECIMAL(18,{SCALE}))"
        narrow = f"CAST({narrow} AS {CARRY})"
        if decimals < SCALE:
            # only on rows within the bound, where the cast cannot overflow
            narrow = f"CASE WHEN {held} = {expr} THEN {narrow} ELSE {wide} END"
        return f"CASE WHEN {expr} > -{bound} AND {expr} < {bound} THEN {narrow} ELSE {wide} END"

    def share(self, amount: str, part: str, whole: str) -> str:
        """``x * part / whole``, rounded half up once, at 14 decimals, from ``amount`` =
        ``scaled(x, 14)`` (``x`` non-negative) and ``part``, ``whole`` = ``scaled(q, 6)`` of
        non-negative quantities of at most 6 decimals (a query computes these once per row or
        customer instead of in every share). Computed on scaled integers (HUGEINT, or
        DECIMAL(38,0) in Spark) so the product is exact; a result beyond 38 digits is an
        overflow error, never a silently wrong amount."""
        a, p, w = amount, part, whole
        if self.name == "duckdb":
            scaled = f"((2 * {a} * {p} + {w}) // (2 * {w}))"
        else:
            scaled = f"CAST(CAST({a} * {p} AS DECIMAL(38,0)) / {w} AS DECIMAL(38,0))"
        return self.unscaled(scaled)

    def scaled_product(self, amount: str, factor: Decimal) -> str | None:
        """``scaled(mul(x, factor), 14)`` from ``amount`` = ``scaled(x, 14)`` (``x`` >= 0), or
        None where that is not available: the same half-up rounding at 14 decimals, done as
        one integer division by ``10^k`` (``k``: the factor's decimals) instead of the DECIMAL
        multiplication, rescale and cast to an integer, each of which costs DuckDB a 128-bit
        division per row. Only DuckDB has the 128-bit integers; the factor is kept below 10^9
        as an integer so that ``2 * amount * F`` stays within them for any DECIMAL(28,14)
        amount."""
        if not self.hugeint or factor < 0:
            return None
        exponent = factor.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        decimals = max(-exponent, 0)
        integer = int(factor.scaleb(decimals))
        if integer >= 10**9 or decimals > 18:
            return None
        if decimals == 0:
            return f"({amount} * {integer})" if integer != 1 else amount
        half, whole = 10**decimals, 2 * 10**decimals
        wide = f"((2 * {amount} * {integer} + {half}) // {whole})"
        # the same division in 64 bits while the numerator fits (see _narrow_first)
        narrow = f"CAST((2 * CAST({amount} AS BIGINT) * {integer} + {half}) // {whole} AS HUGEINT)"
        bound = (2**63 - 1 - half) // (2 * integer)
        return f"CASE WHEN {amount} < {bound} THEN {narrow} ELSE {wide} END"

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
    def hugeint(self) -> bool:
        """Whether the dialect has 128-bit integers (DuckDB's HUGEINT; Spark's widest exact
        integers are DECIMAL(38,0), whose products it narrows)."""
        return self.name == "duckdb"

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
        wide = f"CAST({self.idiv(numerator, str(s))} AS DECIMAL(28,0))"
        if not self.hugeint:
            return wide
        # in 64 bits while ``units`` is small: with size = n / 10^k (n an integer), the
        # packages are those of the whole units of ``units * 10^k`` in packages of n (counted
        # up, a fraction adds one), the same count; ``units`` rounded to 14 decimals as
        # ``scaled`` rounds it
        number = size.normalize()
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        places = max(-exponent, 0)
        n = int(number.scaleb(places))
        bound = 10 ** (18 - SCALE - places) // 2 - 1
        if places > 18 - SCALE or n < 1 or bound < 1:
            return wide
        held = f"CAST({units} AS DECIMAL(18,{SCALE}))"
        if places:
            held = f"({held} * {lit(Decimal(10) ** places)})"
        whole = f"trunc({held})"
        if up:
            extra = f"CASE WHEN {held} > {whole} THEN {n} ELSE {n - 1} END"
            count = f"(CAST({whole} AS BIGINT) + {extra})"
        else:
            count = f"CAST({whole} AS BIGINT)"
        narrow = f"CAST({count} // {n} AS DECIMAL(28,0))"
        return f"CASE WHEN {units} >= 0 AND {units} < {bound} THEN {narrow} ELSE {wide} END"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


def mul(expr: str, factor: Decimal) -> str:
    """``expr * factor`` in the carry type (exact before the rounding back to 14 decimals)."""
    if factor == 1:
        return f"CAST({expr} AS {CARRY})"
    return f"CAST(CAST({expr} AS {CARRY}) * {lit(factor)} AS {CARRY})"
