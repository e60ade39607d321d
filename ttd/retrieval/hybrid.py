"""The retriever over local corpora: lexical, dense, or both fused by reciprocal rank (hybrid)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np

from ttd.retrieval.base import Passage, Retriever
from ttd.retrieval.corpus import ChunkRow, Corpus, embed_text
from ttd.retrieval.fusion import rrf
from ttd.retrieval.lexical import LexicalIndex, top_k


class CorpusRetriever(Retriever):
    """Search one or more local corpora built with `ttd index`, as one pooled index.

    The chunk list, BM25 index and embedding matrix are built on first use and rebuilt only when a
    corpus's generation changes. Embeddings come from the corpus DB; any missing are computed once and
    stored there, so a corpus is embedded a single time however often it is searched.
    """

    name = "corpus"

    def __init__(self, names: Sequence[str], dense: bool = True, mode: str | None = None) -> None:
        self.names = list(dict.fromkeys(names))
        self.mode = mode or ("hybrid" if dense else "lexical")
        if self.mode not in {"lexical", "dense", "hybrid"}:
            raise ValueError(f"unknown mode {self.mode!r}")
        for n in self.names:  # fail early, with the one-line error, on an unknown corpus
            Corpus(n, create=False).close()
        if self.uses_dense:
            from ttd.retrieval.dense import model_dir

            model_dir()  # fail early with the one-line MissingExtraError naming --no-dense
        self._key: tuple[int, ...] | None = None
        self._rows: list[ChunkRow] = []
        self._providers: list[str] = []
        self._lex: LexicalIndex | None = None
        self._mat: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def uses_dense(self) -> bool:
        return self.mode in {"dense", "hybrid"}

    def _load(self) -> None:
        gens = []
        for n in self.names:
            with Corpus(n, create=False) as c:
                gens.append(c.generation())
        if tuple(gens) == self._key:
            return
        rows: list[ChunkRow] = []
        providers: list[str] = []
        mats: list[np.ndarray] = []
        embedder = None
        if self.uses_dense:
            from ttd.retrieval.dense import get_embedder

            embedder = get_embedder()
        for n in self.names:
            with Corpus(n, create=False) as c:
                if embedder is not None:
                    c.embed_missing(embedder.name, embedder.encode)
                part = c.chunks()
                if embedder is not None:
                    vecs = c.embeddings(embedder.name, [r.id for r in part])
                    mats.append(
                        np.stack([vecs[r.id] for r in part]) if part else np.zeros((0, 384), "float32")
                    )
            rows.extend(part)
            providers.extend([f"corpus:{n}"] * len(part))
        self._rows, self._providers = rows, providers
        self._lex = LexicalIndex([embed_text(r) for r in rows]) if self.mode != "dense" else None
        self._mat = np.concatenate(mats) if mats else None
        self._key = tuple(gens)

    def _rank(self, query: str, k: int) -> list[tuple[int, float]]:
        with self._lock:
            return self._rank_locked(query, k)

    def _rank_locked(self, query: str, k: int) -> list[tuple[int, float]]:
        self._load()
        depth = max(50, 4 * k)
        lists: list[list[int]] = []
        scored: dict[int, float] = {}
        if self._lex is not None:
            lex = self._lex.search(query, depth)
            lists.append([i for i, _ in lex])
            scored.update(lex)
        if self._mat is not None and self._mat.shape[0]:
            from ttd.retrieval.dense import get_embedder

            qv = get_embedder().encode([query])[0]
            dense = top_k(self._mat @ qv, depth)
            lists.append([i for i, _ in dense])
            if self.mode == "dense":
                scored.update(dense)
        if self.mode == "hybrid":
            return rrf(lists)[:k]
        return [(i, scored[i]) for i in lists[0][:k]] if lists else []

    def rank_ids(self, query: str, k: int) -> list[str]:
        """Chunk ids of the best `k` (synchronous; used by the benchmark)."""
        return [self._rows[i].id for i, _ in self._rank(query, k)]

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        ranked = await asyncio.to_thread(self._rank, query, k)
        out = []
        for i, score in ranked:
            r = self._rows[i]
            meta = {"start": r.start, "end": r.end, "section": r.section, "mode": self.mode, **r.meta}
            out.append(
                Passage(
                    id=r.id,
                    title=r.title,
                    text=r.text,
                    location=r.location,
                    score=score,
                    provider=self._providers[i],
                    meta=meta,
                )
            )
        return out
