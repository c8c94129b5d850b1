"""The catalog: shipped YAML plans (seat, task and outcome pricing) and per-token plans
generated from genai-prices, looked up by id."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

from ratecard.catalog import genai_prices
from ratecard.errors import PlanError
from ratecard.plan.load import load_plan
from ratecard.plan.model import Plan

__all__ = ["MODELS", "CatalogEntry", "get_plan", "list_entries"]

Model = Literal["per-token", "per-seat", "per-task", "per-outcome", "hybrid"]
MODELS: tuple[str, ...] = ("per-token", "per-seat", "per-task", "per-outcome")
_DATED = re.compile(r"^(?P<id>.+)@(?P<day>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One catalog plan, described without loading all of it."""

    id: str
    vendor: str
    name: str
    model: Model
    source: str
    as_of: date
    origin: str
    """``ratecard catalog`` for the shipped YAML plans, ``genai-prices X.Y.Z`` for per-token
    plans generated from that package's bundled data."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def _plans_dir() -> resources.abc.Traversable:
    return resources.files("ratecard.catalog").joinpath("plans")


@cache
def _yaml_ids() -> tuple[str, ...]:
    return tuple(
        sorted(
            item.name.removesuffix(".yaml")
            for item in _plans_dir().iterdir()
            if item.name.endswith(".yaml")
        )
    )


def _load_yaml(catalog_id: str) -> Plan:
    with resources.as_file(_plans_dir().joinpath(f"{catalog_id}.yaml")) as path:
        return load_plan(path)


def _entry(plan: Plan, origin: str) -> CatalogEntry:
    if plan.source is None or plan.as_of is None:
        raise PlanError(f"catalog plan {plan.id!r} lacks its source or as_of date")
    return CatalogEntry(
        plan.id,
        plan.vendor or "",
        plan.name or plan.id,
        plan.model_kind,
        plan.source,
        plan.as_of,
        origin,
    )


@cache
def _all_entries() -> tuple[CatalogEntry, ...]:
    entries = [_entry(_load_yaml(catalog_id), "ratecard catalog") for catalog_id in _yaml_ids()]
    origin = f"genai-prices {genai_prices.GENAI_PRICES_VERSION}"
    for catalog_id in genai_prices.listed_ids():
        provider_id, model_id = catalog_id.split(":", 1)
        entries.append(_entry(genai_prices.to_plan(provider_id, model_id), origin))
    return tuple(entries)


def list_entries(model: str | None = None) -> list[CatalogEntry]:
    """Every catalog entry, or those of one pricing model (per-token, per-seat, per-task,
    per-outcome)."""
    if model is not None and model not in (*MODELS, "hybrid"):
        raise PlanError(f"unknown pricing model {model!r}: expected one of {', '.join(MODELS)}")
    return [entry for entry in _all_entries() if model is None or entry.model == model]


def _unknown(catalog_id: str, reason: str = "") -> PlanError:
    known = [*_yaml_ids(), *genai_prices.listed_ids()]
    close = difflib.get_close_matches(catalog_id, known, n=5, cutoff=0.6)
    message = f"no catalog plan {catalog_id!r}"
    if reason:
        message += f" ({reason})"
    if close:
        message += "; did you mean " + ", ".join(close) + "?"
    else:
        message += "; `ratecard catalog list` shows every id"
    return PlanError(message)


def get_plan(catalog_id: str) -> Plan:
    """The catalog plan ``catalog_id``.

    Ids without a colon name the shipped YAML plans (``github-copilot-business``);
    ``provider:model`` ids (``openai:gpt-5``) are generated from genai-prices' bundled data
    with today's prices, and ``provider:model@2025-09-01`` picks the prices in effect on that
    date. Raises :class:`~ratecard.errors.PlanError` naming close matches for an unknown id.
    """
    dated = _DATED.match(catalog_id)
    at: date | None = None
    if dated:
        catalog_id = dated["id"]
        try:
            at = date.fromisoformat(dated["day"])
        except ValueError:
            raise PlanError(f"{dated['day']!r} is not a date (YYYY-MM-DD)") from None
    if catalog_id in _yaml_ids():
        if at is not None:
            raise PlanError(
                f"catalog plan {catalog_id!r} keeps one dated price (see its as_of); "
                "@DATE applies to genai-prices plans only"
            )
        return _load_yaml(catalog_id)
    if ":" in catalog_id:
        provider_id, model_ref = catalog_id.split(":", 1)
        try:
            return genai_prices.to_plan(provider_id, model_ref, at)
        except PlanError as error:
            raise _unknown(catalog_id, str(error)) from None
    raise _unknown(catalog_id)
