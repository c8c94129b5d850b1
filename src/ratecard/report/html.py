"""A self-contained HTML report: charts with Plotly's JavaScript embedded, so the file opens
with no network; optional PNG images of each chart rendered by headless Chromium."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ratecard.analyze.advise import Advice
from ratecard.analyze.breakeven import CostCurve
from ratecard.analyze.compare import Comparison
from ratecard.errors import RatecardError
from ratecard.report.charts import breakeven_chart, cumulative_tco_chart, distribution_chart

__all__ = ["Report", "build_report", "write_pngs"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35rem 0.5rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.risk { color: #b00020; font-weight: 600; } .warning { color: #a15c00; } .info { color: #555; }
.chart { margin: 1.5rem 0; }
"""


@dataclass
class Report:
    title: str
    html: str
    figures: dict[str, go.Figure]

    def write(self, path: Path) -> None:
        path.write_text(self.html, encoding="utf-8")


def _figures(
    comparison: Comparison, curve: CostCurve | None, budget: float | None
) -> dict[str, go.Figure]:
    figures = {
        "distribution": distribution_chart(comparison, budget),
        "cumulative-tco": cumulative_tco_chart(comparison),
    }
    if curve is not None:
        currency = comparison.plans[0].plan.currency if comparison.plans else ""
        figures["breakeven"] = breakeven_chart(curve, currency)
    return figures


def _summary_table(comparison: Comparison) -> str:
    rows = []
    for entry in comparison.plans:
        r = entry.result
        cells = [
            html.escape(entry.id),
            html.escape(entry.plan.model_kind),
            *(
                f"{value:,.2f}"
                for value in (r.monthly.mean, r.monthly.p95, r.monthly.p99, r.monthly.max, r.tco)
            ),
            "" if entry.cost_per_task is None else f"{entry.cost_per_task:,.4f}",
            "" if entry.cost_per_outcome is None else f"{entry.cost_per_outcome:,.4f}",
        ]
        rows.append(
            "<tr>"
            + "".join(f"<td{' class=num' if i > 1 else ''}>{c}</td>" for i, c in enumerate(cells))
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "plan",
            "model",
            "expected / month",
            "P95",
            "P99",
            "worst",
            "TCO",
            "per task",
            "per outcome",
        )
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _flag_table(comparison: Comparison) -> str:
    rows = [
        f"<tr><td>{html.escape(f.plan)}</td><td class={f.severity}>{f.severity}</td>"
        f"<td>{html.escape(f.code)}</td><td>{html.escape(f.message)}</td></tr>"
        for entry in comparison.plans
        for f in entry.flags
    ]
    if not rows:
        return "<p>No risk flags.</p>"
    return (
        "<table id=flags><thead><tr><th>plan</th><th>severity</th><th>flag</th><th>why</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _advice_section(advice: Advice | None) -> str:
    if advice is None:
        return ""
    steps = "".join(
        f"<li><b>{html.escape(s.question)}</b> {'yes' if s.answer else 'no'}: "
        f"{html.escape(s.evidence)}</li>"
        for s in advice.steps
    )
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in advice.reasons)
    plan = (
        f", plan <b>{html.escape(advice.recommended_plan)}</b>" if advice.recommended_plan else ""
    )
    return (
        "<h2>Advice</h2>"
        f"<p id=advice>Recommended model: <b>{advice.recommended_model}</b>{plan}.</p>"
        f"<ol>{steps}</ol><ul>{reasons}</ul>"
    )


def build_report(
    comparison: Comparison,
    *,
    curve: CostCurve | None = None,
    advice: Advice | None = None,
    budget: float | None = None,
    title: str = "ratecard comparison",
) -> Report:
    figures = _figures(comparison, curve, budget)
    charts = "".join(
        f'<div class="chart" id="chart-{name}">'
        + figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"plot-{name}")
        + "</div>"
        for name, figure in figures.items()
    )
    workload = comparison.workload
    subtitle = (
        f"{html.escape(workload.name or 'workload')}: {comparison.simulation.sims:,} simulated "
        f"scenarios of {comparison.simulation.months} months, seed {comparison.simulation.seed}. "
        "Amounts come from the Monte Carlo simulator (floats, within 1e-9 relative of the exact "
        "evaluator on the same usage)."
    )
    document = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<h1>{html.escape(title)}</h1><p>{subtitle}</p>"
        f"<h2>Plans</h2>{_summary_table(comparison)}"
        f"<h2>Risk flags</h2>{_flag_table(comparison)}"
        f"{_advice_section(advice)}<h2>Charts</h2>{charts}</body></html>"
    )
    return Report(title, document, figures)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RatecardError(
        "PNG charts need a headless Chromium: install Debian's 'chromium' package "
        "(apt-get install chromium)"
    )


def write_pngs(report: Report, directory: Path, width: int = 1100, height: int = 520) -> list[Path]:
    """Render each chart to ``directory/<name>.png`` with headless Chromium."""
    browser = chromium()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, figure in report.figures.items():
            page = Path(tmp) / f"{name}.html"
            figure.write_html(
                page, include_plotlyjs=True, full_html=True, config={"displayModeBar": False}
            )
            target = directory / f"{name}.png"
            subprocess.run(
                [
                    browser,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={tmp}/profile",
                    f"--window-size={width},{height}",
                    f"--screenshot={target}",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            written.append(target)
    return written
