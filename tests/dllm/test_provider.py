"""The `dllm/` litellm provider: registration, sync and async completion, usage, user errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm
import pytest

from ttd.config import ROLES
from ttd.dllm import toy
from ttd.dllm.engine import SamplerOptions, complete
from ttd.dllm.loader import load_model
from ttd.dllm.provider import DEFAULT_OPTIONS, check_available
from ttd.errors import ConfigError
from ttd.events import listen
from ttd.llm.providers import REGISTRY, ensure_registered


def register() -> None:
    ensure_registered("dllm/any")


def test_register_is_idempotent():
    register()
    register()
    assert sum(e["provider"] == "dllm" for e in litellm.custom_provider_map) == 1
    assert "dllm" in REGISTRY


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


def test_acompletion_answers_what_the_sampler_decodes(tiny_dir: Path):
    """Through litellm (async) the reply is the sampler's own decode of this prompt, with its counts."""
    register()
    messages = [{"role": "user", "content": "ab"}]
    response = asyncio.run(litellm.acompletion(model=f"dllm/{tiny_dir}", messages=messages, max_tokens=8))
    options = SamplerOptions.from_params({"max_tokens": 8}, DEFAULT_OPTIONS)
    direct = complete(load_model(str(tiny_dir)), messages, options)
    assert response.choices[0].message.content == direct.text
    assert response.model == f"dllm/{tiny_dir}"
    assert response.usage.prompt_tokens == len(toy.encode_prompt("ab")) == direct.prompt_tokens
    assert response.usage.completion_tokens == direct.completion_tokens
    assert response._hidden_params["dllm"]["nfe"] == direct.nfe > 0


def test_check_available_names_the_missing_directory(tmp_path: Path):
    with pytest.raises(ConfigError, match="no model directory"):
        check_available(f"dllm/{tmp_path}/absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        check_available(f"dllm/{tmp_path}/empty")


def test_sampler_steps_from_the_worker_thread_reach_the_run_stream(tiny_dir: Path, scripted, tmp_path):
    """In a research run the sampler runs in a worker thread; its steps still arrive in ttd.stream."""
    import ttd

    models = {f"{r}_model": f"scripted/{r}" for r in ROLES if r != "revise"}
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
