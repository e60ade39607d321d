"""A LLaDA-style masked-diffusion transformer, small enough to build and train in a test.

It follows LLaDA's architecture (pre-norm RMSNorm, rotary positions, SwiGLU MLP, no attention bias, untied
output head) with the one change that makes it a diffusion LM: attention is not causal. Its forward takes
the cache arguments of Fast-dLLM's modified LLaDA (`past_key_values`, `use_cache`, `replace_position`), so
the samplers' prefix-cache and dual-cache paths run against real code, and 4-D attention masks, so the
block-diffusion sampler can impose block-causal attention as Fast-dLLM v2 and SDAR do. `llada_8b_config()`
gives LLaDA-8B's shape for the GPU benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

KV = tuple[tuple[torch.Tensor, torch.Tensor], ...]  # per layer: (keys, values), each (B, heads, L, head_dim)


class DiffusionConfig(PretrainedConfig):
    model_type = "ttd_dllm"

    def __init__(
        self,
        vocab_size: int = 64,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        mlp_hidden_size: int = 128,
        rope_theta: float = 10000.0,
        rms_norm_eps: float = 1e-5,
        max_sequence_length: int = 4096,
        mask_token_id: int = 1,
        eos_token_id: int | None = 2,
        pad_token_id: int | None = 0,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.mlp_hidden_size = mlp_hidden_size
        self.rope_theta = rope_theta
        self.rms_norm_eps = rms_norm_eps
        self.max_sequence_length = max_sequence_length
        self.mask_token_id = mask_token_id
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(eos_token_id=eos_token_id, pad_token_id=pad_token_id, **kwargs)


def llada_8b_config() -> DiffusionConfig:
    """LLaDA-8B-Instruct's shape (hidden 4096, 32 layers, 32 heads, MLP 12288, vocab 126464)."""
    return DiffusionConfig(
        vocab_size=126464,
        d_model=4096,
        n_layers=32,
        n_heads=32,
        mlp_hidden_size=12288,
        rope_theta=500000.0,
        mask_token_id=126336,
        eos_token_id=126081,
        pad_token_id=126081,
    )


@dataclass
class DiffusionOutput:
    """A plain dataclass: transformers 5's ModelOutput renames past_key_values."""

    logits: torch.Tensor | None = None
    past_key_values: KV | None = None


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype) * self.weight


def _rotate(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotary embedding at explicit positions (B, L), so cached and fresh keys agree on where they sit."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (theta ** (torch.arange(half, device=x.device, dtype=torch.float32) / half))
    angles = positions.to(torch.float32)[:, None, :, None] * inv_freq  # (B, 1, L, half)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., :half].float(), x[..., half:].float()
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__()
        d, self.n_heads, self.theta = cfg.d_model, cfg.n_heads, cfg.rope_theta
        self.attn_norm = RMSNorm(d, cfg.rms_norm_eps)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_norm = RMSNorm(d, cfg.rms_norm_eps)
        self.ff_proj = nn.Linear(d, cfg.mlp_hidden_size, bias=False)
        self.up_proj = nn.Linear(d, cfg.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(cfg.mlp_hidden_size, d, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor | None,
        past: tuple[torch.Tensor, torch.Tensor] | None,
        replace_index: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h = self.attn_norm(x)
        q = _rotate(self._heads(self.q_proj(h)), positions, self.theta)
        k = _rotate(self._heads(self.k_proj(h)), positions, self.theta)
        v = self._heads(self.v_proj(h))
        if past is not None and replace_index is not None:
            # Dual cache: the cache spans the whole sequence; overwrite the current block's slots in place.
            k_all, v_all = past
            k_all[:, :, replace_index] = k
            v_all[:, :, replace_index] = v
            k, v = k_all, v_all
        elif past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # never causal: that is the point
        att = att.transpose(1, 2).reshape(x.shape)
        x = x + self.attn_out(att)
        h = self.ff_norm(x)
        x = x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))
        return x, (k, v)


class DiffusionTransformer(PreTrainedModel):
    """Mask predictor p(x0 | xt): logits for every position, given a partly masked sequence."""

    config_class = DiffusionConfig
    base_model_prefix = "ttd_dllm"
    main_input_name = "input_ids"

    def __init__(self, config: DiffusionConfig) -> None:
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = RMSNorm(config.d_model, config.rms_norm_eps)
        self.ff_out = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        std = 0.02
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: KV | None = None,
        use_cache: bool = False,
        replace_position: torch.Tensor | None = None,
        **_: Any,
    ) -> DiffusionOutput:
        """attention_mask: (B, L_keys) 1 = real token, or a (B, 1, L_queries, L_keys) bool mask.

        With `past_key_values` and no `replace_position`, the input continues the cached prefix (prefix
        cache). With `replace_position` (B, L_total) bool, the cache covers the whole sequence and the input
        is the tokens at the True positions (dual cache), as in Fast-dLLM's LLaDA.
        """
        b, n = input_ids.shape
        past_len = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        replace_index = None
        if replace_position is not None and past_key_values is not None:
            replace_index = replace_position[0].nonzero().squeeze(-1)
            default_pos = replace_index.unsqueeze(0).expand(b, n)
        elif past_key_values is not None:
            default_pos = torch.arange(past_len, past_len + n, device=input_ids.device).expand(b, n)
        else:
            default_pos = torch.arange(n, device=input_ids.device).expand(b, n)
        positions = default_pos if position_ids is None else position_ids
        mask = None
        if attention_mask is not None:
            mask = attention_mask.bool()
            if mask.dim() == 2:  # key padding mask
                mask = mask[:, None, None, :]
        x = self.wte(input_ids)
        new_cache = []
        for i, block in enumerate(self.blocks):
            past = None if past_key_values is None else past_key_values[i]
            x, kv = block(x, positions, mask, past, replace_index)
            new_cache.append(kv)
        logits = self.ff_out(self.ln_f(x))
        return DiffusionOutput(logits=logits, past_key_values=tuple(new_cache) if use_cache else None)


AutoConfig.register(DiffusionConfig.model_type, DiffusionConfig, exist_ok=True)
AutoModel.register(DiffusionConfig, DiffusionTransformer, exist_ok=True)
