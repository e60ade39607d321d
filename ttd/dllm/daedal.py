"""DAEDAL's first stage: choose the generation length before denoising instead of fixing it up front.

A masked diffusion model given too few masks truncates its answer; given too many it wastes forwards on
padding. DAEDAL (Li et al., 2025, "Beyond Fixed: Variable-Length Denoising for Diffusion LLMs") observes that
the model's confidence that the sequence tail is EOS tells whether the length suffices: start short, and
while the mean EOS probability over the last `eos_window` masks is below `eos_confidence_threshold`, append
`expansion` more masks. (Its second stage, inserting masks mid-denoising, is not implemented.)
"""

from __future__ import annotations

from typing import Any

import torch

from ttd.dllm.sampling import Trace


@torch.no_grad()
def initial_gen_length(
    model: Any,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor | None,
    mask_id: int,
    eos_ids: tuple[int, ...],
    initial_length: int = 64,
    max_length: int = 512,
    expansion: int = 64,
    eos_confidence_threshold: float = 0.5,
    eos_window: int = 8,
    trace: Trace | None = None,
) -> int:
    """The smallest probed length whose tail the model confidently fills with EOS (at most max_length)."""
    length = min(initial_length, max_length)
    eos = torch.tensor(eos_ids, device=prompt.device)
    while True:
        x = torch.cat(
            [
                prompt,
                torch.full((prompt.shape[0], length), mask_id, dtype=prompt.dtype, device=prompt.device),
            ],
            1,
        )
        am = None
        if attention_mask is not None:
            am = torch.cat(
                [attention_mask, torch.ones_like(x[:, prompt.shape[1] :], dtype=attention_mask.dtype)], 1
            )
        probs = torch.softmax(model(x, attention_mask=am).logits[:, -eos_window:].float(), dim=-1)
        if trace is not None:
            trace.forward()
        eos_confidence = probs[..., eos].sum(-1).mean(-1).min().item()
        if eos_confidence >= eos_confidence_threshold or length >= max_length:
            return length
        length = min(length + expansion, max_length)
