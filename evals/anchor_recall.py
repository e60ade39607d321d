"""Does anchoring a hop's search to the research question keep the passages one retrieval would find?

Model-free, on MuSiQue's own decompositions: each hop query ("Van Hook Township >> located in the
administrative territorial entity", then "#1 >> capital" with #1 replaced by the first hop's gold answer)
is searched alone and fused with the question (`ttd.retrieval.fusion.anchored_search`), over the bench's
BM25 pool of the whole file. Also, from a `ttd bench` output folder, the search questions a model really
asked (--runs): supporting recall of the passages they retrieve alone vs anchored.

    PYTHONPATH=. python evals/anchor_recall.py [--runs BENCH_OUT] [--k 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from pathlib import Path

from ttd.bench import datasets
from ttd.bench.corpus import PoolRetriever, supporting_ids
from ttd.paths import bench_data_dir
from ttd.retrieval.fusion import anchored_search

OUT = Path(__file__).parent / "results" / "anchor_recall.md"


def recall(found: set[str], gold: set[str]) -> float:
    return len(found & gold) / len(gold) if gold else 0.0


async def searched(pool: PoolRetriever, queries: list[str], question: str, k: int) -> dict[str, set[str]]:
    """Passage ids found over all hop queries: the question alone, the hops alone, the hops anchored."""
    alone: set[str] = set()
    repeats: set[str] = set()
    anchored: set[str] = set()
    for q in queries:
        alone |= {p.id for p in await pool.search(q, k=k)}
        repeats |= {p.id for p in await anchored_search(pool, q, question, k)}
        # as in the run: the question's passages already retrieved at earlier hops are skipped
        anchored |= {p.id for p in await anchored_search(pool, q, question, k, seen=anchored)}
    once = {p.id for p in await pool.search(question, k=k)}
    return {"question": once, "hops": alone, "repeats": repeats, "anchored": anchored}


def musique_hops(k: int) -> list[dict[str, float]]:
    path = bench_data_dir() / "musique" / "dev_sample.official_format.jsonl"
    official = {d["id"]: d for d in map(json.loads, path.read_text().splitlines()) if d}
    _, records = datasets.load("musique")
    pool = PoolRetriever(records)
    rows = []
    for r in records:
        hops, answers = [], []
        for step in official[r.id]["question_decomposition"]:
            q = step["question"]
            for i, a in enumerate(answers, 1):
                q = q.replace(f"#{i}", a)
            hops.append(q.replace(">>", " "))
            answers.append(step["answer"])
        found = asyncio.run(searched(pool, hops, r.question, k))
        gold = set(supporting_ids(r))
        rows.append({name: recall(ids, gold) for name, ids in found.items()})
    return rows


def bench_questions(out: Path, k: int) -> list[dict[str, float]]:
    """The step questions of every ttd run in a `ttd bench` output folder, against its dataset's pool."""
    manifest = json.loads((out / "manifest.json").read_text())
    _, records = datasets.load(manifest["dataset"])
    by_question = {" ".join(r.question.split()): r for r in records}
    pool = PoolRetriever(records)
    rows = []
    for report in sorted(out.glob("runs/*/*/report.json")):
        data = json.loads(report.read_text())
        record = by_question.get(" ".join(data["question"].split()))
        asked = [s["question"] for s in data["trajectory"]["steps"]]
        if record is None or not asked:
            continue
        found = asyncio.run(searched(pool, asked, record.question, k))
        rows.append({name: recall(ids, set(supporting_ids(record))) for name, ids in found.items()})
    return rows


def table(title: str, rows: list[dict[str, float]]) -> list[str]:
    mean = {name: statistics.mean(r[name] for r in rows) for name in rows[0]}
    return [
        f"## {title} ({len(rows)} questions)",
        "",
        "| queries | supporting recall |",
        "|---|---|",
        f"| the question once (rag) | {mean['question']:.2f} |",
        f"| each hop alone | {mean['hops']:.2f} |",
        f"| each hop anchored (RRF), the question's top passages at every hop | {mean['repeats']:.2f} |",
        f"| each hop anchored, the question's seen passages skipped (the run) | {mean['anchored']:.2f} |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--runs", type=Path, action="append", default=[], help="a `ttd bench` --out folder")
    args = parser.parse_args()
    lines = [
        "# Anchored search: supporting recall (evals/anchor_recall.py)",
        "",
        f"k = {args.k} per query.",
        "",
    ]
    lines += table(
        "MuSiQue, gold hop questions (decomposition, earlier answers filled in)", musique_hops(args.k)
    )
    for out in args.runs:
        if rows := bench_questions(out, args.k):
            lines += table(f"Step questions the model asked in `{out.name}`", rows)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
