"""The `dllm/` litellm provider: registration, sync and async completion, usage, user errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm
import pytest

from ttd.dllm.provider import check_available, register
from ttd.errors import ConfigError
from ttd.events import listen


def test_register_is_idempotent():
    register()
    register()
    assert sum(e["provider"] == "dllm" for e in litellm.custom_provider_map) == 1


def test_completion_fills_usage_and_reports_steps(tiny_dir: Path):
    register()
    events = []
    with listen(events.append):
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


def test_sampler_steps_from_the_worker_thread_reach_the_run_stream(tiny_dir: Path, scripted, tmp_path):
    """In a research run the sampler runs in a worker thread; its steps still arrive in ttd.stream."""
    import ttd

    models = {f"{r}_model": f"scripted/{r}" for r in ("plan", "draft", "question", "answer", "report")}
    events = list(
        ttd.stream(
            "Why did Rome fall?",
            out=tmp_path,
            steps=1,
            revise_model=f"dllm/{tiny_dir}",
            max_tokens={"revise": 16},
            **models,
        )
    )
    revise = [i for i, e in enumerate(events) if e.kind == "stage_started" and e.stage == "revise"]
    steps = [i for i, e in enumerate(events) if e.kind == "dllm_step"]
    assert revise and steps
    assert all(i > revise[0] for i in steps)  # emitted during the revise node, in order
    [call] = [e for e in events if e.kind == "llm_call" and e.stage == "revise"]
    assert call.data["model"] == f"dllm/{tiny_dir}"
    assert events[-1].kind == "report"
