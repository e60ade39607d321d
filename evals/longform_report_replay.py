"""Replay the final report of finished long-form runs: same trajectories, only the report stage redone.

A long-form run takes 4-7 minutes on 2 cores and its report's supported share moves by tens of points from
one run of the same question to the next (America's aging population: 0.47, then 1.00), so a change to the
report stage is measured here on fixed trajectories: each run's last checkpoint is read (the real LangGraph
SQLite saver) and `ttd.stages.report.run` is called with the run's own config, optionally with the report
prompt's shape words replaced (`--shape`), and the report is scored as evals/longform_noise.py scores it.

    PYTHONPATH=. python evals/longform_report_replay.py RUNS_DIR [--shape "a title, then ..."]
        [--rewrite-below 0] [--repeat 3]

RUNS_DIR holds run folders (evals/longform_noise.py --runs). Prints per run the share of the written
report's claims a source supports, its unsupported claims, and the hygiene counts; then the mean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from evals.report_replay import final_state
from ttd.hygiene import problems
from ttd.report import CitationSummary
from ttd.run import dependencies, settings
from ttd.stages import report as report_stage


async def replay(run_dir: Path, rewrite_below: float | None = None) -> dict:
    cfg = {k: v for k, v in json.loads((run_dir / "config.json").read_text()).items() if k != "description"}
    if rewrite_below is not None:
        cfg["verify"] = {**cfg.get("verify", {}), "rewrite_below": rewrite_below}
    deps = dependencies(settings(**cfg))
    state = final_state(run_dir)
    started = time.perf_counter()
    shares: list[float] = []  # each written sample's supported share, as the stage compared them
    real = report_stage.supported_share

    def share(record, leave_out=None):
        shares.append(round(real(record, leave_out), 2))
        return shares[-1]

    report_stage.supported_share = share
    try:
        out = await report_stage.run(state, deps)
    finally:
        report_stage.supported_share = real
    record = out["report_noise"]
    claims = record["claims"] if record else []
    return {
        "run": run_dir.name,
        "question": state["question"][:60],
        "supported": None if not claims else sum(c["status"] == "supported" for c in claims) / len(claims),
        "claims": len(claims),
        "unsupported": [c["text"] for c in claims if c["status"] != "supported"],
        "few_facts": out["citations"].get("few_facts", 0),
        "rewrites": out["citations"].get("rewrites", 0),
        "rewrite_kept": out["citations"].get("rewrite_kept", 0),
        "samples": shares[:2],
        "facts": out["citations"].get("facts", 0),
        # the facts put in for the writer, and the share of its own claims supported (without them)
        "facts_added": out["citations"].get("facts_added", 0),
        "own": CitationSummary(**out["citations"]).own_share(),
        "calls": len(out["usage"]),
        "seconds": round(time.perf_counter() - started, 1),
        **problems(out["report"]),
        "report": out["report"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", type=Path)
    ap.add_argument(
        "--shape", help="the report prompt's shape words for a report question (prompts/shape.md)"
    )
    ap.add_argument(
        "--rewrite-below", type=float, help="verify.rewrite_below for every run (0: the writer is asked once)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="replay each run this many times")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.shape:
        real = report_stage.instructions
        report_stage.instructions = lambda stage, q: args.shape if stage == "report" else real(stage, q)
    done = []
    runs = sorted(p for p in args.runs.iterdir() if (p / "checkpoint.sqlite").is_file())
    for run_dir in [r for r in runs for _ in range(args.repeat)]:
        r = asyncio.run(replay(run_dir, args.rewrite_below))
        done.append(r)
        share = "–" if r["supported"] is None else f"{r['supported']:.2f}"
        own = "–" if r["own"] is None else f"{r['own']:.2f}"
        print(
            f"{r['question']} | supported {share} of {r['claims']} (own {own}, +{r['facts_added']} facts) | "
            f"few facts {r['few_facts']} | "
            f"rewrites {r['rewrites']} (kept {r['rewrite_kept']}, samples {r['samples']}) | {r['seconds']} s",
            flush=True,
        )
        for text in r["unsupported"]:
            print(f"    unsupported: {text[:150]}")
        if args.out:
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(r) + "\n")
    shares = [r["supported"] for r in done if r["supported"] is not None]
    written = [r["supported"] for r in done if r["supported"] is not None and not r["few_facts"]]
    print(
        f"{len(done)} runs: mean supported {sum(shares) / max(len(shares), 1):.0%}; written by the model "
        f"({len(written)}): {sum(written) / max(len(written), 1):.0%}; broken "
        f"{sum(r['broken_marks'] for r in done)}, scaffolding {sum(r['scaffolding'] for r in done)}, "
        f"repeats {sum(r['repeated_paragraphs'] for r in done)}; rewrites "
        f"{sum(r['rewrites'] for r in done)} (kept {sum(r['rewrite_kept'] for r in done)})"
    )


if __name__ == "__main__":
    main()
