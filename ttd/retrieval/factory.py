"""Build the run's retriever from its `RetrievalConfig`."""

from __future__ import annotations

from ttd.config import RetrievalConfig
from ttd.retrieval.base import Retriever
from ttd.retrieval.wiki import WikiRetriever


def build_retriever(cfg: RetrievalConfig) -> Retriever:
    """The offline Wikipedia index unless corpora or web search are named (then it joins only if asked)."""
    others: Retriever | None = None
    if cfg.corpora or cfg.search:
        from ttd.retrieval.commands import build_from_options

        others = build_from_options(
            corpora=cfg.corpora,
            search=cfg.search,
            dense=cfg.dense,
            cache=cfg.cache,
            allow_hosts=cfg.allow_hosts,
        )
    use_wiki = cfg.wiki if cfg.wiki is not None else others is None
    if others is None:
        return WikiRetriever()
    if not use_wiki:
        return others
    from ttd.retrieval.hybrid import MultiRetriever

    return MultiRetriever([WikiRetriever(), others])
