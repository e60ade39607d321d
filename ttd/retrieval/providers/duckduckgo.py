"""DuckDuckGo without a key, through ddgs's DuckDuckGo engine.

ddgs knows DuckDuckGo's HTML endpoint: the form it expects and where results sit in the page. ddgs's own
transport hides HTTP statuses (a 429 looks like "no results"), so the request goes through httpx here, which
gives this provider the same retry-on-429/5xx behaviour, timeout and loopback testability as the others;
building the form and parsing the page are ddgs's. DuckDuckGo answers 202 when it wants a pause.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx

from ttd.errors import MissingExtraError
from ttd.retrieval.providers.base import RetryableStatus, SearchError, SearchHit, WebProvider

_BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _engine() -> Any:
    try:
        from ddgs.engines.duckduckgo import Duckduckgo
    except ImportError as e:
        raise MissingExtraError("web", "DuckDuckGo search") from e
    return Duckduckgo()


def _unwrap(href: str) -> str:
    """DuckDuckGo wraps result links as //duckduckgo.com/l/?uddg=<target>; return the target."""
    if "duckduckgo.com/l/" in href and "uddg=" in href:
        target = href.split("uddg=", 1)[1].split("&rut=", 1)[0]
        return unquote(target) if target.lower().startswith("http%3a") else target
    return href


class DuckDuckGoProvider(WebProvider):
    """POST the query to DuckDuckGo's HTML endpoint (TTD_DUCKDUCKGO_URL overrides the host)."""

    name = "duckduckgo"
    default_url = "https://html.duckduckgo.com"
    max_concurrency = 1  # the keyless endpoint rate-limits quickly

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ddg = _engine()

    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        payload = self._ddg.build_payload(query=query, region="wt-wt", safesearch="moderate", timelimit=None)
        return await client.post(
            f"{self.base_url}/html/",
            data=payload,
            headers={"User-Agent": _BROWSER_UA, "Referer": f"{self.base_url}/"},
        )

    def _parse_response(self, resp: httpx.Response) -> list[SearchHit]:
        if resp.status_code == 202:
            raise RetryableStatus(202, None)
        try:
            results = self._ddg.post_extract_results(self._ddg.extract_results(resp.text))
        except Exception as e:  # lxml raises several types on garbage input
            raise SearchError(f"{self.name}: unreadable results page ({type(e).__name__})") from e
        return self.parse(results)

    def parse(self, data: Any) -> list[SearchHit]:
        hits = []
        for r in data:
            url = _unwrap(r.href)
            if url.startswith(("http://", "https://")):
                hits.append(SearchHit(url=url, title=r.title, snippet=r.body))
        return hits
