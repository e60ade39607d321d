"""Web search as a `Retriever`: providers -> merged hits -> fetched, extracted pages -> passages.

Hits for the same page from several providers (or with tracking parameters) are merged by normalised URL,
ordered by reciprocal-rank fusion across providers. Each page is fetched through `PageFetcher` (SSRF guard,
caps, cache) and represented by its chunk that best matches the query, with the chunk's offsets in the
extracted text as the span of its stable id. A page that could not be used (blocked, anti-bot, error,
empty) falls back to the search engine's own snippet, marked `meta["fetched"] = False`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ttd.retrieval.base import Passage, Retriever, stable_id
from ttd.retrieval.cache import Cache, cache_key
from ttd.retrieval.chunking import chunk_text
from ttd.retrieval.fetch import Page, PageFetcher
from ttd.retrieval.fusion import rrf
from ttd.retrieval.providers import SearchError, SearchHit, WebProvider
from ttd.terms import terms

log = logging.getLogger("ttd.retrieval")
SEARCH_TTL_S = 24 * 3600.0
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|msclkid|ref_src|mc_cid|mc_eid)$", re.I)


def normalize_url(url: str) -> str:
    """The form used to spot duplicates: lower-case host, no fragment, tracking or default port."""
    p = urlsplit(url.strip())
    host = (p.hostname or "").lower()
    if p.port and not ((p.scheme == "http" and p.port == 80) or (p.scheme == "https" and p.port == 443)):
        host = f"{host}:{p.port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(p.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    path = p.path.rstrip("/") if p.path not in ("", "/") else ""
    return urlunsplit((p.scheme.lower(), host, path, query, ""))


def best_span(text: str, query: str, max_chars: int = 1200) -> tuple[int, int]:
    """Offsets of the chunk of `text` sharing the most query terms (earliest on ties)."""
    chunks = chunk_text(text, max_chars=max_chars, overlap=150)
    if not chunks:
        return 0, 0
    q = terms(query)
    best = max(chunks, key=lambda c: (len(q & terms(c.text)), -c.start))
    return best.start, best.end


def merge_hits(lists: Sequence[Sequence[SearchHit]]) -> list[tuple[SearchHit, list[str]]]:
    """Hits deduplicated by normalised URL, RRF-ordered, each with every provider that returned it."""
    first: dict[str, SearchHit] = {}
    providers: dict[str, list[str]] = {}
    rankings: list[list[str]] = []
    for hits in lists:
        ranking = []
        for h in hits:
            key = normalize_url(h.url)
            first.setdefault(key, h)
            if h.provider not in providers.setdefault(key, []):
                providers[key].append(h.provider)
            if key not in ranking:
                ranking.append(key)
        rankings.append(ranking)
    return [(first[key], providers[key]) for key, _ in rrf(rankings)]


class WebRetriever(Retriever):
    """Search one or more web providers; results cached, pages fetched safely."""

    name = "web"

    def __init__(
        self,
        providers: Sequence[WebProvider],
        cache: Cache | None = None,
        fetcher: PageFetcher | None = None,
        fetch_pages: bool = True,
        search_ttl_s: float = SEARCH_TTL_S,
        passage_chars: int = 1200,
    ) -> None:
        self.providers = list(providers)
        self.cache = cache
        self.fetcher = fetcher or PageFetcher(cache=cache)
        self.fetch_pages = fetch_pages
        self.search_ttl_s = search_ttl_s
        self.passage_chars = passage_chars
        self.errors: list[str] = []

    async def _provider_search(self, p: WebProvider, query: str, k: int) -> list[SearchHit]:
        key = cache_key(p.endpoint_id(), query, k)
        if self.cache is not None and (hit := self.cache.get("search", key)) is not None:
            return [SearchHit(**h) for h in hit]
        try:
            hits = await p.search(query, k)
        except SearchError as e:
            log.warning("search failed: %s", e)
            self.errors.append(str(e))
            return []
        if self.cache is not None:
            self.cache.set("search", key, [h.model_dump() for h in hits], self.search_ttl_s)
        return hits

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        lists = await asyncio.gather(*(self._provider_search(p, query, k) for p in self.providers))
        merged = merge_hits(lists)[:k]
        pages: list[Page | None] = [None] * len(merged)
        if self.fetch_pages and merged:
            pages = list(await asyncio.gather(*(self.fetcher.fetch(h.url) for h, _ in merged)))
        out: list[Passage] = []
        for rank, ((hit, provs), page) in enumerate(zip(merged, pages, strict=True), start=1):
            loc = normalize_url(page.final_url if page is not None and page.ok else hit.url)
            meta: dict[str, object] = {"providers": provs, "rank": rank, "snippet": hit.snippet}
            if page is not None and page.ok:
                s, e = best_span(page.text, query, self.passage_chars)
                meta.update(fetched=True, start=s, end=e, truncated=page.truncated)
                passage = Passage(
                    id=stable_id(loc, f"{s}-{e}"),
                    title=page.title or hit.title,
                    text=page.text[s:e],
                    location=loc,
                    score=1.0 / rank,
                    provider=f"web:{hit.provider}",
                    meta=meta,
                )
            elif hit.snippet.strip():
                meta.update(fetched=False, skip_reason=page.reason if page is not None else "not fetched")
                passage = Passage(
                    id=stable_id(loc, "snippet"),
                    title=hit.title or loc,
                    text=hit.snippet,
                    location=loc,
                    score=1.0 / rank,
                    provider=f"web:{hit.provider}",
                    meta=meta,
                )
            else:
                continue
            out.append(passage)
        return out

    async def aclose(self) -> None:
        for p in self.providers:
            await p.aclose()
        await self.fetcher.aclose()
