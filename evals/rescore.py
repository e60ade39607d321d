"""Re-read a bench run's answers with the current answer rule, without running the systems again.

`ttd bench` scores a QA response by the short answer it states on its answer line, else by the extraction
call (`ttd.bench.systems.stated_answer`). When that rule is tightened during a long run, the rows written
before it read some responses as stating an answer that the rule now sends to the extraction call. This
makes that call for exactly those rows (the real gateway, the bench's model), adds its cost to the row,
re-scores EM and F1 and appends the row, so `results.jsonl`'s latest row per (system, id) is the one the
current rule gives. A row the new rule would read without the call keeps its extracted answer (that call
was made and paid for).

    PYTHONPATH=. python evals/rescore.py BENCH_DIR [--dry-run]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ttd.bench.metrics import best_over
from ttd.bench.results import RESULTS, latest, read_rows
from ttd.bench.systems import extract_answer, stated_answer
from ttd.llm.gateway import Gateway
from ttd.run import settings


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("--dry-run", action="store_true", help="list the rows to re-read, make no call")
    args = ap.parse_args()
    rows = list(latest(read_rows(args.bench / RESULTS)).values())
    todo = [
        r
        for r in rows
        if not r.get("error")
        and r.get("answers")
        and not (r.get("detail") or {}).get("extracted", True)
        and stated_answer(r["response"]) is None
    ]
    for r in todo:
        print(f"{r['system']:>14} {r['id'][:8]} stated {r['prediction']!r}: extraction call")
    if args.dry_run or not todo:
        print(f"{len(todo)} rows to re-read")
        return
    manifest = json.loads((args.bench / "manifest.json").read_text())
    model = manifest.get("spec", {}).get("model")
    gateway = Gateway(settings(**({"model": model} if model else {})))
    with (args.bench / RESULTS).open("a", encoding="utf-8") as fh:
        for r in todo:
            prediction, usage = await extract_answer(gateway, r["question"], r["response"])
            before = r["prediction"]
            r.update(
                prediction=prediction,
                em=best_over("em", prediction, r["answers"]),
                f1=best_over("f1", prediction, r["answers"]),
                calls=r["calls"] + 1,
                tokens=r["tokens"] + usage["prompt_tokens"] + usage["completion_tokens"],
                prompt_tokens=r["prompt_tokens"] + usage["prompt_tokens"],
                completion_tokens=r["completion_tokens"] + usage["completion_tokens"],
                detail={**r["detail"], "extracted": True, "rescored_from": before},
            )
            fh.write(json.dumps(r) + "\n")
            print(f"{r['system']:>14} {r['id'][:8]} {before!r} -> {prediction!r} (F1 {r['f1']:.2f})")


if __name__ == "__main__":
    asyncio.run(main())
