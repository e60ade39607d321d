"""The shared arithmetic of masked-diffusion sampling: which masked positions to commit at a step.

Names follow the LLaDA and Fast-dLLM reference code so the samplers can be read side by side with the
papers: `add_gumbel_noise`, `get_num_transfer_tokens`, `get_transfer_index`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from ttd.events import emit

Remasking = Literal["low_confidence", "random"]


def add_gumbel_noise(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Gumbel-max sampling scores, computed in float64.

    Low-precision Gumbel noise lowers perplexity but hurts generation quality for masked diffusion
    models (arXiv:2409.02908), which is why LLaDA insists on float64 here.
    """
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    gumbel_noise = (-torch.log(noise)) ** temperature
    return logits.exp() / gumbel_noise


def get_num_transfer_tokens(mask_index: torch.Tensor, steps: int) -> torch.Tensor:
    """Tokens to commit at each of `steps` steps, per row: (B, steps).

    LLaDA's linear noise schedule means the expected number of tokens unmasked per step is constant, so
    the masked count is spread evenly with the remainder going to the first steps.
    """
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base = mask_num // steps
    remainder = mask_num % steps
    cols = torch.arange(steps, device=mask_index.device).unsqueeze(0)
    return (base + (cols < remainder).long()).to(torch.int64)


def get_transfer_index(
    logits: torch.Tensor,
    temperature: float,
    remasking: Remasking,
    mask_index: torch.Tensor,
    x: torch.Tensor,
    num_transfer_tokens: torch.Tensor | None,
    threshold: float | None = None,
    mask_id: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Proposed tokens x0 (B, L) and the bool positions (B, L) to commit this step.

    Without a threshold, each row commits its `num_transfer_tokens` most confident masked positions
    (LLaDA). With one, it commits every masked position whose confidence reaches the threshold, and always
    at least the single most confident one so decoding cannot stall (Fast-dLLM, Theorem 1's regime).
    `mask_id`, when given, is never proposed. The samplers pass only the current block (B, block, V), so
    this work does not grow with the sequence; `ttd.dllm.sampler` labels it in torch.profiler traces.
    """
    with torch.profiler.record_function("ttd.dllm.sampler"):
        return _transfer_index(
            logits, temperature, remasking, mask_index, x, num_transfer_tokens, threshold, mask_id
        )


def _transfer_index(
    logits: torch.Tensor,
    temperature: float,
    remasking: Remasking,
    mask_index: torch.Tensor,
    x: torch.Tensor,
    num_transfer_tokens: torch.Tensor | None,
    threshold: float | None,
    mask_id: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    if mask_id is not None:  # committing [MASK] would leave the position masked: never propose it
        logits = logits.clone()
        logits[..., mask_id] = -torch.inf
    x0 = torch.argmax(add_gumbel_noise(logits, temperature), dim=-1)
    if remasking == "low_confidence":
        p = F.softmax(logits.to(torch.float64), dim=-1)
        x0_p = torch.gather(p, dim=-1, index=x0.unsqueeze(-1)).squeeze(-1)
    elif remasking == "random":
        x0_p = torch.rand(x0.shape, device=x0.device, dtype=torch.float64)
    else:
        raise ValueError(f"unknown remasking '{remasking}': use low_confidence or random")
    x0 = torch.where(mask_index, x0, x)
    confidence = torch.where(mask_index, x0_p, torch.tensor(-torch.inf, dtype=x0_p.dtype, device=x0.device))
    if threshold is not None:
        best = torch.zeros_like(mask_index).scatter_(1, confidence.argmax(dim=1, keepdim=True), True)
        transfer_index = mask_index & ((confidence >= threshold) | best)
        return x0, transfer_index
    if num_transfer_tokens is None:
        raise ValueError("num_transfer_tokens is required without a threshold")
    k = num_transfer_tokens.reshape(-1).clamp(min=0)
    order = confidence.argsort(dim=1, descending=True)
    ranks = torch.empty_like(order).scatter_(
        1, order, torch.arange(x.shape[1], device=x.device).expand_as(order)
    )
    transfer_index = (ranks < k.unsqueeze(1)) & mask_index
    return x0, transfer_index


@dataclass
class Trace:
    """Counts forwards (NFE) and commits, and reports each denoising step as a `dllm_step` event."""

    total_tokens: int
    nfe: int = 0
    steps: int = 0
    committed: int = 0
    per_step: list[int] = field(default_factory=list)

    def forward(self, n: int = 1) -> None:
        self.nfe += n

    def step(self, committed: int, block: int) -> None:
        self.steps += 1
        self.committed += committed
        self.per_step.append(committed)
        emit(
            "dllm_step",
            step=self.steps,
            detail=f"block {block}: {self.committed}/{self.total_tokens} tokens, {self.nfe} forwards",
            data={"committed": committed, "nfe": self.nfe, "block": block, "total": self.committed},
        )


@dataclass
class Generation:
    """What a sampler returns: the full sequence (prompt + generated) and what it cost."""

    sequences: torch.Tensor
    prompt_length: int
    nfe: int
    steps: int
    seconds: float = 0.0

    @property
    def generated(self) -> torch.Tensor:
        return self.sequences[:, self.prompt_length :]
