"""Subject gate (`ttd.subject`) accuracy: which passages it lets give facts, on labelled HotpotQA paragraphs.

Per question, as in evals/relevance_accuracy.py but at the level the gate judges (a passage: its title and
text): its supporting paragraphs (on topic: the question needs them), the supporting paragraphs of another,
randomly drawn question (off topic: another subject, as Pencil was for TikTok bans) and the distractor
paragraph sharing most words with the question (chosen by HotpotQA to look relevant; some are about the
same subject, so they are counted apart, not scored). No model call: the gate is code.

A HotpotQA question is a short answer, and the gate runs only for report questions; the set measures what
the gate is built on, a passage naming the question's subject. A bridge paragraph (the second hop, which
names the bridge entity, not the question's) is on topic and often names nothing the question does: it is
the gate's known miss, counted in "on topic kept".

    PYTHONPATH=. python evals/subject_gate.py --questions 500

Prints and writes evals/results/subject_gate.md.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from ttd.subject import about, subject
from ttd.terms import terms

DATA = Path(__file__).resolve().parents[2] / "shared/data/benchmarks/hotpotqa/dev_distractor.normalized.jsonl"
OUT = Path(__file__).resolve().parent / "results" / "subject_gate.md"


def paragraphs(path: Path, questions: int, seed: int) -> list[dict]:
    """Per question: (title, text, kind) for its supporting paragraphs ("on"), another question's ("off")
    and its nearest distractor ("distractor")."""
    data = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    out = []
    for n, item in enumerate(data[:questions]):
        other = data[rng.choice([j for j in range(len(data)) if j != n])]
        support = [(p["title"], p["text"]) for p in item["paragraphs"] if p["is_supporting"]]
        other_support = [(p["title"], p["text"]) for p in other["paragraphs"] if p["is_supporting"]]
        words = terms(item["question"])
        distractors = [(p["title"], p["text"]) for p in item["paragraphs"] if not p["is_supporting"]]
        nearest = max(distractors, key=lambda p: len(words & terms(p[1])), default=None)
        rows = [(t, x, "on") for t, x in support] + [(t, x, "off") for t, x in other_support]
        rows += [(*nearest, "distractor")] if nearest else []
        out.append({"question": item["question"], "paragraphs": rows})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0, help="which other question's paragraphs are off topic")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = paragraphs(args.data, args.questions, args.seed)
    started = time.perf_counter()
    counts = {k: [0, 0] for k in ("on", "off", "distractor")}  # [kept, all]
    both = [0, 0]  # questions whose every supporting paragraph was kept, of all
    named = [0, 0]  # questions with a name in them: their supporting paragraphs kept, of all
    for item in data:
        topic = subject(item["question"])
        kept_support = []
        for title, text, kind in item["paragraphs"]:
            kept = about(topic, {"title": title, "text": text})
            counts[kind][0] += kept
            counts[kind][1] += 1
            if kind == "on":
                kept_support.append(kept)
                if topic.names:
                    named[0] += kept
                    named[1] += 1
        both[0] += all(kept_support)
        both[1] += 1
    seconds = time.perf_counter() - started
    on, off, dist = counts["on"], counts["off"], counts["distractor"]
    accuracy = (on[0] + off[1] - off[0]) / (on[1] + off[1])
    table = "\n".join(
        [
            "| questions | on topic kept | off topic dropped | accuracy (on + off) | distractors kept "
            "| questions with every supporting paragraph kept | on topic kept, questions with a name | s |",
            "|---|---|---|---|---|---|---|---|",
            f"| {len(data)} | {on[0]}/{on[1]} ({on[0] / on[1]:.0%}) | {off[1] - off[0]}/{off[1]} "
            f"({(off[1] - off[0]) / off[1]:.0%}) | {accuracy:.3f} | {dist[0]}/{dist[1]} "
            f"| {both[0]}/{both[1]} | {named[0]}/{named[1]} | {seconds:.1f} |",
        ]
    )
    command = f"PYTHONPATH=. python evals/subject_gate.py --questions {args.questions} --seed {args.seed}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# Subject gate accuracy (HotpotQA paragraphs)\n\n`{command}`\n\nBuilt from {args.data.name} (see "
        f"the script's docstring). No model call.\n\n{table}\n",
        encoding="utf-8",
    )
    print(f"{table}\nwrote {args.out}")


if __name__ == "__main__":
    main()
