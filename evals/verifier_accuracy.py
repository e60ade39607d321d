"""Claim verifier accuracy on labelled pairs built from HotpotQA supporting facts.

Pairs (from the official-format dev file, which keeps the sentences):
- sentence: a supporting sentence (its paragraph's title prefixed, as a draft would name the subject) vs its
  own paragraph = supported; vs the distractor paragraph sharing most words with it = unsupported.
- answer: "<question> <answer>." vs the supporting paragraphs = supported; vs the two distractor paragraphs
  sharing most words = unsupported (harder: the claim needs several facts, the distractors share entities).

With `--cited` each claim cites the passage(s) it is checked against ("... [1]."), as a report's claims
do: the check must not take a writer's mark as evidence (a negative cites its distractor).

Each mode (lexical, embed, llm with a local or hosted model) labels every pair through `ttd.claims.verify`;
the script prints accuracy, precision and recall of "supported", model calls and seconds, and writes
evals/results/verifier_accuracy.md.

    PYTHONPATH=. python evals/verifier_accuracy.py --modes lexical,embed,llm --model local/qwen2.5-0.5b
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from pathlib import Path

from ttd.claims import VerifierSettings, verify  # noqa: E402
from ttd.config import resolve_config  # noqa: E402
from ttd.llm.gateway import Gateway  # noqa: E402
from ttd.terms import terms  # noqa: E402

DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/benchmarks/hotpotqa/dev_distractor.official_format.json"
)
OUT = Path(__file__).resolve().parent / "results" / "verifier_accuracy.md"


def hardest(claim: str, candidates: list[str], paragraphs: dict[str, str], n: int = 1) -> list[str]:
    """The distractor paragraphs sharing most content words with the claim (hard negatives)."""
    words = terms(claim)
    return sorted(candidates, key=lambda t: -len(words & terms(paragraphs[t])))[:n]


def pairs(path: Path) -> list[dict]:
    """Alternating supported/unsupported pairs, sentence pairs first per question, then the answer pairs."""
    out = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        paragraphs = {t: "".join(s).strip() for t, s in item["context"]}
        sentences = {t: s for t, s in item["context"]}
        support = {t for t, _ in item["supporting_facts"]}
        distractors = [t for t in paragraphs if t not in support]

        for title, i in item["supporting_facts"]:
            if i >= len(sentences.get(title, [])):
                continue
            claim = f"{title}: {sentences[title][i].strip()}"
            out.append({"claim": claim, "passages": {title: paragraphs[title]}, "label": "supported"})
            neg = hardest(claim, distractors, paragraphs)[0]
            out.append({"claim": claim, "passages": {neg: paragraphs[neg]}, "label": "unsupported"})
        claim = f"{item['question'].rstrip('?')}? {item['answer']}."
        out.append({"claim": claim, "passages": {t: paragraphs[t] for t in support}, "label": "supported"})
        out.append(
            {
                "claim": claim,
                "passages": {t: paragraphs[t] for t in hardest(claim, distractors, paragraphs, 2)},
                "label": "unsupported",
            }
        )
    return out


def cite(claim: str, passages: int) -> str:
    """The claim ending in marks for each of its passages ("... Spurs [1][2].")."""
    return claim.rstrip().rstrip(".") + " " + "".join(f"[{n}]" for n in range(1, passages + 1)) + "."


async def label(pair: dict, mode: str, gateway: Gateway | None, cited: bool = False) -> tuple[str, int]:
    sources = {
        f"p{n}": {"id": f"p{n}", "n": n, "title": t, "text": text, "location": ""}
        for n, (t, text) in enumerate(pair["passages"].items(), 1)
    }
    claim = cite(pair["claim"], len(sources)) if cited else pair["claim"]
    claims, usage = await verify(
        claim, sources, settings=VerifierSettings(mode=mode, passage_chars=1200), gateway=gateway
    )
    statuses = [c["status"] for c in claims]
    status = "supported" if statuses and all(s == "supported" for s in statuses) else "unsupported"
    return status, len(usage)


async def evaluate(data: list[dict], mode: str, model: str | None, cited: bool = False) -> dict:
    gateway = Gateway(resolve_config(verify_model=model, temperature=0.0)) if mode == "llm" else None
    started, calls, tp, fp, fn, correct = time.perf_counter(), 0, 0, 0, 0, 0
    for pair in data:
        status, n = await label(pair, mode, gateway, cited)
        calls += n
        correct += status == pair["label"]
        tp += status == "supported" and pair["label"] == "supported"
        fp += status == "supported" and pair["label"] != "supported"
        fn += status != "supported" and pair["label"] == "supported"
    return {
        "mode": (mode if mode != "llm" else f"llm ({model})") + (", cited" if cited else ""),
        "pairs": len(data),
        "accuracy": correct / len(data),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "calls": calls,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default="lexical,embed,llm")
    ap.add_argument("--model", default="local/qwen2.5-0.5b", help="verifier model for the llm mode")
    ap.add_argument("--limit", type=int, default=240, help="pairs (at least 200 for the issue's figure)")
    ap.add_argument("--cited", action="store_true", help="each claim cites its passages, as in a report")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = pairs(args.data)[: args.limit]
    rows = [asyncio.run(evaluate(data, m.strip(), args.model, args.cited)) for m in args.modes.split(",")]
    table = [
        "| mode | pairs | accuracy | precision | recall | model calls | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['mode']} | {r['pairs']} | {r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} "
            f"| {r['calls']} | {r['seconds']:.0f} |"
        )
    print("\n".join(table))
    kinds = {p["label"] for p in data}
    note = (
        f"# Claim verifier accuracy (HotpotQA supporting facts)\n\n"
        f"`PYTHONPATH=. python evals/verifier_accuracy.py --modes {args.modes} --model {args.model} "
        f"--limit {args.limit}{' --cited' if args.cited else ''}`\n\n"
        f"{len(data)} pairs ({', '.join(sorted(kinds))}: half each), built from "
        f"{args.data.name}. Machine: {platform.machine()}, {os.cpu_count()} CPUs visible, shared with other "
        f"jobs (seconds are indicative only).\n\n" + "\n".join(table) + "\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists() and "--append" in os.environ.get("TTD_EVAL_FLAGS", ""):
        note = args.out.read_text(encoding="utf-8") + "\n" + note
    args.out.write_text(note, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
