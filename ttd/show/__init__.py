"""`ttd show`: one self-contained HTML page per run (and per benchmark), readable offline from file://.

The page is a Jinja template (autoescaped, so retrieved titles and passages can never inject markup) with
inline CSS, an inline SVG chart and a few lines of inline JS; a Content-Security-Policy forbids every
network load, so what the page shows is exactly what the run stored.
"""

from __future__ import annotations

from ttd.show.page import render_report, write_report_html

__all__ = ["render_report", "write_report_html"]
