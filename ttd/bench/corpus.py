"""The open-retrieval corpus of a multi-hop set: every paragraph of every loaded record, in one BM25 index.

Pooling (instead of handing each question its own 10 or 20 gold-plus-distractor paragraphs) makes the
task open retrieval, as the paper's setting is, while staying offline. Paragraph ids are stable hashes of
title and text, so supporting-paragraph recall can be computed from the ids a system retrieved.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any
from urllib.parse import quote

from ttd.bench.datasets import Paragraph, Record
from ttd.retrieval.base import Passage, Retriever, stable_id


def paragraph_id(p: Paragraph) -> str:
    """The stable id of a paragraph: same title and text, same id, in every run and file layout.

    Whitespace is ignored because layouts re-join sentences differently ("Woolf?" vs "Woolf? ").
    """
    digest = hashlib.sha1("".join(p.text.split()).encode("utf-8")).hexdigest()[:16]
    return stable_id(f"bench://{quote(p.title)}", digest, prefix="para")


def supporting_ids(record: Record) -> list[str]:
    return sorted({paragraph_id(p) for p in record.paragraphs if p.is_supporting})


class PoolRetriever(Retriever):
    """BM25 (bm25s, English stopwords, stemming when PyStemmer is present) over pooled paragraphs."""

    name = "bench-pool"

    def __init__(self, records: list[Record]) -> None:
        seen: dict[str, Paragraph] = {}
        for record in records:
            for p in record.paragraphs:
                seen.setdefault(paragraph_id(p), p)
        self.ids = list(seen)
        self.paragraphs = list(seen.values())
        self._lock = threading.Lock()
        self._index: Any = None

    def __len__(self) -> int:
        return len(self.paragraphs)

    def _ensure(self) -> Any:
        with self._lock:
            if self._index is None:
                import bm25s

                texts = [f"{p.title}. {p.text}" for p in self.paragraphs]
                index = bm25s.BM25()
                index.index(
                    bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False),
                    show_progress=False,
                )
                self._index = index
            return self._index

    def search_sync(self, query: str, k: int = 5) -> list[Passage]:
        import bm25s

        index = self._ensure()
        if not self.paragraphs or not query.strip():
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False)
        if not tokens.vocab:
            return []
        with self._lock:
            k = min(k, len(self.paragraphs))
            docs, scores = index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        out = []
        for i, score in zip(docs[0], scores[0], strict=True):
            if float(score) <= 0:
                continue
            p = self.paragraphs[int(i)]
            out.append(
                Passage(
                    id=self.ids[int(i)],
                    title=p.title,
                    text=p.text,
                    location=f"bench://{quote(p.title)}",
                    score=float(score),
                    provider=self.name,
                )
            )
        return out

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search_sync, query, k)


def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")
