"""`summary.html` beside a benchmark's summary.md: the table, the plots inlined, and a per-question table
whose ttd rows link to each run's own page (written here from the run's report.json)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ttd.report import load_report
from ttd.show.page import HTML_NAME, _asset, environment, write_report_html

SUMMARY_HTML = "summary.html"


def run_page(out: Path, row: dict[str, Any]) -> str | None:
    """The relative link to a ttd row's run page, writing the page if the run has none yet."""
    run_id = (row.get("detail") or {}).get("run_id")
    if not run_id:
        return None
    run_dir = out / "runs" / row["system"] / run_id
    if not (run_dir / "report.json").exists():
        return None
    if not (run_dir / HTML_NAME).exists():
        write_report_html(load_report(run_dir), run_dir)
    return f"runs/{row['system']}/{run_id}/{HTML_NAME}"


def write_summary_html(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    from markupsafe import Markup

    from ttd.bench.results import latest
    from ttd.bench.summary import COLUMNS, fmt

    plots = [
        (p.name, "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii"))
        for p in sorted(out.glob("*.png"))
    ]
    table = [
        {"cells": [row["system"], f"unavailable: {row['unavailable']}"]}
        if row.get("unavailable")
        else {"cells": [fmt(k, row.get(k)) for _, k in COLUMNS]}
        for row in summary["systems"]
    ]
    questions = []
    for row in sorted(latest(rows).values(), key=lambda r: (str(r["id"]), r["system"])):
        questions.append(
            {
                "id": row["id"],
                "question": row.get("question", ""),
                "system": row["system"],
                "prediction": row.get("prediction") or "",
                "answers": " | ".join(row.get("answers") or []),
                "em": fmt("em", row.get("em")),
                "f1": fmt("f1", row.get("f1")),
                "tokens": row.get("tokens"),
                "error": row.get("error") or "",
                "page": run_page(out, row),
            }
        )
    html = (
        environment()
        .get_template("bench.html")
        .render(
            s=summary,
            headers=[h for h, _ in COLUMNS],
            table=table,
            plots=plots,
            questions=questions,
            css=Markup(_asset("page.css")),
        )
    )
    path = out / SUMMARY_HTML
    path.write_text(html, encoding="utf-8")
    return path
