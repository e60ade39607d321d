"""The JSON search APIs: Tavily, SearXNG, Brave, Serper and Exa."""

from __future__ import annotations

from typing import Any

import httpx

from ttd.retrieval.providers.base import SearchHit, WebProvider


class TavilyProvider(WebProvider):
    """tavily.com: POST /search with a bearer key (TAVILY_API_KEY)."""

    name = "tavily"
    key_env = ("TAVILY_API_KEY",)
    default_url = "https://api.tavily.com"

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        return await client.post(
            f"{self.base_url}/search",
            json={"query": query, "max_results": k},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )

    def parse(self, data: Any) -> list[SearchHit]:
        return [
            SearchHit(url=r["url"], title=r.get("title") or "", snippet=r.get("content") or "")
            for r in data["results"]
        ]


class SearxngProvider(WebProvider):
    """A self-hosted SearXNG instance (SEARXNG_URL, or TTD_SEARXNG_URL) with the JSON format enabled."""

    name = "searxng"
    max_concurrency = 2

    def __init__(self, *args: Any, base_url: str | None = None, **kwargs: Any) -> None:
        import os

        super().__init__(*args, base_url=base_url or os.environ.get("SEARXNG_URL"), **kwargs)

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        return await client.get(f"{self.base_url}/search", params={"q": query, "format": "json"})

    def parse(self, data: Any) -> list[SearchHit]:
        return [
            SearchHit(url=r["url"], title=r.get("title") or "", snippet=r.get("content") or "")
            for r in data["results"]
        ]


class BraveProvider(WebProvider):
    """Brave Search API: GET /res/v1/web/search with X-Subscription-Token (BRAVE_API_KEY)."""

    name = "brave"
    key_env = ("BRAVE_API_KEY", "BRAVE_SEARCH_API_KEY")
    default_url = "https://api.search.brave.com"

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        return await client.get(
            f"{self.base_url}/res/v1/web/search",
            params={"q": query, "count": min(k, 20)},
            headers={"X-Subscription-Token": self.api_key, "Accept": "application/json"},
        )

    def parse(self, data: Any) -> list[SearchHit]:
        results = (data.get("web") or {}).get("results") or []
        return [
            SearchHit(url=r["url"], title=r.get("title") or "", snippet=r.get("description") or "")
            for r in results
        ]


class SerperProvider(WebProvider):
    """serper.dev (Google results): POST /search with X-API-KEY (SERPER_API_KEY)."""

    name = "serper"
    key_env = ("SERPER_API_KEY",)
    default_url = "https://google.serper.dev"

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        return await client.post(
            f"{self.base_url}/search", json={"q": query, "num": k}, headers={"X-API-KEY": self.api_key}
        )

    def parse(self, data: Any) -> list[SearchHit]:
        return [
            SearchHit(url=r["link"], title=r.get("title") or "", snippet=r.get("snippet") or "")
            for r in data.get("organic") or []
        ]


class ExaProvider(WebProvider):
    """exa.ai: POST /search with x-api-key (EXA_API_KEY), asking for page text alongside the results."""

    name = "exa"
    key_env = ("EXA_API_KEY",)
    default_url = "https://api.exa.ai"

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        body = {"query": query, "numResults": k, "contents": {"text": {"maxCharacters": 1500}}}
        return await client.post(f"{self.base_url}/search", json=body, headers={"x-api-key": self.api_key})

    def parse(self, data: Any) -> list[SearchHit]:
        return [
            SearchHit(url=r["url"], title=r.get("title") or "", snippet=r.get("text") or "")
            for r in data["results"]
        ]
