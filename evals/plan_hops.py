"""Do a short answer's plan hops find the evidence? Supporting recall of the plan's hop queries.

A short-answer question's step 1 searches its plan's first hop without a model call, and a refused step
question falls back to the next hop (`ttd.stages.question`), so the hops' wording decides what is
retrieved. This scores plans without running the rest of the loop: each hop query (`hop_queries`) is
searched in the bench's whole-file pool (k passages, BM25), and the gold supporting paragraphs found by
hop 1 alone and by all hops together are counted, beside what one retrieval with the question finds (rag).
Plans come from the plan stage (one model call each) or, with `--recorded BENCH_DIR`, from the report.json
of that bench's ttd-full runs (no call: the plans that run used).

    PYTHONPATH=. python evals/plan_hops.py hotpotqa --limit 30 [--recorded BENCH_DIR] [--out plans.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ttd.bench.corpus import PoolRetriever, supporting_ids
from ttd.bench.datasets import load
from ttd.bench.metrics import mean, supporting_recall
from ttd.run import dependencies, settings
from ttd.stages import plan as plan_stage
from ttd.stages.question import hop_queries


def recorded_plans(bench: Path) -> dict[str, list[dict]]:
    plans = {}
    for line in (bench / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        run_id = (row.get("detail") or {}).get("run_id")
        if row["system"] != "ttd-full" or not run_id:
            continue
        saved = json.loads((bench / "runs" / "ttd-full" / run_id / "report.json").read_text())
        plans[row["question"]] = saved["trajectory"]["plan"]
    return plans


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--recorded", type=Path, help="a ttd bench --out folder whose ttd-full plans to score")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    _, everything = load(args.dataset)
    retriever = PoolRetriever(everything)
    recorded = recorded_plans(args.recorded) if args.recorded else None
    records = [r for r in everything[: args.limit] if recorded is None or r.question in recorded]
    deps = None if recorded is not None else dependencies(settings(seed=7), retriever=retriever)
    rows = []
    for record in records:
        if recorded is not None:
            plan = recorded[record.question]
        else:
            assert deps is not None
            plan = (await plan_stage.run({"question": record.question}, deps))["plan"]  # type: ignore[typeddict-item]
        queries = hop_queries({"plan": plan})  # type: ignore[typeddict-item]
        gold = supporting_ids(record)
        found = [[p.id for p in retriever.search_sync(q, k=args.k)] for q in queries]
        rows.append(
            {
                "question": record.question,
                "plan": plan,
                "hops": len(plan),
                "hop1": supporting_recall(found[0] if found else [], gold),
                "all_hops": supporting_recall([i for f in found for i in f], gold),
                "rag": supporting_recall(
                    [p.id for p in retriever.search_sync(record.question, args.k)], gold
                ),
            }
        )
        print(f"{rows[-1]['hop1']:.2f} {rows[-1]['all_hops']:.2f} | {' || '.join(queries)}", flush=True)
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    source = f"recorded in {args.recorded}" if recorded is not None else "made now"
    print(f"\n{len(rows)} questions, k = {args.k}, plans {source}")
    for key in ("hops", "hop1", "all_hops", "rag"):
        print(f"{key:>10}: {mean(r[key] for r in rows):.3f}")


if __name__ == "__main__":
    asyncio.run(main())
