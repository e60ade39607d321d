"""Block diffusion (Fast-dLLM v2, SDAR): autoregressive over blocks, diffusion inside a block.

Attention is block-causal: a position sees its own block and every earlier block, never a later one. So the
keys and values of finished blocks never change and are cached exactly, as in an AR model, while the
current block is denoised in parallel. Fast-dLLM v2 further splits a block into sub-blocks decoded left to
right, committing every position over a confidence threshold (at least one per step); SDAR uses whole
blocks with a fixed number of steps per block, or the same threshold rule. Models adapted from an AR
checkpoint with token shift (Fast-dLLM v2, Dream) predict position i from the output at i - 1:
`shift_logits=True`. The block grid is absolute (block k covers [k * block_length, (k + 1) * block_length)),
so the prompt's last partial block is denoised together with the first generated tokens.
"""

from __future__ import annotations

from typing import Any

import torch

from ttd.dllm.llada import answer_ended, forward_params
from ttd.dllm.sampling import Generation, Remasking, Trace, get_num_transfer_tokens, get_transfer_index
from ttd.errors import ConfigError


def block_causal_mask(
    q_start: int,
    q_end: int,
    k_end: int,
    block_length: int,
    key_padding: torch.Tensor | None,
    batch: int,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(B, 1, q, k) bool: query i may attend key j when j's block is not after i's (and j is not padding).

    Built on `device` (the ids' device), else on key_padding's: without padding, torch's default device
    (the CPU) would hand SDPA a CPU mask for CUDA tensors.
    """
    if device is None:
        device = key_padding.device if key_padding is not None else None
    q_block = torch.arange(q_start, q_end, device=device) // block_length
    k_block = torch.arange(0, k_end, device=device) // block_length
    mask = (k_block.unsqueeze(0) <= q_block.unsqueeze(1)).unsqueeze(0).unsqueeze(0).expand(batch, 1, -1, -1)
    if key_padding is not None:
        mask = mask & key_padding[:, None, None, :k_end].bool()
    return mask


class _Runner:
    """Calls the model on a slice and keeps or discards the keys and values it produced."""

    def __init__(self, model: Any, key_padding: torch.Tensor | None, block_length: int, batch: int) -> None:
        self.model, self.key_padding, self.block_length, self.batch = model, key_padding, block_length, batch
        params = forward_params(model)
        self.store_kwarg = "store_kv" in params  # SDAR's forward: keep this block's KV or not
        self.ranged = "logits_range" in params  # head only over the positions the sampler reads
        self.cache: Any = None
        self.cached = 0

    def __call__(self, x: torch.Tensor, start: int, end: int, store: bool, use_cache: bool) -> torch.Tensor:
        first = self.cached if use_cache else 0
        ids = x[:, first:end]
        mask = block_causal_mask(
            first, end, end, self.block_length, self.key_padding, self.batch, device=x.device
        )
        positions = torch.arange(first, end, device=x.device).unsqueeze(0).expand(self.batch, -1)
        kwargs: dict[str, Any] = {"attention_mask": mask, "position_ids": positions}
        if use_cache:
            kwargs.update(past_key_values=self.cache, use_cache=True)
            if self.store_kwarg:
                kwargs["store_kv"] = store
        if self.ranged:
            kwargs["logits_range"] = (start - first, end - first)
        out = self.model(ids, **kwargs)
        logits = out.logits if self.ranged else out.logits[:, start - first : end - first]
        if use_cache and store:
            self.cache, self.cached = out.past_key_values, end
        elif use_cache and self.cache is not None and hasattr(self.cache, "crop") and not self.store_kwarg:
            self.cache.crop(self.cached)  # a transformers Cache grew in place: drop the uncommitted block
        return logits


@torch.no_grad()
def generate_block_diffusion(
    model: Any,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    gen_length: int = 128,
    block_length: int = 32,
    sub_block_length: int | None = None,
    steps: int | None = None,
    temperature: float = 0.0,
    remasking: Remasking = "low_confidence",
    mask_id: int = 151665,
    threshold: float | None = 0.9,
    shift_logits: bool = False,
    use_cache: bool = True,
    eos_ids: tuple[int, ...] = (),
    trace: Trace | None = None,
) -> Generation:
    """Decode block by block with a KV cache across blocks; sub-blocks and threshold inside a block.

    `steps` (per block) is used only without a threshold, spread evenly over the block's masked positions.
    Each finished block costs one more forward to write its keys and values into the cache.
    """
    sub_block_length = sub_block_length or block_length
    if block_length <= 0 or block_length % sub_block_length:
        raise ConfigError(
            f"block_length {block_length} is not a multiple of sub_block_length {sub_block_length}"
        )
    if threshold is None and not steps:
        raise ConfigError("block diffusion needs a threshold or a number of steps per block")
    batch, lp = prompt.shape
    total = -(-(lp + gen_length) // block_length) * block_length
    trace = trace or Trace(total_tokens=(total - lp) * batch)
    x = torch.full((batch, total), mask_id, dtype=torch.long, device=prompt.device)
    x[:, :lp] = prompt
    key_padding = None
    if attention_mask is not None:
        ones = torch.ones((batch, total - lp), dtype=attention_mask.dtype, device=prompt.device)
        key_padding = torch.cat([attention_mask, ones], dim=-1)
    run = _Runner(model, key_padding, block_length, batch)
    prefill = (lp // block_length) * block_length
    last_logits = None  # the output at the position before the current block (token shift)
    if prefill and use_cache:
        last_logits = run(x, prefill - 1, prefill, store=True, use_cache=True)
        trace.forward()
    for num_block in range(prefill // block_length, total // block_length):
        s, e = num_block * block_length, (num_block + 1) * block_length
        for sub_start in range(s, e, sub_block_length):
            sub_end = sub_start + sub_block_length
            mask_sub = x[:, sub_start:sub_end] == mask_id
            quota = get_num_transfer_tokens(mask_sub, steps or 1) if threshold is None else None
            i = 0
            while (x[:, sub_start:sub_end] == mask_id).any():
                if shift_logits and not use_cache:
                    logits = run(x, s - 1, e, store=False, use_cache=False)[:, :-1] if s else None
                    if logits is None:
                        full = run(x, 0, e, store=False, use_cache=False)
                        logits = torch.cat([full[:, :1], full[:, :-1]], dim=1)
                else:
                    logits = run(x, s, e, store=False, use_cache=use_cache)
                    if shift_logits:
                        head = last_logits if last_logits is not None else logits[:, :1]
                        logits = torch.cat([head, logits[:, :-1]], dim=1)
                trace.forward()
                mask_index = x[:, s:e] == mask_id
                mask_index[:, : sub_start - s] = False
                mask_index[:, sub_end - s :] = False
                k = None if quota is None else quota[:, min(i, quota.shape[1] - 1)]
                x0, transfer_index = get_transfer_index(
                    logits, temperature, remasking, mask_index, x[:, s:e], k, threshold, mask_id
                )
                x[:, s:e][transfer_index] = x0[transfer_index]
                trace.step(int(transfer_index.sum()), num_block)
                i += 1
        if use_cache and e < total:
            last_logits = run(x, e - 1, e, store=True, use_cache=True)
            trace.forward()
        if answer_ended(x, lp, e, eos_ids):
            x[:, e:] = eos_ids[0]
            break
    return Generation(x[:, : lp + gen_length], lp, trace.nfe, trace.steps)
