"""Web search providers behind one interface; `make_provider(name)` builds one from the environment."""

from __future__ import annotations

from ttd.errors import ConfigError
from ttd.retrieval.providers.apis import (
    BraveProvider,
    ExaProvider,
    SearxngProvider,
    SerperProvider,
    TavilyProvider,
)
from ttd.retrieval.providers.base import SearchError, SearchHit, WebProvider
from ttd.retrieval.providers.duckduckgo import DuckDuckGoProvider

PROVIDERS: dict[str, type[WebProvider]] = {
    p.name: p
    for p in (TavilyProvider, SearxngProvider, DuckDuckGoProvider, BraveProvider, SerperProvider, ExaProvider)
}
ALIASES = {"ddg": "duckduckgo", "ddgs": "duckduckgo", "searx": "searxng", "google": "serper"}


def make_provider(name: str, **kwargs: object) -> WebProvider:
    """The provider called `name`, configured from the environment (keys, `TTD_<NAME>_URL`)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in PROVIDERS:
        raise ConfigError(f"unknown search provider {name!r}; choose from {', '.join(PROVIDERS)}")
    return PROVIDERS[key](**kwargs)  # type: ignore[arg-type]


__all__ = ["PROVIDERS", "SearchError", "SearchHit", "WebProvider", "make_provider"]
