"""Golden invoices for every price model, the arithmetic written beside each number."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ratecard
from tests.conftest import plan_of, usage_of

D = Decimal


def one_usage(price: str, quantity: str, per: str = "1") -> Decimal:
    plan = plan_of(
        f"""
  - id: c
    type: usage
    metric: units
    per: {per}
    price: {price}
"""
    )
    invoice = ratecard.quote(plan, usage_of(f"usage: [{{metric: units, quantity: '{quantity}'}}]"))
    return invoice.total


def test_unit():
    # 150 * 0.20 = 30.00
    assert one_usage("{model: unit, unit_price: '0.20'}", "150") == D("30.00")


def test_unit_per_million():
    # 2,500,000 tokens at 1.25 per million: 2.5 * 1.25 = 3.125 -> 3.13 (half up)
    assert one_usage("{model: unit, unit_price: '1.25'}", "2500000", per="1000000") == D("3.13")


GRADUATED = "{model: graduated, tiers: [{up_to: 100, unit_price: '1.00'}, {up_to: null, unit_price: '0.50'}]}"
VOLUME = GRADUATED.replace("graduated", "volume")


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("150", "125.00"),  # DESIGN.md: 100 * 1.00 + 50 * 0.50
        ("100", "100.00"),  # up_to is inclusive: all 100 in the first tier
        ("0", "0.00"),
        ("100.5", "100.25"),  # 100 * 1.00 + 0.5 * 0.50
    ],
)
def test_graduated(quantity: str, expected: str):
    assert one_usage(GRADUATED, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("150", "75.00"),  # DESIGN.md: the tier containing 150 prices every unit: 150 * 0.50
        ("100", "100.00"),  # 100 is inside (0, 100]: 100 * 1.00
        ("101", "50.50"),  # 101 * 0.50: the all-units cliff
    ],
)
def test_volume(quantity: str, expected: str):
    assert one_usage(VOLUME, quantity) == D(expected)


FEES = (
    "{model: graduated, tiers: [{up_to: 5, flat_fee: '10.00'}, "
    "{up_to: 10, unit_price: '1.00', flat_fee: '5.00'}, {up_to: null, unit_price: '0.50'}]}"
)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "10.00"),  # the first tier's flat fee is charged at zero usage
        ("5", "10.00"),  # 5 does not enter (5, 10]
        ("5.001", "15.00"),  # enters (5, 10]: 10 + 0.001 * 1.00 + 5 = 15.001 -> 15.00
        ("12", "21.00"),  # 10 + (5 * 1.00 + 5) + 2 * 0.50 = 21.00
    ],
)
def test_graduated_flat_fees(quantity: str, expected: str):
    assert one_usage(FEES, quantity) == D(expected)


def test_graduated_flat_fee_at_zero_can_be_switched_off():
    price = FEES.replace("{model: graduated,", "{model: graduated, flat_fee_at_zero: false,")
    assert one_usage(price, "0") == D("0.00")
    assert one_usage(price, "1") == D("10.00")  # entering the first tier still pays its fee


def test_volume_flat_fee():
    price = (
        "{model: volume, tiers: [{up_to: 1000, unit_price: '0', flat_fee: '20.00'}, "
        "{up_to: null, unit_price: '0.01', flat_fee: '50.00'}]}"
    )
    assert one_usage(price, "0") == D("20.00")  # q = 0 falls in the first tier
    assert one_usage(price, "1000") == D("20.00")
    assert one_usage(price, "3000") == D("80.00")  # 3000 * 0.01 + 50.00


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [
        ("{model: package, size: 1000, package_price: '5.00'}", "2300", "15.00"),  # ceil 2.3 = 3
        ("{model: package, size: 1000, package_price: '5.00'}", "3000", "15.00"),  # exactly 3
        ("{model: package, size: 1000, package_price: '5.00', rounding: down}", "2300", "10.00"),
        # 500 free: ceil((2300 - 500) / 1000) = 2 packages
        ("{model: package, size: 1000, package_price: '5.00', free_units: 500}", "2300", "10.00"),
        ("{model: package, size: 1000, package_price: '5.00', free_units: 500}", "400", "0.00"),
    ],
)
def test_package(price: str, quantity: str, expected: str):
    assert one_usage(price, quantity) == D(expected)


def percentage_total(price: str, values: list[str]) -> Decimal:
    plan = plan_of(f"  - {{id: fees, type: usage, metric: payments, price: {price}}}\n")
    events = "".join(
        f"  - {{id: p{i}, timestamp: 2026-10-0{i + 1}T12:00:00Z, metric: payments, value: '{v}'}}\n"
        for i, v in enumerate(values)
    )
    return ratecard.quote(plan, usage_of("events:\n" + events)).total


CARD = "{model: percentage, percent: '2.9', fixed_fee: '0.30', min_per_event: '0.50', max_per_event: '25.00'"


def test_percentage_with_clamps():
    # 10.00 -> 0.29 + 0.30 = 0.59; 5.00 -> 0.145 + 0.30 = 0.445, raised to the 0.50 minimum;
    # 2000.00 -> 58.00 + 0.30 = 58.30, lowered to the 25.00 maximum. 0.59 + 0.50 + 25.00
    assert percentage_total(CARD + "}", ["10.00", "5.00", "2000.00"]) == D("26.09")


def test_percentage_free_amount_crossing_event_pays_its_part_above():
    # free_amount 12: the 10.00 event is free; the 5.00 event crosses it (running 15) and
    # pays 2.9 % of 3.00 + 0.30 = 0.387 -> min 0.50; then 2000.00 -> max 25.00
    price = CARD + ", free_amount: '12'}"
    assert percentage_total(price, ["10.00", "5.00", "2000.00"]) == D("25.50")


def test_percentage_free_events_run_out_first():
    # free_events 1 and free_amount 1000: the second event is past the free count, so it pays
    # in full even though only 10.00 of the free value was used: 0.50 + 25.00
    price = CARD + ", free_events: 1, free_amount: '1000'}"
    assert percentage_total(price, ["10.00", "5.00", "2000.00"]) == D("25.50")


def test_percentage_free_events_in_time_order():
    # The first event in time is free, whatever the file order: the 2000.00 event (Oct 1) is
    # free, leaving 10.00 -> 0.59 and 5.00 -> 0.50
    price = "{model: percentage, percent: '2.9', fixed_fee: '0.30', min_per_event: '0.50', free_events: 1}"
    plan = plan_of(f"  - {{id: fees, type: usage, metric: payments, price: {price}}}\n")
    usage = usage_of(
        """
events:
  - {id: a, timestamp: 2026-10-05T00:00:00Z, metric: payments, value: '10.00'}
  - {id: b, timestamp: 2026-10-09T00:00:00Z, metric: payments, value: '5.00'}
  - {id: c, timestamp: 2026-10-01T00:00:00Z, metric: payments, value: '2000.00'}
"""
    )
    assert ratecard.quote(plan, usage).total == D("1.09")


def test_graduated_percentage():
    # running sum 600 + 900 = 1500: 1000 * 3 % + 500 * 2 % + the first tier's fee 1.00
    # = 30.00 + 10.00 + 1.00
    price = (
        "{model: graduated_percentage, tiers: [{up_to: 1000, percent: '3', flat_fee: '1.00'}, "
        "{up_to: null, percent: '2'}]}"
    )
    assert percentage_total(price, ["600", "900"]) == D("41.00")


def test_percentage_needs_event_values():
    plan = plan_of(
        "  - {id: fees, type: usage, metric: payments, price: {model: percentage, percent: '1'}}\n"
    )
    with pytest.raises(ratecard.UsageError, match="percentage price"):
        ratecard.quote(plan, usage_of("usage: [{metric: payments, quantity: 3}]"))
