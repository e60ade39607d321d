"""`ttd bench`: the typer app the main CLI mounts with `app.add_typer(bench_app, name="bench")`.

ttd bench hotpotqa --system rag --system ttd-full --limit 20 --model local/qwen2.5-coder-0.5b --out runs/hp
ttd bench deepconsult --system ttd-full --vs rag --limit 10 --model openai/gpt-4.1-mini --out runs/dc
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from ttd.console import err, fail
from ttd.errors import TTDError

# Listed here so that mounting this app loads no bench module (a test keeps it equal to systems.SYSTEMS).
SYSTEM_NAMES = ("closed-book", "rag", "iterative-rag", "ttd-backbone", "ttd-evolution", "ttd-full")

app = typer.Typer(add_completion=False, help="Benchmark systems on multi-hop QA and long-form research sets.")


@app.callback(invoke_without_command=True, context_settings={"allow_interspersed_args": True})
def bench(
    dataset: str = typer.Argument(
        ...,
        help="hotpotqa, musique, 2wikimultihopqa, bamboogle, frames, deepconsult, deepresearch_bench, a file",
    ),
    system: list[str] = typer.Option([], "--system", "-s", help=f"repeatable: {', '.join(SYSTEM_NAMES)}"),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="first N questions"),
    model: str | None = typer.Option(None, "--model", "-m", help="model for every role (litellm or local/)"),
    judge_model: str | None = typer.Option(None, "--judge-model", help="model for the judge role"),
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, help="questions in flight at once"),
    out: Path = typer.Option(Path("bench-out"), "--out", "-o", help="output folder"),
    resume: bool = typer.Option(False, "--resume", help="continue --out, skipping finished items"),
    executor: str = typer.Option("asyncio", "--executor", help="asyncio (one machine) or ray"),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster address (default: local)"
    ),
    vs: str | None = typer.Option(None, "--vs", help="long-form: judge --system against this one"),
    judge: bool = typer.Option(True, "--judge/--no-judge", help="LLM-judge correctness on QA sets"),
    steps: int | None = typer.Option(None, "--steps", min=0, help="denoising/search steps (ttd, IRCoT)"),
    k: int | None = typer.Option(None, "--k", min=1, help="passages per retrieval"),
    agent: str | None = typer.Option(None, "--agent", help="preset for ttd systems and defaults"),
    shard: str | None = typer.Option(None, "--shard", help="I/N: every N-th question (parallel processes)"),
    pool: str | None = typer.Option(
        None, "--pool", help="dataset or file whose paragraphs are searched (default: the whole DATASET file)"
    ),
    config: Path | None = typer.Option(None, "--config", help="a research config TOML (as for ttd research)"),
    api_base: str | None = typer.Option(None, "--api-base", help="OpenAI-compatible server URL"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run SYSTEMs over DATASET; write results.jsonl, summary.md and plots to --out."""
    from ttd.bench.runner import BenchSpec, run_bench
    from ttd.bench.summary import markdown_table

    overrides = {"judge_model": judge_model, "api_base": api_base}
    spec = BenchSpec(
        dataset=dataset,
        systems=list(system),
        out=str(out),
        limit=limit,
        model=model,
        concurrency=concurrency,
        resume=resume,
        executor=executor,
        ray_address=ray_address,
        vs=vs,
        judge=judge,
        k=k,
        steps=steps,
        agent=agent,
        config_file=str(config) if config else None,
        shard=shard,
        pool=pool,
        overrides={k: v for k, v in overrides.items() if v is not None},
    )
    try:
        from ttd import validate

        validate.writable_dir(out)  # before any work: a file or read-only folder fails in one line
        result = run_bench(spec, progress=not quiet and err.is_terminal, echo=lambda m: err.print(escape(m)))
    except TTDError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        err.print(f"interrupted; finished questions are saved: add --resume to continue in {out}")
        sys.exit(130)
    sys.stdout.write(markdown_table(result.summary["systems"]) + "\n")
    done = f"ran {result.ran}, skipped {result.skipped} finished; results in {out}/summary.md"
    err.print(done, highlight=False)
