"""Anchored search for reports: how many passages on the question's subject a long-form run's searches reach.

A report's step questions searched alone (scoped with the subject's names, `ttd.subject.scoped`). On the
README's Roman question (session 29, feb6323) the 1.5B asked only about the late 4th-century economy, and
the run never retrieved the offline corpus's page "Fall of the Western Roman Empire", which the question
itself finds first. This replays the step questions recorded in finished runs against the same index, with
no model call, in three ways:

- rag: the research question once (k passages);
- alone: each step question alone, as the runs searched;
- anchored: each step question fused (RRF) with the research question, the question's passages already
  seen skipped (`ttd.retrieval.fusion.anchored_search`, as short answers search).

Per arm: distinct passages, distinct passages on the subject (`ttd.subject.on_subject`, the passages a
report's facts and checks may use), and whether rag's best passage on the subject is among them.

    PYTHONPATH=. python evals/longform_anchor.py RUNS_DIR [RUNS_DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ttd.retrieval.fusion import anchored_search
from ttd.run import dependencies, settings
from ttd.subject import on_subject, scoped


def _records(passages: list) -> dict[str, dict]:
    return {p.id: {"title": p.title, "text": p.text} for p in passages}


async def replay(run_dir: Path) -> dict:
    cfg = {k: v for k, v in json.loads((run_dir / "config.json").read_text()).items() if k != "description"}
    deps = dependencies(settings(**cfg))
    report = json.loads((run_dir / "report.json").read_text())
    question = report["question"]
    asked = [s["question"] for s in report["trajectory"]["steps"]]
    k = deps.config.retrieval.k
    rag = _records(await deps.retriever.search(question, k=k))
    arms: dict[str, dict[str, dict]] = {"rag": rag}
    for arm in ("alone", "anchored"):
        seen: dict[str, dict] = {}
        for q in asked:
            query = scoped(question, q)
            anchor = question if arm == "anchored" else ""
            seen |= _records(await anchored_search(deps.retriever, query, anchor, k, seen=seen))
        arms[arm] = seen
    best = next(iter(on_subject(question, rag)), None)
    row = {"question": question[:60], "steps": len(asked)}
    for arm, found in arms.items():
        row[arm] = (len(found), len(on_subject(question, found)), best is not None and best in found)
    await deps.retriever.aclose()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", type=Path, nargs="+")
    args = ap.parse_args()
    dirs = sorted(p for d in args.runs for p in d.iterdir() if (p / "report.json").is_file())
    head = "rag: passages / on subject | alone | anchored | rag's best on-subject page: alone / anchored"
    print(f"| question | steps | {head} |")
    print("|---|---|---|---|---|---|")
    totals = {a: [0, 0, 0] for a in ("rag", "alone", "anchored")}
    for d in dirs:
        r = asyncio.run(replay(d))
        for a in totals:
            totals[a] = [t + int(v) for t, v in zip(totals[a], r[a], strict=True)]
        cells = [f"{r[a][0]} / {r[a][1]}" for a in ("rag", "alone", "anchored")]
        found = f"{'yes' if r['alone'][2] else 'no'} / {'yes' if r['anchored'][2] else 'no'}"
        print(f"| {r['question']} | {r['steps']} | {' | '.join(cells)} | {found} |", flush=True)
    cells = [f"{totals[a][0]} / {totals[a][1]}" for a in ("rag", "alone", "anchored")]
    print(f"| **all {len(dirs)}** | | {' | '.join(cells)} | {totals['alone'][2]} / {totals['anchored'][2]} |")


if __name__ == "__main__":
    main()
