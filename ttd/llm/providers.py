"""Which providers exist and whether a model can run here, checked before a run starts.

Hosted models go straight to litellm. Three prefixes are ttd's own litellm custom providers:
`local/` (llama.cpp in a worker process), `dllm/` (diffusion LMs, the `dllm` extra) and `scripted/` (the
test double in `ttd.llm.scripted`). They are registered on first use so importing ttd stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import litellm
from litellm.utils import custom_llm_setup

from ttd.errors import ConfigError, MissingExtraError

_EXAMPLES = "openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5, ollama/llama3.1 or local/qwen2.5-coder-1.5b"


def _local_handler(model: str, parallel: int) -> litellm.CustomLLM:
    from ttd.llm.local import LocalLLM

    LocalLLM.shared().want_parallel(parallel)
    return LocalLLM.shared()


def _local_check(model: str) -> None:
    from ttd.llm.local import canonical, check_available

    check_available(canonical(model.split("/", 1)[1]))


_diffusion: litellm.CustomLLM | None = None


def _dllm_handler(model: str, parallel: int) -> litellm.CustomLLM:
    global _diffusion
    if _diffusion is None:
        try:
            from ttd.llm.diffusion import DiffusionProvider  # torch and transformers: the dllm extra
        except ImportError as exc:
            missing = f"the diffusion model '{model}' ({exc.name} is missing)"
            raise MissingExtraError("dllm", missing) from None
        _diffusion = DiffusionProvider()
    return _diffusion


def _dllm_check(model: str) -> None:
    from ttd.dllm.provider import check_available

    check_available(model)


def _scripted_check(model: str) -> None:
    if not any(i["provider"] == "scripted" for i in litellm.custom_provider_map):
        raise ConfigError("the scripted test provider is not installed: call ttd.llm.scripted.install()")


@dataclass(frozen=True)
class Provider:
    """One of ttd's own litellm providers: its handler, its pre-run check, the params it rejects."""

    handler: Callable[[str, int], litellm.CustomLLM] | None  # None: it registers itself (scripted.install)
    check: Callable[[str], None]
    rejects: frozenset[str] = frozenset()


REGISTRY: dict[str, Provider] = {
    "local": Provider(_local_handler, _local_check),
    "dllm": Provider(_dllm_handler, _dllm_check, frozenset({"response_format"})),
    "scripted": Provider(None, _scripted_check),
}
EMBEDDED = tuple(REGISTRY)


def prefix(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def is_embedded(model: str) -> bool:
    return prefix(model) in REGISTRY


def register(name: str, handler: litellm.CustomLLM) -> None:
    """Add a litellm custom provider once (re-registering keeps the first handler)."""
    if not any(item["provider"] == name for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": name, "custom_handler": handler})
    custom_llm_setup()


def ensure_registered(model: str, parallel: int = 1) -> None:
    """Register `model`'s provider; `parallel` calls may be in flight (local/ sizes its slots by it)."""
    provider = REGISTRY.get(prefix(model))
    if provider is not None and provider.handler is not None:
        register(prefix(model), provider.handler(model, parallel))


def check(model: str, api_base: str | None = None) -> None:
    """Raise a one-line `TTDError` if `model` cannot be called as configured."""
    if not model or not model.strip():
        raise ConfigError("a model name is empty: pass --model PROVIDER/NAME, e.g. " + _EXAMPLES)
    ensure_registered(model)
    if provider := REGISTRY.get(prefix(model)):
        provider.check(model)
        return
    try:
        litellm.get_llm_provider(model)
    except Exception:
        raise ConfigError(
            f"unknown model or provider '{model}': name it as PROVIDER/MODEL, e.g. {_EXAMPLES}"
        ) from None
    if api_base:
        return
    missing = [k for k in _missing_keys(model) if not k.endswith("_API_BASE")]
    if missing:
        raise ConfigError(
            f"{model} needs the environment variable {missing[0]}: export {missing[0]}=... "
            "(or --api-base URL for a self-hosted OpenAI-compatible server, "
            "or --model local/qwen2.5-coder-1.5b)"
        )


def _missing_keys(model: str) -> list[str]:
    try:
        return list(litellm.validate_environment(model=model).get("missing_keys") or [])
    except Exception:
        return []


def key_hint(model: str) -> str:
    keys = _missing_keys(model) or [f"{prefix(model).upper() or 'PROVIDER'}_API_KEY"]
    return keys[0]


def api_key_for(model: str) -> str:
    """A key for an OpenAI-compatible server at --api-base; many accept any value."""
    for name in (f"{prefix(model).upper()}_API_KEY", "OPENAI_API_KEY"):
        if os.environ.get(name):
            return os.environ[name]
    return "sk-no-key"


def supports(model: str, param: str) -> bool:
    """Whether `model`'s provider accepts an OpenAI-style parameter (litellm forwards unknown ones as-is,
    and e.g. OpenAI rejects `top_k`). ttd's own providers take them all, except JSON mode for dllm."""
    if provider := REGISTRY.get(prefix(model)):
        return param not in provider.rejects
    try:
        return param in (litellm.get_supported_openai_params(model=model) or [])
    except Exception:
        return False


def supports_json_mode(model: str) -> bool:
    return supports(model, "response_format")
