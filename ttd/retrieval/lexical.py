"""BM25 ranking with bm25s over an in-memory list of texts.

bm25s stores the index as sparse matrices and scores a query with a few vector operations, which is why it
is used instead of rank_bm25 (see evals/retrieval_bench.py for the measured difference).
"""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _stemmer():  # noqa: ANN202 - returns PyStemmer's object or None
    """English Snowball stemmer when PyStemmer is installed (better recall), else no stemming."""
    try:
        import Stemmer  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


class LexicalIndex:
    """BM25 (Lucene variant) over `texts`; `search` returns (position, score) pairs, best first."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self._stem = _stemmer()
        self.size = len(texts)
        self.retriever = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stem, show_progress=False)
            self.retriever.index(tokens, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if not self.size or not _TOKEN.search(query):
            return []
        k = min(k, self.size)
        q = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stem, show_progress=False)
        if not q.vocab:
            return []
        docs, scores = self.retriever.retrieve(q, k=k, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Positions of the `k` highest scores, best first (argpartition, then a sort of the few)."""
    if scores.size == 0:
        return []
    k = min(k, scores.size)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx]
