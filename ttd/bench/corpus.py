"""The open-retrieval corpus of a multi-hop set: every paragraph of every loaded record, in one BM25 index.

Pooling (instead of handing each question its own 10 or 20 gold-plus-distractor paragraphs) makes the
task open retrieval, as the paper's setting is, while staying offline. Paragraph ids are stable hashes of
title and text, so supporting-paragraph recall can be computed from the ids a system retrieved.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from urllib.parse import quote

from ttd.bench.datasets import Paragraph, Record
from ttd.retrieval.base import Passage, Retriever, stable_id
from ttd.retrieval.lexical import LexicalIndex


def paragraph_id(p: Paragraph) -> str:
    """The stable id of a paragraph: same title and text, same id, in every run and file layout.

    Whitespace is ignored because layouts re-join sentences differently ("Woolf?" vs "Woolf? ").
    """
    digest = hashlib.sha1("".join(p.text.split()).encode("utf-8")).hexdigest()[:16]
    return stable_id(f"bench://{quote(p.title)}", digest, prefix="para")


def supporting_ids(record: Record) -> list[str]:
    return sorted({paragraph_id(p) for p in record.paragraphs if p.is_supporting})


class PoolRetriever(Retriever):
    """BM25 (bm25s, English stopwords, stemming) over pooled paragraphs."""

    name = "bench-pool"

    def __init__(self, records: list[Record]) -> None:
        seen: dict[str, Paragraph] = {}
        for record in records:
            for p in record.paragraphs:
                seen.setdefault(paragraph_id(p), p)
        self.ids = list(seen)
        self.paragraphs = list(seen.values())
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None

    def __len__(self) -> int:
        return len(self.paragraphs)

    def _ensure(self) -> LexicalIndex:
        with self._lock:
            if self._index is None:
                self._index = LexicalIndex([f"{p.title}. {p.text}" for p in self.paragraphs])
            return self._index

    def search_sync(self, query: str, k: int = 5) -> list[Passage]:
        out = []
        for i, score in self._ensure().search(query, k):
            p = self.paragraphs[i]
            out.append(
                Passage(
                    id=self.ids[i],
                    title=p.title,
                    text=p.text,
                    location=f"bench://{quote(p.title)}",
                    score=score,
                    provider=self.name,
                )
            )
        return out

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search_sync, query, k)
