"""Reports: a self-contained HTML file with charts, flags and advice."""

from ratecard.report.html import Report, build_report, write_pngs

__all__ = ["Report", "build_report", "write_pngs"]
