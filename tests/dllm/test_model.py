"""The architecture is a diffusion LM: bidirectional, padding-invariant, loadable offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ttd.dllm import llada, toy
from ttd.dllm.loader import load_model
from ttd.dllm.toy import tiny_model


def _later_token_changes_earlier_logits(model) -> bool:
    x = torch.tensor([[toy.BOS, 5, 6, 7, 8, 9, 10, 11]])
    y = x.clone()
    y[0, 6] = 12
    with torch.no_grad():
        a, b = model(x).logits[0, 2], model(y).logits[0, 2]
    return not torch.allclose(a, b, atol=1e-6)


def test_attention_is_bidirectional():
    assert _later_token_changes_earlier_logits(tiny_model())


def test_loads_offline_from_local_directory(tiny_dir: Path):
    lm = load_model(str(tiny_dir))
    assert (lm.family, lm.mask_id, lm.eos_ids[0], lm.dual_cache) == ("ttd", toy.MASK, toy.EOS, True)
    assert next(lm.model.parameters()).dtype == torch.float32
    assert lm.encode_chat([{"role": "user", "content": "abc"}]) == toy.encode_prompt("abc")


def _qwen2_dir(tmp_path: Path) -> Path:
    """A Dream-shaped model: transformers' Qwen2 with random weights and a mask token in its config."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(toy.VOCAB),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        bos_token_id=toy.BOS,
        eos_token_id=toy.EOS,
        pad_token_id=toy.PAD,
    )
    config.mask_token_id = toy.MASK
    return toy.save_model(Qwen2ForCausalLM(config), tmp_path / "qwen2")


def test_qwen2_shaped_model_runs_bidirectional(tmp_path: Path):
    lm = load_model(str(_qwen2_dir(tmp_path)))
    assert (lm.family, lm.shift_logits, lm.dual_cache) == ("dream", True, False)
    assert _later_token_changes_earlier_logits(lm.model)
    out = llada.generate(
        lm.model,
        torch.tensor([toy.encode_prompt("abc")]),
        steps=8,
        gen_length=8,
        block_length=4,
        mask_id=lm.mask_id,
    )
    assert not (out.generated == lm.mask_id).any()


def _padding_invariant(model) -> None:
    short, long = toy.encode_prompt("abc"), toy.encode_prompt("abcdef")
    alone = llada.generate(
        model, torch.tensor([short]), steps=8, gen_length=8, block_length=4, mask_id=toy.MASK
    )
    width = len(long)
    ids = torch.tensor([[toy.PAD] * (width - len(short)) + short, long])
    am = torch.tensor([[0] * (width - len(short)) + [1] * len(short), [1] * width])
    batched = llada.generate(
        model, ids, attention_mask=am, steps=8, gen_length=8, block_length=4, mask_id=toy.MASK
    )
    assert batched.generated[0].tolist() == alone.generated[0].tolist()
    with torch.no_grad():
        x = torch.tensor([short + [toy.MASK] * 8])
        xp = torch.cat([torch.full((1, 3), toy.PAD), x], 1)
        amp = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones_like(x)], 1)
        # from position 1: a token-shifted model's first logits come from whatever precedes the prompt
        assert torch.allclose(model(x).logits[:, 1:], model(xp, attention_mask=amp).logits[:, 4:], atol=1e-4)


def test_padding_invariance():
    _padding_invariant(tiny_model())


def test_padding_invariance_qwen2_shaped(tmp_path: Path):
    _padding_invariant(load_model(str(_qwen2_dir(tmp_path))).model)


@pytest.mark.parametrize("ref", ["/nonexistent/model", "./models/missing", "a/b/c"])
def test_missing_model_path_is_a_user_error(ref: str):
    from ttd.errors import ConfigError

    with pytest.raises(ConfigError, match="no model directory"):
        load_model(ref)
