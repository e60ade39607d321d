"""LLaDA's semi-autoregressive sampler and Fast-dLLM's cached variants of it.

All three functions decode `gen_length` masked positions after the prompt in blocks of `block_length`,
left to right; inside a block they unmask a few positions per step. `threshold=None` is LLaDA's fixed
schedule (`steps // num_blocks` steps per block); a threshold is Fast-dLLM's confidence-aware parallel
decoding, which keeps stepping until the block is filled. They differ only in what each forward sees:

- `generate`: the whole sequence every step (LLaDA; optional classifier-free guidance).
- `generate_with_prefix_cache`: one full forward per block, then the block and everything after it with the
  prompt-and-earlier-blocks keys and values reused (Fast-dLLM's approximate prefix cache).
- `generate_with_dual_cache`: one full forward per block, then only the block, reusing the cached keys and
  values of both the prefix and the masked suffix (Fast-dLLM's DualCache; needs `replace_position`).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ttd.dllm.graphs import StaticDualStep
from ttd.dllm.sampling import Generation, Remasking, Trace, get_num_transfer_tokens, get_transfer_index
from ttd.errors import ConfigError


def check_lengths(steps: int, gen_length: int, block_length: int) -> int:
    """Steps per block, after checking the schedule divides evenly."""
    if gen_length <= 0 or block_length <= 0 or steps <= 0:
        raise ConfigError("gen_length, block_length and steps must be positive")
    if gen_length % block_length:
        raise ConfigError(f"gen_length {gen_length} is not a multiple of block_length {block_length}")
    num_blocks = gen_length // block_length
    if steps % num_blocks:
        raise ConfigError(f"steps {steps} is not a multiple of the number of blocks {num_blocks}")
    return steps // num_blocks


def _init(prompt: torch.Tensor, attention_mask: torch.Tensor | None, gen_length: int, mask_id: int) -> tuple:
    x = torch.full(
        (prompt.shape[0], prompt.shape[1] + gen_length), mask_id, dtype=torch.long, device=prompt.device
    )
    x[:, : prompt.shape[1]] = prompt
    if attention_mask is not None:
        ones = torch.ones((prompt.shape[0], gen_length), dtype=attention_mask.dtype, device=prompt.device)
        attention_mask = torch.cat([attention_mask, ones], dim=-1)
    return x, attention_mask


def answer_ended(x: torch.Tensor, start: int, end: int, eos_ids: tuple[int, ...]) -> bool:
    """True when every row's answer so far holds an EOS followed only by EOS, up to `end`.

    LLaDA-style models pad the answer with EOS to the fixed length, so once a finished block ends the
    answer, the remaining blocks would only decode padding: stopping there saves their forwards.
    """
    if not eos_ids:
        return False
    region = x[:, start:end]
    is_eos = torch.isin(region, torch.tensor(eos_ids, device=x.device))
    if not bool(is_eos[:, -1].all()):
        return False
    first = torch.where(
        is_eos.any(dim=1),
        is_eos.float().argmax(dim=1),
        torch.full_like(is_eos[:, 0], 10**9, dtype=torch.long),
    )
    cols = torch.arange(region.shape[1], device=x.device).unsqueeze(0)
    return bool(((cols < first.unsqueeze(1)) | is_eos).all())


def _fill_rest(x: torch.Tensor, start: int, eos_ids: tuple[int, ...]) -> None:
    x[:, start:] = eos_ids[0]


def forward_params(model: Any) -> set[str]:
    """Names of the keyword arguments a model's forward takes explicitly (not through **kwargs)."""
    fn = getattr(model, "forward", model)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    return {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD}


class BlockLogits:
    """Calls the model and returns the logits of one slice of its input only.

    When the forward takes `logits_range` (ttd's own model) the output head runs on that slice alone;
    otherwise the full logits are sliced. Either way the sampler's softmax, Gumbel noise and top-k see
    (B, block, vocab), never (B, L, vocab): their cost no longer grows with the sequence.
    """

    def __init__(self, model: Any) -> None:
        params = forward_params(model)
        self.model = model
        self.ranged = "logits_range" in params
        self.replace_range = "replace_range" in params

    def __call__(self, ids: torch.Tensor, start: int, end: int, **kwargs: Any) -> tuple[Any, torch.Tensor]:
        with torch.profiler.record_function("ttd.dllm.forward"):
            if self.ranged:
                out = self.model(ids, logits_range=(start, end), **kwargs)
                return out, out.logits
            out = self.model(ids, **kwargs)
            return out, out.logits[:, start:end]


@torch.no_grad()
def generate(
    model: Any,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    steps: int = 128,
    gen_length: int = 128,
    block_length: int = 128,
    temperature: float = 0.0,
    cfg_scale: float = 0.0,
    remasking: Remasking = "low_confidence",
    mask_id: int = 126336,
    threshold: float | None = None,
    eos_ids: tuple[int, ...] = (),
    trace: Trace | None = None,
) -> Generation:
    """LLaDA semi-autoregressive remasking; every forward sees the whole sequence.

    cfg_scale > 0 adds unsupervised classifier-free guidance: a second pass with the prompt masked out,
    combined as `un + (cfg_scale + 1) * (cond - un)`.
    """
    trace = trace or Trace(total_tokens=gen_length * prompt.shape[0])
    steps_per_block = check_lengths(steps, gen_length, block_length)
    x, attention_mask = _init(prompt, attention_mask, gen_length, mask_id)
    prompt_index = x != mask_id
    lp = prompt.shape[1]
    call = BlockLogits(model)
    for num_block in range(gen_length // block_length):
        s, e = lp + num_block * block_length, lp + (num_block + 1) * block_length
        num_transfer_tokens = get_num_transfer_tokens(x[:, s:e] == mask_id, steps_per_block)
        i = 0
        while (x[:, s:e] == mask_id).any():
            mask_blk = x[:, s:e] == mask_id  # earlier blocks are done, later ones wait: only this block
            if cfg_scale > 0.0:
                un_x = x.clone()
                un_x[prompt_index] = mask_id
                am = None if attention_mask is None else torch.cat([attention_mask, attention_mask])
                _, both = call(torch.cat([x, un_x]), s, e, attention_mask=am)
                logits, un_logits = torch.chunk(both, 2, dim=0)
                logits = un_logits + (cfg_scale + 1) * (logits - un_logits)
            else:
                _, logits = call(x, s, e, attention_mask=attention_mask)
            trace.forward()
            quota = None if threshold is not None else num_transfer_tokens[:, min(i, steps_per_block - 1)]
            x0, transfer_index = get_transfer_index(
                logits, temperature, remasking, mask_blk, x[:, s:e], quota, threshold, mask_id
            )
            x[:, s:e][transfer_index] = x0[transfer_index]
            trace.step(int(transfer_index.sum()), num_block)
            i += 1
        if answer_ended(x, lp, e, eos_ids):
            _fill_rest(x, e, eos_ids)
            break
    return Generation(x, lp, trace.nfe, trace.steps)


def _crop(past_key_values: Any, length: int) -> Any:
    """Keep the first `length` positions of a cache (tuple-of-layers or a transformers Cache)."""
    if hasattr(past_key_values, "crop"):
        past_key_values.crop(length)
        return past_key_values
    return tuple((k[:, :, :length], v[:, :, :length]) for k, v in past_key_values)


@torch.no_grad()
def generate_with_prefix_cache(
    model: Any,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    steps: int = 128,
    gen_length: int = 128,
    block_length: int = 128,
    temperature: float = 0.0,
    remasking: Remasking = "low_confidence",
    mask_id: int = 126336,
    threshold: float | None = None,
    eos_ids: tuple[int, ...] = (),
    trace: Trace | None = None,
) -> Generation:
    """Fast-dLLM prefix cache: refresh the cache once per block, then forward only the block onward.

    The prefix's keys and values barely change while one block is denoised (Fast-dLLM, Fig. 3), so they
    are computed at the block's first step and reused; exact for a one-layer model, approximate otherwise.
    """
    trace = trace or Trace(total_tokens=gen_length * prompt.shape[0])
    steps_per_block = check_lengths(steps, gen_length, block_length)
    x, attention_mask = _init(prompt, attention_mask, gen_length, mask_id)
    lp = prompt.shape[1]
    call = BlockLogits(model)
    for num_block in range(gen_length // block_length):
        s, e = lp + num_block * block_length, lp + (num_block + 1) * block_length
        num_transfer_tokens = get_num_transfer_tokens(x[:, s:e] == mask_id, steps_per_block)
        output, logits = call(x, s, e, attention_mask=attention_mask, use_cache=True)
        trace.forward()
        quota = None if threshold is not None else num_transfer_tokens[:, 0]
        x0, transfer_index = get_transfer_index(
            logits, temperature, remasking, x[:, s:e] == mask_id, x[:, s:e], quota, threshold, mask_id
        )
        x[:, s:e][transfer_index] = x0[transfer_index]
        trace.step(int(transfer_index.sum()), num_block)
        if call.replace_range:
            # Keep the full-length cache and overwrite [s, L) in place each step: the same keys as
            # concatenating the prefix with fresh ones, without copying the prefix every step.
            past_key_values, cached = output.past_key_values, {"replace_range": (s, x.shape[1])}
        else:
            past_key_values, cached = _crop(output.past_key_values, s), {}
        i = 1
        while (x[:, s:e] == mask_id).any():
            mask_blk = x[:, s:e] == mask_id
            _, logits = call(
                x[:, s:],
                0,
                block_length,
                attention_mask=attention_mask,
                past_key_values=past_key_values,
                use_cache=True,
                **cached,
            )
            trace.forward()
            quota = None if threshold is not None else num_transfer_tokens[:, min(i, steps_per_block - 1)]
            x0, transfer_index = get_transfer_index(
                logits, temperature, remasking, mask_blk, x[:, s:e], quota, threshold, mask_id
            )
            x[:, s:e][transfer_index] = x0[transfer_index]
            trace.step(int(transfer_index.sum()), num_block)
            i += 1
        if answer_ended(x, lp, e, eos_ids):
            _fill_rest(x, e, eos_ids)
            break
    return Generation(x, lp, trace.nfe, trace.steps)


@torch.no_grad()
def generate_with_dual_cache(
    model: Any,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    steps: int = 128,
    gen_length: int = 128,
    block_length: int = 128,
    temperature: float = 0.0,
    remasking: Remasking = "low_confidence",
    mask_id: int = 126336,
    threshold: float | None = None,
    eos_ids: tuple[int, ...] = (),
    trace: Trace | None = None,
    cuda_graphs: bool = False,
) -> Generation:
    """Fast-dLLM DualCache: cache prefix and masked suffix once per block, then forward only the block.

    The model's forward must accept `replace_position` (B, L) bool: the positions whose keys and values
    the input replaces in a cache that spans the whole sequence. `cuda_graphs` replays the in-block steps
    as CUDA graphs (`ttd.dllm.graphs`) for models that take `replace_range`; on CPU it runs the same
    static-buffer path eagerly.
    """
    trace = trace or Trace(total_tokens=gen_length * prompt.shape[0])
    steps_per_block = check_lengths(steps, gen_length, block_length)
    x, attention_mask = _init(prompt, attention_mask, gen_length, mask_id)
    lp = prompt.shape[1]
    call = BlockLogits(model)
    graphed = StaticDualStep(model) if cuda_graphs and call.replace_range else None
    for num_block in range(gen_length // block_length):
        s, e = lp + num_block * block_length, lp + (num_block + 1) * block_length
        num_transfer_tokens = get_num_transfer_tokens(x[:, s:e] == mask_id, steps_per_block)
        output, logits = call(x, s, e, attention_mask=attention_mask, use_cache=True)
        trace.forward()
        past_key_values = output.past_key_values
        if call.replace_range:
            replace: dict[str, Any] = {"replace_range": (s, e)}
        else:
            replace_position = torch.zeros_like(x, dtype=torch.bool)
            replace_position[:, s:e] = True
            replace = {"replace_position": replace_position}
        quota = None if threshold is not None else num_transfer_tokens[:, 0]
        x0, transfer_index = get_transfer_index(
            logits, temperature, remasking, x[:, s:e] == mask_id, x[:, s:e], quota, threshold, mask_id
        )
        x[:, s:e][transfer_index] = x0[transfer_index]
        trace.step(int(transfer_index.sum()), num_block)
        if graphed is not None:
            graphed.load(past_key_values, attention_mask)
        i = 1
        while (x[:, s:e] == mask_id).any():
            mask_blk = x[:, s:e] == mask_id
            if graphed is not None:
                logits = graphed(x[:, s:e], s, e)
            else:
                logits = model(
                    x[:, s:e],
                    attention_mask=attention_mask,
                    past_key_values=past_key_values,
                    use_cache=True,
                    **replace,
                ).logits
            trace.forward()
            quota = None if threshold is not None else num_transfer_tokens[:, min(i, steps_per_block - 1)]
            x0, transfer_index = get_transfer_index(
                logits, temperature, remasking, mask_blk, x[:, s:e], quota, threshold, mask_id
            )
            x[:, s:e][transfer_index] = x0[transfer_index]
            trace.step(int(transfer_index.sum()), num_block)
            i += 1
        if answer_ended(x, lp, e, eos_ids):
            _fill_rest(x, e, eos_ids)
            break
    return Generation(x, lp, trace.nfe, trace.steps)
