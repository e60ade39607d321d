"""Sampler invariants on random tiny models: no mask left, block order, cache exactness, stopping."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from ttd.dllm import block, daedal, llada, toy
from ttd.dllm.sampling import add_gumbel_noise, get_num_transfer_tokens, get_transfer_index
from ttd.dllm.toy import tiny_model
from ttd.events import listen

PROMPT = torch.tensor([toy.encode_prompt("abcd"), toy.encode_prompt("fedc")])
COMMON = dict(gen_length=16, block_length=4, mask_id=toy.MASK)


def test_num_transfer_tokens_spreads_remainder_first():
    assert get_num_transfer_tokens(torch.ones(1, 10, dtype=torch.bool), 4).tolist() == [[3, 3, 2, 2]]


def test_gumbel_noise_is_float64_and_zero_temperature_is_identity():
    logits = torch.randn(2, 3, 5)
    assert add_gumbel_noise(logits, 0.0) is logits
    assert add_gumbel_noise(logits, 1.0).dtype == torch.float64


def test_threshold_commits_all_confident_and_at_least_one():
    logits = torch.tensor([[[9.0, 0, 0], [0, 9.0, 0], [0.1, 0, 0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    x = torch.zeros(1, 3, dtype=torch.long)
    _, idx = get_transfer_index(logits, 0.0, "low_confidence", mask, x, None, threshold=0.9)
    assert idx.tolist() == [[True, True, False]]
    _, idx = get_transfer_index(logits, 0.0, "low_confidence", mask, x, None, threshold=1.01)
    assert idx.sum() == 1


SAMPLERS = {
    "llada": lambda m, **kw: llada.generate(m, PROMPT, steps=16, **COMMON, **kw),
    "llada_random_remasking": lambda m, **kw: llada.generate(
        m, PROMPT, steps=8, remasking="random", **COMMON, **kw
    ),
    "llada_temperature_cfg": lambda m, **kw: llada.generate(
        m, PROMPT, steps=8, temperature=1.0, cfg_scale=1.5, **COMMON, **kw
    ),
    "threshold": lambda m, **kw: llada.generate(m, PROMPT, steps=16, threshold=0.5, **COMMON, **kw),
    "prefix_cache": lambda m, **kw: llada.generate_with_prefix_cache(
        m, PROMPT, steps=16, threshold=0.5, **COMMON, **kw
    ),
    "dual_cache": lambda m, **kw: llada.generate_with_dual_cache(
        m, PROMPT, steps=16, threshold=0.5, **COMMON, **kw
    ),
    "block": lambda m, **kw: block.generate_block_diffusion(
        m, PROMPT, sub_block_length=2, threshold=0.5, **COMMON, **kw
    ),
    "block_steps": lambda m, **kw: block.generate_block_diffusion(
        m, PROMPT, steps=2, threshold=None, **COMMON, **kw
    ),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_no_mask_token_left_and_events_count_forwards(name: str):
    events = []
    with listen(events.append):
        out = SAMPLERS[name](tiny_model())
    assert out.generated.shape == (2, 16)
    assert not (out.generated == toy.MASK).any()
    assert (out.sequences[:, : PROMPT.shape[1]] == PROMPT).all()
    steps = [e for e in events if e.kind == "dllm_step"]
    assert len(steps) == out.steps and steps[-1].data["nfe"] == out.nfe
    grid = -(-(PROMPT.shape[1] + 16) // 4) * 4 - PROMPT.shape[1]  # block diffusion fills its last block
    assert sum(e.data["committed"] for e in steps) == 2 * (grid if name.startswith("block") else 16)


class Recorder(torch.nn.Module):
    """Wraps a model and keeps every full-sequence input it was called with."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.inputs = model, []

    def forward(self, input_ids, **kwargs):
        self.inputs.append(input_ids.clone())
        return self.model(input_ids, **kwargs)


@pytest.mark.parametrize("name", ["llada", "threshold"])
def test_blocks_are_decoded_in_order(name: str):
    rec = Recorder(tiny_model())
    SAMPLERS[name](rec)
    lp = PROMPT.shape[1]
    for x in rec.inputs:
        gen = x[:, lp:]
        masked = (gen == toy.MASK).view(2, 4, 4).any(-1)  # (batch, block): any mask left in the block
        for b in range(3):
            started_later = (gen[:, (b + 1) * 4 :] != toy.MASK).any(-1)
            assert not (masked[:, b] & started_later).any(), (
                "a later block was committed before an earlier one"
            )
    assert len(rec.inputs) == 16


def test_block_diffusion_sees_only_finished_blocks_before_the_current_one():
    rec = Recorder(tiny_model())
    block.generate_block_diffusion(rec, PROMPT, threshold=0.5, use_cache=False, **COMMON)
    for x in rec.inputs:
        assert x.shape[1] % 4 == 0  # the absolute block grid
        assert not (x[:, : x.shape[1] - 4] == toy.MASK).any()
    assert len(rec.inputs) >= 5


def test_block_causal_mask_is_built_on_the_ids_device_without_padding():
    """Without padding the mask once fell back to the CPU; on a GPU, SDPA then refused it (H100 run)."""
    mask = block.block_causal_mask(0, 8, 8, 4, None, 2, device="meta")
    assert mask.device.type == "meta" and mask.shape == (2, 1, 8, 8)
    assert block.block_causal_mask(0, 8, 8, 4, None, 1)[0, 0, 0].tolist() == [True] * 4 + [False] * 4


@pytest.mark.parametrize("threshold", [None, 0.5])
def test_prefix_and_dual_cache_match_no_cache_when_exact(threshold):
    """With one layer a token's keys and values depend on the token alone, so the caches are exact."""
    model = tiny_model(n_layers=1, seed=3)
    kw = dict(steps=16, threshold=threshold, **COMMON)
    plain = llada.generate(model, PROMPT, **kw)
    prefix = llada.generate_with_prefix_cache(model, PROMPT, **kw)
    dual = llada.generate_with_dual_cache(model, PROMPT, **kw)
    assert plain.sequences.tolist() == prefix.sequences.tolist() == dual.sequences.tolist()
    assert dual.nfe == prefix.nfe == plain.nfe


def test_caches_are_approximate_with_depth_but_cut_work():
    model = tiny_model(n_layers=2)
    dual = llada.generate_with_dual_cache(model, PROMPT, steps=16, **COMMON)
    assert not (dual.generated == toy.MASK).any() and dual.nfe == 16


@pytest.mark.parametrize("shift_logits", [False, True])
@pytest.mark.parametrize("sub_block_length", [4, 2])
def test_block_diffusion_cache_is_exact(shift_logits: bool, sub_block_length: int):
    """Block-causal attention: earlier blocks never see later ones, so their cached KV are exact."""
    model = tiny_model(n_layers=2, seed=1)
    kw = dict(sub_block_length=sub_block_length, threshold=0.3, shift_logits=shift_logits, **COMMON)
    cached = block.generate_block_diffusion(model, PROMPT, use_cache=True, **kw)
    uncached = block.generate_block_diffusion(model, PROMPT, use_cache=False, **kw)
    assert cached.sequences.tolist() == uncached.sequences.tolist()


class AlwaysEOS(torch.nn.Module):
    """Predicts EOS everywhere; returns an empty cache so the cached samplers can run on it too."""

    def forward(self, input_ids, **_):
        logits = torch.zeros(*input_ids.shape, len(toy.VOCAB))
        logits[..., toy.EOS] = 10.0
        return SimpleNamespace(logits=logits, past_key_values=())


@pytest.mark.parametrize("name", ["llada", "threshold", "prefix_cache", "dual_cache", "block"])
def test_stops_once_generated_blocks_are_all_eos(name: str):
    out = SAMPLERS[name](AlwaysEOS(), eos_ids=(toy.EOS,))
    assert (out.generated == toy.EOS).all()
    assert out.nfe <= 4  # one block's steps, not four blocks'
    full = SAMPLERS[name](AlwaysEOS())  # without EOS ids it decodes every block
    assert full.nfe > out.nfe


def test_unreachable_threshold_still_commits_one_per_step():
    out = llada.generate(tiny_model(), PROMPT[:1], steps=16, threshold=1.01, **COMMON)
    assert out.nfe == 16 and not (out.generated == toy.MASK).any()


class EOSWhenLong(torch.nn.Module):
    """The tail is confidently EOS only once the sequence is at least 40 tokens long."""

    def forward(self, input_ids, **_):
        logits = torch.zeros(*input_ids.shape, len(toy.VOCAB))
        logits[..., toy.EOS] = 10.0 if input_ids.shape[1] >= 40 else -10.0
        return SimpleNamespace(logits=logits)


def test_daedal_grows_length_until_tail_is_eos():
    prompt = PROMPT[:1]
    n = daedal.initial_gen_length(
        EOSWhenLong(), prompt, None, toy.MASK, (toy.EOS,), initial_length=8, max_length=64, expansion=8
    )
    assert n == 40 - prompt.shape[1] + (-(40 - prompt.shape[1]) % 8)
    assert (
        daedal.initial_gen_length(
            EOSWhenLong(), prompt, None, toy.MASK, (toy.EOS,), initial_length=8, max_length=16, expansion=8
        )
        == 16
    )
