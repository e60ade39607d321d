"""Every web provider against a real HTTP server on 127.0.0.1 speaking its API (real httpx, no mocks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.retrieval.conftest import Loopback, Reply, Request
from ttd.errors import ConfigError
from ttd.retrieval.providers import PROVIDERS, SearchError, make_provider

pytest.importorskip("ddgs")


def _ddg_html(results: list[tuple[str, str, str]]) -> str:
    items = "".join(
        f'<div class="result results_links web-result"><div class="links_main result__body">'
        f'<h2 class="result__title"><a class="result__a" href="//duckduckgo.com/l/?uddg={url}&amp;rut=z">'
        f'{title}</a></h2><a class="result__snippet" href="//duckduckgo.com/l/?uddg={url}">{snip}</a>'
        f"</div></div>"
        for url, title, snip in results
    )
    return f"<html><body><div class='results'>{items}</div></body></html>"


RESULTS = [("https://example.org/a", "Result A", "About A"), ("https://example.org/b", "Result B", "About B")]


@dataclass
class Spec:
    env: dict[str, str]
    path: str
    method: str
    answer: Callable[[], Any]
    check: Callable[[Request], None]
    malformed: bytes | str = b"{not json"


def _json(req: Request) -> dict[str, Any]:
    return json.loads(req.body)


SPECS: dict[str, Spec] = {
    "tavily": Spec(
        {"TAVILY_API_KEY": "tv-key"},
        "/search",
        "POST",
        lambda: {"results": [{"url": u, "title": t, "content": s} for u, t, s in RESULTS]},
        lambda r: (
            (r.headers["Authorization"] == "Bearer tv-key" and _json(r)["query"] == "q words")
            or pytest.fail(f"bad tavily request {r}")
        ),
    ),
    "searxng": Spec(
        {},
        "/search",
        "GET",
        lambda: {"results": [{"url": u, "title": t, "content": s} for u, t, s in RESULTS]},
        lambda r: (r.query["format"] == ["json"] and r.query["q"] == ["q words"]) or pytest.fail(str(r)),
    ),
    "brave": Spec(
        {"BRAVE_API_KEY": "br-key"},
        "/res/v1/web/search",
        "GET",
        lambda: {"web": {"results": [{"url": u, "title": t, "description": s} for u, t, s in RESULTS]}},
        lambda r: (r.headers["X-Subscription-Token"] == "br-key") or pytest.fail(str(r)),
    ),
    "serper": Spec(
        {"SERPER_API_KEY": "sp-key"},
        "/search",
        "POST",
        lambda: {"organic": [{"link": u, "title": t, "snippet": s} for u, t, s in RESULTS]},
        lambda r: (r.headers["X-API-KEY"] == "sp-key" and _json(r)["q"] == "q words") or pytest.fail(str(r)),
    ),
    "exa": Spec(
        {"EXA_API_KEY": "ex-key"},
        "/search",
        "POST",
        lambda: {"results": [{"url": u, "title": t, "text": s} for u, t, s in RESULTS]},
        lambda r: (r.headers["x-api-key"] == "ex-key" and _json(r)["numResults"] == 5) or pytest.fail(str(r)),
    ),
    "duckduckgo": Spec(
        {},
        "/html/",
        "POST",
        lambda: _ddg_html(RESULTS),
        lambda r: (b"q=q+words" in r.body) or pytest.fail(str(r)),
        malformed=b"",
    ),
}


def test_every_provider_has_a_spec() -> None:
    assert set(SPECS) == set(PROVIDERS)


def _provider(name: str, lb: Loopback, monkeypatch: pytest.MonkeyPatch, **kw: Any):  # noqa: ANN202
    spec = SPECS[name]
    for k, v in spec.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(f"TTD_{name.upper()}_URL", lb.url)
    monkeypatch.delenv("SEARXNG_URL", raising=False)
    return make_provider(name, **{"timeout_s": 2.0, "attempts": 3, "backoff_s": 0.01, **kw})


async def _search(p: Any, query: str = "q words", k: int = 5) -> Any:
    try:
        return await p.search(query, k)
    finally:
        await p.aclose()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_success(name: str, loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[name]
    loopback.routes[spec.path] = Reply(200, spec.answer())
    hits = asyncio.run(_search(_provider(name, loopback, monkeypatch)))
    assert [h.url for h in hits] == [u for u, _, _ in RESULTS]
    assert [h.title for h in hits] == ["Result A", "Result B"]
    assert hits[0].snippet == "About A" and hits[0].provider == name and hits[0].rank == 1
    assert loopback.count(spec.path) == 1
    req = loopback.requests[0]
    assert req.method == spec.method
    spec.check(req)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_429_then_success(name: str, loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[name]
    loopback.routes[spec.path] = [Reply(429, {"error": "slow down"}), Reply(200, spec.answer())]
    hits = asyncio.run(_search(_provider(name, loopback, monkeypatch)))
    assert len(hits) == 2
    assert loopback.count(spec.path) == 2


@pytest.mark.parametrize("name", sorted(SPECS))
def test_500_retried_then_error(name: str, loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[name]
    loopback.routes[spec.path] = Reply(500, {"error": "boom"})
    with pytest.raises(SearchError, match="HTTP 500 after 3 attempts"):
        asyncio.run(_search(_provider(name, loopback, monkeypatch)))
    assert loopback.count(spec.path) == 3


@pytest.mark.parametrize("name", sorted(SPECS))
def test_timeout(name: str, loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[name]
    loopback.routes[spec.path] = Reply(200, spec.answer(), delay_s=1.5)
    with pytest.raises(SearchError, match="timed out"):
        asyncio.run(_search(_provider(name, loopback, monkeypatch, timeout_s=0.3)))
    assert loopback.count(spec.path) == 1  # a timeout is not retried: the next step may search again


@pytest.mark.parametrize("name", sorted(SPECS))
def test_malformed_answer(name: str, loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[name]
    loopback.routes[spec.path] = Reply(200, spec.malformed, headers={"Content-Type": "application/json"})
    with pytest.raises(SearchError):
        asyncio.run(_search(_provider(name, loopback, monkeypatch)))


@pytest.mark.parametrize("name", ["tavily", "brave", "serper", "exa"])
def test_missing_key_is_a_user_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("TAVILY_API_KEY", "BRAVE_API_KEY", "BRAVE_SEARCH_API_KEY", "SERPER_API_KEY", "EXA_API_KEY"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigError, match="API key"):
        make_provider(name)


def test_searxng_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARXNG_URL", raising=False)
    monkeypatch.delenv("TTD_SEARXNG_URL", raising=False)
    with pytest.raises(ConfigError, match="SEARXNG_URL"):
        make_provider("searxng")


def test_unknown_provider() -> None:
    with pytest.raises(ConfigError, match="unknown search provider"):
        make_provider("altavista")


def test_concurrency_limit(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDuckGo allows one request in flight: five searches take five sequential delays."""
    spec = SPECS["duckduckgo"]
    active, peak = 0, 0
    import threading
    import time

    lock = threading.Lock()

    def handler(req: Request) -> Reply:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return Reply(200, spec.answer())

    loopback.routes[spec.path] = handler
    p = _provider("duckduckgo", loopback, monkeypatch)

    async def many() -> None:
        await asyncio.gather(*(p.search(f"q{i}", 3) for i in range(5)))
        await p.aclose()

    asyncio.run(many())
    assert loopback.count(spec.path) == 5
    assert peak == 1
