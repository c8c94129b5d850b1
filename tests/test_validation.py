"""Bad plans and usage: every problem reported at once, with file, line, key path and what
was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratecard
from ratecard import PlanError, UsageError

BAD_PLAN = """\
ratecard: 1
id: bad-plan
currency: USX
components:
  - id: api
    type: usage
    metric: calls
    prise: {model: unit, unit_price: "0.1"}
  - id: tiers
    type: usage
    metric: tokens
    price:
      model: graduated
      tiers:
        - {up_to: 100, unit_price: "abc"}
        - {up_to: 50, unit_price: "-1"}
        - {up_to: null, unit_price: "1"}
  - id: after-null
    type: usage
    metric: x
    price:
      model: volume
      tiers:
        - {up_to: null, unit_price: "1"}
        - {up_to: 10, unit_price: "1"}
  - id: tod
    type: usage
    metric: y
    price: {model: unit, unit_price: "1"}
    multipliers:
      time_of_day: [{from: "25:00", to: "08:00", tz: Mars/Base, factor: "0.5"}]
modifiers:
  discounts: [{percent: "10", applies_to: [gpt-inptu]}]
  commitment: {amount: "100", term_months: 12, applies_to: [nope]}
"""


@pytest.fixture
def bad_plan(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PLAN)
    return path


def problems_of(error: pytest.ExceptionInfo[PlanError] | pytest.ExceptionInfo[UsageError]):
    found: dict[tuple[int | None, str], str] = {}
    for p in error.value.problems:
        key = (p.line, p.path)
        found[key] = f"{found[key]} | {p.message}" if key in found else p.message
    return found


def test_every_problem_in_one_run_with_line_and_path(bad_plan: Path):
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan(bad_plan)
    found = problems_of(caught)
    assert all(p.source == str(bad_plan) for p in caught.value.problems)
    expected = {
        (3, "currency"): "unknown ISO 4217 currency code 'USX'",
        (8, "components[0].prise"): "unknown key",
        (5, "components[0].price"): "required key is missing",
        (15, "components[1].price.tiers[0].unit_price"): "expected a decimal number, got 'abc'",
        (16, "components[1].price.tiers[1].unit_price"): "expected a number >= 0, got '-1'",
        (16, "components[1].price.tiers[1].up_to"): "tiers out of order",
        (25, "components[2].price.tiers[1].up_to"): "follows a tier with up_to: null",
        (31, "components[3].multipliers.time_of_day[0].from"): "expected a time of day 'HH:MM'",
        (31, "components[3].multipliers.time_of_day[0].tz"): "unknown IANA time zone 'Mars/Base'",
        (33, "modifiers.discounts[0].applies_to[0]"): "names component 'gpt-inptu'",
        (34, "modifiers.commitment.applies_to[0]"): "names component 'nope'",
    }
    for where, fragment in expected.items():
        assert where in found, f"missing problem at {where}; found {sorted(found)}"
        assert fragment in found[where]


def test_problems_are_sorted_by_line(bad_plan: Path):
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan(bad_plan)
    lines = [p.line or 0 for p in caught.value.problems]
    assert lines == sorted(lines)


def test_dict_plans_report_paths_without_a_file():
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan({"ratecard": 1, "id": "x", "components": [{"id": "a", "type": "flat"}]})
    (problem,) = caught.value.problems
    assert (problem.source, problem.path) == (None, "components[0].amount")
    assert str(problem) == "<input>: components[0].amount: required key is missing"


@pytest.mark.parametrize(
    ("snippet", "path", "fragment"),
    [
        ("{id: a, type: seats, unit_price: '1'}", "components[0].type", "expected one of"),
        ("{id: a, type: flat, amount: .nan}", "components[0].amount", "finite"),
        ("{id: a, type: flat, amount: 'ten'}", "components[0].amount", "decimal number"),
        (
            "{id: a, type: outcome, metric: r, attribution_window: 3 days, price: {model: unit, unit_price: '1'}}",
            "components[0].attribution_window",
            "duration",
        ),
        (
            "{id: a, type: usage, metric: m, price: {model: package, size: 0, package_price: '1'}}",
            "components[0].price.size",
            "> 0",
        ),
        (
            "{id: a, type: usage, metric: m, price: {model: unit, unit_price: '1'}, minimum: '9', maximum: '5'}",
            "components[0]",
            "minimum 9 is above maximum 5",
        ),
    ],
)
def test_single_component_problems(snippet: str, path: str, fragment: str):
    text = f"ratecard: 1\nid: p\ncomponents:\n  - {snippet}\n"
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan(_yaml(text))
    assert any(p.path == path and fragment in p.message for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]


def _yaml(text: str) -> dict[str, object]:
    import yaml

    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_duplicate_component_ids():
    with pytest.raises(PlanError, match="duplicate component id 'a'"):
        ratecard.load_plan(
            _yaml(
                "ratecard: 1\nid: p\ncomponents:\n"
                "  - {id: a, type: flat, amount: '1'}\n  - {id: a, type: flat, amount: '2'}\n"
            )
        )


TWO_COMPONENTS = (
    "ratecard: 1\nid: p\ncomponents:\n"
    "  - {id: a, type: flat, amount: '1'}\n  - {id: b, type: flat, amount: '2'}\n"
)


@pytest.mark.parametrize(
    ("modifiers", "path"),
    [
        (
            "discounts: [{percent: '10', applies_to: [a, b, a]}]",
            "modifiers.discounts[0].applies_to[2]",
        ),
        ("credits: [{amount: '5', applies_to: [b, b]}]", "modifiers.credits[0].applies_to[1]"),
        (
            "commitment: {amount: '5', term_months: 1, applies_to: [a, a]}",
            "modifiers.commitment.applies_to[1]",
        ),
    ],
)
def test_a_component_named_twice_is_an_error(modifiers: str, path: str):
    # Named twice, a discount would come off twice in one reading and once in another.
    with pytest.raises(PlanError) as raised:
        ratecard.load_plan(_yaml(TWO_COMPONENTS + "modifiers:\n  " + modifiers + "\n"))
    [problem] = raised.value.problems
    assert problem.path == path
    assert "twice" in problem.message


def test_discounts_over_100_percent_on_a_component_are_an_error():
    # 60 % on every component and 50 % on b: b would be billed -10 %.
    text = (
        TWO_COMPONENTS
        + "modifiers:\n  discounts: [{percent: '60'}, {percent: '50', applies_to: [b]}]\n"
    )
    with pytest.raises(PlanError, match=r"discounts on component 'b' add up to 110 %"):
        ratecard.load_plan(_yaml(text))
    # 60 % and 40 % is exactly 100 %: allowed, the component is free.
    plan = ratecard.load_plan(_yaml(text.replace("'50'", "'40'")))
    assert len(plan.modifiers.discounts) == 2


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("ratecard: 1\nid: p\ncomponents:\n  - {id: a, type: flat\n")
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan(path)
    (problem,) = caught.value.problems
    assert problem.line is not None
    assert problem.line >= 4
    assert "not valid YAML" in problem.message


def test_missing_file(tmp_path: Path):
    with pytest.raises(PlanError, match="no such plan file"):
        ratecard.load_plan(tmp_path / "nope.yaml")


def test_json_plans_are_read_with_line_numbers(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(
        '{\n  "ratecard": 1,\n  "id": "j",\n  "components": [\n'
        '    {"id": "a", "type": "flat", "amount": "-5"}\n  ]\n}\n'
    )
    with pytest.raises(PlanError) as caught:
        ratecard.load_plan(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (5, "components[0].amount")


BAD_USAGE = """\
period: {start: 2026-10-01, end: 2026-09-01}
seats: -3
usage:
  - {metric: calls, quantity: "lots"}
  - {metric: calls, quantity: 5, colour: red}
events:
  - {id: e1, timestamp: 2026-10-03T17:00:00, metric: calls}
  - {id: e2, timestamp: 2026-10-03T17:00:00Z, metric: calls, quantities: {calls: 2}}
  - {id: e3, timestamp: 2026-10-03T17:00:00Z, metric: r, status: won}
"""


def test_usage_problems_all_reported(tmp_path: Path):
    path = tmp_path / "usage.yaml"
    path.write_text(BAD_USAGE)
    with pytest.raises(UsageError) as caught:
        ratecard.load_usage(path)
    found = problems_of(caught)
    expected = {
        (1, "period"): "must be after its start",
        (2, "seats"): ">= 0",
        (4, "usage[0].quantity"): "decimal number",
        (5, "usage[1].colour"): "unknown key",
        (7, "events[0].timestamp"): "time zone",
        (8, "events[1]"): "either metric and quantity, or quantities",
        (9, "events[2].status"): "confirmed",
    }
    for where, fragment in expected.items():
        assert where in found, f"missing {where}; found {sorted(found)}"
        assert fragment in found[where]


def test_workload_union_errors_name_the_key_not_the_union_member(tmp_path: Path):
    from ratecard.errors import WorkloadError
    from ratecard.simulate.workload import load_workload

    path = tmp_path / "workload.yaml"
    path.write_text(
        "workload: 1\nseats: -3\nper_active_seat: {tasks: {dist: lognormal, median: 10, p90: 5}}\n"
    )
    with pytest.raises(WorkloadError) as caught:
        load_workload(path)
    found = [(p.line, p.path, p.message) for p in caught.value.problems]
    assert found == [
        (2, "seats", "expected a number >= 0, got -3"),
        (
            3,
            "per_active_seat.tasks",
            "p90 (5.0) must be above the median (10.0); use dist: fixed for a constant",
        ),
    ]
