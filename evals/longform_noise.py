"""Long-form denoising: does Noise(R_t) fall, and is the final report grounded and clean?

Runs the Roman question, then the first DeepConsult prompts, through `ttd.research` and prints per run:
Noise(R_0), Noise(R_T), the share of the final report's claims (as written) a retrieved source supports,
and the counts of broken marks, prompt scaffolding phrases and repeated paragraphs in the final report.
Writes evals/results/longform_noise.md.

    PYTHONPATH=. python evals/longform_noise.py --limit 11 --steps 2

Also per run: how many cited facts the report was written from (`ttd.facts`), how many the relevance check
left out as about another subject (`ttd.relevance`), and how often a fallback
fired when the report model's text lost every citation (`from_draft`: a short answer's R_T stood in;
`from_facts`: a report's cited facts were set out instead; `evidence`: the step answers were appended
because nothing was cited), and whether a report question's few facts (under `few_facts`) were set out
without a writer call. A run whose report is its facts measures the facts, not the writer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import ttd  # noqa: E402
from ttd.config import DEFAULT_MODEL  # noqa: E402
from ttd.hygiene import problems  # noqa: E402

ROMAN = "What caused the fall of the Western Roman Empire?"
DEEPCONSULT = (
    Path(__file__).resolve().parents[2] / "shared/data/benchmarks/deepconsult/queries.normalized.jsonl"
)
OUT = Path(__file__).resolve().parent / "results" / "longform_noise.md"


def questions(limit: int) -> list[str]:
    qs = [ROMAN]
    if DEEPCONSULT.is_file():
        for line in DEEPCONSULT.read_text(encoding="utf-8").splitlines()[:10]:
            qs.append(json.loads(line)["question"])
    return qs[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument(
        "--limit", type=int, default=11, help="the Roman question plus up to 10 DeepConsult prompts"
    )
    ap.add_argument("--start", type=int, default=0, help="skip the first START questions (resume a table)")
    ap.add_argument("--only", default="", help="comma-separated question numbers (0 = Roman) to rerun")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--agent", default="default")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/ttd-longform-runs"))
    args = ap.parse_args()
    rows = []
    if (args.only or args.start) and args.out == OUT:
        raise SystemExit("--only and --start write part of a table: name its file with --out")
    chosen = {int(n) for n in args.only.split(",") if n.strip()}
    picked = [
        q for i, q in enumerate(questions(args.limit)) if i >= args.start and (not chosen or i in chosen)
    ]
    if not picked:
        raise SystemExit(
            f"no question chosen: --only takes numbers 0..{args.limit - 1} (0 = Roman), --start too"
        )
    for q in picked:
        started = time.perf_counter()
        report = ttd.research(q, agent=args.agent, model=args.model, steps=args.steps, out=args.runs)
        noise = report.trajectory.noise
        rn = report.trajectory.report_noise
        p = problems(report.markdown)
        titles = {s.id: s.title for s in report.trajectory.retrieved}
        rows.append(
            {
                "question": q[:60],
                "r0": noise[0].noise if noise else None,
                "rt": noise[-1].noise if noise else None,
                "drafts": len(noise),
                # grounding in code (ttd.ground): R_T's noise before its pruned claims went, facts put in
                "rt_unpruned": next((r.unpruned for r in reversed(noise) if r.unpruned is not None), None),
                "grafted": sum(r.grafted or 0 for r in noise),
                "pruned": sum(len(r.pruned or []) for r in noise),
                # the step facts left out as from passages about another subject (ttd.subject)
                "off_subject": sum(r.off_subject or 0 for r in noise),
                # what R_T's supported claims rest on: the titles of their sources
                "rt_sources": sorted(
                    {
                        titles.get(i, i)
                        for c in (noise[-1].claims if noise else [])
                        if c.status == "supported"
                        for i in c.source_ids
                    }
                ),
                "run_id": report.run_id,
                "supported": None if rn is None else 1 - rn.noise,
                "facts": report.citations.facts,
                "off_topic": report.citations.off_topic,
                "from_draft": report.citations.from_draft,
                "from_facts": report.citations.from_facts,
                "few_facts": report.citations.few_facts,
                "evidence": report.citations.evidence_section,
                "rewrites": report.citations.rewrites,
                "rewrite_kept": report.citations.rewrite_kept,
                # the facts put in for the writer lift "supported": its own claims' share beside it
                "facts_added": report.citations.facts_added,
                "own_supported": report.citations.own_share(),
                "unverified": 0 if rn is None else sum(c.status != "supported" for c in rn.claims),
                "calls": report.usage.total.calls,
                "seconds": time.perf_counter() - started,
                "exit": report.trajectory.exit_reason,
                **p,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    table = [
        "| question | Noise R0 | Noise RT | RT before pruning | +facts / -claims / off subject | drafts "
        "| report supported | claims not supported | facts "
        "| off topic | set out (few facts) | broken | stray | scaffolding | repeats "
        "| fallbacks (R_T / facts / evidence) | asked again (kept) | calls | s | exit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    for r in rows:
        table.append(
            f"| {r['question']} | {f(r['r0'])} | {f(r['rt'])} | {f(r['rt_unpruned'])} "
            f"| {r['grafted']} / {r['pruned']} / {r['off_subject']} | {r['drafts']} | {f(r['supported'])} "
            f"| {r['unverified']} | {r['facts']} | {r['off_topic']} | {r['few_facts']} "
            f"| {r['broken_marks']} | {r['stray_marks']} | {r['scaffolding']} | {r['repeated_paragraphs']} "
            f"| {r['from_draft']} / {r['from_facts']} / {r['evidence']} "
            f"| {r.get('rewrites', 0)} ({r.get('rewrite_kept', 0)}) | {r['calls']} "
            f"| {r['seconds']:.0f} | {r['exit']} |"
        )
    fell = sum(1 for r in rows if r["r0"] is not None and r["rt"] is not None and r["rt"] < r["r0"])
    shares = [r["supported"] for r in rows if r["supported"] is not None]
    mean = sum(shares) / len(shares) if shares else 0.0
    # the main path: reports the model wrote, not facts set out (few facts, or the from_facts fallback)
    written = [
        r["supported"]
        for r in rows
        if r["supported"] is not None and not r["few_facts"] and not r["from_facts"]
    ]
    own = [r["own_supported"] for r in rows if r.get("own_supported") is not None]
    note = (
        f"# Long-form noise and report hygiene\n\n`PYTHONPATH=. python evals/longform_noise.py --model "
        f"{args.model} --limit {args.limit} --start {args.start}"
        + (f" --only {args.only}" if args.only else "")
        + f" --steps {args.steps} "
        f"--agent {args.agent}`\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs visible, shared with other jobs.\n\n"
        + "\n".join(table)
        + f"\n\nNoise fell (R_T < R_0) on {fell} of {len(rows)} runs; the reports' claims were "
        f"{mean:.0%} supported on average; the {len(written)} the model wrote (no facts set out): "
        + (f"{sum(written) / len(written):.0%}" if written else "n/a")
        + "; the writer's own claims (without the checked facts put in for it): "
        + (f"{sum(own) / len(own):.0%}" if own else "n/a")
        + f", {sum(r.get('facts_added', 0) for r in rows)} facts put in.\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(note, encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
