"""Several sequences per forward: each row decodes exactly what it would alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import litellm
import pytest

from ttd.dllm import toy
from ttd.dllm.engine import Batcher, SamplerOptions, generate_batch
from ttd.dllm.loader import load_model

WORDS = ["abc", "fedcba", "dd", "abcdef", "eab"]  # different prompt lengths: left padding differs per row


@pytest.fixture(scope="module")
def varied_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny model whose outputs differ between prompts under every sampler (seed chosen so)."""
    return toy.build_random_model(tmp_path_factory.mktemp("dllm") / "varied", seed=4)


@pytest.mark.parametrize(
    "options",
    [
        SamplerOptions(gen_length=16, block_length=4, steps=16, threshold=None, cache="none"),
        SamplerOptions(gen_length=16, block_length=4, threshold=0.5, cache="none"),
        SamplerOptions(gen_length=16, block_length=4, steps=16, threshold=None, cache="dual"),
        SamplerOptions(gen_length=16, block_length=4, threshold=0.5, cache="prefix"),
        SamplerOptions(gen_length=16, block_length=4, threshold=0.5, sampler="block", cache="prefix"),
    ],
    ids=["one_per_step", "threshold", "dual_cache", "prefix_cache", "block_diffusion"],
)
def test_generate_batch_equals_one_at_a_time(varied_dir: Path, options: SamplerOptions):
    lm = load_model(str(varied_dir))
    prompts = [toy.encode_prompt(w) for w in WORDS]
    batched = generate_batch(lm, prompts, options)
    alone = [generate_batch(lm, [p], options)[0] for p in prompts]
    assert batched == alone
    assert len({tuple(r) for r in alone}) > 1  # the rows really differ: nothing trivially equal


def test_concurrent_requests_share_one_generation(varied_dir: Path):
    """Through litellm: simultaneous completions are batched and answer as they would one by one."""
    from ttd.dllm.provider import shared
    from ttd.llm.providers import ensure_registered

    ensure_registered(f"dllm/{varied_dir}")
    batcher = shared().batcher
    batcher.window_s = 0.5  # generous, so all gathered calls arrive before the first group starts
    kw = dict(max_tokens=16, block_length=4, threshold=0.5)

    async def ask_all():
        return await asyncio.gather(
            *[
                litellm.acompletion(
                    model=f"dllm/{varied_dir}", messages=[{"role": "user", "content": w}], **kw
                )
                for w in WORDS
            ]
        )

    try:
        before = len(batcher.batch_sizes)
        together = asyncio.run(ask_all())
        sizes = batcher.batch_sizes[before:]
        one_by_one = [
            litellm.completion(model=f"dllm/{varied_dir}", messages=[{"role": "user", "content": w}], **kw)
            for w in WORDS
        ]
    finally:
        batcher.window_s = Batcher().window_s
    assert sum(sizes) == len(WORDS) and max(sizes) > 1, sizes
    assert [r.choices[0].message.content for r in together] == [
        r.choices[0].message.content for r in one_by_one
    ]
    assert max(r._hidden_params["dllm"]["batch"] for r in together) > 1


def test_batcher_wakes_every_waiter_with_the_error(varied_dir: Path):
    from concurrent.futures import ThreadPoolExecutor

    from ttd.errors import ConfigError

    lm = load_model(str(varied_dir))
    bad = SamplerOptions(gen_length=16, block_length=4, cache="prefix", cfg_scale=1.0)  # not allowed together
    batcher = Batcher(window_s=0.3)

    def ask(word: str) -> str:
        try:
            batcher.submit(lm, [{"role": "user", "content": word}], bad)
        except ConfigError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(ask, WORDS[:3]))
    assert all("classifier-free guidance" in a for a in answers), answers
    ok = batcher.submit(lm, [{"role": "user", "content": "ab"}], SamplerOptions(gen_length=8, block_length=4))
    assert ok.completion_tokens >= 0 and batcher.batch_sizes == [1]  # the batcher is usable afterwards
