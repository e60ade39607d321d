"""Several retrievers as one (local corpora, the web, the offline Wikipedia), provenance kept.

Every retriever is asked concurrently; their rankings are fused by reciprocal rank, a passage found by two
(same stable id) appears once with `meta["providers_all"]` naming all of them, and `Passage.provider`
stays the first retriever (in the order given) that found it. One failing backend is logged and skipped;
a user error (a missing extra, key or corpus) is raised, since the user has to fix it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ttd.errors import TTDError
from ttd.retrieval.base import Passage, Retriever
from ttd.retrieval.fusion import rrf

log = logging.getLogger("ttd.retrieval")


class MultiRetriever(Retriever):
    """Fuse the results of `retrievers`."""

    name = "multi"

    def __init__(self, retrievers: Sequence[Retriever]) -> None:
        self.retrievers = list(retrievers)

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        results = await asyncio.gather(*(r.search(query, k) for r in self.retrievers), return_exceptions=True)
        lists: list[list[Passage]] = []
        for r, res in zip(self.retrievers, results, strict=True):
            if isinstance(res, TTDError):
                raise res
            if isinstance(res, BaseException):
                log.warning("retriever %s failed: %r", r.name, res)
                continue
            lists.append(res)
        by_id: dict[str, Passage] = {}
        providers: dict[str, list[str]] = {}
        for passages in lists:
            for p in passages:
                by_id.setdefault(p.id, p)
                names = providers.setdefault(p.id, [])
                for name in p.meta.get("providers_all", [p.provider]):
                    if name not in names:
                        names.append(name)
        out = []
        for pid, score in rrf([[p.id for p in ps] for ps in lists])[:k]:
            p = by_id[pid]
            out.append(
                p.model_copy(update={"score": score, "meta": {**p.meta, "providers_all": providers[pid]}})
            )
        return out

    async def aclose(self) -> None:
        for r in self.retrievers:
            await r.aclose()
