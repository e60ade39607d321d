"""A finished run's final-report claims checked again by another verifier model, beside the run's verdicts.

The embedded default's verifier is its own 1.5B, which calls almost every claim supported on the issue's
240 labelled pairs (precision 0.64, recall 0.98; the 0.5B: 0.854 accuracy;
evals/results/verifier_accuracy.md). So a report's "share supported" may be overstated. This reads a
run's report claim table (`trajectory.report_noise`, the claims as the report's check saw them) and its
sources (the run's SQLite checkpoint), checks the same claims with `--model`, and prints both verdicts
per claim and the two supported shares.

    PYTHONPATH=. python evals/recheck_report.py RUN_DIR [RUN_DIR ...] --model local/qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from ttd.claims import settings_for, verify
from ttd.llm.gateway import Gateway
from ttd.run import settings


def sources_of(run_dir: Path) -> dict:
    conn = sqlite3.connect(run_dir / "checkpoint.sqlite", check_same_thread=False)
    saved = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": run_dir.name}})
    if saved is None:
        raise SystemExit(f"no checkpoint in {run_dir}")
    return dict(saved.checkpoint["channel_values"]).get("sources", {})


async def recheck(run_dir: Path, model: str) -> tuple[int, int, int]:
    report = json.loads((run_dir / "report.json").read_text())
    table = (report["trajectory"].get("report_noise") or {}).get("claims") or []
    if not table:
        print(f"{run_dir.name}: no report claim table")
        return 0, 0, 0
    cfg = {k: v for k, v in json.loads((run_dir / "config.json").read_text()).items() if k != "description"}
    config = settings(**{**cfg, "verify_model": model})
    claims, _ = await verify(
        "\n\n".join(c["text"] for c in table),
        sources_of(run_dir),
        question=report["question"],
        settings=settings_for(config),
        gateway=Gateway(config),
    )
    again = {c["text"]: c["status"] for c in claims}
    print(f"\n{run_dir.name} ({report['question'][:60]})")
    for c in table:
        other = again.get(c["text"], "?")
        print(f"  run {c['status'][:11]:<11} | {model.split('/')[-1]} {other[:11]:<11} | {c['text'][:90]}")
    was = sum(c["status"] == "supported" for c in table)
    now = sum(again.get(c["text"]) == "supported" for c in table)
    print(f"  supported: run {was}/{len(table)}, {model} {now}/{len(table)}")
    return len(table), was, now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    args = ap.parse_args()
    total = [asyncio.run(recheck(r, args.model)) for r in args.runs]
    n, was, now = (sum(t[i] for t in total) for i in range(3))
    if n:
        print(
            f"\nall: {n} claims; supported by the run's verifier {was / n:.2f}, by {args.model} {now / n:.2f}"
        )


if __name__ == "__main__":
    main()
