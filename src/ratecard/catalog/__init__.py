"""Shipped plans of real vendors, each with its source and date.

Seat, task and outcome plans are YAML files in ``ratecard/catalog/plans/``; per-token plans are
generated from the ``genai-prices`` package's bundled data (see
:mod:`ratecard.catalog.genai_prices`). List prices change: every plan names the ``source`` it
was taken from and the ``as_of`` date of that price.

>>> from ratecard.catalog import get_plan, list_entries
>>> get_plan("github-copilot-business").model_kind
'per-seat'
"""

from ratecard.catalog._entries import MODELS, CatalogEntry, get_plan, list_entries

__all__ = ["MODELS", "CatalogEntry", "get_plan", "list_entries"]
