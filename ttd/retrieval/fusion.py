"""Reciprocal-rank fusion (Cormack et al., 2009).

RRF fuses rankings by position alone, so BM25 scores, cosine similarities and web ranks never have to be
put on one scale; k=60 is the constant from that paper. Used wherever rankings meet (backends, hybrid,
web) and to anchor a denoising step's search question to the research question (`anchored_search`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Hashable, Sequence
from typing import TypeVar

from ttd.retrieval.base import Passage, Retriever

K = TypeVar("K", bound=Hashable)
RRF_K = 60


def rrf(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> list[tuple[K, float]]:
    """Fuse ranked lists of keys: score(d) = sum over lists of 1 / (k + rank), best first."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


async def anchored_search(
    retriever: Retriever, query: str, anchor: str, k: int, seen: Collection[str] = ()
) -> list[Passage]:
    """The `k` best passages for `query` fused (RRF) with those for `anchor`, the research question.

    A search question for one hop of a multi-hop question drops words the whole question has, and a
    lexical index then misses passages the question itself finds. The query's own ranking wins ties, so a
    hop still reaches passages the question never would. The anchor's passages already `seen` in the run
    are skipped, so each hop brings the question's next-ranked ones instead of its top ones again (over
    the hops the run reaches at least what one retrieval of the question would). Measured in
    evals/results/anchor_recall.md.
    """
    if not anchor.strip() or " ".join(anchor.split()).lower() == " ".join(query.split()).lower():
        return await retriever.search(query, k=k)
    seen = set(seen)
    own, anchored = await asyncio.gather(
        retriever.search(query, k=k), retriever.search(anchor, k=k + len(seen))
    )
    anchored = [p for p in anchored if p.id not in seen][:k]
    by_id = {p.id: p for p in [*anchored, *own]}
    return [by_id[i] for i, _ in rrf([[p.id for p in own], [p.id for p in anchored]])[:k]]
