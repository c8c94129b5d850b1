"""The HTML report opens with no network and its charts render in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ratecard.analyze.advise import advise
from ratecard.analyze.breakeven import cost_curve
from ratecard.cli import app
from ratecard.report import build_report, write_pngs
from ratecard.report.html import CHROMIUM_FLAGS
from tests.test_analyze import actions, plan, workload

EXAMPLES = Path(__file__).parent.parent / "examples"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("RATECARD_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (RATECARD_REQUIRE_CHROMIUM is set) but not installed")
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    plans = [
        plan(actions("0.10"), id="per-task", modifiers={"minimum": {"amount": "150"}}),
        plan({"id": "seats", "type": "seat", "unit_price": "20"}, id="per-seat"),
    ]
    load = workload(per_active_seat={"tasks": {"dist": "lognormal", "median": 100, "p90": 300}})
    advice = advise(load, plans, sims=300)
    assert advice.comparison is not None
    curve = cost_curve(plans, load, sims=100, points=5)
    report = build_report(advice.comparison, curve=curve, advice=advice, budget=250.0)
    path = tmp_path_factory.mktemp("report") / "report.html"
    report.write(path)
    return path, report


def test_report_is_self_contained(report_file: tuple[Path, Any]):
    text = report_file[0].read_text()
    assert not re.search(r"<script[^>]+src=", text), "no external scripts"
    assert "cdn.plot.ly" not in text.split("</script>", 1)[1]
    assert text.count('class="chart"') == 3
    assert "minimum_shortfall" in text  # the flag table
    assert "Recommended model" in text


def test_charts_render_in_headless_chromium(report_file: tuple[Path, Any], tmp_path: Path):
    browser = _chromium()
    result = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path}",
            "--dump-dom",
            report_file[0].as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = result.stdout
    # Plotly draws each chart as an <svg class="main-svg"> inside its div once the script ran
    for name in ("distribution", "cumulative-tco", "breakeven"):
        section = dom.split(f'id="chart-{name}"', 1)[1].split('class="chart"', 1)[0]
        assert "main-svg" in section, f"chart {name} did not render"
        assert "js-plotly-plot" in section
    assert dom.count('class="trace boxes"') >= 2  # one box per plan


def test_png_charts(report_file: tuple[Path, Any], tmp_path: Path):
    _chromium()
    written = write_pngs(report_file[1], tmp_path / "png", width=800, height=400)
    assert sorted(p.name for p in written) == [
        "breakeven.png",
        "cumulative-tco.png",
        "distribution.png",
    ]
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 5000  # a drawn chart, not a blank page


def test_compare_cli_writes_report_and_json(tmp_path: Path):
    runner = CliRunner()
    target = tmp_path / "compare.html"
    result = runner.invoke(
        app,
        [
            "compare",
            str(EXAMPLES / "plans" / "outcome-support-agent.yaml"),
            "catalog:github-copilot-business",
            "--workload",
            str(EXAMPLES / "workloads" / "support-agent.yaml"),
            "--sims",
            "300",
            "--html",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert target.exists()
    assert "example-support-agent" in result.output
    json_result = runner.invoke(
        app,
        [
            "breakeven",
            str(EXAMPLES / "plans" / "outcome-support-agent.yaml"),
            str(EXAMPLES / "plans" / "hybrid-seats-actions.yaml"),
            "--workload",
            str(EXAMPLES / "workloads" / "support-agent.yaml"),
            "--sims",
            "300",
            "--json",
        ],
    )
    assert json_result.exit_code == 0, json_result.output
    import json

    data = json.loads(json_result.output)
    assert set(data) == {"driver", "value", "below", "above", "current"}
    assert data["below"] == "example-support-agent"


def test_cli_errors_are_clean(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "commit",
            "catalog:github-copilot-business",
            "--workload",
            str(EXAMPLES / "workloads" / "support-agent.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert "has no commitment" in result.output
    assert "Traceback" not in result.output
