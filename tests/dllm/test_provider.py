"""The `dllm/` litellm provider: registration, sync and async completion, usage, user errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm
import pytest

from ttd.dllm.provider import check_available, register
from ttd.errors import ConfigError
from ttd.events import capture


def test_register_is_idempotent():
    register()
    register()
    assert sum(e["provider"] == "dllm" for e in litellm.custom_provider_map) == 1


def test_completion_fills_usage_and_reports_steps(tiny_dir: Path):
    register()
    events = []
    with capture(events.append):
        response = litellm.completion(
            model=f"dllm/{tiny_dir}",
            messages=[{"role": "user", "content": "abc"}],
            max_tokens=16,
            block_length=8,
            threshold=0.5,
        )
    assert isinstance(response, litellm.ModelResponse)
    assert response.model.startswith("dllm/")
    usage = response.usage
    assert usage.prompt_tokens == 5 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    steps = [e for e in events if e.kind == "dllm_step"]
    assert steps and all({"committed", "nfe"} <= e.data.keys() for e in steps)


def test_acompletion(tiny_dir: Path):
    register()
    response = asyncio.run(
        litellm.acompletion(
            model=f"dllm/{tiny_dir}", messages=[{"role": "user", "content": "ab"}], max_tokens=8
        )
    )
    assert isinstance(response.choices[0].message.content, str)


def test_check_available_names_the_missing_directory(tmp_path: Path):
    with pytest.raises(ConfigError, match="no model directory"):
        check_available(f"dllm/{tmp_path}/absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        check_available(f"dllm/{tmp_path}/empty")
