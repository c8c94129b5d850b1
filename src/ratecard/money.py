"""Decimal money: ISO 4217 currencies, their minor units, and the one rounding step.

Amounts are :class:`decimal.Decimal` everywhere a customer is billed. Arithmetic runs in a
wide context (:data:`CONTEXT`, 60 significant digits) so that ``q = units / per`` and pro-rata
shares stay exact for every realistic input; the only place precision is given up is
:func:`round_money`, which quantizes to the currency's minor unit with a named mode.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from ratecard.errors import CurrencyError

__all__ = [
    "CONTEXT",
    "CURRENCIES",
    "ZERO",
    "RoundingMode",
    "minor_unit",
    "round_money",
    "to_decimal",
]

ZERO = Decimal(0)
CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999)

RoundingMode = Literal["half_up", "half_even", "up", "down"]
_MODES: dict[str, str] = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "up": decimal.ROUND_UP,  # away from zero
    "down": decimal.ROUND_DOWN,  # toward zero
}

# ISO 4217 active codes and their minor-unit exponents (ISO 4217 amendment 179, 2025).
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)
CURRENCIES: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2.split(), 2),
    **dict.fromkeys(_EXPONENT_0.split(), 0),
    **dict.fromkeys(_EXPONENT_3.split(), 3),
    **dict.fromkeys(_EXPONENT_4.split(), 4),
}


def minor_unit(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (USD 2, JPY 0, KWD 3)."""
    try:
        return CURRENCIES[currency]
    except KeyError:
        raise CurrencyError(f"unknown ISO 4217 currency code {currency!r}") from None


def round_money(amount: Decimal, currency: str, mode: RoundingMode = "half_up") -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` with the named mode."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return amount.quantize(exponent, rounding=_MODES[mode], context=CONTEXT)


def to_decimal(value: object) -> Decimal:
    """Convert a number or numeric string to Decimal exactly.

    Floats go through ``repr`` (``0.1`` becomes ``Decimal("0.1")``, not the binary expansion).
    Raises ``ValueError`` for booleans, non-numeric strings and non-finite values.
    """
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace("_", ""))
        except decimal.InvalidOperation:
            raise ValueError(f"expected a decimal number, got {value!r}") from None
    else:
        raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Exact sum in the wide context."""
    result = ZERO
    for amount in amounts:
        result = CONTEXT.add(result, amount)
    return result
