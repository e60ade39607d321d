"""`ttd dllm generate` and `ttd dllm bench`: run a diffusion LM directly, outside a research run."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ttd.dllm.engine import SamplerOptions
from ttd.events import ProgressEvent, listen

app = typer.Typer(
    help="Local masked-diffusion language models (LLaDA, Dream, Fast-dLLM v2, SDAR).", no_args_is_help=True
)
console = Console()

ModelArg = Annotated[str, typer.Argument(help="hub id (GSAI-ML/LLaDA-8B-Instruct) or local model directory")]


def _options(
    sampler: str,
    cache: str,
    gen_length: int,
    block_length: int,
    steps: int | None,
    sub_block_length: int | None,
    temperature: float,
    cfg_scale: float,
    remasking: str,
    threshold: float,
    dynamic_length: bool,
    seed: int | None,
) -> SamplerOptions:
    return SamplerOptions(
        sampler=sampler,
        cache=cache,
        gen_length=gen_length,
        block_length=block_length,
        steps=steps,  # type: ignore[arg-type]
        sub_block_length=sub_block_length,
        temperature=temperature,
        cfg_scale=cfg_scale,
        remasking=remasking,
        threshold=threshold if threshold > 0 else None,  # type: ignore[arg-type]
        dynamic_length=dynamic_length,
        seed=seed,
    )


@app.command()
def generate(
    model: ModelArg,
    prompt: Annotated[str, typer.Argument(help="the user message")],
    sampler: Annotated[str, typer.Option(help="auto, llada or block")] = "auto",
    cache: Annotated[str, typer.Option(help="auto, none, prefix or dual")] = "auto",
    gen_length: Annotated[int, typer.Option(help="tokens to generate (masked positions)")] = 128,
    block_length: Annotated[int, typer.Option(help="semi-autoregressive block size")] = 32,
    steps: Annotated[
        int | None, typer.Option(help="denoising steps (LLaDA: total; block: per block)")
    ] = None,
    sub_block_length: Annotated[int | None, typer.Option(help="block diffusion sub-block size")] = None,
    temperature: Annotated[float, typer.Option(help="Gumbel-max sampling temperature; 0 is greedy")] = 0.0,
    cfg_scale: Annotated[float, typer.Option(help="classifier-free guidance scale (no cache)")] = 0.0,
    remasking: Annotated[str, typer.Option(help="low_confidence or random")] = "low_confidence",
    threshold: Annotated[
        float, typer.Option(help="confidence threshold for parallel decoding; 0 = fixed schedule")
    ] = 0.9,
    dynamic_length: Annotated[
        bool, typer.Option(help="DAEDAL: grow gen_length while the tail is not EOS")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
) -> None:
    """Generate one answer and show the denoising progress."""
    from ttd.dllm.engine import complete
    from ttd.dllm.loader import load_model

    options = _options(
        sampler,
        cache,
        gen_length,
        block_length,
        steps,
        sub_block_length,
        temperature,
        cfg_scale,
        remasking,
        threshold,
        dynamic_length,
        seed,
    )
    with console.status(f"loading {model}") as status:
        lm = load_model(model)

        def show(event: ProgressEvent) -> None:
            if event.kind == "dllm_step":
                status.update(f"step {event.step}: {event.detail}")

        with listen(show):
            result = complete(lm, [{"role": "user", "content": prompt}], options)
    console.print(result.text, markup=False, highlight=False)
    console.print(
        f"[dim]{result.completion_tokens} tokens, {result.nfe} forwards, {result.steps} steps, "
        f"{result.seconds:.2f}s[/dim]"
    )


def bench_settings(
    options: SamplerOptions, block_model: bool, dual_cache: bool
) -> list[tuple[str, SamplerOptions]]:
    """The sampler settings `bench` compares: baseline, Fast-dLLM threshold, and each cache it supports."""
    t = options.threshold or 0.9
    if block_model:
        return [
            (
                "block, 1 token/step",
                replace(options, sampler="block", threshold=None, steps=options.block_length),
            ),
            (f"block, threshold {t}", replace(options, sampler="block", threshold=t, cache="prefix")),
            (f"block, threshold {t}, no cache", replace(options, sampler="block", threshold=t, cache="none")),
        ]
    settings = [
        ("llada, 1 token/step", replace(options, sampler="llada", threshold=None, steps=None, cache="none")),
        (f"threshold {t}", replace(options, sampler="llada", threshold=t, cache="none")),
    ]
    if dual_cache:
        settings += [
            (f"threshold {t} + prefix cache", replace(options, sampler="llada", threshold=t, cache="prefix")),
            (f"threshold {t} + dual cache", replace(options, sampler="llada", threshold=t, cache="dual")),
        ]
    return settings


@app.command()
def bench(
    model: ModelArg,
    prompt: Annotated[str, typer.Option(help="the user message")] = "Write a short poem about diffusion.",
    gen_length: Annotated[int, typer.Option(help="tokens to generate")] = 64,
    block_length: Annotated[int, typer.Option(help="block size")] = 32,
    threshold: Annotated[float, typer.Option(help="parallel-decoding confidence threshold")] = 0.9,
    repeats: Annotated[int, typer.Option(help="runs per setting; the best time counts")] = 1,
) -> None:
    """Compare tokens/s, forwards (NFE) and tokens per forward across sampler settings."""
    from ttd.dllm.engine import generate_ids
    from ttd.dllm.loader import load_model

    with console.status(f"loading {model}"):
        lm = load_model(model)
    base = SamplerOptions(gen_length=gen_length, block_length=block_length, threshold=threshold)
    ids = lm.encode_chat([{"role": "user", "content": prompt}])
    table = Table(title=f"{model} on {lm.device.type}, gen_length {gen_length}, block_length {block_length}")
    for col in ("setting", "tokens/s", "NFE", "tokens/forward", "seconds", "answer tokens"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    generate_ids(lm, [ids], replace(base, gen_length=block_length))  # warm-up (allocator, kernels)
    for name, options in bench_settings(base, lm.block_diffusion, lm.dual_cache):
        runs = [generate_ids(lm, [ids], options) for _ in range(max(1, repeats))]
        best = min(runs, key=lambda r: r.seconds)
        tokens = best.generated.shape[1]
        answer = len(lm.answer_ids(best.generated[0].tolist()))
        table.add_row(
            name,
            f"{tokens / max(best.seconds, 1e-9):.1f}",
            str(best.nfe),
            f"{tokens / max(best.nfe, 1):.2f}",
            f"{best.seconds:.3f}",
            str(answer),
        )
    console.print(table)
