"""Golden invoices for every modifier and component limit, arithmetic beside each number."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ratecard
from tests.conftest import amounts, plan_of, usage_of

D = Decimal

UNIT = """
  - {id: api, type: usage, metric: calls, price: {model: unit, unit_price: '1.00'}}
"""
FLAT = """
  - {id: base, type: flat, amount: '100.00'}
"""


def calls(
    n: int | str, month: int = 10, contract_start: str = "2026-10-01"
) -> ratecard.UsageSummary:
    end = f"2026-{month + 1:02d}-01" if month < 12 else "2027-01-01"
    return usage_of(
        f"contract_start: {contract_start}\nusage: [{{metric: calls, quantity: '{n}'}}]",
        period=f"{{start: 2026-{month:02d}-01, end: {end}}}",
    )


def test_component_minimum_and_maximum():
    plan = plan_of(
        """
  - {id: api, type: usage, metric: calls, price: {model: unit, unit_price: '1.00'}, minimum: '50.00', maximum: '80.00'}
"""
    )
    # 20 calls = 20.00, below the 50.00 minimum: top-up 30.00
    low = ratecard.quote(plan, calls(20))
    assert amounts(low) == [("charge", "api", D("20.00")), ("component_minimum", "api", D("30.00"))]
    # 120 calls = 120.00, above the 80.00 maximum: -40.00
    high = ratecard.quote(plan, calls(120))
    assert amounts(high)[-1] == ("component_maximum", "api", D("-40.00"))
    assert high.total == D("80.00")


def test_discounts_each_on_the_components_they_name():
    plan = plan_of(
        UNIT + FLAT,
        "  discounts: [{percent: '10', applies_to: [api]}, {percent: '5'}]",
    )
    # 200 calls = 200.00; base 100.00. 10 % of api = -20.00; 5 % of api = -10.00 and of
    # base = -5.00 (each discount on the listed charges, not compounded)
    invoice = ratecard.quote(plan, calls(200))
    assert amounts(invoice)[2:] == [
        ("discount", "api", D("-20.00")),
        ("discount", "api", D("-10.00")),
        ("discount", "base", D("-5.00")),
    ]
    assert invoice.total == D("265.00")


def test_postpaid_commitment_bills_the_shortfall_at_term_end():
    plan = plan_of(
        UNIT,
        "  commitment: {amount: '1000.00', term_months: 3, discount_percent: '10', applies_to: [api]}",
    )
    invoices = ratecard.quote_periods(plan, [calls(200, 10), calls(300, 11), calls(100, 12)])
    # month 1: 200.00 - 10 % = 180.00 counted; month 2: 300 - 30 = 270.00 (450 counted)
    assert [i.total for i in invoices[:2]] == [D("180.00"), D("270.00")]
    assert invoices[1].state.commitment_counted == D("450.00")
    # month 3 (last of the term): 100 - 10 = 90.00; counted 540.00 of 1000.00: shortfall 460.00
    assert amounts(invoices[2])[-1] == ("commitment_shortfall", None, D("460.00"))
    assert invoices[2].total == D("550.00")
    assert invoices[2].state.commitment_counted == 0  # a new term starts


def test_postpaid_commitment_met_bills_no_shortfall():
    plan = plan_of(UNIT, "  commitment: {amount: '100.00', term_months: 1, discount_percent: '0'}")
    assert [line.kind for line in ratecard.quote(plan, calls(150)).lines] == ["charge"]


def test_prepaid_commitment_draws_down_then_bills_overage():
    plan = plan_of(
        UNIT,
        "  commitment: {amount: '500.00', term_months: 2, discount_percent: '20', "
        "overage_discount_percent: '0', payment: prepaid}",
    )
    first, second = ratecard.quote_periods(plan, [calls(400, 10), calls(400, 11)])
    # month 1: prepaid 500.00 invoiced; 400.00 of calls less 20 % = 320.00 drawn from it
    assert amounts(first) == [
        ("charge", "api", D("400.00")),
        ("prepaid_commitment", None, D("500.00")),
        ("commitment_discount", "api", D("-80.00")),
        ("prepaid_drawdown", None, D("-320.00")),
    ]
    assert first.total == D("500.00")
    assert first.state.prepaid_balance == D("180.00")
    # month 2: 400.00 would need 320.00 but 180.00 is left: it covers 180 / 0.8 = 225.00 of
    # list charges at 20 % off (-45.00); the other 175.00 pays at the 0 % overage discount.
    # Discount line: 400 * (0.5625 * 20 %) = -45.00; drawdown -180.00; billed 175.00
    assert amounts(second) == [
        ("charge", "api", D("400.00")),
        ("commitment_discount", "api", D("-45.00")),
        ("prepaid_drawdown", None, D("-180.00")),
    ]
    assert second.total == D("175.00")


def test_terms_count_billing_periods_from_the_contract_start_month():
    """A contract from October 15 has October as its first term month and November as its
    second (a count of whole months since October 15 would make November the first again)."""
    plan = plan_of(UNIT, "  commitment: {amount: '500.00', term_months: 2, discount_percent: '0'}")
    november = ratecard.quote(plan, calls(100, 11, "2026-10-15"))
    # November ends the two-month term: 100.00 of calls and a shortfall of 500 - 100 counted
    # (no October usage was carried in) = 400.00
    assert amounts(november) == [
        ("charge", "api", D("100.00")),
        ("commitment_shortfall", None, D("400.00")),
    ]


def test_prepaid_balance_left_at_term_end_is_forfeited():
    plan = plan_of(UNIT, "  commitment: {amount: '500.00', term_months: 1, payment: prepaid}")
    invoice = ratecard.quote(plan, calls(100))
    # 500.00 prepaid, 100.00 drawn, 400.00 forfeited (an informational zero line)
    forfeit = invoice.lines[-1]
    assert (forfeit.kind, forfeit.quantity, forfeit.amount) == ("prepaid_forfeit", D("400.00"), 0)
    assert invoice.total == D("500.00")


def test_plan_minimum_tops_up_and_cap_cuts():
    plan = plan_of(UNIT, "  minimum: {amount: '150.00'}\n  cap: {amount: '400.00'}")
    assert amounts(ratecard.quote(plan, calls(100)))[-1] == ("minimum", None, D("50.00"))
    assert amounts(ratecard.quote(plan, calls(1000)))[-1] == ("cap", None, D("-600.00"))
    assert ratecard.quote(plan, calls(250)).total == D("250.00")


def test_cap_holds_to_the_cent_after_line_rounding():
    # Two lines of 200.005 round to 200.01 each (half up): 400.02 billed; the cap line must
    # take off 0.02, so the total is exactly the 400.00 cap.
    plan = plan_of(
        """
  - {id: a, type: usage, metric: x, price: {model: unit, unit_price: '0.001'}}
  - {id: b, type: usage, metric: y, price: {model: unit, unit_price: '0.001'}}
""",
        "  cap: {amount: '400.00'}",
    )
    usage = usage_of("usage: [{metric: x, quantity: 200005}, {metric: y, quantity: 200005}]")
    invoice = ratecard.quote(plan, usage)
    assert amounts(invoice)[-1] == ("cap", None, D("-0.02"))
    assert invoice.total == D("400.00")


def test_credits_oldest_expiry_first_and_carried_over():
    plan = plan_of(
        UNIT,
        "  credits:\n"
        "    - {amount: '300.00', name: later}\n"
        "    - {amount: '100.00', expires: 2026-11-30, name: sooner}",
    )
    october, november, december = ratecard.quote_periods(
        plan, [calls(150, 10), calls(150, 11), calls(150, 12)]
    )
    # October: 'sooner' (expires first) pays 100.00, 'later' pays 50.00: total 0
    assert amounts(october)[1:] == [("credit", None, D("-100.00")), ("credit", None, D("-50.00"))]
    assert october.total == 0
    # November: 'sooner' is spent; 'later' has 250.00 left and pays 150.00
    assert november.total == 0
    # December: 100.00 of 'later' left: 150.00 - 100.00
    assert december.total == D("50.00")
    assert december.state.credits == (D("0.00"), D("0.00"))


def test_credit_expired_before_the_period_is_not_used():
    plan = plan_of(UNIT, "  credits: [{amount: '100.00', expires: 2026-09-30}]")
    assert ratecard.quote(plan, calls(50)).total == D("50.00")


def test_credit_applies_only_to_named_components():
    plan = plan_of(UNIT + FLAT, "  credits: [{amount: '500.00', applies_to: [api]}]")
    invoice = ratecard.quote(plan, calls(70))
    # credit covers the 70.00 of api only; the 100.00 base fee stays billed
    assert amounts(invoice)[-1] == ("credit", None, D("-70.00"))
    assert invoice.total == D("100.00")
    assert invoice.subtotal == D("170.00")


def test_a_credit_for_a_component_paid_from_prepaid_covers_only_what_is_left():
    plan = plan_of(
        UNIT + FLAT,
        "  commitment: {amount: '500.00', term_months: 12, discount_percent: '0', "
        "applies_to: [api], payment: prepaid}\n"
        "  credits: [{amount: '1000.00', applies_to: [api]}]",
    )
    invoice = ratecard.quote(plan, calls(800))
    # api 800.00, of which the prepaid 500.00 pays 500.00: the api credit covers the other
    # 300.00, never the 100.00 base fee. 100 + 800 + 500 prepaid - 500 drawn - 300 = 600.00
    assert amounts(invoice)[-2:] == [
        ("prepaid_drawdown", None, D("-500.00")),
        ("credit", None, D("-300.00")),
    ]
    assert invoice.total == D("600.00")
    assert invoice.state.credits == (D("700.00"),)


def test_a_reversed_outcome_is_credited_at_the_discounted_price_it_was_billed():
    plan = plan_of(
        "  - {id: res, type: outcome, metric: resolution, "
        "price: {model: unit, unit_price: '1.00'}}",
        "  discounts: [{percent: '50'}]",
    )
    november = ratecard.quote(
        plan,
        usage_of(
            "events: [{id: e0, timestamp: '2026-11-03T00:00:00Z', metric: resolution, "
            "quantity: 1, status: reversed}]",
            period="{start: 2026-11-01, end: 2026-12-01}",
        ),
    )
    # the outcome was billed at 1.00 less 50 % = 0.50: the credit is -1.00 + 0.50 = -0.50
    assert amounts(november) == [
        ("outcome_reversal", "res", D("-1.00")),
        ("discount", "res", D("0.50")),
    ]
    assert november.total == D("-0.50")


def test_escalation_with_price_protection_compounds_yearly():
    plan = plan_of(FLAT, "  escalation: {percent_per_year: '7', protection_cap_percent: '3'}")
    # contract 2024-10-01, period 2026-10: two anniversaries; min(7, 3) = 3 %:
    # 100.00 * 1.03 ** 2 = 106.09
    usage = usage_of("contract_start: 2024-10-01")
    assert ratecard.quote(plan, usage).total == D("106.09")
    # 2024-10-02 start: only one anniversary has passed on 2026-10-01
    assert ratecard.quote(plan, usage_of("contract_start: 2024-10-02")).total == D("103.00")


def test_escalation_without_protection_and_falling_prices():
    plan = plan_of(FLAT, "  escalation: {percent_per_year: '7'}")
    assert ratecard.quote(plan, usage_of("contract_start: 2025-10-01")).total == D("107.00")
    falling = plan_of(FLAT, "  escalation: {percent_per_year: '-10'}")
    # two years: 100 * 0.9 ** 2 = 81.00
    assert ratecard.quote(falling, usage_of("contract_start: 2024-10-01")).total == D("81.00")


def test_modifier_order_discount_then_commitment_then_minimum_then_cap_then_credit():
    plan = plan_of(
        UNIT,
        "  discounts: [{percent: '50'}]\n"
        "  commitment: {amount: '0', term_months: 12, discount_percent: '20'}\n"
        "  minimum: {amount: '100.00'}\n"
        "  credits: [{amount: '30.00'}]",
    )
    # 200.00 - 50 % = 100.00; commitment 20 % of 100.00 = -20.00 -> 80.00; minimum tops up
    # 20.00 -> 100.00; credit 30.00 -> 70.00
    invoice = ratecard.quote(plan, calls(200))
    assert [k for k, _, _ in amounts(invoice)] == [
        "charge",
        "discount",
        "commitment_discount",
        "minimum",
        "credit",
    ]
    assert invoice.total == D("70.00")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("half_up", "0.13"), ("half_even", "0.12"), ("up", "0.13"), ("down", "0.12")],
)
def test_rounding_modes(mode: str, expected: str):
    # 125 * 0.001 = 0.125, exactly half a cent
    plan = plan_of(
        "  - {id: a, type: usage, metric: x, price: {model: unit, unit_price: '0.001'}}\n",
        extra=f"rounding: {{mode: {mode}}}\n",
    )
    invoice = ratecard.quote(plan, usage_of("usage: [{metric: x, quantity: 125}]"))
    assert invoice.total == D(expected)
    assert invoice.lines[0].exact_amount == D("0.125")


def test_invoice_scope_rounds_the_total_once_and_lines_still_add_up():
    components = "".join(
        f"  - {{id: c{i}, type: usage, metric: m{i}, price: {{model: unit, unit_price: '0.001'}}}}\n"
        for i in range(3)
    )
    usage = usage_of(
        "usage: [" + ", ".join(f"{{metric: m{i}, quantity: 335}}" for i in range(3)) + "]"
    )
    # each line 0.335 exactly. Line scope, half even: 0.34 each (0.335 -> the even 4) = 1.02.
    by_line = ratecard.quote(plan_of(components, extra="rounding: {mode: half_even}\n"), usage)
    assert by_line.total == D("1.02")
    # Invoice scope: 1.005 -> 1.00 (half even); the lines are adjusted to add up to it
    by_invoice = ratecard.quote(
        plan_of(components, extra="rounding: {mode: half_even, scope: invoice}\n"), usage
    )
    assert by_invoice.total == D("1.00")
    assert sum(line.amount for line in by_invoice.lines) == D("1.00")
    assert sorted(line.amount for line in by_invoice.lines) == [D("0.33"), D("0.33"), D("0.34")]


def test_zero_decimal_currency_rounds_to_whole_yen():
    plan = ratecard.load_plan(
        {
            "ratecard": 1,
            "id": "yen",
            "currency": "JPY",
            "components": [
                {
                    "id": "a",
                    "type": "usage",
                    "metric": "x",
                    "price": {"model": "unit", "unit_price": "0.6"},
                }
            ],
        }
    )
    # 1,001 * 0.6 = 600.6 -> 601 yen
    assert ratecard.quote(plan, usage_of("usage: [{metric: x, quantity: 1001}]")).total == D("601")
