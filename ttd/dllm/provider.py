"""litellm provider `dllm/<hub-id-or-local-path>`: chat completion by a local masked-diffusion LM.

Any role can name such a model; `ttd.llm.providers` registers the litellm adapter (`ttd.llm.diffusion`)
when a model name starts with `dllm/`, so this package never imports litellm.
Sampler options travel as ordinary completion kwargs (`threshold`, `block_length`, `steps`, `cache`, ...;
`max_tokens` sets gen_length), so a role's config can tune them without new plumbing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ttd.dllm.engine import Batcher, SamplerOptions

# Fast-dLLM's setting for LLaDA: 32-token blocks, threshold 0.9, cache where supported.
DEFAULT_OPTIONS = SamplerOptions(gen_length=256, block_length=32, threshold=0.9)


@dataclass
class Generation:
    """One chat completion, as plain data: `ttd.llm.diffusion` turns it into a litellm response."""

    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)  # nfe, steps, sampler seconds, batch size


class DiffusionLLM:
    """Loads each model once per process; concurrent requests share batched generations (one device)."""

    def __init__(self) -> None:
        self.batcher = Batcher()

    def generate(self, model: str, messages: list, optional_params: dict[str, Any]) -> Generation:
        from ttd.dllm.loader import load_model

        ref = model.split("/", 1)[1] if model.startswith("dllm/") else model
        optional = dict(optional_params)
        extra = optional.pop("extra_body", None) or {}
        options = SamplerOptions.from_params({**optional, **extra}, DEFAULT_OPTIONS)
        started = time.perf_counter()
        result = self.batcher.submit(load_model(ref), messages, options)
        return Generation(
            f"dllm/{ref}",
            result.text,
            result.prompt_tokens,
            result.completion_tokens,
            time.perf_counter() - started,
            {"nfe": result.nfe, "steps": result.steps, "seconds": result.seconds, "batch": result.batch},
        )


_shared: DiffusionLLM | None = None


def shared() -> DiffusionLLM:
    """The process's one engine, so each model loads once whatever calls it."""
    global _shared
    if _shared is None:
        _shared = DiffusionLLM()
    return _shared


def check_available(model: str) -> None:
    """Raise a one-line TTDError before a run if `dllm/<model>` cannot be used (no torch, no directory).

    litellm wraps exceptions raised inside a provider into its own types, so callers that want the
    user-facing message should call this first.
    """
    from ttd.dllm import deps
    from ttd.dllm.loader import resolve

    deps.transformers()
    resolve(model.split("/", 1)[1] if model.startswith("dllm/") else model)
