"""Golden invoices for seats, fair use, multipliers, tokens and outcomes."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ratecard
from tests.conftest import amounts, plan_of, usage_of

D = Decimal


def test_min_seats_apply():
    plan = plan_of("  - {id: s, type: seat, unit_price: '30.00', min_seats: 5}\n")
    # 3 seats used, 5 billed: 5 * 30.00
    invoice = ratecard.quote(plan, usage_of("seats: 3"))
    assert invoice.total == D("150.00")
    assert invoice.lines[0].quantity == 5


def test_seat_plan_without_seat_count_is_a_usage_error():
    plan = plan_of("  - {id: s, type: seat, unit_price: '30.00'}\n")
    with pytest.raises(ratecard.UsageError, match="seats"):
        ratecard.quote(plan, usage_of(""))


def test_seat_days_without_daily_proration_bill_the_peak():
    plan = plan_of("  - {id: s, type: seat, unit_price: '10.00'}\n")
    # 405 seat-days over 31 days: ceil(13.06) = 14 seats at the peak, at least
    assert ratecard.quote(plan, usage_of("seat_days: 405")).total == D("140.00")


POOLED = """
  - id: s
    type: seat
    unit_price: '20.00'
    included: {metric: actions, quantity: 100, pooled: true}
    fair_use: {metric: actions, quantity: 1000, pooled: true}
  - {id: over, type: usage, metric: actions, price: {model: unit, unit_price: '0.10'}}
"""


def test_pooled_allowance_and_overage():
    # 4 seats: 400 actions included; 1,000 used -> 600 * 0.10 = 60.00; seats 80.00
    invoice = ratecard.quote(
        plan_of(POOLED), usage_of("seats: 4\nusage: [{metric: actions, quantity: 1000}]")
    )
    assert amounts(invoice) == [("charge", "s", D("80.00")), ("charge", "over", D("60.00"))]


def test_fair_use_caps_served_units_and_never_bills_them():
    # 2 seats: fair use 2,000 actions; 2,500 used -> 500 unserved (zero line).
    # Billable: 2,000 served - 200 included = 1,800 * 0.10 = 180.00
    invoice = ratecard.quote(
        plan_of(POOLED), usage_of("seats: 2\nusage: [{metric: actions, quantity: 2500}]")
    )
    assert amounts(invoice) == [
        ("charge", "s", D("40.00")),
        ("unserved", "s", D("0.00")),
        ("charge", "over", D("180.00")),
    ]
    assert invoice.lines[1].quantity == D("500")


def test_fair_use_per_user():
    plan = plan_of(
        """
  - id: s
    type: seat
    unit_price: '0'
    fair_use: {metric: actions, quantity: 100, pooled: false}
  - {id: a, type: usage, metric: actions, price: {model: unit, unit_price: '1.00'}}
"""
    )
    # ann 150 (50 above her own 100), bob 30: served 100 + 30 = 130 -> 130.00
    usage = usage_of(
        "seats: 2\nusage: [{metric: actions, quantity: 150, dimensions: {user: ann}},"
        " {metric: actions, quantity: 30, dimensions: {user: bob}}]"
    )
    invoice = ratecard.quote(plan, usage)
    assert invoice.total == D("130.00")
    assert [line.quantity for line in invoice.lines if line.kind == "unserved"] == [D("50")]


def test_region_multiplier_and_time_of_day_window_in_its_time_zone():
    plan = plan_of(
        """
  - id: calls
    type: usage
    metric: calls
    price: {model: unit, unit_price: '1.00'}
    multipliers:
      region: {eu: '1.10'}
      time_of_day: [{from: '22:00', to: '06:00', tz: America/New_York, factor: '0.5'}]
"""
    )
    usage = usage_of(
        """
events:
  # 2026-10-10 03:00 UTC is 23:00 in New York (EDT): off-peak, 10 * 0.5 = 5.00
  - {id: a, timestamp: 2026-10-10T03:00:00Z, metric: calls, quantity: 10}
  # 12:00 UTC is 08:00 in New York: peak; region eu: 10 * 1.10 = 11.00
  - {id: b, timestamp: 2026-10-10T12:00:00Z, metric: calls, quantity: 10, dimensions: {region: eu}}
  # 10:00 UTC = 06:00 New York: the window is [22:00, 06:00), so peak: 10.00
  - {id: c, timestamp: 2026-10-10T10:00:00Z, metric: calls, quantity: 10}
  # both: 04:00 UTC (00:00 NY), eu: 10 * 1.10 * 0.5 = 5.50
  - {id: d, timestamp: 2026-10-11T04:00:00Z, metric: calls, quantity: 10, dimensions: {region: eu}}
"""
    )
    invoice = ratecard.quote(plan, usage)
    assert sorted(line.amount for line in invoice.lines) == [
        D("5.00"),
        D("5.50"),
        D("10.00"),
        D("11.00"),
    ]
    assert invoice.total == D("31.50")


def test_time_window_replacement_price():
    plan = plan_of(
        """
  - id: calls
    type: usage
    metric: calls
    price: {model: unit, unit_price: '1.00'}
    multipliers:
      time_of_day: [{from: '00:00', to: '08:00', prices: {unit_price: '0.25'}}]
"""
    )
    usage = usage_of(
        "events: [{timestamp: 2026-10-10T07:59:00Z, metric: calls, quantity: 4},"
        " {timestamp: 2026-10-10T08:00:00Z, metric: calls, quantity: 4}]"
    )
    # 4 * 0.25 + 4 * 1.00
    assert ratecard.quote(plan, usage).total == D("5.00")


def test_multiplier_on_graduated_splits_the_charge_pro_rata():
    plan = plan_of(
        """
  - id: g
    type: usage
    metric: x
    price: {model: graduated, tiers: [{up_to: 100, unit_price: '1.00'}, {up_to: null, unit_price: '0.50'}]}
    multipliers: {region: {eu: '2'}}
"""
    )
    # 150 units cost 125.00 before factors; eu holds 60 of 150 units: 125 * 0.4 * 2 = 100.00,
    # us 125 * 0.6 = 75.00
    usage = usage_of(
        "usage: [{metric: x, quantity: 60, dimensions: {region: eu}},"
        " {metric: x, quantity: 90, dimensions: {region: us}}]"
    )
    assert sorted(line.amount for line in ratecard.quote(plan, usage).lines) == [
        D("75.00"),
        D("100.00"),
    ]


TOKENS = """
  - id: llm
    type: tokens
    per: 1000000
    prices: {input: '3.00', cache_read: '0.30', cache_write: '3.75', audio_input: '40.00',
             output: '15.00', reasoning: '15.00', audio_output: '80.00'}
    multipliers:
      time_of_day: [{from: '16:30', to: '00:30', tz: UTC, prices: {input: '1.50'}, factor: '0.5'}]
"""


def test_token_subsets_priced_at_their_own_keys():
    request = (
        "{timestamp: 2026-10-10T12:00:00Z, quantities: {input_tokens: 1000000, cache_read_tokens: 200000,"
        " cache_write_tokens: 100000, audio_input_tokens: 50000, output_tokens: 300000,"
        " reasoning_tokens: 100000, audio_output_tokens: 10000}}"
    )
    invoice = ratecard.quote(plan_of(TOKENS), usage_of(f"events: [{request}]"))
    # input 1,000,000 - 200,000 cached - 100,000 written - 50,000 audio = 650,000 * 3 / 1M = 1.95
    # cache read 0.2 * 0.30 = 0.06; cache write 0.1 * 3.75 = 0.375 -> 0.38; audio in 0.05 * 40 = 2.00
    # output 300,000 - 100,000 reasoning - 10,000 audio = 190,000 * 15 / 1M = 2.85
    # reasoning 0.1 * 15 = 1.50; audio out 0.01 * 80 = 0.80
    assert [(line.quantity, line.amount) for line in invoice.lines] == [
        (D("650000"), D("1.95")),
        (D("200000"), D("0.06")),
        (D("100000"), D("0.38")),
        (D("50000"), D("2.00")),
        (D("190000"), D("2.85")),
        (D("100000"), D("1.50")),
        (D("10000"), D("0.80")),
    ]


def test_token_time_window_replaces_then_multiplies():
    request = "{timestamp: 2026-10-10T23:00:00Z, quantities: {input_tokens: 1000000, output_tokens: 1000000}}"
    invoice = ratecard.quote(plan_of(TOKENS), usage_of(f"events: [{request}]"))
    # 23:00 is inside [16:30, 00:30): input replaced by 1.50 then * 0.5 = 0.75;
    # output keeps 15.00 * 0.5 = 7.50
    assert [line.amount for line in invoice.lines] == [D("0.75"), D("7.50")]


def test_token_counts_that_do_not_add_up_are_rejected():
    request = "{id: bad, quantities: {input_tokens: 100, cache_read_tokens: 150}}"
    with pytest.raises(ratecard.UsageError, match="exceed input_tokens") as caught:
        ratecard.quote(plan_of(TOKENS), usage_of(f"events: [{request}]"))
    assert "id bad" in str(caught.value)


def test_outcome_reversal_credits_the_marginal_price_of_graduated_tiers():
    plan = plan_of(
        """
  - id: wins
    type: outcome
    metric: deal
    price: {model: graduated, tiers: [{up_to: 10, unit_price: '5.00'}, {up_to: null, unit_price: '2.00'}]}
"""
    )
    usage = usage_of(
        "usage: [{metric: deal, quantity: 12}]\n"
        "events: [{timestamp: 2026-10-03T00:00:00Z, metric: deal, quantity: 2, status: reversed}]"
    )
    # 12 deals: 10 * 5 + 2 * 2 = 54.00. Reversed 2 on top: charge(14) - charge(12) = 4.00
    assert amounts(ratecard.quote(plan, usage)) == [
        ("charge", "wins", D("54.00")),
        ("outcome_reversal", "wins", D("-4.00")),
    ]
