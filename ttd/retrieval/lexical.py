"""The one BM25 index: offline Wikipedia, user corpora and the benchmark pool all rank through it.

bm25s stores the index as sparse matrices and scores a query with a few vector operations, which is why it
is used instead of rank_bm25 (see evals/retrieval_bench.py for the measured difference). PyStemmer's
English Snowball stemmer is part of every index: it lifts recall on short questions.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ttd.terms import stemmer

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class LexicalIndex:
    """BM25 (Lucene variant, English stopwords, stemming) over `texts`.

    `search` returns (position, score) pairs, best first, positive scores only.
    """

    def __init__(self, texts: list[str], *, _retriever: Any = None, _size: int | None = None) -> None:
        import bm25s

        self._bm25s = bm25s
        self._stem = stemmer()
        self._lock = threading.Lock()  # searches come from worker threads
        self.size = len(texts) if _size is None else _size
        self.retriever = _retriever if _retriever is not None else bm25s.BM25()
        if _retriever is None and texts:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stem, show_progress=False)
            self.retriever.index(tokens, show_progress=False)

    def save(self, directory: Path, stamp: dict[str, Any]) -> None:
        """Write the index and a stamp that `load` compares, so a changed corpus is rebuilt."""
        directory.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(directory))
        (directory / "stamp.json").write_text(json.dumps({**stamp, "size": self.size}))

    @classmethod
    def load(cls, directory: Path, stamp: dict[str, Any]) -> LexicalIndex | None:
        """The index saved in `directory` with the same `stamp`, or None when absent or stale."""
        import bm25s

        path = directory / "stamp.json"
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        size = saved.pop("size", None)
        if saved != stamp or size is None:
            return None
        return cls([], _retriever=bm25s.BM25.load(str(directory)), _size=int(size))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if not self.size or not _TOKEN.search(query):
            return []
        k = min(k, self.size)
        q = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stem, show_progress=False)
        if not q.vocab:
            return []
        with self._lock:
            docs, scores = self.retriever.retrieve(q, k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Positions of the `k` highest scores, best first (argpartition, then a sort of the few)."""
    if scores.size == 0:
        return []
    k = min(k, scores.size)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx]
