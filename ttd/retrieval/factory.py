"""Build the run's retriever from its `RetrievalConfig`: the one place retrievers are assembled."""

from __future__ import annotations

from ttd.config import RetrievalConfig
from ttd.retrieval.base import Retriever
from ttd.retrieval.wiki import WikiRetriever


def build_retriever(cfg: RetrievalConfig) -> Retriever:
    """The offline Wikipedia index unless corpora or web search are named (then it joins only if asked)."""
    others = build_from_options(
        corpora=cfg.corpora, search=cfg.search, dense=cfg.dense, cache=cfg.cache, allow_hosts=cfg.allow_hosts
    )
    use_wiki = cfg.wiki if cfg.wiki is not None else others is None
    if others is None:
        return WikiRetriever()
    if not use_wiki:
        return others
    from ttd.retrieval.multi import MultiRetriever

    return MultiRetriever([WikiRetriever(), others])


def build_from_options(
    corpora: list[str],
    search: list[str],
    dense: bool = True,
    cache: bool = True,
    allow_hosts: list[str] | None = None,
) -> Retriever | None:
    """The retriever for `--corpus` / `--search` options: None when neither is given, one backend alone,
    or a `MultiRetriever` over local corpora and the web together."""
    parts: list[Retriever] = []
    if corpora:
        from ttd.retrieval.hybrid import CorpusRetriever

        parts.append(CorpusRetriever(corpora, dense=dense))
    if search:
        from ttd.retrieval.cache import Cache
        from ttd.retrieval.fetch import PageFetcher
        from ttd.retrieval.providers import make_provider
        from ttd.retrieval.web import WebRetriever

        store = Cache(enabled=cache)
        providers = [make_provider(n) for n in dict.fromkeys(search)]
        parts.append(
            WebRetriever(providers, cache=store, fetcher=PageFetcher(allow_hosts or [], cache=store))
        )
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    from ttd.retrieval.multi import MultiRetriever

    return MultiRetriever(parts)
