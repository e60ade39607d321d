"""The fast paths compute what the plain ones did: block-only sampling, rotary tables, fused RMSNorm."""

from __future__ import annotations

import pytest
import torch

from ttd.dllm import block, llada, toy
from ttd.dllm.modeling import RMSNorm, Rotary, apply_rotary
from ttd.dllm.sampling import Generation, get_num_transfer_tokens, get_transfer_index
from ttd.dllm.toy import tiny_model

PROMPT = torch.tensor([toy.encode_prompt("abcd"), toy.encode_prompt("fedc")])


@torch.no_grad()
def full_sequence_generate(model, prompt, steps, gen_length, block_length, threshold=None, mask_id=toy.MASK):
    """The sampler as it was: full-sequence logits, confidence and top-k over every position each step."""
    x = torch.full((prompt.shape[0], prompt.shape[1] + gen_length), mask_id, dtype=torch.long)
    x[:, : prompt.shape[1]] = prompt
    lp, per_block, nfe = prompt.shape[1], steps // (gen_length // block_length), 0
    for b in range(gen_length // block_length):
        s, e = lp + b * block_length, lp + (b + 1) * block_length
        quota = get_num_transfer_tokens(x[:, s:e] == mask_id, per_block)
        i = 0
        while (x[:, s:e] == mask_id).any():
            mask_index = x == mask_id
            mask_index[:, e:] = False
            logits = model(x).logits
            nfe += 1
            k = None if threshold is not None else quota[:, min(i, per_block - 1)]
            x0, idx = get_transfer_index(logits, 0.0, "low_confidence", mask_index, x, k, threshold, mask_id)
            x[idx] = x0[idx]
            i += 1
    return Generation(x, lp, nfe, nfe)


class FullLogitsOnly(torch.nn.Module):
    """Hides `logits_range` from the sampler, so it slices full logits instead (remote-code models)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, **kwargs):
        return self.model(input_ids, **kwargs)


@pytest.mark.parametrize("threshold", [None, 0.3])
@pytest.mark.parametrize("steps", [16, 8])
def test_block_only_sampler_matches_full_sequence_sampler(threshold, steps):
    model = tiny_model(seed=5)
    ref = full_sequence_generate(model, PROMPT, steps, 16, 4, threshold)
    for m in (model, FullLogitsOnly(model)):
        out = llada.generate(
            m, PROMPT, steps=steps, gen_length=16, block_length=4, mask_id=toy.MASK, threshold=threshold
        )
        assert out.sequences.tolist() == ref.sequences.tolist()
        assert out.nfe == ref.nfe


class Counting(torch.nn.Module):
    """Records how many positions the output head produced logits for, per call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.logit_rows = model, []

    def forward(
        self,
        input_ids,
        attention_mask=None,
        past_key_values=None,
        use_cache=False,
        replace_range=None,
        logits_range=None,
    ):
        out = self.model(
            input_ids,
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            use_cache=use_cache,
            replace_range=replace_range,
            logits_range=logits_range,
        )
        self.logit_rows.append(out.logits.shape[1])
        return out


@pytest.mark.parametrize(
    "fn", [llada.generate, llada.generate_with_prefix_cache, llada.generate_with_dual_cache]
)
def test_head_and_sampler_see_only_the_current_block(fn):
    rec = Counting(tiny_model())
    fn(rec, PROMPT, steps=16, gen_length=16, block_length=4, mask_id=toy.MASK)
    assert rec.logit_rows and set(rec.logit_rows) == {4}


def test_prefix_cache_in_place_matches_concatenated_prefix():
    """Overwriting [s, L) of a full-length cache must equal concatenating the prefix (exact at 1 layer)."""
    model = tiny_model(n_layers=2, seed=2)
    kw = dict(steps=16, gen_length=16, block_length=4, mask_id=toy.MASK)
    in_place = llada.generate_with_prefix_cache(model, PROMPT, **kw)
    concat = llada.generate_with_prefix_cache(FullLogitsOnly(model), PROMPT, **kw)
    assert in_place.sequences.tolist() == concat.sequences.tolist()
    dual_slice = llada.generate_with_dual_cache(model, PROMPT, **kw)
    dual_mask = llada.generate_with_dual_cache(_ReplacePositionOnly(model), PROMPT, **kw)
    assert dual_slice.sequences.tolist() == dual_mask.sequences.tolist()


class _ReplacePositionOnly(torch.nn.Module):
    """Fast-dLLM's interface: a bool replace_position, no range arguments."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(
        self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, replace_position=None
    ):
        return self.model(
            input_ids,
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            use_cache=use_cache,
            replace_position=replace_position,
        )


def test_block_diffusion_ranged_head_matches_sliced():
    model = tiny_model(seed=4)
    kw = dict(gen_length=16, block_length=4, mask_id=toy.MASK, threshold=0.3)
    a = block.generate_block_diffusion(model, PROMPT, **kw)
    b = block.generate_block_diffusion(FullLogitsOnly(model), PROMPT, **kw)
    assert a.sequences.tolist() == b.sequences.tolist()


def _reference_rotate(x, positions, theta):
    """LLaDA's rotary embedding computed from scratch in float64 at every call (the old code path)."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (theta ** (torch.arange(half, dtype=torch.float64) / half))
    angles = positions.to(torch.float64)[:, None, :, None] * inv_freq
    x1, x2 = x[..., :half].double(), x[..., half:].double()
    return torch.cat([x1 * angles.cos() - x2 * angles.sin(), x1 * angles.sin() + x2 * angles.cos()], -1)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-5), (torch.bfloat16, 2e-2)])
def test_rotary_tables_match_reference(dtype, tol):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 40, 16)
    positions = torch.stack([torch.arange(40), torch.arange(100, 140)])
    rotary = Rotary(16, 10000.0, length=8)  # shorter than needed: the table must grow
    cos, sin = rotary.at(positions, dtype)
    got = apply_rotary(x.to(dtype), cos, sin).double()
    ref = _reference_rotate(x.to(dtype), positions, 10000.0)
    assert got.dtype == torch.float64 and cos.dtype == dtype
    assert ((got - ref).norm() / ref.norm()).item() < tol


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-6), (torch.bfloat16, 1e-2)])
def test_rmsnorm_matches_reference(dtype, tol):
    torch.manual_seed(0)
    norm = RMSNorm(64, 1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(64) + 0.5)
    x = torch.randn(3, 7, 64) * 3
    ref = x.double() * torch.rsqrt(x.double().pow(2).mean(-1, keepdim=True) + 1e-5) * norm.weight.double()
    got = norm.to(dtype)(x.to(dtype))
    assert got.dtype == dtype
    assert ((got.double() - ref).norm() / ref.norm()).item() < tol


def test_static_buffer_dual_step_matches_plain_dual_cache():
    """The CUDA-graph path's static buffers (run eagerly on CPU) decode exactly as the plain dual cache."""
    model = tiny_model(seed=4)
    ids = torch.tensor([[toy.PAD, toy.PAD, *toy.encode_prompt("abc")], toy.encode_prompt("fedcb")])
    am = (ids != toy.PAD).long()
    for threshold in (None, 0.3):
        kw = dict(steps=16, gen_length=16, block_length=4, mask_id=toy.MASK, threshold=threshold)
        plain = llada.generate_with_dual_cache(model, ids, attention_mask=am, **kw)
        static = llada.generate_with_dual_cache(model, ids, attention_mask=am, cuda_graphs=True, **kw)
        assert static.sequences.tolist() == plain.sequences.tolist() and static.nfe == plain.nfe
