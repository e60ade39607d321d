"""litellm provider `dllm/<hub-id-or-local-path>`: chat completion by a local masked-diffusion LM.

Any role can name such a model; the gateway calls `register()` when a model name starts with `dllm/`.
Sampler options travel as ordinary completion kwargs (`threshold`, `block_length`, `steps`, `cache`, ...;
`max_tokens` sets gen_length), so a role's config can tune them without new plumbing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import litellm

from ttd.dllm.engine import Batcher, SamplerOptions
from ttd.llm.providers import chat_response

# Fast-dLLM's setting for LLaDA: 32-token blocks, threshold 0.9, cache where supported.
DEFAULT_OPTIONS = SamplerOptions(gen_length=256, block_length=32, threshold=0.9)


class DiffusionLLM(litellm.CustomLLM):
    """Loads each model once per process; concurrent requests share batched generations (one device)."""

    def __init__(self) -> None:
        super().__init__()
        self.batcher = Batcher()

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        from ttd.dllm.loader import load_model

        ref = model.split("/", 1)[1] if model.startswith("dllm/") else model
        optional = dict(kwargs.get("optional_params") or {})
        extra = optional.pop("extra_body", None) or {}
        options = SamplerOptions.from_params({**optional, **extra}, DEFAULT_OPTIONS)
        started = time.perf_counter()
        result = self.batcher.submit(load_model(ref), messages, options)
        response = chat_response(f"dllm/{ref}", result.text, result.prompt_tokens, result.completion_tokens)
        response._hidden_params["dllm"] = {
            "nfe": result.nfe,
            "steps": result.steps,
            "seconds": result.seconds,
            "batch": result.batch,
        }
        response._hidden_params["local_seconds"] = time.perf_counter() - started
        return response

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        # Sampling blocks for seconds; a worker thread keeps the event loop (and the live display) responsive.
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


_handler: DiffusionLLM | None = None


def handler() -> DiffusionLLM:
    global _handler
    if _handler is None:
        _handler = DiffusionLLM()
    return _handler


def register() -> None:
    """Add the `dllm` provider to litellm once; calling again changes nothing."""
    entries = litellm.custom_provider_map
    if not any(e.get("provider") == "dllm" for e in entries):
        entries.append({"provider": "dllm", "custom_handler": handler()})


def check_available(model: str) -> None:
    """Raise a one-line TTDError before a run if `dllm/<model>` cannot be used (no torch, no directory).

    litellm wraps exceptions raised inside a provider into its own types, so callers that want the
    user-facing message should call this first.
    """
    from ttd.dllm import deps
    from ttd.dllm.loader import resolve

    deps.transformers()
    resolve(model.split("/", 1)[1] if model.startswith("dllm/") else model)
