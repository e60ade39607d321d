"""The shape every web search provider shares: keys and base URLs from the environment, a per-provider
concurrency limit, and tenacity backoff on 429 and 5xx answers.

Each provider's base URL can be overridden with `TTD_<NAME>_URL`, which is how tests point them at a
loopback server speaking the provider's API; API keys come from the variables each vendor documents.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from ttd.errors import ConfigError
from ttd.retrieval.http import LazyClient


class SearchHit(BaseModel):
    """One search-engine result before its page is fetched."""

    url: str
    title: str = ""
    snippet: str = ""
    provider: str = ""
    rank: int = 0


def usable_url(url: str) -> bool:
    """Whether a result URL can be normalised and fetched: http(s), a host that encodes (IDNA), a valid
    port and IPv6 literal. Search results are outside input; one bad URL must cost one result, not a run."""
    try:
        parts = urlsplit(url)
        _ = parts.port
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        httpx.URL(url)  # IDNA labels and IPv6 literals, as the fetcher will parse them
        return True
    except (ValueError, UnicodeError, httpx.InvalidURL):
        return False


class SearchError(Exception):
    """A provider failed after its retries (HTTP error, timeout, unreadable answer)."""


class RetryableStatus(SearchError):
    """429 or 5xx: worth another try after a pause."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _retryable(e: BaseException) -> bool:
    return isinstance(e, RetryableStatus)


class WebProvider(ABC):
    """A search API. Subclasses name their env vars and build the request and parse the answer."""

    name: ClassVar[str]
    key_env: ClassVar[tuple[str, ...]] = ()  # first set one wins; empty when no key is needed
    default_url: ClassVar[str] = ""
    max_concurrency: ClassVar[int] = 4

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        attempts: int = 4,
        backoff_s: float | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_key = api_key or next((os.environ[k] for k in self.key_env if os.environ.get(k)), "")
        if self.key_env and not self.api_key:
            raise ConfigError(f"{self.name} search needs an API key: set {self.key_env[0]}")
        self.base_url = (base_url or os.environ.get(self.url_env()) or self.default_url).rstrip("/")
        if not self.base_url:
            raise ConfigError(f"{self.name} search needs a URL: set {self.url_env()}")
        self.attempts = attempts
        self.backoff_s = (
            float(os.environ.get("TTD_SEARCH_BACKOFF", "1.0")) if backoff_s is None else backoff_s
        )
        self._client = LazyClient(timeout_s, client)
        self._sems: dict[int, asyncio.Semaphore] = {}
        self.requests = 0
        self.bad_urls = 0  # results skipped because their URL cannot be parsed

    @classmethod
    def url_env(cls) -> str:
        return f"TTD_{cls.name.upper()}_URL"

    def endpoint_id(self) -> str:
        """What distinguishes this provider's answers in the cache (name and endpoint)."""
        return f"{self.name}:{self.base_url}"

    def _sem(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._sems:
            self._sems[loop_id] = asyncio.Semaphore(self.max_concurrency)
        return self._sems[loop_id]

    def _http(self) -> httpx.AsyncClient:
        return self._client.get()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def search(self, query: str, k: int) -> list[SearchHit]:
        """Up to `k` hits, best first; raises SearchError once retries are spent."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with self._sem():
                        hits = await self._search_once(query, k)
        except RetryableStatus as e:
            raise SearchError(f"{self.name}: {e} after {self.attempts} attempts") from e
        usable = [h for h in hits if h.url and usable_url(h.url)]
        self.bad_urls += sum(1 for h in hits if h.url and not usable_url(h.url))
        for i, h in enumerate(usable[:k], start=1):
            h.provider, h.rank = self.name, i
        return usable[:k]

    def _wait(self, state: Any) -> float:
        """Exponential backoff with jitter, or the server's Retry-After when that is longer."""
        n = state.attempt_number
        base = min(self.backoff_s * 2 ** (n - 1), 30.0 * max(self.backoff_s, 0.01))
        base += random.uniform(0, self.backoff_s)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return max(base, min(exc.retry_after, 60.0))
        return base

    async def _search_once(self, query: str, k: int) -> list[SearchHit]:
        self.requests += 1
        try:
            resp = await self._request(self._http(), query, k)
        except httpx.TimeoutException as e:
            raise SearchError(f"{self.name}: timed out") from e
        except httpx.HTTPError as e:
            raise SearchError(f"{self.name}: {type(e).__name__}: {e}") from e
        if resp.status_code == 429 or resp.status_code >= 500:
            ra = resp.headers.get("retry-after", "")
            raise RetryableStatus(resp.status_code, float(ra) if ra.replace(".", "", 1).isdigit() else None)
        if resp.status_code >= 400:
            raise SearchError(f"{self.name}: HTTP {resp.status_code}: {resp.text[:200]}")
        return self._parse_response(resp)

    def _parse_response(self, resp: httpx.Response) -> list[SearchHit]:
        try:
            data = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SearchError(f"{self.name}: answer is not JSON") from e
        try:
            return self.parse(data)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise SearchError(f"{self.name}: unexpected answer shape ({e})") from e

    @abstractmethod
    async def _request(self, client: httpx.AsyncClient, query: str, k: int) -> httpx.Response:
        """Send one search request."""

    @abstractmethod
    def parse(self, data: Any) -> list[SearchHit]:
        """Hits from the decoded answer."""
