"""The catalog: shipped plans, the genai-prices adapter, `ratecard catalog` and `catalog:ID`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from genai_prices import Usage, calc_price
from typer.testing import CliRunner

import ratecard
from ratecard.catalog import MODELS, CatalogEntry, get_plan, list_entries
from ratecard.catalog import genai_prices as adapter
from ratecard.cli import app
from ratecard.errors import PlanError
from ratecard.plan import Plan, load_plan

ENTRIES = list_entries()
PLANS_DIR = Path(ratecard.__file__).parent / "catalog" / "plans"


def usage(**fields: Any) -> dict[str, Any]:
    return {"period": {"start": "2026-11-01", "end": "2026-12-01"}, **fields}


# --- the catalog as a whole -----------------------------------------------------------------


def test_public_api_is_exactly_the_intended_names() -> None:
    import ratecard.catalog as catalog

    assert set(catalog.__all__) == {"MODELS", "CatalogEntry", "get_plan", "list_entries"}


def test_at_least_30_entries_covering_all_four_models() -> None:
    assert len(ENTRIES) >= 30
    by_model = {model: [e for e in ENTRIES if e.model == model] for model in MODELS}
    assert all(by_model.values()), {m: len(e) for m, e in by_model.items()}
    # per-token plans are generated from genai-prices, at least 10 of them
    generated = [e for e in ENTRIES if e.origin.startswith("genai-prices ")]
    assert len(generated) >= 10
    assert {e.model for e in generated} == {"per-token"}
    assert {"openai:gpt-5", "anthropic:claude-sonnet-4-5", "google:gemini-2.5-pro"} <= {
        e.id for e in generated
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_every_entry_loads_validates_and_has_source_and_date(entry: CatalogEntry) -> None:
    plan = get_plan(entry.id)
    assert isinstance(plan, Plan)
    assert plan.id == entry.id
    assert plan.model_kind == entry.model
    assert plan.source is not None
    assert plan.source.startswith("https://")
    assert plan.as_of is not None
    assert date(2025, 1, 1) <= plan.as_of
    assert plan.description  # every shipped plan says what it covers and leaves out


def test_yaml_files_are_named_after_their_id_and_list_every_file() -> None:
    files = sorted(PLANS_DIR.glob("*.yaml"))
    assert len(files) >= 15
    for path in files:
        plan = load_plan(path)
        assert plan.id == path.stem
    listed = {e.id for e in ENTRIES if e.origin == "ratecard catalog"}
    assert listed == {path.stem for path in files}


def test_list_entries_filters_by_model_and_rejects_unknown_models() -> None:
    seats = list_entries("per-seat")
    assert seats
    assert {e.model for e in seats} == {"per-seat"}
    with pytest.raises(PlanError, match="unknown pricing model"):
        list_entries("per-banana")


def test_unknown_id_names_close_matches() -> None:
    with pytest.raises(PlanError) as raised:
        get_plan("github-copilot-bussiness")
    message = str(raised.value)
    assert "no catalog plan 'github-copilot-bussiness'" in message
    assert "github-copilot-business" in message
    with pytest.raises(PlanError, match=r"did you mean.*openai:gpt-5"):
        get_plan("openai:gpt-5x")
    with pytest.raises(PlanError, match="no catalog plan 'nothing-like-it'"):
        get_plan("nothing-like-it")


def test_catalog_prefix_works_wherever_a_plan_is_loaded() -> None:
    assert load_plan("catalog:github-copilot-business").id == "github-copilot-business"
    invoice = ratecard.quote("catalog:github-copilot-business", usage(seats=1))
    assert invoice.total == Decimal("19.00")


# --- hand-checked quotes on shipped plans ------------------------------------------------


def test_copilot_business_10_seats_3500_premium_requests() -> None:
    # 10 seats x $19 = 190.00; allowance 10 x 300 = 3,000 requests;
    # (3,500 - 3,000) x $0.04 = 20.00; total 210.00
    invoice = ratecard.quote(
        "catalog:github-copilot-business",
        usage(seats=10, usage=[{"metric": "premium_requests", "quantity": 3500}]),
    )
    assert invoice.total == Decimal("210.00")
    assert invoice.lines_for("premium-requests")[0].amount == Decimal("20.00")


def test_copilot_enterprise_3_seats_3500_premium_requests() -> None:
    # 3 x $39 = 117.00; allowance 3 x 1,000 = 3,000; 500 x $0.04 = 20.00; total 137.00
    invoice = ratecard.quote(
        "catalog:github-copilot-enterprise",
        usage(seats=3, usage=[{"metric": "premium_requests", "quantity": 3500}]),
    )
    assert invoice.total == Decimal("137.00")


def test_claude_team_minimum_of_five_seats() -> None:
    # 3 members, minimum 5: 5 x $30 = 150.00
    invoice = ratecard.quote("catalog:claude-team-standard", usage(seats=3))
    assert invoice.total == Decimal("150.00")


def test_cursor_pro_on_demand_usage_above_the_included_20_dollars() -> None:
    # $20 subscription; $35 of API usage - $20 included = $15 on demand; total 35.00
    invoice = ratecard.quote(
        "catalog:cursor-pro",
        usage(seats=1, usage=[{"metric": "api_usage_usd", "quantity": "35"}]),
    )
    assert invoice.total == Decimal("35.00")


def test_intercom_fin_outcomes() -> None:
    # 1,000 resolutions x $0.99 = 990.00; 20 qualified prospects x $9.99 = 199.80;
    # 2 resolutions reversed later are not billed here: total 1,189.80
    invoice = ratecard.quote(
        "catalog:intercom-fin",
        usage(
            usage=[
                {"metric": "resolution", "quantity": 1000},
                {"metric": "lead_qualified", "quantity": 20},
            ]
        ),
    )
    assert invoice.total == Decimal("1189.80")


def test_bland_build_minutes() -> None:
    # plan $299.00 + 1,000 connected minutes x $0.12 = 120.00
    # + 100 transfer minutes x $0.04 = 4.00; total 423.00
    invoice = ratecard.quote(
        "catalog:bland-build",
        usage(
            usage=[
                {"metric": "voice_minutes", "quantity": 1000},
                {"metric": "transfer_minutes", "quantity": 100},
            ]
        ),
    )
    assert invoice.total == Decimal("423.00")


def test_agentforce_flex_credits_actions() -> None:
    # 12,000 actions x $0.10 = 1,200.00; 1,000 voice actions x $0.15 = 150.00; total 1,350.00
    invoice = ratecard.quote(
        "catalog:salesforce-agentforce-flex-credits",
        usage(
            usage=[
                {"metric": "agent_actions", "quantity": 12000},
                {"metric": "voice_actions", "quantity": 1000},
            ]
        ),
    )
    assert invoice.total == Decimal("1350.00")


# --- the genai-prices adapter ------------------------------------------------------------

DAY = date(2026, 11, 2)
REQUEST = {
    "input_tokens": 250_000,  # above the 200k context tier where a model has one
    "cache_read_tokens": 50_000,
    "cache_write_tokens": 10_000,
    "output_tokens": 20_000,
}


def ratecard_cost(
    catalog_id: str, at: datetime, quantities: dict[str, int], mode: str | None = None
) -> Decimal:
    plan = get_plan(f"{catalog_id}@{at.date().isoformat()}")
    event: dict[str, Any] = {
        "id": "r1",
        "timestamp": at.isoformat(),
        "quantities": quantities,
        "dimensions": {"mode": mode} if mode else {},
    }
    invoice = ratecard.quote(plan, usage(events=[event]))
    return invoice.exact_total


def genai_cost(
    catalog_id: str, at: datetime, quantities: dict[str, int], context: dict[str, str] | None
) -> Decimal:
    provider_id, model_id = catalog_id.split(":", 1)
    result = calc_price(
        Usage(**quantities),
        model_id,
        provider_id=provider_id,
        genai_request_timestamp=at,
        price_context=context,
    )
    return result.total_price


CASES = [
    # id, hour (UTC), ratecard mode, genai-prices price context
    ("openai:gpt-5", 12, None, None),
    ("openai:gpt-5", 12, "flex", {"service_tier": "flex"}),
    ("openai:gpt-5", 12, "batch", {"processing": "batch"}),
    ("anthropic:claude-sonnet-4-5", 12, None, None),
    ("anthropic:claude-sonnet-4-5", 12, "batch", {"processing": "batch"}),
    ("google:gemini-2.5-pro", 12, None, None),
    ("deepseek:deepseek-chat", 2, None, None),  # peak window 00:30-16:30 UTC
    ("deepseek:deepseek-chat", 20, None, None),  # off-peak
    ("deepseek:deepseek-v4-flash", 7, None, None),  # peak 06:00-10:00 UTC
    ("deepseek:deepseek-v4-flash", 12, None, None),
]


@pytest.mark.parametrize(("catalog_id", "hour", "mode", "context"), CASES)
def test_adapter_reproduces_genai_prices_exactly(
    catalog_id: str, hour: int, mode: str | None, context: dict[str, str] | None
) -> None:
    at = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=UTC)
    ours = ratecard_cost(catalog_id, at, REQUEST, mode)
    theirs = genai_cost(catalog_id, at, REQUEST, context)
    assert ours == theirs
    assert ours > 0


def test_adapter_matches_below_the_context_tier_too() -> None:
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    small = {"input_tokens": 120_000, "cache_read_tokens": 100_000, "output_tokens": 3_000}
    for catalog_id in ("anthropic:claude-sonnet-4-5", "google:gemini-2.5-pro"):
        assert ratecard_cost(catalog_id, at, small) == genai_cost(catalog_id, at, small, None)


def test_sonnet_request_by_hand() -> None:
    # 250,000 input tokens > 200,000: every category at the tier prices (per 1M tokens):
    # uncached input 190,000 x 6 = 1.14; cache read 50,000 x 0.6 = 0.03;
    # cache write 10,000 x 7.5 = 0.075; output 20,000 x 22.5 = 0.45; total 1.695
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    assert ratecard_cost("anthropic:claude-sonnet-4-5", at, REQUEST) == Decimal("1.695")


def test_adapter_maps_tiers_variants_and_windows() -> None:
    sonnet = adapter.plan_document("anthropic", "claude-sonnet-4-5", DAY)["components"][0]
    assert sonnet["context_tiers"][0]["input_tokens_over"] == 200_000
    assert sonnet["variants"] == {"batch": {"factor": "0.5"}}
    flash = adapter.plan_document("deepseek", "deepseek-v4-flash", DAY)["components"][0]
    windows = flash["multipliers"]["time_of_day"]
    assert [(w["from"], w["to"]) for w in windows] == [("06:00", "10:00"), ("01:00", "04:00")]


def test_adapter_picks_the_price_in_effect_on_a_date() -> None:
    # DeepSeek V4 Flash: $0.14 input before 2026-08-17, $0.22 from then, $0.15 from 2026-09-10
    def base_input(day: str) -> str:
        plan = get_plan(f"deepseek:deepseek-v4-flash@{day}")
        prices = plan.components[0].model_dump()["prices"]
        return str(prices["input"])

    assert base_input("2026-07-01") == "0.14"
    assert base_input("2026-08-20") == "0.22"
    assert base_input("2026-10-01") == "0.15"
    # as_of: the newest price change the bundled data records on or before that date
    as_of = get_plan("deepseek:deepseek-v4-flash@2026-07-01").as_of
    assert as_of is not None
    assert as_of <= date(2026, 7, 1)


def test_adapter_names_what_it_cannot_represent() -> None:
    gemini = adapter.plan_document("google", "gemini-2.5-pro", DAY)
    assert "variants" not in gemini["components"][0]
    assert "batch variant" in gemini["description"]
    sonnet = adapter.plan_document("anthropic", "claude-sonnet-4-5", DAY)
    assert "cache_write_1h_mtok" in sonnet["description"]


def test_adapter_records_the_genai_prices_version_and_reads_only_bundled_data() -> None:
    import genai_prices
    from genai_prices import data_snapshot

    plan = get_plan("openai:gpt-5")
    assert f"genai-prices {genai_prices.__version__}" in (plan.description or "")
    assert genai_prices.__version__ == adapter.GENAI_PRICES_VERSION
    # a snapshot downloaded by genai-prices' UpdatePrices must not change catalog plans
    data_snapshot.set_custom_snapshot(data_snapshot.DataSnapshot([], from_auto_update=True))
    try:
        assert get_plan("openai:gpt-5") == plan
    finally:
        data_snapshot.set_custom_snapshot(None)


def test_generating_plans_opens_no_network_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the catalog must not touch the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    adapter.listed_ids.cache_clear()
    assert len(adapter.listed_ids()) >= 10
    assert get_plan("mistral:codestral@2026-01-01").model_kind == "per-token"


def test_dated_ids_apply_to_generated_plans_only() -> None:
    with pytest.raises(PlanError, match="@DATE applies to genai-prices plans only"):
        get_plan("github-copilot-business@2026-01-01")


# --- the CLI ----------------------------------------------------------------------------

runner = CliRunner()


def test_cli_catalog_list_json_filters_by_model() -> None:
    result = runner.invoke(app, ["catalog", "list", "--model", "per-outcome", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows
    assert {row["model"] for row in rows} == {"per-outcome"}
    assert {"id", "vendor", "model", "source", "as_of"} <= set(rows[0])


def test_cli_catalog_list_table() -> None:
    result = runner.invoke(app, ["catalog", "list", "--model", "per-seat"])
    assert result.exit_code == 0, result.output
    assert "github-copilot-business" in result.output


def test_cli_catalog_show_prints_a_loadable_plan_with_a_summary() -> None:
    result = runner.invoke(app, ["catalog", "show", "github-copilot-business"])
    assert result.exit_code == 0, result.output
    assert "# source: https://docs.github.com/" in result.output
    assert "# as_of: 2026-05-19" in result.output
    shown = load_plan(yaml.safe_load(result.output))
    assert shown == get_plan("github-copilot-business")


def test_cli_catalog_show_round_trips_a_generated_plan() -> None:
    result = runner.invoke(app, ["catalog", "show", "anthropic:claude-sonnet-4-5@2026-11-02"])
    assert result.exit_code == 0, result.output
    assert load_plan(yaml.safe_load(result.output)) == get_plan(
        "anthropic:claude-sonnet-4-5@2026-11-02"
    )


def test_cli_catalog_show_unknown_id_exits_2_with_suggestions() -> None:
    result = runner.invoke(app, ["catalog", "show", "cursor-pro-pluss"])
    assert result.exit_code == 2
    assert "cursor-pro-plus" in result.output


def test_cli_quote_accepts_a_catalog_plan(tmp_path: Path) -> None:
    path = tmp_path / "usage.yaml"
    path.write_text(
        yaml.safe_dump(usage(seats=10, usage=[{"metric": "premium_requests", "quantity": 3500}]))
    )
    result = runner.invoke(app, ["quote", "catalog:github-copilot-business", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] == "210.00"
