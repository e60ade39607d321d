"""A model trained here on string reversal: parallel decoding keeps accuracy with far fewer forwards."""

from __future__ import annotations

from pathlib import Path

from ttd.dllm import toy
from ttd.dllm.engine import SamplerOptions
from ttd.dllm.loader import load_model

WORDS = toy.eval_words(128)
ONE_PER_STEP = SamplerOptions(gen_length=8, block_length=8, steps=8, threshold=None, cache="none")


def test_threshold_decoding_matches_accuracy_with_3x_fewer_forwards(trained_dir: Path):
    lm = load_model(str(trained_dir))
    base = toy.evaluate(lm, WORDS, ONE_PER_STEP)
    fast = toy.evaluate(lm, WORDS, SamplerOptions(gen_length=8, block_length=8, threshold=0.9, cache="none"))
    assert base.accuracy >= 0.9, base
    assert fast.accuracy >= base.accuracy, (base, fast)
    assert fast.nfe * 3 <= base.nfe, (base, fast)


def test_dual_cache_and_semi_ar_blocks_keep_accuracy(trained_dir: Path):
    lm = load_model(str(trained_dir))
    base = toy.evaluate(lm, WORDS, ONE_PER_STEP)
    for options in (
        SamplerOptions(gen_length=8, block_length=4, threshold=0.9, cache="dual"),
        SamplerOptions(gen_length=8, block_length=4, threshold=0.9, cache="prefix"),
    ):
        report = toy.evaluate(lm, WORDS, options)
        assert report.accuracy >= base.accuracy - 0.02, (options, report)


def test_litellm_completion_end_to_end(trained_dir: Path):
    import litellm

    from ttd.llm.providers import ensure_registered

    ensure_registered(f"dllm/{trained_dir}")
    response = litellm.completion(
        model=f"dllm/{trained_dir}",
        messages=[{"role": "user", "content": "abcde"}],
        max_tokens=8,
        threshold=0.9,
    )
    assert response.choices[0].message.content == "edcba"
    assert response.usage.completion_tokens == 5
    assert response.usage.prompt_tokens == len(toy.encode_prompt("abcde"))
