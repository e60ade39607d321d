"""Build the run page: the view model (plain data and pre-escaped fragments) and the rendered template.

Everything shown comes from the `Report` (report.json). Text is escaped by Jinja's autoescape; the only
HTML made here is Markdown rendered with raw HTML and images off, word diffs, [n] links and the SVG
chart, each built from escaped pieces.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    import jinja2

    from ttd.report import Report

HTML_NAME = "report.html"
_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_WORDS = re.compile(r"\s+|[^\s]+")


@cache
def environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("ttd.show", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # raw HTML off (a model or a passage cannot inject tags); images off (they would load from the network)
    return MarkdownIt("commonmark", {"html": False}).disable("image")


def markdown(text: str, prefix: str, known: set[int]) -> Markup:
    """Markdown to HTML, with each [n] a link to card `prefix-n` (or marked unresolved)."""
    return link_citations(_markdown().render(text or ""), prefix, known)


def link_citations(html: str, prefix: str, known: set[int]) -> Markup:
    def one(n: str) -> str:
        if int(n) in known:
            return f'<a class="cite" href="#{prefix}-{n}">{n}</a>'
        return f'<span class="cite missing" title="no such source">{n}</span>'

    def group(m: re.Match[str]) -> str:
        parts = re.split(r"\s*[,;]\s*", m.group(1))
        return "[" + ", ".join(one(n) for n in parts) + "]"

    return Markup(_CITE.sub(group, html))


def word_diff(before: str, after: str) -> Markup:
    """R_{t-1} -> R_t on word tokens (whitespace kept), as escaped text with <ins>/<del>."""
    a, b = _WORDS.findall(before or ""), _WORDS.findall(after or "")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return Markup("".join(out))


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Field of a pydantic model or a dict (the noise records may be either, or absent in older runs)."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _cited(text: str) -> set[int]:
    return {int(n) for m in _CITE.finditer(text or "") for n in re.split(r"\s*[,;]\s*", m.group(1))}


def bar_chart(title: str, labels: list[str], values: list[float], fmt: str = "{:,.0f}") -> Markup:
    """A small labelled bar chart as inline SVG (no plotting service, no script)."""
    width, height, top, bottom, left = 330, 170, 26, 24, 8
    n = max(len(values), 1)
    peak = max([v for v in values if v is not None] or [0]) or 1.0
    slot = (width - 2 * left) / n
    bar = min(slot * 0.7, 48)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="{left}" y="16" class="ct">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" class="axis"/>',
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        cx = left + slot * (i + 0.5)
        h = 0.0 if v is None else (height - top - bottom - 14) * v / peak
        y = height - bottom - h
        parts.append(
            f'<rect x="{cx - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" class="bar"/>'
        )
        shown = "–" if v is None else fmt.format(v)
        parts.append(f'<text x="{cx:.1f}" y="{y - 3:.1f}" class="cv">{escape(shown)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{height - 8}" class="cl">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _step_label(step: Any) -> str:
    return "–" if step is None else str(step)


def charts(report: Report) -> list[Markup]:
    traj = report.trajectory
    noise = list(_get(traj, "noise", None) or [])
    out: list[Markup] = []
    if noise:
        records = sorted(noise, key=lambda r: int(_get(r, "draft", 0)))
        out.append(
            bar_chart(
                "noise per draft (share of claims unsupported)",
                [f"R{_get(r, 'draft')}" for r in records],
                [float(_get(r, "noise", 0.0)) for r in records],
                "{:.2f}",
            )
        )
    else:
        if traj.drafts:
            out.append(
                bar_chart(
                    "citations per draft",
                    [f"R{t}" for t in range(len(traj.drafts))],
                    [float(len(_cited(d))) for d in traj.drafts],
                )
            )
        if traj.steps:
            out.append(
                bar_chart(
                    "sources per step",
                    [str(s.step) for s in traj.steps],
                    [float(len(s.source_ids)) for s in traj.steps],
                )
            )
    tokens: dict[Any, float] = defaultdict(float)
    seconds: dict[Any, float] = defaultdict(float)
    for c in report.usage.calls:
        tokens[c.get("step")] += c.get("prompt_tokens", 0) + c.get("completion_tokens", 0)
        seconds[c.get("step")] += float(c.get("latency_s") or 0.0)
    order = sorted(tokens, key=lambda s: (s is None, s if s is not None else 0))
    labels = [_step_label(s) for s in order]
    out.append(bar_chart("tokens per step", labels, [tokens[s] for s in order]))
    out.append(bar_chart("model seconds per step", labels, [seconds[s] for s in order], "{:.1f}"))
    return out


def _fitness(score: dict[str, Any]) -> float:
    if not score.get("parsed"):
        return 5.0
    return (float(score.get("helpfulness") or 0) + float(score.get("comprehensiveness") or 0)) / 2


def evolution(report: Report) -> list[dict[str, Any]]:
    """Per self-evolved component: variants with each revision's scores and critique, and the outcome."""
    records = []
    for rec in report.trajectory.evolution:
        variants = list(rec.get("variants", []))
        best = (
            max(range(len(variants)), key=lambda i: _fitness((variants[i].get("scores") or [{}])[-1]))
            if variants
            else None
        )
        shown = []
        for i, v in enumerate(variants):
            revisions = []
            scores = v.get("scores") or []
            for j, text in enumerate(v.get("texts") or []):
                sc = scores[j] if j < len(scores) else {}
                revisions.append(
                    {
                        "rev": j,
                        "text": text,
                        "helpfulness": sc.get("helpfulness"),
                        "comprehensiveness": sc.get("comprehensiveness"),
                        "critique": sc.get("critique") or "",
                        "parsed": bool(sc.get("parsed")),
                    }
                )
            shown.append(
                {
                    "n": i + 1,
                    "temperature": v.get("temperature"),
                    "top_k": v.get("top_k"),
                    "revisions": revisions,
                    "winner": i == best and rec.get("how") in ("select", "single"),
                    "best": i == best,
                }
            )
        records.append(
            {
                "component": rec.get("component", "?"),
                "step": rec.get("step"),
                "how": rec.get("how", "?"),
                "result": rec.get("result", ""),
                "judge_fallbacks": rec.get("judge_fallbacks", 0),
                "variants": shown,
            }
        )
    return records


def costs(report: Report) -> list[dict[str, Any]]:
    cached: dict[str, int] = defaultdict(int)
    for c in report.usage.calls:
        cached[c.get("role", "?")] += int(c.get("prompt_tokens_cached") or 0)
    rows = []
    for role, u in [*report.usage.by_role.items(), ("total", report.usage.total)]:
        rows.append(
            {
                "role": role,
                "calls": u.calls,
                "prompt": u.prompt_tokens,
                "cached": int(getattr(u, "prompt_tokens_cached", 0) or 0)
                or (sum(cached.values()) if role == "total" else cached.get(role, 0)),
                "completion": u.completion_tokens,
                "usd": u.cost_usd,
                "latency": u.latency_s,
                "parse_errors": u.parse_errors,
            }
        )
    return rows


def timeline(report: Report) -> list[dict[str, Any]]:
    traj = report.trajectory
    known = {s.n for s in traj.retrieved}
    items: list[dict[str, Any]] = []
    if traj.drafts:
        items.append(
            {"t": 0, "r": 0, "draft": markdown(traj.drafts[0], "r", known), "step": None, "diff": None}
        )
    for i, step in enumerate(traj.steps):
        t = step.step
        before = traj.drafts[i] if i < len(traj.drafts) else None
        after = step.draft
        items.append(
            {
                "t": t,
                "r": i + 1,
                "step": {
                    "question": step.question,
                    "answer": markdown(step.answer, "r", known),
                    "sources": _source_numbers(report, step.source_ids),
                },
                "draft": markdown(after, "r", known) if after is not None else None,
                "diff": word_diff(before, after) if before is not None and after is not None else None,
            }
        )
    return items


def _source_numbers(report: Report, ids: list[str]) -> list[int]:
    by_id = {s.id: s.n for s in report.trajectory.retrieved}
    return [by_id[i] for i in ids if i in by_id]


_SOURCES = re.compile(r"\n#{1,6}\s*(Sources|References)\s*\n(?![\s\S]*\n#{1,6}\s)[\s\S]*$", re.IGNORECASE)


def without_sources(markdown_text: str) -> str:
    """The report minus its trailing Sources list: the page shows the sources as cards instead."""
    return _SOURCES.sub("\n", markdown_text or "")


def render_report(report: Report) -> str:
    """The whole page as one string (what `report.to_html()` returns and `ttd show` writes)."""
    known = {s.n for s in report.sources}
    return (
        environment()
        .get_template("report.html")
        .render(
            r=report,
            final=markdown(without_sources(report.markdown), "src", known),
            timeline=timeline(report),
            charts=charts(report),
            evolution=evolution(report),
            costs=costs(report),
            measured_noise=bool(_get(report.trajectory, "noise", None)),
            noise=list(_get(report.trajectory, "noise", None) or []),
            css=Markup(_asset("page.css")),
            js=Markup(_asset("page.js")),
        )
    )


@cache
def _asset(name: str) -> str:
    from importlib.resources import files

    return files("ttd.show").joinpath("templates", name).read_text(encoding="utf-8")


def write_report_html(report: Report, run_dir: str | Path | None = None) -> Path:
    """Write RUN_DIR/report.html (atomically) and return its path."""
    path = Path(run_dir or report.run_dir) / HTML_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(report), encoding="utf-8")
    tmp.replace(path)
    return path
