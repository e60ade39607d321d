"""The embedded engine, measured: install without a compiler, tok/s, concurrency, threads, a default run.

    PYTHONPATH=$PWD python evals/local_engine.py                       # everything (~30-40 min on 2 cores)
    PYTHONPATH=$PWD python evals/local_engine.py --skip-install --steps 1 --sections engine,threads

Writes evals/results/local_engine.md. Every figure carries the 1-minute load average when it was taken:
on a shared machine "quiet" is not quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "evals" / "results" / "local_engine.md"
QUESTION = "What caused the fall of the Western Roman Empire?"
PROMPT = (
    "Summarise the causes usually given for the fall of the Western Roman Empire: fiscal strain, "
    "the army, migrations, civil wars, and the division of the empire. "
) * 12


def load() -> float:
    return round(os.getloadavg()[0], 2)


def busy_neighbour() -> subprocess.Popen:
    """One bounded busy process, as in the issue: a shell spinning on a core for at most 900 s.

    It runs in a session of its own so `stop` ends the spinning shell too, not only `timeout`."""
    return subprocess.Popen(["timeout", "900", "sh", "-c", "while :; do :; done"], start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def measure_install() -> list[str]:
    """`pip install ".[local]"` into a fresh venv with CC/CXX set to /bin/false: any compile would fail."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
        env = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false"}
        before = load()
        started = time.perf_counter()
        proc = subprocess.run(
            [*pip, "install", ".[local]"], cwd=REPO, env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        log = proc.stdout + proc.stderr
        built = re.findall(r"Building wheel for (\S+)", log)
        cached = len(re.findall(r"Using cached", log))
        downloaded = len(re.findall(r"Downloading ", log))
    return [
        "## Install",
        "",
        "| what | figure |",
        "|---|---|",
        f'| `pip install ".[local]"` into a fresh venv, wall | {wall:.0f} s (exit {proc.returncode}) |',
        "| compiler | CC=/bin/false CXX=/bin/false during the install: any C/C++ build would have failed |",
        f"| wheels built from source | {', '.join(built) or 'none'} (ttd-dr itself is pure Python) |",
        f"| pip cache | {cached} files from pip's cache, {downloaded} downloaded (a warm cache is faster) |",
        f"| load average before | {before} |",
        "",
    ]


def _engine(model: str, parallel: int, threads: int | None = None, env: dict[str, str] | None = None):
    """A worker started with `threads` (TTD_THREADS) and extra environment, restored afterwards."""
    from ttd.llm.local import Engine

    changes = {**(env or {}), **({"TTD_THREADS": str(threads)} if threads else {})}
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        return Engine(model, parallel)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def _chat(url: str, prompt: str, n: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=None) as client:
        body = {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": n,
            "temperature": 0.4,
            "cache_prompt": False,
            "ignore_eos": True,
        }
        reply = await client.post("/v1/chat/completions", json=body)
        return reply.json()


def measure_engine(model: str, tokens: int) -> list[str]:
    """1 request (prefill and generation tok/s from the server's timings), then 4 at once (aggregate)."""
    engine = _engine(model, 4)
    try:
        asyncio.run(_chat(engine.url, "Hi", 4))  # warm up
        l1 = load()
        one = asyncio.run(_chat(engine.url, PROMPT, tokens))["timings"]
        l4 = load()
        started = time.perf_counter()

        async def four():
            return await asyncio.gather(*(_chat(engine.url, f"({i}) " + PROMPT, tokens) for i in range(4)))

        many = asyncio.run(four())
        wall = time.perf_counter() - started
    finally:
        engine.close()
    gen_1 = one["predicted_per_second"]
    generated = sum(r["timings"]["predicted_n"] for r in many)
    prefill_s = max(r["timings"]["prompt_ms"] for r in many) / 1000
    agg = generated / wall
    agg_decode = generated / max(wall - prefill_s, 1e-9)
    return [
        f"## Engine throughput ({model}, threads {engine.threads}, {tokens} tokens per request)",
        "",
        "| measure | tok/s | load avg |",
        "|---|---|---|",
        f"| 1 request: prefill ({one['prompt_n']} tokens) | {one['prompt_per_second']:.1f} | {l1} |",
        f"| 1 request: generation | {gen_1:.1f} | {l1} |",
        f"| 4 concurrent: aggregate generation, whole wall incl. their prefill | {agg:.1f} | {l4} |",
        f"| 4 concurrent: aggregate generation after the last prefill | {agg_decode:.1f} | {l4} |",
        f"| ratio 4 concurrent / 1 (after prefill) | {agg_decode / gen_1:.2f}x | |",
        "",
    ]


def measure_threads(model: str, tokens: int) -> list[str]:
    """Decode and prefill tok/s for how OpenMP threads wait, quiet and beside 1 and 3 busy neighbours."""
    from ttd.llm.local import cpu_count

    cores = cpu_count()
    policies = [
        ("passive (sleep at once)", {"OMP_WAIT_POLICY": "passive"}),
        ("active (spin forever)", {"OMP_WAIT_POLICY": "active"}),
        ("unset (GOMP default: spin 300k, then sleep)", {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "300000"}),
        ("unset, GOMP_SPINCOUNT=30000", {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "30000"}),
        ("unset, GOMP_SPINCOUNT=3000", {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "3000"}),
    ]
    rows = [f"## Threads: {cores} threads, 1 request, decode / prefill tok/s", ""]
    rows += ["| OpenMP wait | quiet | 1 neighbour | 3 neighbours |", "|---|---|---|---|"]
    for label, env in policies:
        cells = []
        for hogs in (0, 1, 3):
            procs = [busy_neighbour() for _ in range(hogs)]
            try:
                engine = _engine(model, 1, cores, env)
                try:
                    asyncio.run(_chat(engine.url, "Hi", 4))
                    t = asyncio.run(_chat(engine.url, PROMPT[:1200], tokens))["timings"]
                    cells.append(f"{t['predicted_per_second']:.2f} / {t['prompt_per_second']:.1f}")
                finally:
                    engine.close()
            finally:
                for proc in procs:
                    stop(proc)
        rows.append(f"| {label} | {' | '.join(cells)} |")
        print(rows[-1], flush=True)
    return [*rows, ""]


def research(model: str, steps: int | None, neighbour: bool, seed: int | None = None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="ttd-engine-bench-"))
    cmd = [sys.executable, "-m", "ttd.cli", "research", QUESTION, "--quiet", "--out", str(out), "-f", "json"]
    cmd += ["--model", model] + (["--steps", str(steps)] if steps else [])
    if seed is not None:  # the same samples in both runs: equal work, so the wall ratio is the engine's
        (out / "seed.toml").write_text(f"seed = {seed}\n")
        cmd += ["--config", str(out / "seed.toml")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    hog = busy_neighbour() if neighbour else None
    before = load()
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    finally:
        if hog:
            stop(hog)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"research run failed: {proc.stderr[-500:]}")
    report = json.loads(proc.stdout)
    total = report["usage"]["total"]
    return {"wall": wall, "load": (before, load()), "total": total, "calls": len(report["usage"]["calls"])}


def measure_research(model: str, steps: int | None, seed: int | None = None) -> list[str]:
    quiet = research(model, steps, neighbour=False, seed=seed)
    busy = research(model, steps, neighbour=True, seed=seed)
    sent = quiet["total"]["prompt_tokens"]
    cached = quiet["total"].get("prompt_tokens_cached", 0)

    def row(name: str, r: dict) -> str:
        t = r["total"]
        evaluated = t["prompt_tokens"] - t.get("prompt_tokens_cached", 0)
        return (
            f"| {name} | {r['wall']:.0f} s | {r['calls']} | {t['completion_tokens']} | {evaluated} "
            f"| {r['load'][0]} -> {r['load'][1]} |"
        )

    return [
        f'## `ttd research "{QUESTION}"` ({model}, steps {steps or "preset"}, seed {seed})',
        "",
        "| run | wall | calls | tokens generated | prompt tokens evaluated | load avg start -> end |",
        "|---|---|---|---|---|---|",
        row("quiet", quiet),
        row("one busy neighbour", busy),
        f"| ratio | {busy['wall'] / quiet['wall']:.2f}x | | | | |",
        "",
        "| prompt tokens (quiet run) | figure |",
        "|---|---|",
        f"| sent | {sent} |",
        f"| served from the prefix cache | {cached} ({100 * cached / max(sent, 1):.0f}%) |",
        f"| evaluated (prefilled) | {sent - cached} |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the preset's)")
    parser.add_argument("--tokens", type=int, default=64, help="tokens generated per throughput request")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--sections", default="install,engine,threads,research")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=None, help="sampling seed for both research runs")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    name = args.model.split("/", 1)[1]
    lines = [
        "# Local engine benchmark (evals/local_engine.py)",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other jobs: the load average next to each figure",
        "says how busy it was. Figures from one run of the script; rerun on a quiet machine for clean",
        "numbers.",
        "",
    ]
    if "install" in sections and not args.skip_install:
        lines += measure_install()
        print("\n".join(lines), flush=True)
    if "engine" in sections:
        lines += measure_engine(name, args.tokens)
        print("\n".join(lines[-10:]), flush=True)
    if "threads" in sections:
        lines += measure_threads(name, args.tokens)
        print("\n".join(lines[-6:]), flush=True)
    if "research" in sections:
        lines += measure_research(args.model, args.steps, args.seed)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
