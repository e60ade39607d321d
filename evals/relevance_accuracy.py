"""Fact relevance check (`ttd.relevance`) accuracy on labelled facts built from HotpotQA.

Per question, shuffled into one batch as a report's facts are: sentences of its supporting facts (on topic:
the question needs them), supporting sentences of another, randomly drawn question (off topic: another
subject, as the offline corpus's George Soros was for Khosla Ventures) and sentences of the distractor
paragraph sharing most words with the question (shares words with it by construction; some are about the
same subject, so they are counted apart, not scored). The costly error is dropping an on-topic fact.

    PYTHONPATH=. python evals/relevance_accuracy.py --model local/qwen2.5-coder-1.5b --questions 25
    PYTHONPATH=. python evals/relevance_accuracy.py --model embed --questions 35 [--runs DIR ...]

`--model embed` scores the embedding check (`ttd.relevance.far_apart`, no model call) instead of a
model's labels, and `--runs` also lists, for recorded long-form runs, the report facts it leaves out (to
be read: whether each is a digression). Prints and appends to evals/results/relevance_accuracy.md: on-topic
facts kept, off-topic facts dropped, distractor sentences dropped, facts the reply left unlabelled (kept),
unreadable replies (`keep_all`), calls and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
from pathlib import Path

from ttd.config import resolve_config
from ttd.llm.gateway import Gateway
from ttd.relevance import far_apart, on_topic
from ttd.terms import terms

DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/benchmarks/hotpotqa/dev_distractor.official_format.json"
)
OUT = Path(__file__).resolve().parent / "results" / "relevance_accuracy.md"
PRONOUN = ("It ", "He ", "She ", "They ", "This ", "These ", "His ", "Her ", "Its ")


def usable(sentence: str) -> bool:
    """A sentence that can stand as a fact: long enough and not opening with a pronoun (`ttd.facts`)."""
    s = sentence.strip()
    return len(s.split()) >= 6 and not s.startswith(PRONOUN)


def items(path: Path, questions: int, seed: int) -> list[dict]:
    """Per question: its facts (text, kind) shuffled, kinds "on", "off" and "distractor"."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    out = []
    for n, item in enumerate(data):
        if len(out) == questions:
            break
        sentences = {t: s for t, s in item["context"]}
        support = {t for t, _ in item["supporting_facts"]}
        on = [
            sentences[t][i].strip()
            for t, i in item["supporting_facts"]
            if i < len(sentences.get(t, [])) and usable(sentences[t][i])
        ][:3]
        other = data[rng.choice([j for j in range(len(data)) if j != n])]
        other_sentences = {t: s for t, s in other["context"]}
        off = [
            other_sentences[t][i].strip()
            for t, i in other["supporting_facts"]
            if i < len(other_sentences.get(t, [])) and usable(other_sentences[t][i])
        ][:3]
        words = terms(item["question"])
        distractors = [t for t in sentences if t not in support]
        nearest = max(distractors, key=lambda t: len(words & terms("".join(sentences[t]))), default=None)
        near = [s.strip() for s in sentences.get(nearest, []) if usable(s)][:2] if nearest else []
        if len(on) < 2 or len(off) < 2:
            continue
        facts = [(s, "on") for s in on] + [(s, "off") for s in off] + [(s, "distractor") for s in near]
        rng.shuffle(facts)
        out.append({"question": item["question"], "facts": facts})
    return out


async def evaluate(data: list[dict], model: str) -> dict:
    gateway = None if model == "embed" else Gateway(resolve_config(verify_model=model, temperature=0.0))
    counts = {k: [0, 0] for k in ("on", "off", "distractor")}  # [dropped, all]
    started, calls, fallbacks = time.perf_counter(), 0, 0
    for item in data:
        texts = [f"{s} [{i}]." for i, (s, _) in enumerate(item["facts"], 1)]
        if gateway is None:
            result = far_apart(item["question"], texts)
        else:
            result = await on_topic(item["question"], texts, gateway)
        calls, fallbacks = calls + len(result.usage), fallbacks + result.fallbacks
        dropped = set(result.off_topic)
        for text, (_, kind) in zip(texts, item["facts"], strict=True):
            counts[kind][0] += text in dropped
            counts[kind][1] += 1
    return {
        "counts": counts,
        "calls": calls,
        "fallbacks": fallbacks,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="local/qwen2.5-coder-1.5b", help="the verifier's model")
    ap.add_argument("--questions", type=int, default=25, help="one batch of 6-8 facts per question")
    ap.add_argument("--seed", type=int, default=0, help="which other question's facts are off topic")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT, help="the results file a section is added to")
    ap.add_argument("--runs", type=Path, nargs="*", default=[], help="recorded long-form run folders")
    args = ap.parse_args()
    data = items(args.data, args.questions, args.seed)
    r = asyncio.run(evaluate(data, args.model))
    c = r["counts"]
    labelled = c["on"][1] + c["off"][1]
    correct = (c["on"][1] - c["on"][0]) + c["off"][0]
    table = "\n".join(
        [
            "| model | questions | facts | on topic kept | off topic dropped | accuracy (on + off) "
            "| distractor sentences dropped | unreadable replies | calls | seconds |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {args.model} | {len(data)} | {sum(v[1] for v in c.values())} "
            f"| {c['on'][1] - c['on'][0]}/{c['on'][1]} | {c['off'][0]}/{c['off'][1]} "
            f"| {correct / labelled:.3f} | {c['distractor'][0]}/{c['distractor'][1]} | {r['fallbacks']} "
            f"| {r['calls']} | {r['seconds']:.0f} |",
        ]
    )
    print(table)
    left_out = recorded(args.runs) if args.runs else ""
    print(left_out)
    note = (
        f"\n## `--model {args.model} --questions {args.questions} --seed {args.seed}`\n\n"
        f"Built from {args.data.name} (see the script's docstring). Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPUs visible, shared with other jobs (seconds are "
        f"indicative only).\n\n{table}\n{left_out}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8") as f:
        f.write(note)
    print(f"added to {args.out}")


def recorded(runs: list[Path]) -> str:
    """What the embedding check leaves out of recorded long-form runs' report facts, as the report stage
    gathers them from each run's last checkpoint (before the claim check), a Markdown list per run."""
    from evals.report_replay import final_state
    from ttd.run import settings
    from ttd.stages.report import evidence_for, gathered

    lines, total, dropped = ["", "Facts left out of recorded long-form runs (`--runs`):", ""], 0, 0
    for run in runs:
        config = json.loads((run / "config.json").read_text())
        config.pop("description", None)
        state = final_state(run)
        counted = evidence_for(state["question"], state.get("sources", {}), settings(**config))
        found, _ = gathered(state, counted)
        out = far_apart(state["question"], found)
        total, dropped = total + len(found), dropped + len(out.off_topic)
        lines.append(f"- {run.name}: {len(out.off_topic)} of {len(found)}")
        lines += [f"  - {fact}" for fact in out.off_topic]
    lines.append(f"\n{dropped} of {total} facts left out on {len(runs)} runs.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
