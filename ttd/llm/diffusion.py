"""litellm provider `dllm/…`: adapts `ttd.dllm.provider.DiffusionLLM` (which knows nothing of litellm)."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm

from ttd.dllm.provider import shared
from ttd.llm.response import chat_response


class DiffusionProvider(litellm.CustomLLM):
    """One per process; the engine underneath loads each model once and batches concurrent requests."""

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        out = shared().generate(model, messages, dict(kwargs.get("optional_params") or {}))
        response = chat_response(out.model, out.text, out.prompt_tokens, out.completion_tokens)
        response._hidden_params["dllm"] = out.stats
        response._hidden_params["local_seconds"] = out.seconds
        return response

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        # Sampling blocks for seconds; a worker thread keeps the event loop (and the live display) responsive.
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)
