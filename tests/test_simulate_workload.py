"""The workload format: loading, every problem reported with its line, JSON Schema, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ratecard
from ratecard.cli import app
from ratecard.errors import WorkloadError
from ratecard.simulate import load_workload, simulate
from ratecard.simulate.workload import LogNormal

runner = CliRunner()
EXAMPLE = Path("examples/workloads/support-agent.yaml")


def test_example_workload_loads_with_every_contract_key():
    workload = load_workload(EXAMPLE)
    assert workload.horizon_months == 36
    assert workload.seat_growth.max == 400
    assert workload.outcomes is not None
    assert workload.outcomes.metric == "resolution"
    assert workload.mix.dimensions["model"] == {"frontier-1": 0.7, "small-1": 0.3}
    tasks = workload.per_active_seat["tasks"]
    assert isinstance(tasks, LogNormal)
    # median 120, p90 600: sigma = ln 5 / z90, mean = 120 exp(sigma^2 / 2)
    assert tasks.sigma == pytest.approx(math.log(5) / 1.2815515655446004)
    assert tasks.mean == pytest.approx(120 * math.exp(tasks.sigma**2 / 2))


def test_example_workload_prices_under_every_example_plan():
    plans = sorted(Path("examples/plans").glob("*.yaml"))
    result = simulate(plans, EXAMPLE, sims=200, seed=7)
    assert {p.id for p in result.plans} == {ratecard.load_plan(p).id for p in plans}
    for plan in result.plans:
        assert plan.costs is not None
        assert plan.costs.shape == (200, 36)
        assert plan.monthly.p50 <= plan.monthly.p95 <= plan.monthly.p99 <= plan.monthly.max
        assert plan.monthly.cvar95 >= plan.monthly.p95
        assert plan.horizon.mean == pytest.approx(plan.tco)
    support = result.plan("example-support-agent")
    assert support.monthly.mean > 200  # above its floor on average


def test_problems_are_reported_together_with_lines(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "workload: 1\n"
        "horizon_months: 0\n"
        "per_active_seat:\n"
        "  tasks: {dist: lognormal, median: 100, p90: 50}\n"
        "mix:\n"
        "  dimensions: {model: {a: 0.5, b: 0.4}}\n"
        "  bogus: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkloadError) as caught:
        load_workload(path)
    text = str(caught.value)
    lines = {p.line for p in caught.value.problems}
    assert {2, 4, 6, 7} <= lines, text
    assert "p90 (50.0) must be above the median" in text
    assert "add up to 0.9" in text
    assert "unknown key" in text


def test_empirical_samples_from_a_file(tmp_path: Path):
    (tmp_path / "calls.txt").write_text("# calls per task\n10\n20\n30\n", encoding="utf-8")
    path = tmp_path / "w.yaml"
    path.write_text(
        "workload: 1\nper_active_seat: {tasks: {dist: fixed, value: 1}}\n"
        "per_task: {calls: {dist: empirical, file: calls.txt}}\n",
        encoding="utf-8",
    )
    workload = load_workload(path)
    assert workload.per_task["calls"].mean == 20
    plan = {
        "ratecard": 1,
        "id": "p",
        "components": [
            {
                "id": "c",
                "type": "usage",
                "metric": "calls",
                "price": {"model": "unit", "unit_price": "1"},
            }
        ],
    }
    result = simulate([plan], workload, sims=500, seed=0)
    costs = result.plans[0].costs
    assert costs is not None
    assert set(costs.ravel().tolist()) == {10.0, 20.0, 30.0}  # one task: resampled exactly
    missing = tmp_path / "m.yaml"
    missing.write_text(
        "workload: 1\nper_active_seat: {calls: {dist: empirical, file: nope.txt}}\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkloadError, match="cannot read samples"):
        load_workload(missing)


def test_unsupported_prices_are_refused_with_the_component():
    plan = {
        "ratecard": 1,
        "id": "p",
        "components": [
            {
                "id": "fees",
                "type": "usage",
                "metric": "payments",
                "price": {"model": "percentage", "percent": "2.9"},
            }
        ],
    }
    with pytest.raises(WorkloadError, match=r"component 'fees'.*percentage"):
        simulate([plan], {"workload": 1}, sims=1)


def test_schema_command_prints_the_workload_schema():
    result = runner.invoke(app, ["schema", "workload"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["$id"].endswith("workload-1.json")
    assert schema["additionalProperties"] is False
    assert "horizon_months" in schema["properties"]
    assert "Share of seats active" in schema["properties"]["active_share"]["description"]


def test_simulate_command_json():
    result = runner.invoke(
        app,
        [
            "simulate",
            "examples/plans/outcome-support-agent.yaml",
            "examples/plans/hybrid-seats-actions.yaml",
            "--workload",
            str(EXAMPLE),
            "--sims",
            "300",
            "--seed",
            "7",
            "--budget",
            "10000",
            "--discount-rate",
            "0.08",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["plan"] for p in data["plans"]] == ["example-support-agent", "example-seats-actions"]
    for plan in data["plans"]:
        assert set(plan["monthly"]) == {"mean", "p50", "p90", "p95", "p99", "max", "cvar95"}
        assert set(plan["horizon"]) == set(plan["monthly"])
        assert plan["tco"] == plan["horizon"]["mean"]
        assert float(plan["npv"]) < float(plan["tco"])  # discounted at 8 %
        assert 0 <= float(plan["budget_exceed_probability"]) <= 1
        assert all(isinstance(v, str) for v in plan["monthly"].values())
    again = runner.invoke(
        app,
        [
            "simulate",
            "examples/plans/outcome-support-agent.yaml",
            "-w",
            str(EXAMPLE),
            "--sims",
            "300",
            "--seed",
            "7",
            "--json",
        ],
    )
    assert json.loads(again.output)["plans"][0]["monthly"] == data["plans"][0]["monthly"]


def test_simulate_command_table_and_errors(tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "simulate",
            "examples/plans/outcome-support-agent.yaml",
            "-w",
            str(EXAMPLE),
            "--sims",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "example-support-agent" in result.output
    assert "TCO" in result.output
    bad = tmp_path / "w.yaml"
    bad.write_text("workload: 2\n", encoding="utf-8")
    failed = runner.invoke(
        app, ["simulate", "examples/plans/outcome-support-agent.yaml", "-w", str(bad)]
    )
    assert failed.exit_code == 2
    assert "w.yaml:1: workload" in failed.output


def test_public_surface_of_the_simulator():
    import ratecard.simulate as simulator

    assert set(simulator.__all__) == {
        "UNSUPPORTED",
        "Block",
        "CompiledPlan",
        "Group",
        "Layout",
        "PlanCost",
        "PlanResult",
        "SampledUsage",
        "SimulationResult",
        "Stats",
        "Workload",
        "block_of",
        "calendar_of",
        "compile_plan",
        "fit_workload",
        "layout_of",
        "load_workload",
        "price_block",
        "sample_block",
        "simulate",
        "stats_of",
        "summary_of",
    }
    for name in simulator.__all__:
        assert hasattr(simulator, name), name
    assert issubclass(WorkloadError, ratecard.RatecardError)


def test_documentation_examples_run():
    import doctest

    import ratecard.simulate as simulator
    from ratecard.simulate import engine

    for module in (simulator, engine):
        failed, attempted = doctest.testmod(module)
        assert attempted >= 2
        assert failed == 0, module.__name__


def test_fair_use_on_a_metric_the_workload_does_not_use():
    plan = {
        "ratecard": 1,
        "id": "p",
        "components": [
            {
                "id": "seats",
                "type": "seat",
                "unit_price": "10",
                "fair_use": {"metric": "images", "quantity": 5},
                "included": {"metric": "images", "quantity": 1},
            },
            {
                "id": "img",
                "type": "usage",
                "metric": "images",
                "price": {"model": "unit", "unit_price": "1"},
            },
        ],
    }
    result = simulate([plan], {"workload": 1, "seats": 3, "horizon_months": 2}, sims=4, seed=0)
    costs = result.plans[0].costs
    assert costs is not None
    assert costs.tolist() == [[30.0, 30.0]] * 4
    assert result.plans[0].unserved["images"].shape == (4, 2)
    assert not result.plans[0].unserved["images"].any()
