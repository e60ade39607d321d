"""The multi-hop benchmark on the embedded local model: HotpotQA, 20 questions, baselines and TTD-DR.

Runs `ttd bench` (as `python -m ttd.cli bench`) and writes the summary with the exact
command to evals/results/bench_hotpotqa_local.md. Every run resumes, so on a small machine the systems
can run as separate processes into the same folder (`--only rag`), and `--write` recomputes the
summary from results.jsonl at any time (a partial run shows its real n per system).

    python evals/bench_hotpotqa_local.py                  # run everything, then write the summary
    python evals/bench_hotpotqa_local.py --only ttd-full  # one system (others may run in parallel)
    python evals/bench_hotpotqa_local.py --write          # only rewrite the summary from the results
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from ttd.bench import datasets, plots, summary
from ttd.bench.results import RESULTS, read_rows
from ttd.bench.runner import BenchSpec

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ["closed-book", "rag", "iterative-rag", "ttd-backbone", "ttd-full"]
OPTIONS = ["--agent", "quick", "--steps", "2", "--k", "4", "--config", "evals/bench_local.toml", "--no-judge"]


def command(systems: list[str], limit: int, model: str, out: str) -> list[str]:
    flags = [a for s in systems for a in ("--system", s)]
    head = ["ttd", "bench", "hotpotqa", *flags, "--limit", str(limit), "--model", model]
    return [*head, *OPTIONS, "--out", out]


def machine() -> str:
    """The machine this runs on (CPU model from lscpu, cores, load), never a description fixed in code."""
    model = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        lscpu = ""
    for line in lscpu.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}; "
        f"load average {load} (1, 5, 15 min) when this file was written"
    )


def write(out: Path, limit: int, model: str, cmd: list[str], result: Path) -> str:
    ids = [r.id for r in datasets.load("hotpotqa", limit)[1]]
    spec = BenchSpec(dataset="hotpotqa", systems=SYSTEMS, out=str(out), limit=limit, model=model)
    table = summary.write_summary(out, spec, "hotpotqa", SYSTEMS, {}, ids)
    plots.write_plots(out, table, read_rows(out / RESULTS))
    body = (out / "summary.md").read_text(encoding="utf-8").split("\n", 1)[1].strip()
    text = (
        "# ttd bench: HotpotQA on the embedded local model\n\n"
        "Command (from the repository root). It was run as one process per system into the same folder "
        "(`--only`, all runs resume); "
        "the summary is recomputed from results.jsonl:\n\n"
        f"```bash\n{shlex.join(cmd)}\n```\n\n"
        f"Machine: {machine()}.\n"
        "Data: HotpotQA dev distractor (normalized sample in ../shared/data), the first questions in file "
        "order; open retrieval (BM25) over the pooled paragraphs of the loaded questions. n < limit in a "
        "row means that system had not finished every question when this file was written.\n\n"
        f"{body}\n"
    )
    result.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    parser.add_argument("--out", default="evals/out/bench_hotpotqa_local")
    parser.add_argument("--result", default="evals/results/bench_hotpotqa_local.md")
    parser.add_argument("--only", action="append", help="run only these systems (repeatable)")
    parser.add_argument("--shard", help="I/N: this process takes every N-th question")
    parser.add_argument("--write", action="store_true", help="only rewrite the summary from the results")
    args = parser.parse_args()
    full = command(SYSTEMS, args.limit, args.model, args.out)
    if not args.write:
        cmd = command(args.only or SYSTEMS, args.limit, args.model, args.out)
        extra = ["--resume", *(["--shard", args.shard] if args.shard else [])]
        subprocess.run([sys.executable, "-m", "ttd.cli", *cmd[1:], *extra], cwd=ROOT, check=True)
    if args.write or not args.only:
        print(write(ROOT / args.out, args.limit, args.model, full, ROOT / args.result))


if __name__ == "__main__":
    main()
