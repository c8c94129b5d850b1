"""The report's charts as Plotly figures, built from analysis results (no I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ratecard.analyze.breakeven import CostCurve
from ratecard.analyze.compare import Comparison

__all__ = ["breakeven_chart", "cumulative_tco_chart", "distribution_chart"]

MAX_POINTS = 4000  # samples per plan drawn in a distribution chart
LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 460,
    "margin": {"l": 70, "r": 20, "t": 60, "b": 60},
    "legend": {"orientation": "h", "y": -0.18},
}


def distribution_chart(comparison: Comparison, budget: float | None = None) -> go.Figure:
    """Monthly cost per plan: box (quartiles, whiskers to the extremes, dashed mean) with the
    P95 and P99 marked."""
    figure = go.Figure()
    rng = np.random.default_rng(0)
    currency = comparison.plans[0].plan.currency if comparison.plans else ""
    for entry in comparison.plans:
        costs = entry.result.costs
        if costs is None:
            continue
        flat = costs.ravel()
        if flat.size > MAX_POINTS:
            flat = rng.choice(flat, MAX_POINTS, replace=False)
        figure.add_trace(go.Box(y=flat, name=entry.id, boxmean=True, boxpoints=False))
        monthly = entry.result.monthly
        figure.add_trace(
            go.Scatter(
                x=[entry.id, entry.id],
                y=[monthly.p95, monthly.p99],
                mode="markers+text",
                text=["P95", "P99"],
                textposition="middle right",
                marker={"symbol": "line-ew-open", "size": 18},
                showlegend=False,
            )
        )
    if budget is not None:
        figure.add_hline(y=budget, line_dash="dash", annotation_text="monthly budget")
    figure.update_layout(
        title="Monthly cost distribution per plan",
        yaxis_title=f"cost per month ({currency})",
        **LAYOUT,
    )
    return figure


def cumulative_tco_chart(comparison: Comparison) -> go.Figure:
    """Cumulative cost over the horizon: mean line and a P5-P95 band per plan."""
    figure = go.Figure()
    currency = comparison.plans[0].plan.currency if comparison.plans else ""
    for entry in comparison.plans:
        costs = entry.result.costs
        if costs is None:
            continue
        cumulative = np.cumsum(costs, axis=1)
        months = list(range(1, cumulative.shape[1] + 1))
        low, high = np.quantile(cumulative, [0.05, 0.95], axis=0)
        figure.add_trace(
            go.Scatter(
                x=months + months[::-1],
                y=list(high) + list(low[::-1]),
                fill="toself",
                opacity=0.2,
                line={"width": 0},
                name=f"{entry.id} P5–P95",
                hoverinfo="skip",
            )
        )
        figure.add_trace(go.Scatter(x=months, y=cumulative.mean(axis=0), name=f"{entry.id} mean"))
    figure.update_layout(
        title="Cumulative cost over the horizon (TCO)",
        xaxis_title="month",
        yaxis_title=f"cumulative cost ({currency})",
        **LAYOUT,
    )
    return figure


def breakeven_chart(curve: CostCurve, currency: str = "") -> go.Figure:
    """Expected monthly cost of every plan against the driver, log scale."""
    figure = go.Figure()
    for plan, costs in curve.costs.items():
        figure.add_trace(go.Scatter(x=curve.values, y=costs, mode="lines+markers", name=plan))
    costs = [c for series in curve.costs.values() for c in series]
    if costs:  # a trace, not a shape: shapes and log axes disagree on coordinates
        figure.add_trace(
            go.Scatter(
                x=[curve.current, curve.current],
                y=[min(costs), max(costs)],
                mode="lines",
                line={"dash": "dot", "color": "#444"},
                name="your workload",
            )
        )
    figure.update_layout(
        title=f"Expected monthly cost against {curve.driver}",
        xaxis_title=curve.driver,
        xaxis_type="log",
        yaxis_title=f"expected cost per month ({currency})",
        **LAYOUT,
    )
    return figure
