"""The public surface is exactly what we mean to export."""

from __future__ import annotations

import ratecard


def test_exported_names():
    assert set(ratecard.__all__) == {
        "CurrencyError",
        "Event",
        "Invoice",
        "Line",
        "Plan",
        "PlanError",
        "Problem",
        "RatecardError",
        "State",
        "UsageError",
        "UsageSummary",
        "__version__",
        "advise",
        "breakeven",
        "compare",
        "load_plan",
        "load_usage",
        "load_workload",
        "quote",
        "quote_periods",
        "size_commitment",
    }
    for name in ratecard.__all__:
        assert hasattr(ratecard, name), name


def test_error_tree():
    for error in (ratecard.PlanError, ratecard.UsageError, ratecard.CurrencyError):
        assert issubclass(error, ratecard.RatecardError)


def test_subpackages_are_not_shadowed_by_functions():
    import types

    import ratecard.simulate

    assert isinstance(ratecard.simulate, types.ModuleType)
