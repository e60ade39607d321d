"""A bench run under way (or stopped to resume later), scored beside recorded runs on the same questions.

A live `ttd-full` run of the 50 HotpotQA questions takes about 4 hours on 2 cores, more than one working
session; `ttd bench --resume` continues it. Until it ends, its finished questions are compared with the
recorded rag and iterative-rag samples (and any other recorded system) on exactly those questions, so a
partial figure is never set against a mean over other questions.

    PYTHONPATH=. python evals/live_vs_baselines.py LIVE_DIR RECORDED.jsonl [RECORDED.jsonl ...]

Prints one row per (file, system): n, EM, F1, supporting recall, calls and tokens per question.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ttd.bench.results import RESULTS, latest, read_rows


def _row(name: str, rows: list[dict]) -> str:
    n = len(rows)

    def avg(key: str) -> float:
        return sum(float(r.get(key) or 0) for r in rows) / max(n, 1)

    return (
        f"| {name} | {n} | {avg('em'):.2f} | {100 * avg('f1'):.1f} | {avg('supporting_recall'):.2f} | "
        f"{avg('calls'):.1f} | {avg('tokens'):,.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("live", type=Path, help="the bench folder of the run under way")
    ap.add_argument("recorded", type=Path, nargs="+", help="results.jsonl files of recorded runs")
    args = ap.parse_args()
    live = [r for r in latest(read_rows(args.live / RESULTS)).values() if not r.get("error")]
    ids = {r["id"] for r in live}
    print("| system | n | EM | F1 | supporting recall | calls/q | tokens/q |")
    print("|---|---|---|---|---|---|---|")
    for system in sorted({r["system"] for r in live}):
        print(_row(f"{system} (live, {args.live.name})", [r for r in live if r["system"] == system]))
    for path in args.recorded:
        rows = [r for r in latest(read_rows(path)).values() if r["id"] in ids]
        for system in sorted({r.get("system") or "?" for r in rows}):
            mine = [r for r in rows if (r.get("system") or "?") == system]
            print(_row(f"{system} ({path.name})", mine))


if __name__ == "__main__":
    main()
