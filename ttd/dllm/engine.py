"""Pick and run a sampler for a loaded model: the one place options meet the sampler functions."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ttd.dllm import deps
from ttd.dllm.loader import DiffusionLM
from ttd.errors import ConfigError

Sampler = Literal["auto", "llada", "block"]
Cache = Literal["auto", "none", "prefix", "dual"]


@dataclass(frozen=True)
class SamplerOptions:
    """Parameters named as in the LLaDA / Fast-dLLM papers; `auto` picks what the model supports."""

    sampler: Sampler = "auto"
    cache: Cache = "auto"
    gen_length: int = 128
    block_length: int = 32
    steps: int | None = None  # LLaDA: total steps (default gen_length, one token per step); block: per block
    sub_block_length: int | None = None
    temperature: float = 0.0
    cfg_scale: float = 0.0
    remasking: Literal["low_confidence", "random"] = "low_confidence"
    threshold: float | None = 0.9  # None: LLaDA's fixed schedule
    dynamic_length: bool = False  # DAEDAL: grow gen_length from block_length while the tail is not EOS
    seed: int | None = None
    cuda_graphs: bool = False  # dual cache: replay in-block steps as CUDA graphs (ttd's own models)

    @classmethod
    def from_params(cls, params: dict[str, Any], base: SamplerOptions | None = None) -> SamplerOptions:
        """Options from litellm-style params: max_tokens sets gen_length; unknown keys are ignored."""
        base = base or cls()
        names = {f.name for f in fields(cls)}
        update = {k: v for k, v in params.items() if k in names and v is not None}
        if "threshold" in params and params["threshold"] is None:
            update["threshold"] = None
        max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
        if max_tokens and "gen_length" not in update:
            update["gen_length"] = int(max_tokens)
        return replace(base, **update)


def resolved(lm: DiffusionLM, options: SamplerOptions) -> SamplerOptions:
    """Fill `auto` choices and round lengths so the block schedule divides evenly."""
    sampler = options.sampler
    if sampler == "auto":
        sampler = "block" if lm.block_diffusion else "llada"
    block_length = options.block_length
    if sampler == "block" and options.block_length == SamplerOptions.block_length and lm.family == "sdar":
        block_length = 4  # SDAR's released checkpoints are trained with 4-token blocks
    block_length = max(1, min(block_length, options.gen_length))
    gen_length = -(-options.gen_length // block_length) * block_length
    cache = options.cache
    if cache == "auto":
        cache = "dual" if lm.dual_cache else "none"
        if sampler == "block":
            cache = "prefix"
    if sampler == "llada" and cache in ("prefix", "dual") and not lm.dual_cache:
        raise ConfigError(
            f"{lm.name} does not support a KV cache (its forward takes no replace_position): use --cache none"
        )
    if sampler == "llada" and cache in ("prefix", "dual") and options.cfg_scale > 0:
        raise ConfigError("classifier-free guidance runs only without a cache: use --cache none")
    steps = options.steps
    if sampler == "llada":
        steps = steps or gen_length
        num_blocks = gen_length // block_length
        steps = max(num_blocks, -(-steps // num_blocks) * num_blocks)
    return replace(
        options, sampler=sampler, cache=cache, block_length=block_length, gen_length=gen_length, steps=steps
    )


def generate_ids(lm: DiffusionLM, prompts: list[list[int]], options: SamplerOptions) -> Any:
    """Run the chosen sampler on left-padded prompts; returns a `ttd.dllm.sampling.Generation`."""
    torch = deps.torch()
    from ttd.dllm import block, daedal, llada
    from ttd.dllm.sampling import Trace

    if options.seed is not None:
        torch.manual_seed(options.seed)
    prompt, attention_mask = lm.batch(prompts)
    opts = resolved(lm, options)
    trace = Trace(total_tokens=opts.gen_length * len(prompts))
    started = time.perf_counter()
    if opts.dynamic_length:
        length = daedal.initial_gen_length(
            lm.model,
            prompt,
            attention_mask,
            lm.mask_id,
            lm.eos_ids,
            initial_length=opts.block_length,
            max_length=opts.gen_length,
            expansion=opts.block_length,
            trace=trace,
        )
        per_token = (opts.steps or opts.gen_length) / opts.gen_length
        opts = replace(
            opts, gen_length=length, steps=max(length // opts.block_length, round(length * per_token))
        )
        opts = resolved(lm, opts)
        trace.total_tokens = opts.gen_length * len(prompts)
    common = dict(
        attention_mask=attention_mask,
        gen_length=opts.gen_length,
        block_length=opts.block_length,
        temperature=opts.temperature,
        remasking=opts.remasking,
        mask_id=lm.mask_id,
        threshold=opts.threshold,
        eos_ids=lm.eos_ids,
        trace=trace,
    )
    if opts.sampler == "block":
        out = block.generate_block_diffusion(
            lm.model,
            prompt,
            sub_block_length=opts.sub_block_length,
            steps=opts.steps,
            shift_logits=lm.shift_logits,
            use_cache=opts.cache != "none",
            **common,
        )
    elif opts.cache == "dual":
        out = llada.generate_with_dual_cache(
            lm.model, prompt, steps=opts.steps, cuda_graphs=opts.cuda_graphs, **common
        )
    elif opts.cache == "prefix":
        out = llada.generate_with_prefix_cache(lm.model, prompt, steps=opts.steps, **common)
    else:
        out = llada.generate(lm.model, prompt, steps=opts.steps, cfg_scale=opts.cfg_scale, **common)
    if lm.device.type == "cuda":
        torch.cuda.synchronize()
    out.seconds = time.perf_counter() - started
    out.nfe = trace.nfe  # includes DAEDAL's length probes
    return out


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    nfe: int
    steps: int
    seconds: float
    batch: int = 1  # sequences decoded together in the generation that produced this


def complete(lm: DiffusionLM, messages: list[dict[str, Any]], options: SamplerOptions) -> Completion:
    """One chat completion: template, sample, cut at EOS, decode."""
    prompt = lm.encode_chat(messages)
    out = generate_ids(lm, [prompt], options)
    generated = out.generated[0].tolist()
    answer = lm.answer_ids(generated)
    return Completion(
        text=lm.decode(generated),
        prompt_tokens=len(prompt),
        completion_tokens=len(answer),
        nfe=out.nfe,
        steps=out.steps,
        seconds=out.seconds,
    )


def _groups(lm: DiffusionLM, prompts: list[list[int]], options: SamplerOptions) -> list[list[int]]:
    """Indices of prompts that can share one generation.

    LLaDA-style samplers take any mix: rotary positions are relative, so left padding changes nothing.
    Block diffusion works on an absolute block grid, so only prompts whose lengths agree modulo the block
    length keep their blocks where they would be alone.
    """
    opts = resolved(lm, options)
    if opts.sampler != "block":
        return [list(range(len(prompts)))]
    by_phase: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_phase.setdefault(len(p) % opts.block_length, []).append(i)
    return list(by_phase.values())


def _run_batched(lm: DiffusionLM, prompts: list[list[int]], options: SamplerOptions) -> list[tuple]:
    """(generated ids, generation, group size) per prompt, in order."""
    results: list[tuple] = [None] * len(prompts)
    for group in _groups(lm, prompts, options):
        out = generate_ids(lm, [prompts[i] for i in group], options)
        for i, row in zip(group, out.generated.tolist(), strict=True):
            results[i] = (row, out, len(group))
    return results


def generate_batch(lm: DiffusionLM, prompts: list[list[int]], options: SamplerOptions) -> list[list[int]]:
    """Generated ids per prompt, decoded together: one forward serves every sequence of a group.

    Prompts are left-padded with a key mask, so each row attends only to its own tokens and, rotary
    positions being relative, gets the tokens it would get alone (tests check this).
    """
    return [row for row, _, _ in _run_batched(lm, prompts, options)]


def complete_batch(
    lm: DiffusionLM, conversations: list[list[dict[str, Any]]], options: SamplerOptions
) -> list[Completion]:
    """Several chat completions in batched generations; a batch's cost (NFE, seconds) is shared."""
    prompts = [lm.encode_chat(messages) for messages in conversations]
    results = []
    for prompt, (row, out, size) in zip(prompts, _run_batched(lm, prompts, options), strict=True):
        results.append(
            Completion(
                text=lm.decode(row),
                prompt_tokens=len(prompt),
                completion_tokens=len(lm.answer_ids(row)),
                nfe=out.nfe,
                steps=out.steps,
                seconds=out.seconds,
                batch=size,
            )
        )
    return results


@dataclass
class _Request:
    lm: DiffusionLM
    messages: list[dict[str, Any]]
    options: SamplerOptions
    done: threading.Event = field(default_factory=threading.Event)
    result: Completion | None = None
    error: BaseException | None = None


class Batcher:
    """Groups requests that arrive together (evolution variants, bench items) into one batched generation.

    No timer thread: the first caller to find the device idle waits `window_s` for company, then runs
    every queued request with the same model and options (up to `max_batch`) in one `complete_batch`;
    the others wait for their results. Different options run one after another, never interleaved.
    """

    def __init__(self, max_batch: int = 8, window_s: float = 0.02) -> None:
        self.max_batch, self.window_s = max_batch, window_s
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False
        self.batch_sizes: list[int] = []  # one entry per batched generation run

    def submit(self, lm: DiffusionLM, messages: list[dict[str, Any]], options: SamplerOptions) -> Completion:
        request = _Request(lm, messages, options)
        with self._cond:
            self._queue.append(request)
        while not request.done.is_set():
            with self._cond:
                while self._busy and not request.done.is_set():
                    self._cond.wait()
                if request.done.is_set():
                    break
                self._busy = True
            try:
                time.sleep(self.window_s)
                self._run_one_group()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _run_one_group(self) -> None:
        with self._cond:
            head = self._queue[0]
            group = [r for r in self._queue if r.lm is head.lm and r.options == head.options]
            group = group[: self.max_batch]
            self._queue = [r for r in self._queue if not any(r is g for g in group)]
        try:
            results = complete_batch(head.lm, [r.messages for r in group], head.options)
            self.batch_sizes.append(len(group))
            for r, res in zip(group, results, strict=True):
                r.result = res
        except BaseException as exc:  # every waiter must wake up, with the error
            for r in group:
                r.error = exc
        finally:
            for r in group:
                r.done.set()
