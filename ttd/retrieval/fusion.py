"""Reciprocal-rank fusion (Cormack et al., 2009).

RRF fuses rankings by position alone, so BM25 scores, cosine similarities and web ranks never have to be
put on one scale; k=60 is the constant from that paper.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
RRF_K = 60


def rrf(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> list[tuple[K, float]]:
    """Fuse ranked lists of keys: score(d) = sum over lists of 1 / (k + rank), best first."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
