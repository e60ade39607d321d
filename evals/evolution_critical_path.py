"""Self-evolution overhead: wall time of a full run against its critical path.

A scripted provider sleeps a fixed time per call, so the critical path is known exactly: the number of
sequential waves of calls (per evolved component: samples, judgements, s x (revisions, judgements), merge;
one wave for each plain call) times the delay. Variants that really run concurrently give a ratio near 1;
run with --concurrency 1 to see what sequential variants would cost.

    python evals/evolution_critical_path.py [--agent full] [--steps 3] [--delay 0.25] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import ttd  # noqa: E402
from ttd.config import ROLES, resolve_config  # noqa: E402
from ttd.llm import scripted  # noqa: E402


def waves(config: ttd.ResearchConfig, component: str) -> int:
    n, s = config.evolution.n[component], config.evolution.s[component]
    if n == 1 and s == 0:
        return 1
    return 2 + 2 * s + (1 if n > 1 and component != "question" else 0)


def critical_path_waves(config: ttd.ResearchConfig, steps_run: int) -> int:
    per_step = waves(config, "question") + waves(config, "answer") + (1 if config.denoise else 0)
    return (
        waves(config, "plan") + (1 if config.denoise else 0) + steps_run * per_step + waves(config, "report")
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default="full")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.25)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    handler = scripted.install()
    handler.delay = args.delay
    models = {f"{r}_model": f"scripted/{r}" for r in ROLES}
    config = resolve_config(agent=args.agent, steps=args.steps, concurrency=args.concurrency, **models)
    with tempfile.TemporaryDirectory() as out:
        os.environ.setdefault("TTD_HOME", out)
        ttd.research("warm-up: load the index", steps=0, out=out, **models)  # index load outside the timing
        handler.calls.clear()
        started = time.perf_counter()
        report = ttd.research(
            "What caused the fall of the Western Roman Empire?",
            agent=args.agent,
            steps=args.steps,
            concurrency=args.concurrency,
            out=out,
            **models,
        )
        wall = time.perf_counter() - started
    n_waves = critical_path_waves(config, len(report.trajectory.steps))
    critical = n_waves * args.delay
    print(f"agent={args.agent} steps={args.steps} concurrency={args.concurrency} delay={args.delay}s")
    print(f"model calls          {len(handler.calls)}")
    print(f"sequential waves     {n_waves}")
    print(f"critical path        {critical:.2f} s")
    print(f"wall time            {wall:.2f} s")
    print(f"wall / critical path {wall / critical:.3f}   (target <= 1.25)")


if __name__ == "__main__":
    main()
