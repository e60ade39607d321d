"""Which passages a small model reads a short answer from best: finished ttd-full runs read again.

The reading prompt is the bench's IRCoT reader (a sentence per call, up to 3, no new search); only the
passages differ:

    run       every passage the run retrieved, in the order found (~7 on HotpotQA)
    question  the k passages the research question itself retrieves from the bench pool, best first
    ordered   those k first, then the run's other passages

    PYTHONPATH=. python evals/reader_study.py BENCH_DIR --passages question --out q.jsonl

Prints per question and the mean F1 beside the run's recorded one. The product's reader (`ttd.reader`,
the question's passages, then the run's nearest each sentence) is measured by `evals/report_replay.py
--short-report reason`. Findings: evals/results/bench_hotpotqa_denoise.md (session 24).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from report_replay import each, final_state, run_deps  # type: ignore[import-not-found]

from ttd.bench import datasets
from ttd.bench.corpus import PoolRetriever
from ttd.bench.metrics import best_over
from ttd.bench.prompts import bench_prompt
from ttd.bench.systems import extract_answer, stated_answer
from ttd.formatting import passages_text


def passages(mode: str, sources: list[dict], first: list[dict]) -> list[dict]:
    """The passages shown, renumbered 1.. as the bench's readers number them."""
    if mode == "run":
        shown = sources
    elif mode == "question":
        shown = first
    else:
        held = {(p["title"], p["text"][:50]) for p in first}
        shown = first + [s for s in sources if (s.get("title"), s.get("text", "")[:50]) not in held]
    return [dict(p, n=i) for i, p in enumerate(shown[:15], 1)]


async def read(row: dict, bench: Path, mode: str, pool: PoolRetriever) -> dict:
    run_dir, deps = run_deps(row, bench, "ttd-full", pool)
    sources = sorted(final_state(run_dir).get("sources", {}).values(), key=lambda r: r["n"])
    found = await pool.search(row["question"], k=deps.config.retrieval.k)
    first = [{"title": p.title, "text": p.text, "location": p.location} for p in found]
    block = passages_text(passages(mode, sources, first), deps.config.retrieval.passage_chars)
    reasoning: list[str] = []
    for _ in range(3):
        messages = bench_prompt("ircot").messages(
            question=row["question"], passages=block, reasoning="\n".join(reasoning) or "(none yet)"
        )
        sentence = " ".join((await deps.gateway.complete("answer", messages, max_tokens=80)).text.split())
        if not sentence:
            break
        reasoning.append(sentence)
        if "answer is" in sentence.lower():
            break
    response = "\n".join(reasoning)
    prediction = stated_answer(response)
    if prediction is None:
        prediction, _ = await extract_answer(deps.gateway, row["question"], response)
    return {
        "id": row["id"],
        "prediction": prediction,
        "f1": best_over("f1", prediction, row["answers"]),
        "recorded": {"f1": row["f1"]},
        "response": response,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("--passages", choices=("run", "question", "ordered"), required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows = [json.loads(x) for x in (args.bench / "results.jsonl").read_text().splitlines() if x.strip()]
    rows = list({r["id"]: r for r in rows if r["system"] == "ttd-full" and r.get("detail")}.values())
    pool = PoolRetriever(datasets.load(json.loads((args.bench / "manifest.json").read_text())["pool"])[1])
    done = each(rows, args.out, lambda row: read(row, args.bench, args.passages, pool))
    n = len(done) or 1
    print(
        f"{len(done)} questions, passages={args.passages}: F1 {100 * sum(r['f1'] for r in done) / n:.1f} "
        f"(recorded {100 * sum(r['recorded']['f1'] for r in done) / n:.1f})"
    )


if __name__ == "__main__":
    main()
