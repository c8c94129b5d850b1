"""Every shipped example, priced and checked against arithmetic done by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ratecard

EXAMPLES = Path(__file__).parent.parent / "examples"

# (plan, usage, expected (component, amount) lines, expected total), arithmetic beside each.
CASES = [
    (
        "token-frontier-api",
        "frontier",
        [
            # realtime input @1.25/M: 400,000,000 aggregated + r1's 60,000 uncached
            # = 400,060,000 -> 400.06 * 1.25 = 500.075 -> 500.08 (half up)
            ("frontier", "500.08"),
            # batch input @1.25 * 0.5 = 0.625/M: 2,000 M * 0.625 = 1250.00
            ("frontier", "1250.00"),
            # r2 has 300k input > 200k: tier prices; uncached 200,000 * 2.50/M = 0.50
            ("frontier", "0.50"),
            # r1 cache reads: 40,000 * 0.125/M = 0.005 -> 0.01
            ("frontier", "0.01"),
            # r2 cache reads at the tier price: 100,000 * 0.25/M = 0.025 -> 0.03
            ("frontier", "0.03"),
            # realtime output @10/M: 20,000,000 + r1's 2,000 = 20,002,000 -> 200.02
            ("frontier", "200.02"),
            # batch output @5/M: 100 M * 5 = 500.00
            ("frontier", "500.00"),
            # r2 output incl. 4,000 reasoning (no own price) @15/M: 10,000 -> 0.15
            ("frontier", "0.15"),
        ],
        "2450.79",
    ),
    (
        "seat-coding-assistant",
        "coding",
        [
            ("seats", "190.00"),  # 10 seats * 19.00
            # per-user allowance of 300: ana 1200-300 = 900, bo 800-300 = 500, the other
            # eight use 100 each (within their own allowance): (900 + 500) * 0.04 = 56.00
            ("premium-overage", "56.00"),
        ],
        "246.00",
    ),
    (
        "task-voice-agent",
        "voice",
        [
            ("voice", "1876.00"),  # 23,450 min falls in (10k, 50k]: all at 0.08 = 1876.00
            ("sms", "15.00"),  # 2,300 messages = ceil(2.3) = 3 packages * 5.00
            ("phone-numbers", "3.45"),  # 3 * 1.15
        ],
        "1894.45",
    ),
    (
        "outcome-support-agent",
        "support",
        [
            # 180 aggregated + o1 (10 h after its conversation) = 181 * 0.99 = 179.19;
            # o2 came 84 h after (outside 72 h), o4 is pending: neither billed
            ("resolutions", "179.19"),
            ("resolutions", "-0.99"),  # o3 disputed after being billed: credit 1 * 0.99
            (None, "21.80"),  # floor: 200.00 - (179.19 - 0.99) = 21.80
        ],
        "200.00",
    ),
    (
        "hybrid-platform-usage",
        "platform",
        [
            ("platform", "500.00"),
            # 350,000 calls = 350 thousand: 100 * 2.00 + 250 * 1.50 = 200 + 375 = 575.00
            ("api-calls", "575.00"),
            ("api-calls", "-57.50"),  # 10 % of 575.00
        ],
        "1017.50",
    ),
    (
        "hybrid-seats-actions",
        "crm",
        [
            # daily proration: 405 seat-days / 31 days = 13.0645... seats (above the
            # minimum of 5) * 125.00 = 50625 / 31 = 1633.0645... -> 1633.06
            ("seats", "1633.06"),
            ("actions", "420.00"),  # 4,200 * 0.10
            (None, "-250.00"),  # onboarding credit covers 250.00 of 2053.06
        ],
        "1803.06",
    ),
]


@pytest.mark.parametrize(("plan", "usage", "lines", "total"), CASES, ids=[c[0] for c in CASES])
def test_example_invoice(plan: str, usage: str, lines: list[tuple[str | None, str]], total: str):
    invoice = ratecard.quote(
        EXAMPLES / "plans" / f"{plan}.yaml", EXAMPLES / "usage" / f"{usage}-2026-10.yaml"
    )
    assert [(line.component, line.amount) for line in invoice.lines] == [
        (component, Decimal(amount)) for component, amount in lines
    ]
    assert invoice.total == Decimal(total)
    assert invoice.total == sum(line.amount for line in invoice.lines)


def test_every_example_plan_has_usage_and_a_case():
    plans = {path.stem for path in (EXAMPLES / "plans").glob("*.yaml")}
    assert plans == {case[0] for case in CASES}


def test_examples_cover_every_pricing_model():
    kinds = {ratecard.load_plan(EXAMPLES / "plans" / f"{c[0]}.yaml").model_kind for c in CASES}
    assert kinds == {"per-token", "per-seat", "per-task", "per-outcome", "hybrid"}
