"""The command line: output, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ratecard.cli import app

EXAMPLES = Path(__file__).parent.parent / "examples"
PLAN = str(EXAMPLES / "plans" / "task-voice-agent.yaml")
USAGE = str(EXAMPLES / "usage" / "voice-2026-10.yaml")
runner = CliRunner()


def test_quote_table():
    result = runner.invoke(app, ["quote", PLAN, USAGE])
    assert result.exit_code == 0, result.output
    assert "1,894.45" in result.output
    assert "example-voice-agent" in result.output


def test_quote_json_has_decimal_strings():
    result = runner.invoke(app, ["quote", PLAN, USAGE, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == "1894.45"
    assert data["currency"] == "USD"
    assert data["period"] == {"start": "2026-10-01", "end": "2026-11-01"}
    assert [line["amount"] for line in data["lines"]] == ["1876.00", "15.00", "3.45"]
    first = data["lines"][0]
    assert (first["quantity"], first["unit_price"], first["exact_amount"]) == (
        "23450",
        "0.08",
        "1876.00",
    )


def test_quote_bad_usage_exit_2_without_traceback(tmp_path: Path):
    usage = tmp_path / "usage.yaml"
    usage.write_text(
        "period: {start: 2026-10-01, end: 2026-11-01}\nusage: [{metric: x, quantity: -1}]\n"
    )
    result = runner.invoke(app, ["quote", PLAN, str(usage)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{usage}:2: usage[0].quantity: expected a number >= 0" in result.output


def test_validate_ok_and_bad(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ratecard: 1\nid: b\ncurrency: XXY\ncomponents: []\n")
    result = runner.invoke(app, ["validate", PLAN, str(bad)])
    assert result.exit_code == 2
    assert f"ok  {PLAN}" in result.output
    assert f"{bad}:3: currency: unknown ISO 4217 currency code 'XXY'" in result.output
    assert f"{bad}:4: components:" in result.output


def test_validate_all_examples():
    plans = sorted(str(p) for p in (EXAMPLES / "plans").glob("*.yaml"))
    result = runner.invoke(app, ["validate", *plans])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok  ") == len(plans)


def test_schema_validates_the_examples():
    result = runner.invoke(app, ["schema", "plan"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["additionalProperties"] is False
    assert {"ratecard", "id", "components"} <= set(schema["required"])
    assert "Tier" in schema["$defs"]


def test_schema_unknown_kind():
    result = runner.invoke(app, ["schema", "nope"])
    assert result.exit_code == 2
    assert "unknown schema 'nope'" in result.output


def test_validate_accepts_catalog_ids():
    result = runner.invoke(
        app, ["validate", "catalog:github-copilot-business", "catalog:nope-nope"]
    )
    assert result.exit_code == 2
    assert "ok  catalog:github-copilot-business" in result.output
    assert "no catalog plan" in result.output or "nope-nope" in result.output
