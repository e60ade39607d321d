"""PNG plots: accuracy against cost per question (the paper's Pareto view) and accuracy per hop count.

matplotlib with the Agg backend, so plots are written on headless machines; a missing matplotlib skips
the plots with a note instead of failing a long run at its very end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plots(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        (out / "plots-skipped.txt").write_text("matplotlib is not installed: pip install matplotlib\n")
        return []
    table = [r for r in summary["systems"] if not r.get("unavailable") and r.get("f1") is not None]
    written: list[Path] = []
    if not table:
        return written
    for key, label, name in (
        ("tokens_per_q", "tokens per question", "accuracy_vs_tokens.png"),
        ("wall_s_per_q", "wall time per question (s)", "accuracy_vs_wall.png"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for row in table:
            x = row.get(key) or 0.0
            ax.scatter([x], [100 * row["f1"]], s=50)
            point = (x, 100 * row["f1"])
            ax.annotate(row["system"], point, textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.margins(x=0.2, y=0.1)  # room for the labels of the outermost points
        ax.set_xlabel(label)
        ax.set_ylabel("F1 (%)")
        if all((r.get(key) or 0) > 0 for r in table):
            ax.set_xscale("log")
        ax.set_title(f"{summary['dataset']}: F1 vs {label}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / name, dpi=120)
        plt.close(fig)
        written.append(out / name)
    hops = sorted({h for r in table for h in (r.get("f1_by_hops") or {})}, key=int)
    if hops:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        width = 0.8 / len(table)
        for i, row in enumerate(table):
            by = row.get("f1_by_hops") or {}
            xs = [j + i * width for j in range(len(hops))]
            ax.bar(xs, [100 * (by.get(h) or 0.0) for h in hops], width, label=row["system"])
        centres = [j + width * (len(table) - 1) / 2 for j in range(len(hops))]
        ax.set_xticks(centres, [f"{h} hops" for h in hops])
        ax.set_ylabel("F1 (%)")
        ax.set_title(f"{summary['dataset']}: F1 per hop count")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "accuracy_by_hops.png", dpi=120)
        plt.close(fig)
        written.append(out / "accuracy_by_hops.png")
    return written
