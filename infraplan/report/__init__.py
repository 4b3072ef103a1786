"""Self-contained HTML report of a plan (see docs/report.md).

>>> from infraplan.report import write_report, build_figures
>>> write_report(results, "out/report.html")   # results: parsed results.json (dict)
>>> figs = build_figures(results)               # dict name -> plotly Figure, for Jupyter
"""

from infraplan.report.figures import build_figures
from infraplan.report.html import SECTIONS, render_html, write_report

__all__ = ["SECTIONS", "build_figures", "render_html", "write_report"]
