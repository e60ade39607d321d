"""all-MiniLM-L6-v2's forward pass in numpy: sentence embeddings without torch.

The embedded default (`pip install ".[local]"`) has no torch, and torch's CPU build is larger than the
model it would run. MiniLM is a 6-layer BERT encoder (384 wide, 12 heads) with mean pooling and unit
length, so its forward pass is a few matrix products that numpy's BLAS does as fast as torch on CPU. The
weights come from the packaged `model.safetensors` (`safetensors.numpy`), the WordPiece tokenizer from its
`tokenizer.json` (Hugging Face `tokenizers`, Rust, no torch). `tests/retrieval/test_minilm.py` checks the
vectors against sentence-transformers' where that is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Abramowitz and Stegun 7.1.26: erf to 1.5e-7, for BERT's exact (erf) GELU; numpy has no erf
_P, _A = 0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    t = 1.0 / (1.0 + _P * a)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    return np.copysign(1.0 - poly * np.exp(-a * a), x)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * 0.7071067811865476))  # python floats keep float32 float32


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class MiniLM:
    """A BERT sentence encoder read from a sentence-transformers model folder (mean pooling, normalised)."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder} is not a BERT encoder with GELU (config.json)")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.w = load_file(str(folder / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v for k, v in self.w.items()}
        st_config = folder / "sentence_bert_config.json"
        longest = json.loads(st_config.read_text()).get("max_seq_length", 256) if st_config.exists() else 256
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=int(longest))
        self.tokenizer.no_padding()

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Unit-length embeddings, one row per text; texts are batched by length so padding stays short."""
        encoded = self.tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), batch_size):
            part = order[start : start + batch_size]
            width = max(len(encoded[i].ids) for i in part)
            ids = np.zeros((len(part), width), dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.float32)
            for row, i in enumerate(part):
                n = len(encoded[i].ids)
                ids[row, :n], mask[row, :n] = encoded[i].ids, 1.0
            out[part] = self._pooled(ids, mask)
        return out

    def _pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, eps = self.w, self.eps
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding is attended by nothing
        for n in range(self.layers):
            x = self._layer(x, blocked, f"encoder.layer.{n}.")
        summed = (x * mask[:, :, None]).sum(1)
        pooled = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _layer(self, x: np.ndarray, blocked: np.ndarray, p: str) -> np.ndarray:
        w, eps = self.w, self.eps
        batch, width, hidden = x.shape
        size = hidden // self.heads

        def dense(name: str, h: np.ndarray) -> np.ndarray:  # one 2-D product, which BLAS does
            flat = h.reshape(-1, h.shape[-1]) @ w[f"{p}{name}.weight"].T + w[f"{p}{name}.bias"]
            return flat.reshape(batch, width, -1)

        def split(h: np.ndarray) -> np.ndarray:  # (batch, width, hidden) -> (batch, heads, width, size)
            return np.ascontiguousarray(h.reshape(batch, width, self.heads, size).transpose(0, 2, 1, 3))

        q, k, v = (split(dense(f"attention.self.{n}", x)) for n in ("query", "key", "value"))
        scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) * (1.0 / size**0.5) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, width, hidden)
        norm = f"{p}attention.output.LayerNorm."
        x = _layer_norm(
            dense("attention.output.dense", context) + x, w[norm + "weight"], w[norm + "bias"], eps
        )
        inner = _gelu(dense("intermediate.dense", x))
        norm = f"{p}output.LayerNorm."
        return _layer_norm(dense("output.dense", inner) + x, w[norm + "weight"], w[norm + "bias"], eps)
