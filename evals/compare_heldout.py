"""The comparison reader on held-out HotpotQA comparison questions: entity by entity against the hop reader.

`ttd/compare.py` was written and its prompts chosen on the comparison questions among the bench's first 50
(evals/results/bench_hotpotqa_denoise.md, session 27), so its gain there is measured on the questions it
was tuned on. This reads comparison questions from further down the file, which it never saw, both ways:

    hop       `ttd.reader.read` with comparisons left to the hop reader (the reader before ttd/compare.py)
    compare   `ttd.reader.read` as it is: a comparison read entity by entity

Each question is read from its own retrieval (the bench's pool over the whole file, the default agent's
k), with no trajectory: the report stage's reading alone, greedy. A yes/no comparison is found only when
that retrieval holds both entities' pages (a run's hops usually find the second), so fewer are found here
than in a run.

    PYTHONPATH=. python evals/compare_heldout.py --skip 50 --questions 30 --out heldout.jsonl

Prints per question and the mean EM / F1 and calls of each arm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import ttd.reader
from ttd.bench import datasets
from ttd.bench.corpus import PoolRetriever
from ttd.bench.metrics import best_over
from ttd.compare import CHOICE, YES_NO, comparison, titles_of
from ttd.retrieval.base import SourceRegistry
from ttd.run import dependencies, settings


def candidates(records: list, skip: int) -> list:
    """Records after the first `skip` whose question looks like a comparison (a choice, or a yes/no or
    "both" question naming two things joined by "and")."""
    out = []
    for r in records[skip:]:
        q = r.question
        if CHOICE.search(q) or ((YES_NO.match(q) or " both " in q) and " and " in q):
            out.append(r)
    return out


async def one(record, pool: PoolRetriever, arm: str) -> dict:
    deps = dependencies(settings(agent="default"), pool)
    found = await pool.search(record.question, k=deps.config.retrieval.k)
    registry = SourceRegistry()
    for p in found:
        registry.add(p)
    if comparison(record.question, titles_of(registry.records())) is None:
        return {"skipped": True}
    real = ttd.reader.comparison
    if arm == "hop":
        ttd.reader.comparison = lambda question, titles: None  # the reader before ttd/compare.py
    try:
        reading = await ttd.reader.read(record.question, {}, deps, step=1)
    finally:
        ttd.reader.comparison = real
    prediction = reading.stated or ""
    return {
        "prediction": prediction,
        "em": best_over("em", prediction, record.answers),
        "f1": best_over("f1", prediction, record.answers),
        "calls": len(reading.usage),
        "compared": reading.compared,
        "sentences": reading.sentences,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="hotpotqa")
    ap.add_argument("--skip", type=int, default=50, help="the records the reader was tuned on")
    ap.add_argument("--questions", type=int, default=30)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arms", default="hop,compare", help="of hop, compare")
    args = ap.parse_args()
    _, records = datasets.load(args.dataset)
    pool = PoolRetriever(records)
    done: list[dict] = []
    arms = args.arms.split(",")
    with args.out.open("a", encoding="utf-8") as fh:
        for record in candidates(records, args.skip):
            if len(done) >= args.questions:
                break
            row = {"id": record.id, "question": record.question, "gold": record.answers}
            for arm in arms:
                got = asyncio.run(one(record, pool, arm))
                if got.get("skipped"):
                    break
                row[arm] = got
            else:
                done.append(row)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                said = " | ".join(f"{a} {row[a]['f1']:.2f} {row[a]['prediction']!r}" for a in arms)
                print(f"{record.id[:8]} {said} | gold {record.answers[0]!r}", flush=True)
    n = len(done) or 1
    for arm in arms:
        rows = [r[arm] for r in done]
        print(
            f"{arm}: {len(rows)} questions, EM {sum(r['em'] for r in rows) / n:.2f} F1 "
            f"{100 * sum(r['f1'] for r in rows) / n:.1f}, calls {sum(r['calls'] for r in rows) / n:.2f}, "
            f"no answer {sum(not r['prediction'] for r in rows)}"
            + (f", compared {sum(r['compared'] for r in rows)}" if arm != "hop" else "")
        )


if __name__ == "__main__":
    main()
