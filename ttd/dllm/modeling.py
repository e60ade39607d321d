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
        # One fused kernel where torch has it (it accumulates in fp32 internally); no fp32 copy of x.
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


class Rotary:
    """cos/sin tables for rotary positions, built once per (device, dtype) and grown on demand.

    A plain attribute, not a buffer: transformers may build the model on the meta device, and a
    non-persistent buffer made there would never be filled. Tables are computed in fp32 and stored in the
    activations' dtype, so applying them is two multiply-adds in that dtype with no upcast.
    """

    def __init__(self, head_dim: int, theta: float, length: int) -> None:
        self.head_dim, self.theta, self.length = head_dim, theta, length
        self._tables: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    def tables(
        self, needed: int, device: torch.device, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (device, dtype)
        cos_sin = self._tables.get(key)
        if cos_sin is None or cos_sin[0].shape[0] < needed:
            length = max(needed, self.length)
            half = self.head_dim // 2
            inv_freq = 1.0 / (self.theta ** (torch.arange(half, device=device, dtype=torch.float32) / half))
            angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq
            angles = torch.cat([angles, angles], dim=-1)  # (length, head_dim), rotate-half layout
            cos_sin = (angles.cos().to(dtype), angles.sin().to(dtype))
            self._tables[key] = cos_sin
        return cos_sin

    def at(self, positions: torch.Tensor, dtype: torch.dtype, max_position: int | None = None) -> tuple:
        """(cos, sin), each (B, 1, L, head_dim), for explicit positions (B, L)."""
        needed = int(positions.max()) + 1 if max_position is None else max_position
        cos, sin = self.tables(needed, positions.device, dtype)
        return cos[positions].unsqueeze(1), sin[positions].unsqueeze(1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin: the same rotation as LLaDA's, in x's dtype."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Block(nn.Module):
    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__()
        d, self.n_heads = cfg.d_model, cfg.n_heads
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
        # A strided view (B, heads, L, head_dim): SDPA's kernels take it as is, no contiguous copy.
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        past: tuple[torch.Tensor, torch.Tensor] | None,
        replace: slice | torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h = self.attn_norm(x)
        q = apply_rotary(self._heads(self.q_proj(h)), *rope)
        k = apply_rotary(self._heads(self.k_proj(h)), *rope)
        v = self._heads(self.v_proj(h))
        if past is not None and replace is not None:
            # The cache spans the whole sequence; overwrite the input's slots in place (a slice is a
            # plain strided copy; an index tensor, Fast-dLLM's replace_position, a scatter).
            k_all, v_all = past
            k_all[:, :, replace] = k
            v_all[:, :, replace] = v
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
        self.rotary = Rotary(config.d_model // config.n_heads, config.rope_theta, config.max_sequence_length)
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
        replace_range: tuple[int, int] | None = None,
        logits_range: tuple[int, int] | None = None,
        **_: Any,
    ) -> DiffusionOutput:
        """attention_mask: (B, L_keys) 1 = real token, or a (B, 1, L_queries, L_keys) bool mask.

        With `past_key_values` and no replacement, the input continues the cached prefix (prefix cache).
        With `replace_position` (B, L_total) bool, or `replace_range` (start, end), the cache covers the
        whole sequence and the input is the tokens at those positions, written over the cache in place
        (dual cache, as in Fast-dLLM's LLaDA; the range form needs no device-to-host sync).
        `logits_range` (start, end) computes the output head only for those input positions: a sampler
        needs the current block's logits, not (L, vocab) for the whole sequence.
        """
        b, n = input_ids.shape
        device = input_ids.device
        past_len = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        replace: slice | torch.Tensor | None = None
        max_position: int | None = None
        if replace_range is not None and past_key_values is not None:
            replace = slice(*replace_range)
            default_pos = torch.arange(replace_range[0], replace_range[1], device=device).expand(b, n)
            max_position = replace_range[1]
        elif replace_position is not None and past_key_values is not None:
            replace = replace_position[0].nonzero().squeeze(-1)
            default_pos = replace.unsqueeze(0).expand(b, n)
            max_position = past_len
        else:
            default_pos = torch.arange(past_len, past_len + n, device=device).expand(b, n)
            max_position = past_len + n
        if position_ids is not None:
            max_position = None  # unknown on the host: Rotary.at reads the largest position
        positions = default_pos if position_ids is None else position_ids
        mask = None
        if attention_mask is not None:
            mask = attention_mask.bool()
            if mask.dim() == 2:  # key padding mask
                mask = mask[:, None, None, :]
        x = self.wte(input_ids)
        rope = self.rotary.at(positions, x.dtype, max_position)  # once per forward, shared by all layers
        new_cache = []
        for i, block in enumerate(self.blocks):
            past = None if past_key_values is None else past_key_values[i]
            x, kv = block(x, rope, mask, past, replace)
            new_cache.append(kv)
        if logits_range is not None:
            x = x[:, logits_range[0] : logits_range[1]]
        logits = self.ff_out(self.ln_f(x))
        return DiffusionOutput(logits=logits, past_key_values=tuple(new_cache) if use_cache else None)


AutoConfig.register(DiffusionConfig.model_type, DiffusionConfig, exist_ok=True)
AutoModel.register(DiffusionConfig, DiffusionTransformer, exist_ok=True)
