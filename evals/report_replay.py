"""Replay the final report of finished `ttd bench` runs: same trajectories, only the report stage redone.

A whole ttd-full HotpotQA run takes minutes per question on 2 cores, and one unseeded sample of 20
questions moves by ~10 F1 from run to run. The report stage is where a short answer is written and
extracted, so a change to it is measured here on fixed trajectories: each run's last checkpoint is read
(the real LangGraph SQLite saver), `ttd.stages.report.run` is called with the run's own config (seeded,
optionally with another `short_report`), and the bench's extraction and metrics score the new report.

    PYTHONPATH=. python evals/report_replay.py BENCH_DIR --out replay.jsonl [--short-report evidence]
    (--ids A,B replays only the questions whose ids start so)

BENCH_DIR is a `ttd bench --out` folder with `results.jsonl` and `runs/ttd-full/`. Prints per question
and the mean EM / F1 beside the recorded ones, and how often each report fallback fired.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from ttd.bench import datasets
from ttd.bench.corpus import PoolRetriever
from ttd.bench.metrics import best_over
from ttd.bench.systems import extract_answer, stated_answer
from ttd.context import Deps
from ttd.retrieval.base import Retriever
from ttd.run import dependencies, settings
from ttd.stages import report as report_stage

FALLBACKS = ("answer_stated", "from_draft", "evidence_section")


def final_state(run_dir: Path) -> dict:
    conn = sqlite3.connect(run_dir / "checkpoint.sqlite", check_same_thread=False)
    saved = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": run_dir.name}})
    if saved is None:
        raise SystemExit(f"no checkpoint in {run_dir}")
    return dict(saved.checkpoint["channel_values"])


def run_deps(
    row: dict, bench: Path, system: str, retriever: Retriever | None, **changes: object
) -> tuple[Path, Deps]:
    """A recorded run's folder and the dependencies its own config builds (with `changes` applied)."""
    run_dir = bench / "runs" / system / row["detail"]["run_id"]
    cfg = {k: v for k, v in json.loads((run_dir / "config.json").read_text()).items() if k != "description"}
    cfg.update({k: v for k, v in changes.items() if v is not None})
    return run_dir, dependencies(settings(**cfg), retriever)


async def replay(
    row: dict, bench: Path, system: str, seed: int, short_report: str | None, retriever: Retriever | None
) -> dict:
    run_dir, deps = run_deps(row, bench, system, retriever, seed=seed, short_report=short_report)
    started = time.perf_counter()
    out = await report_stage.run(final_state(run_dir), deps)
    prediction = stated_answer(out["report"])  # scored as the bench scores it (ttd.bench.systems)
    extracted = prediction is None
    if prediction is None:
        prediction, _ = await extract_answer(deps.gateway, row["question"], out["report"])
    return {
        "id": row["id"],
        "gold": row["answers"],
        "prediction": prediction,
        "em": best_over("em", prediction, row["answers"]),
        "f1": best_over("f1", prediction, row["answers"]),
        "recorded": {"prediction": row["prediction"], "em": row["em"], "f1": row["f1"]},
        "calls": len(out["usage"]) + extracted,
        "seconds": round(time.perf_counter() - started, 1),
        "citations": out["citations"],
        "report": out["report"],
    }


def each(rows: list[dict], out: Path, one: Callable[[dict], Awaitable[dict]]) -> list[dict]:
    """Run `one` on every row, appending each result to `out` and printing it beside the recorded F1."""
    done = []
    with out.open("a", encoding="utf-8") as fh:
        for row in rows:
            r = asyncio.run(one(row))
            done.append(r)
            fh.write(json.dumps(r) + "\n")
            print(f"{r['id'][:8]} F1 {r['f1']:.2f} (recorded {r['recorded']['f1']:.2f}) {r['prediction']!r}")
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--system", default="ttd-full")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--short-report", choices=("draft", "write", "evidence", "reason"))
    ap.add_argument("--ids", help="comma-separated question id prefixes: replay only these")
    args = ap.parse_args()
    rows = [json.loads(x) for x in (args.bench / "results.jsonl").read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["system"] == args.system and r.get("detail", {}).get("run_id")]
    if args.ids:
        rows = [r for r in rows if r["id"].startswith(tuple(args.ids.split(",")))]
    # the bench's own retriever (its pool of paragraphs): a report stage that searches (the reader) must
    # search what the run searched
    pool = json.loads((args.bench / "manifest.json").read_text()).get("pool")
    retriever = PoolRetriever(datasets.load(pool)[1]) if pool else None
    seed, short = args.seed, args.short_report
    done = each(rows, args.out, lambda row: replay(row, args.bench, args.system, seed, short, retriever))
    n = len(done) or 1
    print(
        f"{len(done)} questions: EM {sum(r['em'] for r in done) / n:.2f} F1 "
        f"{100 * sum(r['f1'] for r in done) / n:.1f} (recorded EM "
        f"{sum(r['recorded']['em'] for r in done) / n:.2f} F1 "
        f"{100 * sum(r['recorded']['f1'] for r in done) / n:.1f}); "
        + ", ".join(f"{k} {sum(r['citations'].get(k, 0) for r in done)}" for k in FALLBACKS)
    )


if __name__ == "__main__":
    main()
