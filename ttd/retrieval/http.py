"""The one way retrieval opens HTTP: an httpx client created on first use and closed with its owner.

Created lazily so that building a retriever costs nothing until it searches; `trust_env=False` so a
proxy variable in the environment cannot route around the SSRF guard.
"""

from __future__ import annotations

from typing import Any

import httpx


class LazyClient:
    """An `httpx.AsyncClient` made on the first `get()` (or the one passed in, e.g. by tests)."""

    def __init__(self, timeout_s: float, client: httpx.AsyncClient | None = None, **options: Any) -> None:
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self._options = options
        self._client = client

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False, **self._options)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
