"""GPU check: an 8B-shaped LLaDA with random bf16 weights, vanilla vs prefix-cache vs dual-cache decoding.

Random weights say nothing about quality, but compute cost does not depend on the weights: this measures
forward latency, tokens/s and peak memory of the three decoding paths at generation lengths 256 and 512 with
LLaDA's one-token-per-step schedule (steps = gen_length), so NFE is equal and only the cache differs.
Without CUDA it prints a skip line and exits 0; `--tiny` runs a small configuration on CPU as a smoke test.

    python evals/dllm_gpu.py                 # on a GPU machine; writes evals/results/dllm_gpu.md
    python evals/dllm_gpu.py --tiny --out /tmp/dllm_gpu_tiny.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _sync(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _peak_gib(torch, device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0


def forward_latency(torch, model, x, device: str, repeats: int) -> float:
    """Mean seconds of one full-sequence forward (after one warm-up)."""
    with torch.no_grad():
        model(x)
        _sync(torch, device)
        started = time.perf_counter()
        for _ in range(repeats):
            model(x)
        _sync(torch, device)
    return (time.perf_counter() - started) / repeats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small model on CPU (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="markdown report path")
    parser.add_argument("--gen-lengths", type=int, nargs="+", default=None)
    parser.add_argument("--block-length", type=int, default=None)
    parser.add_argument("--prompt-length", type=int, default=None)
    args = parser.parse_args()

    import torch

    from ttd.dllm import llada
    from ttd.dllm.modeling import DiffusionTransformer, llada_8b_config

    if args.tiny:
        from ttd.dllm.toy import tiny_config

        device, dtype, config = "cpu", torch.float32, tiny_config(vocab_size=64)
        gen_lengths, block_length, prompt_length = args.gen_lengths or [32, 64], args.block_length or 8, 16
        out = args.out or ROOT / "evals" / "results" / "dllm_gpu_tiny.md"
        torch.set_num_threads(1)
    else:
        if not torch.cuda.is_available():
            print("dllm_gpu: skipped, CUDA is not available (use --tiny for a CPU smoke test)")
            return 0
        device, dtype, config = "cuda", torch.bfloat16, llada_8b_config()
        gen_lengths, block_length, prompt_length = (
            args.gen_lengths or [256, 512],
            args.block_length or 32,
            128,
        )
        out = args.out or ROOT / "evals" / "results" / "dllm_gpu.md"
    prompt_length = args.prompt_length or prompt_length

    torch.manual_seed(0)
    started = time.perf_counter()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build the weights directly in bf16 on the GPU: no fp32 copy of 8B params
    with torch.device(device):
        model = DiffusionTransformer(config).eval()
    torch.set_default_dtype(previous)
    params = sum(p.numel() for p in model.parameters())
    build_s = time.perf_counter() - started
    device_name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    prompt = torch.randint(0, config.mask_token_id, (1, prompt_length), device=device)

    rows, latency = [], []
    for gen_length in gen_lengths:
        x = torch.randint(0, config.mask_token_id, (1, prompt_length + gen_length), device=device)
        latency.append(
            (prompt_length + gen_length, forward_latency(torch, model, x, device, 3 if args.tiny else 5))
        )
        for name, fn in (
            ("vanilla", llada.generate),
            ("prefix cache", llada.generate_with_prefix_cache),
            ("dual cache", llada.generate_with_dual_cache),
        ):
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            _sync(torch, device)
            t0 = time.perf_counter()
            result = fn(
                model,
                prompt,
                steps=gen_length,
                gen_length=gen_length,
                block_length=block_length,
                mask_id=config.mask_token_id,
            )
            _sync(torch, device)
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    "gen_length": gen_length,
                    "mode": name,
                    "seconds": round(seconds, 3),
                    "nfe": result.nfe,
                    "tokens_per_s": round(gen_length / seconds, 2),
                    "peak_gib": round(_peak_gib(torch, device), 2) if device == "cuda" else "n/a",
                }
            )
            print(json.dumps(rows[-1]), flush=True)

    lines = [
        f"# dLLM decoding on {device_name}" + (" (tiny CPU smoke test)" if args.tiny else ""),
        "",
        f"LLaDA-shaped model, {params / 1e6:,.1f}M parameters, random {str(dtype).split('.')[-1]} weights "
        f"(built in {build_s:.1f}s); prompt {prompt_length} tokens, block_length {block_length}, "
        "steps = gen_length (one token per step), batch 1. Produced by `evals/dllm_gpu.py`.",
        "",
        "| sequence length | forward latency (ms) |",
        "|---:|---:|",
        *[f"| {n} | {s * 1000:.1f} |" for n, s in latency],
        "",
        "| gen_length | decoding | seconds | NFE | tokens/s | speedup | peak memory (GiB) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        base = next(r for r in rows if r["gen_length"] == row["gen_length"] and r["mode"] == "vanilla")
        lines.append(
            f"| {row['gen_length']} | {row['mode']} | {row['seconds']} | {row['nfe']} | "
            f"{row['tokens_per_s']} | "
            f"{base['seconds'] / row['seconds']:.2f}x | {row['peak_gib']} |"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
