"""Fitting a workload to recorded events, through the API and `ratecard fit`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from ratecard.cli import app
from ratecard.simulate import fit_workload, load_workload, simulate
from ratecard.simulate.fit import rows_from_events
from ratecard.simulate.workload import Fixed, LogNormal
from ratecard.usage.model import Event

runner = CliRunner()


def recorded(seed: int = 0) -> list[dict[str, Any]]:
    """Three months of acme: 10, 11 then 12 users, lognormal tasks per user, one request per
    task (input lognormal, output fixed 500, cache reads a quarter of input), 60 % of tasks
    resolved, one resolution in ten disputed; a little noise from another customer."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for month, users in ((1, 10), (2, 11), (3, 12)):
        for user in range(users):
            for task in range(int(rng.lognormal(np.log(40), 0.5))):
                moment = datetime(2026, month, 1 + task % 27, 9 + task % 12, tzinfo=UTC)
                tokens = int(rng.lognormal(np.log(8000), 0.8))
                request = f"{month}-{user}-{task}"
                events.append(
                    {
                        "id": request,
                        "customer": "acme",
                        "timestamp": moment.isoformat(),
                        "dimensions": {"user": f"u{user}", "model": "big" if task % 4 else "small"},
                        "quantities": {
                            "input_tokens": tokens,
                            "cache_read_tokens": tokens // 4,
                            "output_tokens": 500,
                        },
                    }
                )
                if rng.random() < 0.6:
                    events.append(
                        {
                            "id": "o" + request,
                            "customer": "acme",
                            "timestamp": moment.isoformat(),
                            "metric": "resolution",
                            "quantity": 1,
                            "status": "disputed" if rng.random() < 0.1 else "confirmed",
                            "attributed_at": moment.isoformat(),
                        }
                    )
    events.append(
        {
            "id": "x",
            "customer": "other",
            "timestamp": "2026-01-05T00:00:00Z",
            "metric": "input_tokens",
            "quantity": 5,
        }
    )
    return events


def test_fit_recovers_the_shape_of_the_usage():
    events = [Event.model_validate(e) for e in recorded()]
    workload = fit_workload(rows_from_events(events), "acme", horizon_months=24)
    assert workload.horizon_months == 24
    assert workload.start is not None
    assert workload.start.isoformat() == "2026-04-01"
    growth = workload.seat_growth
    assert growth.start == 10
    assert growth.growth_per_month == pytest.approx((12 / 10) ** 0.5 - 1, rel=1e-4)
    tasks = workload.per_active_seat["tasks"]
    assert isinstance(tasks, LogNormal)
    assert tasks.median == pytest.approx(40, rel=0.3)
    input_tokens = workload.per_task["input_tokens"]
    assert isinstance(input_tokens, LogNormal)
    assert input_tokens.median == pytest.approx(8000, rel=0.15)
    assert input_tokens.p90 / input_tokens.median == pytest.approx(np.exp(0.8 * 1.2816), rel=0.2)
    assert workload.per_task["output_tokens"] == Fixed(dist="fixed", value=500)
    assert workload.cache_read_share == pytest.approx(0.25, abs=0.01)
    assert "cache_read_tokens" not in workload.per_task
    assert workload.outcomes is not None
    assert workload.outcomes.metric == "resolution"
    assert workload.outcomes.success_rate == pytest.approx(0.6, abs=0.05)
    assert workload.outcomes.dispute_rate == pytest.approx(0.1, abs=0.04)
    assert workload.mix.dimensions["model"]["small"] == pytest.approx(0.25, abs=0.03)
    assert sum(workload.mix.dimensions["model"].values()) == pytest.approx(1, abs=1e-12)
    assert workload.mix.off_peak_share == 0  # every request between 09:00 and 21:00


def test_fit_command_writes_a_workload_that_simulates(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in recorded(1)) + "\n", encoding="utf-8")
    target = tmp_path / "fitted.yaml"
    result = runner.invoke(
        app, ["fit", "--events", str(path), "--customer", "acme", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data["workload"] == 1
    assert data["outcomes"]["metric"] == "resolution"
    workload = load_workload(target)
    plan = "examples/plans/outcome-support-agent.yaml"
    simulated = simulate([plan], workload, sims=200, seed=0)
    assert simulated.plans[0].monthly.mean > 200
    missing = runner.invoke(app, ["fit", "--events", str(path), "--customer", "nobody"])
    assert missing.exit_code == 2
    assert "no usage rows for customer 'nobody'" in missing.output


def test_fit_from_the_store_equals_fit_from_the_file(tmp_path: Path):
    """The metering store holds the same events: the fitted workload is the same."""
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in recorded(2)) + "\n", encoding="utf-8")
    store = tmp_path / "usage.duckdb"
    ingested = runner.invoke(app, ["ingest", str(path), "--store", str(store)])
    assert ingested.exit_code == 0, ingested.output
    from_file = runner.invoke(app, ["fit", "--events", str(path), "--customer", "acme"])
    from_store = runner.invoke(app, ["fit", "--store", str(store), "--customer", "acme"])
    assert from_store.exit_code == 0, from_store.output
    assert yaml.safe_load(from_store.output) == yaml.safe_load(from_file.output)
    assert yaml.safe_load(from_store.output)["outcomes"]["metric"] == "resolution"
    both = runner.invoke(app, ["fit", "--events", str(path), "--store", str(store)])
    assert both.exit_code == 2
    assert "give one of --events FILE or --store PATH" in both.output
    missing = runner.invoke(app, ["fit", "--store", str(tmp_path / "nope.duckdb")])
    assert missing.exit_code == 2
    assert "no such event store" in missing.output
