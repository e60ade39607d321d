"""Load a masked-diffusion LM from a local directory or the Hugging Face hub, with what sampling needs.

Families differ in how they are loaded and called, so each is reduced to one `DiffusionLM`: a mask
predictor called as `model(x, attention_mask=...)`, the mask and EOS ids, and whether the model's forward
supports Fast-dLLM's cache (`replace_position`), block diffusion, or token-shifted logits.

- LLaDA (`model_type` llada): AutoModel with remote code; mask 126336, EOS 126081 and <|eot_id|> 126348.
- Dream (`Dream`), and any Qwen2-shaped checkpoint that declares a `mask_token_id`: bidirectional through a
  4-D attention mask, logits shifted by one (adapted from an AR model); Dream's mask is 151666.
- Fast-dLLM v2 and SDAR: AutoModelForCausalLM with remote code, block diffusion.
- ttd's own `ttd_dllm` (`ttd.dllm.modeling`): tiny LLaDA-style models for tests and benchmarks.
"""

from __future__ import annotations

import inspect
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ttd.dllm import deps
from ttd.errors import ConfigError

Family = Literal["llada", "dream", "fast_dllm_v2", "sdar", "ttd"]

# Ids the reference implementations hard-code, used when a checkpoint's config and tokenizer do not say.
KNOWN_MASK_IDS = {"llada": 126336, "dream": 151666, "fast_dllm_v2": 151665}
KNOWN_EOS_IDS = {"llada": (126081, 126348), "fast_dllm_v2": (151645,)}


@dataclass
class DiffusionLM:
    name: str
    model: Any  # called as model(input_ids, attention_mask=..., **cache_kwargs) -> output with .logits
    tokenizer: Any
    family: Family
    mask_id: int
    eos_ids: tuple[int, ...]
    device: Any
    shift_logits: bool = False  # logits[i] predicts token i + 1 (AR-adapted models)
    block_diffusion: bool = False  # trained block-causal: decode with ttd.dllm.block
    dual_cache: bool = False  # forward accepts past_key_values with replace_position (Fast-dLLM)

    def encode_chat(self, messages: list[dict[str, Any]]) -> list[int]:
        """Token ids of the conversation with the model's chat template and the assistant turn opened."""
        tok = self.tokenizer
        msgs = [{"role": m.get("role", "user"), "content": _text(m.get("content"))} for m in messages]
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        else:
            text = "\n\n".join(m["content"] for m in msgs)
        return list(tok(text, add_special_tokens=False)["input_ids"])

    def batch(self, prompts: list[list[int]]) -> tuple[Any, Any]:
        """Left-padded (B, L) ids and attention mask, so every answer starts at the same column."""
        torch = deps.torch()
        width = max(len(p) for p in prompts)
        pad = self.eos_ids[0] if self.eos_ids else 0
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p) :] = 1
        if bool(mask.all()):
            return ids.to(self.device), None
        return ids.to(self.device), mask.to(self.device)

    def answer_ids(self, generated: list[int]) -> list[int]:
        """The answer up to (not including) the first EOS or leftover mask."""
        out = []
        for t in generated:
            if t in self.eos_ids or t == self.mask_id:
                break
            out.append(t)
        return out

    def decode(self, generated: list[int]) -> str:
        return self.tokenizer.decode(self.answer_ids(generated), skip_special_tokens=True).strip()


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


class _Bidirectional:
    """Calls a Qwen2-shaped model (Dream, or a causal LM with a mask token) with full attention.

    A 4-D boolean mask replaces the model's causal mask (transformers and Dream both take one as given);
    position ids skip left padding. With `shift`, logits move right by one so logits[i] scores token i.
    """

    def __init__(self, model: Any, shift: bool) -> None:
        self.model, self.shift = model, shift
        self.device = getattr(model, "device", None)

    def __call__(self, input_ids: Any, attention_mask: Any = None, **_: Any) -> Any:
        torch = deps.torch()
        b, n = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones((b, n), dtype=torch.long, device=input_ids.device)
        keys = attention_mask.bool()
        mask4d = (keys[:, None, :, None] & keys[:, None, None, :]) | torch.eye(
            n, dtype=torch.bool, device=keys.device
        )
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=input_ids, attention_mask=mask4d, position_ids=position_ids)
        logits = out.logits
        if self.shift:
            logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        return _Logits(logits)


@dataclass
class _Logits:
    logits: Any
    past_key_values: Any = None


_cache: dict[tuple[str, str], DiffusionLM] = {}
_lock = threading.Lock()


def resolve(ref: str) -> tuple[str, bool]:
    """(path or hub id, is_local). A path-looking reference that does not exist is a user error."""
    path = Path(ref).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ConfigError(f"{path} has no config.json: point dllm/ at a saved model directory")
        return str(path.resolve()), True
    if ref.startswith(("/", ".", "~")) or ref.count("/") != 1:
        raise ConfigError(
            f"no model directory at {path}: give a local model directory "
            "or a hub id like GSAI-ML/LLaDA-8B-Instruct"
        )
    return ref, False


def default_device() -> str:
    torch = deps.torch()
    return os.environ.get("TTD_DLLM_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def load_model(ref: str, device: str | None = None) -> DiffusionLM:
    """Load once per process (bf16 on CUDA, float32 on CPU); later calls reuse the loaded model."""
    device = device or default_device()
    with _lock:
        key = (ref, device)
        if key not in _cache:
            _cache[key] = _load(ref, device)
        return _cache[key]


def _family(config: Any) -> Family:
    model_type = str(getattr(config, "model_type", "")).lower()
    archs = " ".join(getattr(config, "architectures", None) or []).lower()
    if model_type == "ttd_dllm":
        return "ttd"
    if "llada" in model_type or "llada" in archs:
        return "llada"
    if "fast_dllm" in model_type or "fast_dllm" in archs:
        return "fast_dllm_v2"
    if "sdar" in model_type or "sdar" in archs:
        return "sdar"
    if "dream" in model_type or "dream" in archs or getattr(config, "mask_token_id", None) is not None:
        return "dream"
    raise ConfigError(
        f"model type '{model_type}' is not a known diffusion LM (LLaDA, Dream, Fast-dLLM v2, SDAR) "
        "and its config declares no mask_token_id"
    )


def _load(ref: str, device: str) -> DiffusionLM:
    torch = deps.torch()
    tf = deps.transformers()
    import ttd.dllm.modeling  # noqa: F401  registers ttd_dllm with the Auto classes

    source, local = resolve(ref)
    offline = local or os.environ.get("HF_HUB_OFFLINE") == "1"
    common = {"trust_remote_code": True, "local_files_only": offline}
    try:
        config = tf.AutoConfig.from_pretrained(source, **common)
        family = _family(config)
        tokenizer = tf.AutoTokenizer.from_pretrained(source, **common)
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        auto_map = getattr(config, "auto_map", None) or {}
        if family in ("ttd", "llada") or (family == "dream" and "AutoModel" in auto_map):
            cls = tf.AutoModel
        else:
            cls = tf.AutoModelForCausalLM
        model = (
            cls.from_pretrained(source, dtype=dtype, **common)
            if _new_dtype_kw(tf)
            else (cls.from_pretrained(source, torch_dtype=dtype, **common))
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load diffusion LM '{ref}': {str(exc).splitlines()[0]}") from None
    model = model.to(device).eval()
    mask_id = _mask_id(family, config, tokenizer)
    eos_ids = _eos_ids(family, config, tokenizer)
    forward_params = inspect.signature(model.forward).parameters
    lm = DiffusionLM(
        name=ref,
        model=model,
        tokenizer=tokenizer,
        family=family,
        mask_id=mask_id,
        eos_ids=eos_ids,
        device=torch.device(device),
        block_diffusion=family in ("fast_dllm_v2", "sdar"),
        shift_logits=family in ("dream", "fast_dllm_v2"),
        dual_cache="replace_position" in forward_params,
    )
    if family == "dream":
        lm.model = _Bidirectional(model, shift=True)
    return lm


def _new_dtype_kw(tf: Any) -> bool:
    """transformers 5 renamed from_pretrained's torch_dtype to dtype (4.56 accepts both)."""
    major, minor = (int(p) for p in tf.__version__.split(".")[:2])
    return (major, minor) >= (4, 56)


def _mask_id(family: Family, config: Any, tokenizer: Any) -> int:
    for candidate in (getattr(config, "mask_token_id", None), getattr(tokenizer, "mask_token_id", None)):
        if isinstance(candidate, int):
            return candidate
    if family in KNOWN_MASK_IDS:
        return KNOWN_MASK_IDS[family]
    raise ConfigError(
        f"cannot tell the mask token of this {family} model: set mask_token_id in its config.json"
    )


def _eos_ids(family: Family, config: Any, tokenizer: Any) -> tuple[int, ...]:
    ids: list[int] = list(KNOWN_EOS_IDS.get(family, ()))
    for candidate in (getattr(config, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        for c in candidate if isinstance(candidate, list) else [candidate]:
            if isinstance(c, int) and c not in ids:
                ids.append(c)
    for special in ("<|eot_id|>", "<|im_end|>", "<|endoftext|>"):
        tid = tokenizer.convert_tokens_to_ids(special) if special in tokenizer.get_vocab() else None
        if isinstance(tid, int) and tid not in ids:
            ids.append(tid)
    return tuple(ids)
