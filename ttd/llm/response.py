"""The litellm response ttd's own providers (local, dllm, scripted) return: one message, usage filled.

Its own module so that providers depend on it and the registry depends on providers, never the reverse.
"""

from __future__ import annotations

import litellm


def chat_response(
    model: str, text: str, prompt_tokens: int, completion_tokens: int, finish_reason: str = "stop"
) -> litellm.ModelResponse:
    response = litellm.ModelResponse(
        model=model,
        choices=[
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
    )
    response.usage = litellm.Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    return response
