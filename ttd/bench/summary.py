"""`summary.json` and `summary.md`: one row per system, recomputed from `results.jsonl`.

Failed items score 0 on the answer metrics (a system that crashes must not look better than one that
answers wrongly) and are left out of the cost means (a crash costs nothing, which would flatter it).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ttd.bench import judges
from ttd.bench.metrics import mean
from ttd.bench.results import PAIRWISE, RESULTS, read_rows

COLUMNS = [
    ("System", "system"),
    ("n", "n"),
    ("EM", "em"),
    ("F1", "f1"),
    ("Judge acc.", "judge"),
    ("Sup. recall", "supporting_recall"),
    ("Tokens/q", "tokens_per_q"),
    ("Calls/q", "calls_per_q"),
    ("$/q", "cost_per_q"),
    ("Wall s/q", "wall_s_per_q"),
    ("Errors", "errors"),
    ("Noise R0→RT", "noise_curve"),
    ("Hop left uncovered", "uncovered"),
    ("Report supported", "report_supported"),
    ("Extraction call", "extracted"),
]


def system_row(system: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary numbers of one system from its (latest) result rows."""
    ok = [r for r in rows if not r.get("error")]
    qa = [r for r in rows if r.get("answers")]
    judged = [r for r in qa if r.get("judge_correct") is not None or r.get("error")]
    costs = [r["cost_usd"] for r in ok if r.get("cost_usd") is not None]
    by_hops: dict[str, list[float]] = {}
    for r in qa:
        if r.get("hops"):
            by_hops.setdefault(str(r["hops"]), []).append(float(r.get("f1") or 0.0))
    return {
        "system": system,
        "n": len(rows),
        "errors": len(rows) - len(ok),
        "em": mean(float(r.get("em") or 0.0) for r in qa),
        "f1": mean(float(r.get("f1") or 0.0) for r in qa),
        "judge": mean(float(bool(r.get("judge_correct"))) for r in judged),
        "supporting_recall": mean(r.get("supporting_recall") for r in ok),
        "tokens_per_q": mean(r["tokens"] for r in ok),
        "calls_per_q": mean(r["calls"] for r in ok),
        "cost_per_q": mean(costs) if costs else None,
        "wall_s_per_q": mean(r["wall_s"] for r in ok),
        "f1_by_hops": {h: mean(v) for h, v in sorted(by_hops.items())},
        "noise_curve": noise_curve(ok),
        # share of runs whose R_T left a plan area (a hop) with no supported claim
        "uncovered": mean(_some((r.get("detail") or {}).get("uncovered")) for r in ok),
        "report_supported": mean((r.get("detail") or {}).get("report_supported") for r in ok),
        # share of answers that needed the extraction call (the rest were read off a stated answer line)
        "extracted": mean((r.get("detail") or {}).get("extracted") for r in ok),
        "unavailable": None,
    }


def _some(count: int | None) -> float | None:
    return None if count is None else float(count > 0)


def noise_curve(rows: list[dict[str, Any]]) -> list[float] | None:
    """Mean Noise(R_t) per draft index t over the questions (a run that stopped early counts until then)."""
    curves = [(r.get("detail") or {}).get("noise") or [] for r in rows]
    curves = [c for c in curves if c]
    if not curves:
        return None
    return [round(mean(c[t] for c in curves if t < len(c)), 3) for t in range(max(map(len, curves)))]


def summarize(
    rows: list[dict[str, Any]], systems: list[str], ids: list[str], unavailable: dict[str, str]
) -> list[dict[str, Any]]:
    latest = {(r["system"], r["id"]): r for r in rows}
    table = []
    for s in systems:
        if s in unavailable:
            table.append({"system": s, "n": 0, "unavailable": unavailable[s]})
            continue
        table.append(system_row(s, [latest[(s, i)] for i in ids if (s, i) in latest]))
    return table


def pairwise_summary(rows: list[dict[str, Any]], a: str, b: str, ids: list[str]) -> dict[str, Any]:
    latest = {r["id"]: r for r in rows if r.get("a") == a and r.get("b") == b}
    out: dict[str, Any] = {"a": a, "b": b}
    for c in judges.CRITERIA:
        found = [latest[i]["scores"].get(c) for i in ids if i in latest]
        scores = [s for s in found if s is not None]
        out[c] = asdict(judges.win_rates(scores))
    return out


def fmt(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "noise_curve":
        return " → ".join(f"{v:.2f}" for v in value)
    if key in ("em", "f1", "judge", "supporting_recall", "uncovered", "report_supported", "extracted"):
        return f"{100 * value:.1f}"
    if key in ("tokens_per_q",):
        return f"{value:,.0f}"
    if key in ("calls_per_q", "wall_s_per_q"):
        return f"{value:.1f}"
    if key == "cost_per_q":
        return f"{value:.4f}"
    return str(value)


def markdown_table(table: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(h for h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table:
        if row.get("unavailable"):
            cells = " |" * (len(COLUMNS) - 2)
            lines.append(f"| {row['system']} | unavailable: {row['unavailable']} |" + cells)
        else:
            lines.append("| " + " | ".join(fmt(k, row.get(k)) for _, k in COLUMNS) + " |")
    return "\n".join(lines)


def write_summary(
    out: Path, spec: Any, dataset: str, systems: list[str], unavailable: dict[str, str], ids: list[str]
) -> dict:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    table = summarize(read_rows(out / RESULTS), systems, ids, unavailable)
    summary: dict[str, Any] = {
        "dataset": dataset,
        "model": spec.model,
        "records": manifest["records"],
        "systems": table,
    }
    lines = [
        f"# ttd bench: {dataset}",
        "",
        f"{manifest['records']} questions, model `{spec.model or manifest['config']['models']['answer']}`, "
        f"retrieval k = {manifest['config']['retrieval']['k']}, steps = {manifest['config']['steps']}"
        + (f", corpus of {n} pooled paragraphs" if (n := manifest["corpus_paragraphs"]) else ""),
        "",
        "EM, F1, judge accuracy and supporting-paragraph recall in %; failed items score 0. "
        "Costs are means over finished questions (tokens and calls include the short-answer extraction, "
        "not the judge).",
        "",
        markdown_table(table),
    ]
    hops = {h for row in table for h in (row.get("f1_by_hops") or {})}
    if len(hops) > 1:
        hs = sorted(hops, key=int)
        lines += [
            "",
            "F1 by hop count:",
            "",
            "| System | " + " | ".join(f"{h} hops" for h in hs) + " |",
            "|---|" + "---|" * len(hs),
        ]
        for row in table:
            by = row.get("f1_by_hops") or {}
            lines.append(f"| {row['system']} | " + " | ".join(fmt("f1", by.get(h)) for h in hs) + " |")
    if spec.vs:
        pw = pairwise_summary(read_rows(out / PAIRWISE), spec.systems[0], spec.vs, ids)
        summary["pairwise"] = pw
        lines += [
            "",
            f"Side by side: {pw['a']} (A) vs {pw['b']} (B), both orders, 95% bootstrap CIs",
            "",
            "| Criterion | n | Win | Tie | Loss |",
            "|---|---|---|---|---|",
        ]
        for c in judges.CRITERIA:
            r = pw[c]
            cell = [
                f"{100 * r[k]:.1f} [{100 * r[k + '_ci'][0]:.1f}, {100 * r[k + '_ci'][1]:.1f}]"
                for k in ("win", "tie", "loss")
            ]
            lines.append(f"| {c} | {r['n']} | " + " | ".join(cell) + " |")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary
